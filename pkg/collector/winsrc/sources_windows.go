//go:build windows

package winsrc

import (
	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
)

// Sources returns the Windows backend's sources, each independent with its own deadline: one
// per HCN family, the HNS version, the HNS v1 endpoints and policy lists, one per event-log
// channel, the watched services, the process list, the OS build, the node's files, and the
// inbox tools hnsdiag and vfpctrl where the node has them. Probes come later.
func Sources(opts Options) []collector.Source {
	var sources []collector.Source
	for _, f := range hcnFamilies {
		sources = append(sources, hcnSource{family: f})
	}
	sources = append(sources, hnsVersionSource{})
	sources = append(sources, netStateSources()...)
	for _, l := range hnsV1Lists {
		sources = append(sources, hnsV1Source{list: l})
	}
	for _, ch := range eventChannels {
		sources = append(sources, eventsSource{ch: ch, since: opts.Since})
	}
	runner := defaultRunner()
	return append(sources,
		servicesSource{},
		processesSource{},
		osInfoSource{},
		filesSource{root: nodefiles.WindowsRoot},
		hnsdiagSource{runner: runner},
		vfpctrlSource{runner: runner, podIP: opts.PodIP, podMAC: podMACFromHNS},
	)
}
