//go:build windows

package winsrc

import (
	"context"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
)

// hnsV1Source reads one HNS v1 listing with vmcompute.dll's HNSCall: one call per run.
type hnsV1Source struct{ list hnsV1List }

func (s hnsV1Source) Name() string { return s.list.kind }

func (s hnsV1Source) Collect(ctx context.Context, out collector.Emitter) error {
	proc, err := loadHNSCall()
	if err != nil {
		return hnsV1Unavailable(err, s.list.path)
	}
	// HNSCall cannot be cancelled: wait for it only until the source's deadline.
	raw, err := collector.Await(ctx, func() ([]byte, error) {
		resp, err := hnsCall(proc, "GET", s.list.path, "")
		if err != nil {
			return nil, err
		}
		return hnsV1Output(s.list.path, resp)
	})
	if err != nil {
		return err
	}
	return out.RawArtifact(s.list.kind, raw)
}

// loadHNSCall finds HNSCall, or says why it is missing (no vmcompute.dll: no Containers
// feature, or Wine).
func loadHNSCall() (*windows.LazyProc, error) {
	if err := vmcompute.Load(); err != nil {
		return nil, dllMissing("vmcompute.dll", err)
	}
	proc := vmcompute.NewProc("HNSCall")
	if err := proc.Find(); err != nil {
		return nil, procMissing("vmcompute.dll", "HNSCall")
	}
	return proc, nil
}
