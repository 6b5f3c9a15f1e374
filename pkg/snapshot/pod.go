package snapshot

import (
	"encoding/json"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// PodNetwork is the target pod's own network view, read by the collector from inside the pod's
// network compartment (pkg/wire podkinds.go). It differs from the host's view exactly where
// pods break: the DNS servers and search list the CNI gave the pod's endpoint, and the routes
// the pod's processes use.
type PodNetwork struct {
	Compartment *wire.PodCompartment `json:"compartment,omitempty"`
	Adapters    []wire.Adapter       `json:"adapters,omitempty"`
	Routes      []wire.Route         `json:"routes,omitempty"`
	DNS         *wire.DNSClient      `json:"dns,omitempty"`
}

// podArtifact decodes one pod.* artifact into s.Pod. handled is false for any other kind, so
// the caller can go on with its own kinds.
func podArtifact(s *Snapshot, r wire.Record) (handled bool, err error) {
	switch r.Kind {
	case wire.KindPodCompartment, wire.KindPodAdapters, wire.KindPodRoutes, wire.KindPodDNS:
	default:
		return false, nil
	}
	// Decode into a fresh value first: a bad record must not leave a half-filled pod view.
	var p PodNetwork
	if s.Pod != nil {
		p = *s.Pod
	}
	switch r.Kind {
	case wire.KindPodCompartment:
		var c wire.PodCompartment
		if err = json.Unmarshal(r.Data, &c); err == nil {
			p.Compartment = &c
		}
	case wire.KindPodAdapters:
		var a []wire.Adapter
		if err = unmarshalList(r.Data, &a); err == nil {
			p.Adapters = a
		}
	case wire.KindPodRoutes:
		var rt []wire.Route
		if err = unmarshalList(r.Data, &rt); err == nil {
			p.Routes = rt
		}
	case wire.KindPodDNS:
		var d wire.DNSClient
		if err = json.Unmarshal(r.Data, &d); err == nil {
			p.DNS = &d
		}
	}
	if err != nil {
		return true, err
	}
	s.Pod = &p
	return true, nil
}

// PodDNSServers returns the DNS servers the target pod uses: those of its compartment when the
// collector read them, else those HNS holds on its endpoint (what the CNI configured), else nil.
// from says which ("pod compartment", "HNS endpoint" or "").
func (s *Snapshot) PodDNSServers(podIP string) (servers, search []string, from string) {
	if s.Pod != nil && s.Pod.DNS != nil && len(s.Pod.DNS.Servers) > 0 {
		return s.Pod.DNS.Servers, s.Pod.DNS.SearchList, "pod compartment"
	}
	if podIP == "" {
		return nil, nil, ""
	}
	for _, e := range s.Index().EndpointsByIP[podIP] {
		if !e.Remote && len(e.DNSServers) > 0 {
			return e.DNSServers, e.DNSSearch, "HNS endpoint"
		}
	}
	return nil, nil, ""
}
