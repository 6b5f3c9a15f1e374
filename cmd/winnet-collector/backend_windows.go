//go:build windows

package main

import (
	"net/netip"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/compartment"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/collector/winsrc"
)

// nodeSources are the Windows backend's sources and, with a pod IP, the source that reads the
// pod's network compartment and runs podProbes from there.
func nodeSources(since time.Duration, podIP string, podProbes []probe.Target) ([]collector.Source, error) {
	sources := winsrc.Sources(winsrc.Options{Since: since, PodIP: podIP})
	if ip, err := netip.ParseAddr(podIP); err == nil {
		sources = append(sources, compartment.New(ip, podProbes, probe.Options{}))
	}
	return sources, nil
}
