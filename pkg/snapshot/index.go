package snapshot

import (
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Frontend is one load balancer front end: VIP (empty for NodePort), protocol name and
// external port.
type Frontend struct {
	VIP      string
	Protocol string
	Port     int
}

// Index holds lookups over a snapshot, built once so rules never scan nested lists. Pointers
// point into the snapshot's slices; do not append to them after indexing.
type Index struct {
	EndpointByID  map[string]*Endpoint
	EndpointsByIP map[string][]*Endpoint
	LBsByVIP      map[string][]*LoadBalancer // "" holds the NodePort load balancers
	LBsByFrontend map[Frontend][]*LoadBalancer
	LBRefs        map[string]int // endpoint ID -> how many load balancers reference it
	NetworkByID   map[string]*Network
	NetworkByName map[string]*Network // lower-cased name
	NamespaceByID map[string]*Namespace
	FilesByRole   map[string][]*wire.FileData
}

// Index returns the snapshot's lookups, building them on first use. It is not safe to call
// concurrently with itself on the same snapshot; analyze.Run calls it once before the rules.
func (s *Snapshot) Index() *Index {
	if s.index == nil {
		s.index = buildIndex(s)
	}
	return s.index
}

func buildIndex(s *Snapshot) *Index {
	x := &Index{
		EndpointByID:  make(map[string]*Endpoint, len(s.Endpoints)),
		EndpointsByIP: make(map[string][]*Endpoint, len(s.Endpoints)),
		LBsByVIP:      make(map[string][]*LoadBalancer, len(s.LoadBalancers)),
		LBsByFrontend: make(map[Frontend][]*LoadBalancer, len(s.LoadBalancers)),
		LBRefs:        make(map[string]int, len(s.Endpoints)),
		NetworkByID:   make(map[string]*Network, len(s.Networks)),
		NetworkByName: make(map[string]*Network, len(s.Networks)),
		NamespaceByID: make(map[string]*Namespace, len(s.Namespaces)),
		FilesByRole:   map[string][]*wire.FileData{},
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		x.EndpointByID[e.ID] = e
		if e.IP != "" {
			x.EndpointsByIP[e.IP] = append(x.EndpointsByIP[e.IP], e)
		}
	}
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		vips := lb.FrontendVIPs
		if len(vips) == 0 {
			vips = []string{""}
		}
		for _, vip := range vips {
			x.LBsByVIP[vip] = append(x.LBsByVIP[vip], lb)
			for _, p := range lb.Ports {
				k := Frontend{VIP: vip, Protocol: p.Protocol, Port: p.ExternalPort}
				x.LBsByFrontend[k] = append(x.LBsByFrontend[k], lb)
			}
		}
		for _, id := range lb.EndpointIDs {
			x.LBRefs[id]++
		}
	}
	for i := range s.Networks {
		n := &s.Networks[i]
		x.NetworkByID[n.ID] = n
		x.NetworkByName[strings.ToLower(n.Name)] = n
	}
	for i := range s.Namespaces {
		x.NamespaceByID[s.Namespaces[i].ID] = &s.Namespaces[i]
	}
	for i := range s.Files {
		f := &s.Files[i]
		role := f.Role
		if role == "" {
			role = InferRole(f.Path)
		}
		x.FilesByRole[role] = append(x.FilesByRole[role], f)
	}
	return x
}

// Logs returns the collected logs of a component (wire.LogKubeProxy, ...).
func (s *Snapshot) Logs(component string) []*wire.FileData {
	return s.Index().FilesByRole[wire.RoleLogPrefix+component]
}

// FilesWithRole returns the collected files with role.
func (s *Snapshot) FilesWithRole(role string) []*wire.FileData {
	return s.Index().FilesByRole[role]
}

// NetworkOf returns the network an endpoint is on (nil when unknown).
func (s *Snapshot) NetworkOf(e *Endpoint) *Network {
	x := s.Index()
	if n := x.NetworkByID[e.NetworkID]; n != nil {
		return n
	}
	return x.NetworkByName[strings.ToLower(e.NetworkName)]
}
