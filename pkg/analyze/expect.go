package analyze

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// What kube-proxy's winkernel proxier should have programmed on this node, derived from the
// Services and EndpointSlices (HNS-FACTS.md §3.4): one load balancer per Service port and
// front end (ClusterIP, NodePort, each external IP, each load balancer ingress IP), with the
// ready endpoints as backends, narrowed to local endpoints by the traffic policies.

// Front-end kinds.
const (
	frontClusterIP  = "ClusterIP"
	frontNodePort   = "NodePort"
	frontExternalIP = "ExternalIP"
	frontIngress    = "LoadBalancer"
)

// expected is one load balancer kube-proxy should have created (or, when skip is set, one it
// rightly did not).
type expected struct {
	svc        *corev1.Service
	port       *corev1.ServicePort
	kind       string
	front      snapshot.Frontend
	localOnly  bool     // narrowed to local endpoints (ITP/ETP Local, preserve-destination)
	backends   []string // endpoint IPs kube-proxy would use
	allReady   int      // ready endpoints cluster-wide, before narrowing
	targetPort int      // 0 when unknown
	skip       string   // why kube-proxy creates no load balancer here ("" = it should exist)
	lb         int      // index of the HNS load balancer serving it, -1 when none
}

func (e *expected) svcName() string { return e.svc.Namespace + "/" + e.svc.Name }

func (e *expected) portName() string {
	if e.port.Name != "" {
		return fmt.Sprintf("%s (%d/%s)", e.port.Name, e.port.Port, protoOf(e.port))
	}
	return fmt.Sprintf("%d/%s", e.port.Port, protoOf(e.port))
}

func (e *expected) frontText() string {
	if e.front.VIP == "" {
		return fmt.Sprintf("NodePort %d/%s", e.front.Port, e.front.Protocol)
	}
	return fmt.Sprintf("%s %s:%d/%s", e.kind, e.front.VIP, e.front.Port, e.front.Protocol)
}

type expectations struct {
	list       []expected
	claimedBy  []int                     // per HNS load balancer: an expectation it serves (one kube-proxy should program if any), -1 none
	byFront    map[snapshot.Frontend]int // first index into list with this front end
	next       []int                     // next index with the same front end, -1 at the end
	hcPorts    map[int]*corev1.Service   // healthCheckNodePort -> Service
	skippedV6  int
	missingWhy string // non-empty when the Services or EndpointSlices could not be read
}

// first returns the first expectation with front end f, or -1; follow e.next from there.
func (e *expectations) first(f snapshot.Frontend) int {
	if i, ok := e.byFront[f]; ok {
		return i
	}
	return -1
}

func protoOf(p *corev1.ServicePort) string {
	if p.Protocol == "" {
		return "TCP"
	}
	return string(p.Protocol)
}

// backendSet is what a Service port's EndpointSlices offer.
type backendSet struct {
	all, local []string
	ready      int
	targetPort int
}

// backendsFor reads the usable endpoints of one Service port: ready ones, or when none is
// ready the serving-and-terminating ones (kube-proxy's fallback).
func (x *index) backendsFor(svc *corev1.Service, p *corev1.ServicePort) backendSet {
	var bs backendSet
	var termAll, termLocal []string
	for _, sl := range x.slicesBySvc[nsName{svc.Namespace, svc.Name}] {
		if sl.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		port, ok := slicePort(sl, p)
		if !ok {
			continue
		}
		if bs.targetPort == 0 {
			bs.targetPort = port
		}
		for _, e := range sl.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			ip := e.Addresses[0] // kube-proxy uses the first address
			local := e.NodeName != nil && *e.NodeName == x.node
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			switch {
			case ready:
				bs.all = append(bs.all, ip)
				bs.ready++
				if local {
					bs.local = append(bs.local, ip)
				}
			case e.Conditions.Serving != nil && *e.Conditions.Serving && e.Conditions.Terminating != nil && *e.Conditions.Terminating:
				termAll = append(termAll, ip)
				if local {
					termLocal = append(termLocal, ip)
				}
			}
		}
	}
	if len(bs.all) == 0 {
		bs.all, bs.local = termAll, termLocal
	}
	if p.TargetPort.IntValue() > 0 {
		bs.targetPort = p.TargetPort.IntValue()
	}
	return bs
}

// slicePort finds the slice port matching a Service port (by name and protocol) and returns
// its number (the target port).
func slicePort(sl *discoveryv1.EndpointSlice, p *corev1.ServicePort) (int, bool) {
	for _, sp := range sl.Ports {
		name := ""
		if sp.Name != nil {
			name = *sp.Name
		}
		proto := corev1.ProtocolTCP
		if sp.Protocol != nil {
			proto = *sp.Protocol
		}
		if name == p.Name && proto == corev1.Protocol(protoOf(p)) {
			if sp.Port != nil {
				return int(*sp.Port), true
			}
			return 0, true
		}
	}
	return 0, false
}

// expectations builds (once) the load balancers kube-proxy should have programmed.
func (x *index) expectations() *expectations {
	if x.exp != nil {
		return x.exp
	}
	e := &expectations{hcPorts: map[int]*corev1.Service{}}
	x.exp = e
	if why := x.clusterMissing("services"); why != "" {
		e.missingWhy = why
		return e
	}
	if why := x.clusterMissing("endpointslices"); why != "" {
		e.missingWhy = why
		return e
	}
	v6 := x.nodeHasIPv6()
	dsr := x.dsrSupported()
	n := 0 // size everything once: Services can number in the tens of thousands
	for i := range x.c.Services {
		s := &x.c.Services[i]
		fronts := len(s.Spec.ClusterIPs) + len(s.Spec.ExternalIPs) + len(s.Status.LoadBalancer.Ingress) + 2
		n += fronts * len(s.Spec.Ports)
	}
	e.list = make([]expected, 0, n)
	e.claimedBy = make([]int, len(x.s.LoadBalancers))
	for i := range e.claimedBy {
		e.claimedBy[i] = -1
	}
	var buf []int
	e.next = make([]int, 0, n)
	e.byFront = make(map[snapshot.Frontend]int, n)
	for i := range x.c.Services {
		svc := &x.c.Services[i]
		ips := serviceIPs(svc)
		if len(ips) == 0 {
			continue // headless or ExternalName: kube-proxy programs nothing
		}
		itpLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
		etpLocal := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		preserveDIP := svc.Annotations["preserve-destination"] == "true"
		// kube-proxy drops the Local narrowing of external front ends when HNS lacks DSR.
		extLocal, ingLocal := etpLocal && dsr, (etpLocal || preserveDIP) && dsr
		nodePortLocal := (etpLocal || preserveDIP) && dsr
		if svc.Spec.HealthCheckNodePort > 0 {
			e.hcPorts[int(svc.Spec.HealthCheckNodePort)] = svc
		}
		for j := range svc.Spec.Ports {
			p := &svc.Spec.Ports[j]
			proto := protoOf(p)
			bs := x.backendsFor(svc, p)
			add := func(kind, vip string, port int, localOnly bool) {
				if vip != "" && isIPv6(vip) && !v6 {
					e.skippedV6++
					return
				}
				ex := expected{svc: svc, port: p, kind: kind, front: snapshot.Frontend{VIP: vip, Protocol: proto, Port: port},
					localOnly: localOnly, allReady: len(bs.all), targetPort: bs.targetPort, backends: bs.all}
				if localOnly {
					ex.backends = bs.local
				}
				switch {
				case len(bs.all) == 0:
					ex.skip = "it has no ready endpoints"
				case len(ex.backends) == 0:
					ex.skip = "its traffic policy is Local and no endpoint is on this node"
				}
				k := len(e.list)
				// Match the HNS load balancers once; the rules read ex.lb and claimedBy.
				buf = x.lbIndexes(ex.front, buf[:0])
				ex.lb = -1
				if len(buf) > 0 {
					ex.lb = buf[0]
				}
				for _, i := range buf {
					if c := e.claimedBy[i]; c < 0 || (e.list[c].skip != "" && ex.skip == "") {
						e.claimedBy[i] = k
					}
				}
				e.list = append(e.list, ex)
				e.next = append(e.next, -1)
				if first, ok := e.byFront[ex.front]; ok {
					for e.next[first] >= 0 {
						first = e.next[first]
					}
					e.next[first] = k
				} else {
					e.byFront[ex.front] = k
				}
			}
			for _, ip := range ips {
				add(frontClusterIP, ip, int(p.Port), itpLocal)
			}
			if p.NodePort > 0 {
				add(frontNodePort, "", int(p.NodePort), nodePortLocal)
			}
			for _, ip := range svc.Spec.ExternalIPs {
				add(frontExternalIP, ip, int(p.Port), extLocal)
			}
			for _, ing := range svc.Status.LoadBalancer.Ingress {
				if ing.IP == "" || (ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy) {
					continue // kube-proxy leaves Proxy-mode ingress IPs to the cloud load balancer
				}
				add(frontIngress, ing.IP, int(p.Port), ingLocal)
			}
		}
	}
	return e
}

// lbIndexes finds the HNS load balancers serving a front end. NodePort load balancers have
// no VIP, but some HNS versions list the node's address instead.
func (x *index) lbIndexes(f snapshot.Frontend, buf []int) []int {
	buf = x.sx.LBIndexes(f, buf)
	if len(buf) > 0 || f.VIP != "" {
		return buf
	}
	for ip := range x.nodeIPs {
		f.VIP = ip
		buf = x.sx.LBIndexes(f, buf)
	}
	return buf
}

// backendIPs resolves a load balancer's endpoint IDs to IPs; dangling IDs are returned apart.
func (x *index) backendIPs(lb *snapshot.LoadBalancer) (ips, dangling []string) {
	for _, id := range lb.EndpointIDs {
		if e := x.sx.EndpointByID[id]; e != nil {
			ips = append(ips, e.IP)
		} else {
			dangling = append(dangling, id)
		}
	}
	return ips, dangling
}

// danglingCount counts a load balancer's endpoint IDs that HNS no longer has.
func (x *index) danglingCount(lb *snapshot.LoadBalancer) int {
	n := 0
	for _, id := range lb.EndpointIDs {
		if x.sx.EndpointByID[id] == nil {
			n++
		}
	}
	return n
}

// sameBackends reports whether a load balancer's endpoints are exactly the expected IPs,
// without allocating (backend lists are short).
func (x *index) sameBackends(lb *snapshot.LoadBalancer, want []string) bool {
	if len(lb.EndpointIDs) != len(want) {
		return false
	}
	for _, id := range lb.EndpointIDs {
		e := x.sx.EndpointByID[id]
		if e == nil {
			return false
		}
		found := false
		for _, w := range want {
			if w == e.IP {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// diff returns the members of a not in b, sorted.
func diff(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range a {
		if !in[s] && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	if len(ss) > 8 {
		return strings.Join(ss[:8], ", ") + fmt.Sprintf(" (+%d more)", len(ss)-8)
	}
	return strings.Join(ss, ", ")
}
