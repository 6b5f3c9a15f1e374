//go:build windows

package winsrc

import (
	"context"

	"github.com/kubectl-winnet/winnet/pkg/collector"
)

// podMACFromHNS finds the pod's MAC through one HNSCall GET /endpoints/ (the v1 view has the
// IP and MAC of each endpoint side by side).
func podMACFromHNS(ctx context.Context, podIP string) (string, error) {
	proc, err := loadHNSCall()
	if err != nil {
		return "", err
	}
	return collector.Await(ctx, func() (string, error) {
		resp, err := hnsCall(proc, "GET", "/endpoints/", "")
		if err != nil {
			return "", err
		}
		raw, err := hnsV1Output("/endpoints/", resp)
		if err != nil {
			return "", err
		}
		return endpointMAC(raw, podIP)
	})
}
