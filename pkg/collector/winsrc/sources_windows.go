//go:build windows

package winsrc

import "github.com/kubectl-winnet/winnet/pkg/collector"

// Sources returns the Windows backend's sources: one per HCN family, the HNS version, the
// watched services and the OS build. Events, files, processes and probes come later.
func Sources() []collector.Source {
	var sources []collector.Source
	for _, f := range hcnFamilies {
		sources = append(sources, hcnSource{family: f})
	}
	sources = append(sources, netStateSources()...)
	return append(sources, hnsVersionSource{}, servicesSource{}, osInfoSource{})
}
