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
// point into the snapshot's slices; call Reindex after changing them.
type Index struct {
	EndpointByID  map[string]*Endpoint
	EndpointsByIP map[string][]*Endpoint
	LBRefs        map[string]int // endpoint ID -> how many load balancers reference it
	NetworkByID   map[string]*Network
	NetworkByName map[string]*Network // lower-cased name
	NamespaceByID map[string]*Namespace
	FilesByRole   map[string][]*wire.FileData

	s *Snapshot
	// Load balancers by front end, as chains over entries (one per load balancer, VIP and
	// port) rather than a slice per key: a node can hold hundreds of thousands of front ends.
	front     map[Frontend]int32
	entryLB   []int32
	entryNext []int32
	byVIP     map[string][]*LoadBalancer // built on first use
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
	entries := 0
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		entries += max(len(lb.FrontendVIPs), 1) * len(lb.Ports)
	}
	x := &Index{
		s:             s,
		EndpointByID:  make(map[string]*Endpoint, len(s.Endpoints)),
		EndpointsByIP: make(map[string][]*Endpoint, len(s.Endpoints)),
		LBRefs:        make(map[string]int, len(s.Endpoints)),
		NetworkByID:   make(map[string]*Network, len(s.Networks)),
		NetworkByName: make(map[string]*Network, len(s.Networks)),
		NamespaceByID: make(map[string]*Namespace, len(s.Namespaces)),
		FilesByRole:   map[string][]*wire.FileData{},
		front:         make(map[Frontend]int32, entries),
		entryLB:       make([]int32, 0, entries),
		entryNext:     make([]int32, 0, entries),
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		x.EndpointByID[e.ID] = e
		if e.IP != "" {
			x.EndpointsByIP[e.IP] = append(x.EndpointsByIP[e.IP], e)
		}
	}
	last := make(map[Frontend]int32) // the chain's tail, only for front ends seen twice
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		for j := 0; j < max(len(lb.FrontendVIPs), 1); j++ {
			vip := ""
			if j < len(lb.FrontendVIPs) {
				vip = lb.FrontendVIPs[j]
			}
			for _, p := range lb.Ports {
				k := Frontend{VIP: vip, Protocol: p.Protocol, Port: p.ExternalPort}
				e := int32(len(x.entryLB))
				x.entryLB = append(x.entryLB, int32(i))
				x.entryNext = append(x.entryNext, -1)
				first, seen := x.front[k]
				if !seen {
					x.front[k] = e
					continue
				}
				tail, ok := last[k]
				if !ok {
					tail = first
				}
				x.entryNext[tail] = e
				last[k] = e
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

// HasLB reports whether a load balancer serves front end f.
func (x *Index) HasLB(f Frontend) bool {
	_, ok := x.front[f]
	return ok
}

// LBsFor returns the load balancers serving front end f (nil when none).
func (x *Index) LBsFor(f Frontend) []*LoadBalancer {
	e, ok := x.front[f]
	if !ok {
		return nil
	}
	var out []*LoadBalancer
	for ; e >= 0; e = x.entryNext[e] {
		lb := &x.s.LoadBalancers[x.entryLB[e]]
		if len(out) == 0 || out[len(out)-1] != lb {
			out = append(out, lb)
		}
	}
	return out
}

// LBIndexes appends to buf the indexes (into Snapshot.LoadBalancers) of the load balancers
// serving front end f; reusing buf keeps hot loops free of allocations.
func (x *Index) LBIndexes(f Frontend, buf []int) []int {
	e, ok := x.front[f]
	if !ok {
		return buf
	}
	for ; e >= 0; e = x.entryNext[e] {
		if i := int(x.entryLB[e]); len(buf) == 0 || buf[len(buf)-1] != i {
			buf = append(buf, i)
		}
	}
	return buf
}

// LBsWithVIP returns the load balancers with frontend VIP vip ("" for NodePort ones).
func (x *Index) LBsWithVIP(vip string) []*LoadBalancer {
	if x.byVIP == nil {
		x.byVIP = make(map[string][]*LoadBalancer, len(x.s.LoadBalancers))
		for i := range x.s.LoadBalancers {
			lb := &x.s.LoadBalancers[i]
			if len(lb.FrontendVIPs) == 0 {
				x.byVIP[""] = append(x.byVIP[""], lb)
			}
			for _, v := range lb.FrontendVIPs {
				x.byVIP[v] = append(x.byVIP[v], lb)
			}
		}
	}
	return x.byVIP[vip]
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

// Reindex drops the cached lookups; call it after changing the snapshot's slices.
func (s *Snapshot) Reindex() { s.index = nil }
