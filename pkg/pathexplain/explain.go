// Package pathexplain walks the path from a pod to one destination hop by hop, as a packet
// takes it on a Windows node: the pod's DNS servers, the name's lookup, the Service VIP's HNS
// load balancer, its backends against the Service's ready endpoints, how each backend is
// reached, the NetworkPolicy verdict for the flow, and the probe that actually tried it. Each
// hop gets a verdict with the evidence it rests on; the first failing hop is the headline,
// because every hop after a broken one is tested (if at all) on a path that cannot work.
//
// It is pure: it reads the plan (pkg/pathplan), the collected snapshot with the probe results,
// and the cluster facts.
package pathexplain

import (
	"encoding/json"
	"fmt"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/netpol"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Hop verdicts.
const (
	OK      = "ok"
	Fail    = "fail"
	Warn    = "warn"
	Skipped = "skipped" // not tested: an earlier hop or the run made it untestable
	Unknown = "unknown" // the evidence needed was not collected
)

// Hop names, stable for scripts (-o json) and tests.
const (
	HopPodDNS        = "pod DNS servers"
	HopLookup        = "name lookup"
	HopLoadBalancer  = "VIP load balancer"
	HopBackends      = "load balancer backends"
	HopReach         = "backend reachability"
	HopPolicy        = "NetworkPolicy"
	HopConnect       = "connection"
	HopClusterDNS    = "cluster DNS (kube-dns VIP, UDP)"
	HopClusterDNSTCP = "cluster DNS (kube-dns VIP, TCP)"
	HopCoreDNSPod    = "CoreDNS pod"
	HopAPIServer     = "API server VIP"
	HopExternal      = "external"
)

// Hop is one step of the path.
type Hop struct {
	Name     string `json:"name"`
	Verdict  string `json:"verdict"`
	Evidence string `json:"evidence"`
	Detail   string `json:"detail,omitempty"` // why it matters, or what to do
}

// Path is the walk from the source to the destination, then the default checks.
type Path struct {
	From     string   `json:"from"`
	To       string   `json:"to,omitempty"`
	Hops     []Hop    `json:"hops"`
	Headline *Hop     `json:"headline,omitempty"` // the first failing hop; nil when none fails
	Notes    []string `json:"notes,omitempty"`
}

// Input is what one path is explained from.
type Input struct {
	Pod      *corev1.Pod // the source; nil when the probes ran from the node
	Node     string
	Plan     *pathplan.Plan
	Snapshot *snapshot.Snapshot
	Cluster  *facts.Cluster
}

// Explain walks the path. It never fails: what it cannot judge is "unknown", with why.
func Explain(in Input) *Path {
	if in.Plan == nil {
		in.Plan = &pathplan.Plan{}
	}
	if in.Snapshot == nil {
		in.Snapshot = &snapshot.Snapshot{}
	}
	if in.Cluster == nil {
		in.Cluster = &facts.Cluster{}
	}
	e := &explainer{Input: in, results: map[string]wire.ProbeData{}}
	for _, p := range in.Snapshot.Probes {
		// The first record per spec wins, as the replay and the collector answer each once.
		k := strings.ToLower(p.Protocol) + ":" + p.Target
		if _, dup := e.results[k]; !dup {
			e.results[k] = p
		}
	}
	path := &Path{From: "node " + in.Node, Notes: slices.Clone(in.Plan.Notes)}
	// The probes were planned before the node's kubelet config was read; say so when the
	// names they asked are under another domain than the node's.
	if k := in.Snapshot.Kubelet; k != nil && k.ClusterDomain != "" && in.Plan.Domain != "" &&
		!strings.EqualFold(strings.TrimSuffix(k.ClusterDomain, "."), in.Plan.Domain) && len(in.Plan.Probes) > 0 {
		path.Notes = append(path.Notes, fmt.Sprintf("the kubelet's cluster domain is %s but the probes asked names under %s, so lookups may fail for that reason alone", k.ClusterDomain, in.Plan.Domain))
	}
	if in.Pod != nil {
		path.From = "pod " + in.Pod.Namespace + "/" + in.Pod.Name
	}
	if in.Pod != nil && !in.Pod.Spec.HostNetwork {
		path.Hops = append(path.Hops, e.podDNS())
	}
	if to := in.Plan.To; to != nil {
		path.To = to.Target.String()
		path.Hops = append(path.Hops, e.target(to)...)
	}
	path.Hops = append(path.Hops, e.defaults()...)
	for i := range path.Hops {
		if path.Hops[i].Verdict == Fail {
			h := path.Hops[i]
			path.Headline = &h
			break
		}
	}
	return path
}

type explainer struct {
	Input
	results map[string]wire.ProbeData
}

// probesWith returns the plan's probes with role.
func (e *explainer) probesWith(role string) []pathplan.Probe {
	var out []pathplan.Probe
	for _, p := range e.Plan.Probes {
		if p.Role == role {
			out = append(out, p)
		}
	}
	return out
}

// dnsDetail is a DNS probe's detail (pkg/collector/probe).
type dnsDetail struct {
	Name      string   `json:"name"`
	Server    string   `json:"server"`
	Transport string   `json:"transport"`
	Rcode     string   `json:"rcode"`
	Answers   []string `json:"answers"`
	Aliases   int      `json:"aliases"` // CNAME records in the answer (a count)
	Truncated bool     `json:"truncated"`
}

func decodeDNS(p wire.ProbeData) (dnsDetail, bool) {
	var d dnsDetail
	if p.Detail == nil {
		return d, false
	}
	b, err := json.Marshal(p.Detail)
	if err != nil || json.Unmarshal(b, &d) != nil {
		return d, false
	}
	return d, true
}

// probeHop turns one probe's result into a hop verdict.
func (e *explainer) probeHop(name, spec string) Hop {
	h := Hop{Name: name}
	p, ok := e.results[spec]
	if !ok {
		h.Verdict, h.Evidence = Unknown, spec+": the collector returned no result for this probe"
		return h
	}
	h.Evidence = spec + ": " + p.Verdict
	if p.Method != "" {
		h.Evidence += " (" + p.Method + ")"
	}
	switch p.Verdict {
	case "ok":
		h.Verdict = OK
		if p.LatencyMS > 0 {
			h.Evidence += fmt.Sprintf(" in %d ms", p.LatencyMS)
		}
	case "skipped":
		h.Verdict = Skipped
	default: // fail, timeout, and anything a newer collector may send
		h.Verdict = Fail
	}
	if p.Error != "" {
		h.Evidence += ": " + p.Error
	}
	return h
}

func (e *explainer) podIP() string {
	if e.Pod == nil {
		return ""
	}
	return e.Pod.Status.PodIP
}

// podDNS: the servers the pod asks must be kube-dns's ClusterIP, or no Service name resolves.
func (e *explainer) podDNS() Hop {
	h := Hop{Name: HopPodDNS}
	servers, search, from := e.Snapshot.PodDNSServers(e.podIP())
	kube := e.Plan.KubeDNSIP
	switch {
	case from == "":
		h.Verdict, h.Evidence = Unknown, "the pod's DNS servers were not collected (neither its compartment nor its HNS endpoint)"
		return h
	case kube == "":
		h.Verdict, h.Evidence = Unknown, "pod asks "+strings.Join(servers, ", ")+"; kube-dns's ClusterIP is unknown"
		return h
	}
	h.Evidence = fmt.Sprintf("pod asks %s (from the %s); kube-dns is %s", strings.Join(servers, ", "), from, kube)
	if len(search) > 0 {
		h.Evidence += "; search " + strings.Join(search, ", ")
	}
	switch {
	case servers[0] == kube:
		h.Verdict = OK
	case slices.Contains(servers, kube):
		h.Verdict = Warn
		h.Detail = "kube-dns is not the first server: Windows asks the first one and moves on only when it does not answer, so a server that answers NXDOMAIN for cluster names hides kube-dns"
	default:
		h.Verdict = Fail
		h.Detail = "the pod's DNS servers do not include kube-dns's ClusterIP, so Service names do not resolve. Set the CNI config's DNS nameservers (and the kubelet's --cluster-dns) to " + kube + ", then recreate the pod"
	}
	return h
}

// target walks the hops to the --to destination.
func (e *explainer) target(to *pathplan.Resolved) []Hop {
	var hops []Hop
	if to.DNSName != "" {
		hops = append(hops, e.lookup(to))
	}
	var backends []backend
	switch to.Target.Kind {
	case pathplan.KindService:
		lbHop, lbs := e.loadBalancer(to)
		hops = append(hops, lbHop)
		var bh Hop
		bh, backends = e.backends(to, lbs)
		hops = append(hops, bh, e.reach(to, lbs))
	case pathplan.KindPod:
		backends = []backend{{ip: to.IP, port: to.Port, pod: to.Pod}}
		hops = append(hops, e.podEndpoint(to))
	case pathplan.KindIP:
		backends = []backend{{ip: to.IP, port: to.Port}}
	}
	if to.Target.Kind != pathplan.KindHost {
		hops = append(hops, e.policy(to, backends))
	}
	if to.Probed {
		spec := strings.ToLower(to.Protocol) + ":" + hostPort(to.IP, to.Port)
		hops = append(hops, e.probeHop(HopConnect, spec))
	} else {
		hops = append(hops, Hop{Name: HopConnect, Verdict: Skipped, Evidence: fmt.Sprintf("not probed: %s", notProbedWhy(to))})
	}
	return hops
}

func notProbedWhy(to *pathplan.Resolved) string {
	if to.IP == "" {
		return "the address is known only after the pod's own lookup"
	}
	return to.Protocol + " cannot be probed"
}

// lookup: the target's name asked of kube-dns, and what Windows does with the pod's search list.
func (e *explainer) lookup(to *pathplan.Resolved) Hop {
	var spec string
	for _, p := range e.probesWith(pathplan.RoleTargetDNS) {
		spec = p.Spec
	}
	if spec == "" {
		return Hop{Name: HopLookup, Verdict: Skipped, Evidence: "not probed: kube-dns's ClusterIP is unknown"}
	}
	h := e.probeHop(HopLookup, spec)
	if p, ok := e.results[spec]; ok && p.Verdict == "ok" {
		d, _ := decodeDNS(p)
		server := d.Server
		if server == "" {
			server = strings.SplitN(spec, "@", 2)[1]
		}
		h.Evidence = fmt.Sprintf("%s -> %s (answered by %s)", to.DNSName, dashList(d.Answers), server)
		if d.Rcode != "" && !strings.EqualFold(d.Rcode, "NOERROR") {
			h.Verdict = Fail
			h.Evidence += ", rcode " + d.Rcode
		} else if to.IP != "" && !slices.Contains(d.Answers, to.IP) {
			h.Verdict = Fail
			h.Evidence += ", but the Service's ClusterIP is " + to.IP
		} else if len(d.Answers) == 0 && to.IP == "" {
			h.Verdict = Fail
			h.Evidence += ", no address"
		}
	}
	if to.Target.Kind == pathplan.KindService {
		short := to.Target.Name
		if _, search, _ := e.Snapshot.PodDNSServers(e.podIP()); len(search) > 0 {
			h.Detail = fmt.Sprintf("the FQDN was asked, so no search suffix applied. In the pod, %q is expanded with the search list (%s first); Windows asks a name with a dot (such as %s.%s) as is, without the search list, so use %q or the FQDN",
				short, search[0], short, to.Namespace, short)
		} else {
			h.Detail = fmt.Sprintf("the FQDN was asked, so no search suffix applied; Windows asks a name with a dot (such as %s.%s) as is, without the search list", short, to.Namespace)
		}
	}
	return h
}

// loadBalancer: kube-proxy must have programmed an HNS load balancer for the VIP, port and
// protocol on this node.
func (e *explainer) loadBalancer(to *pathplan.Resolved) (Hop, []*snapshot.LoadBalancer) {
	h := Hop{Name: HopLoadBalancer}
	if !e.Snapshot.HaveLoadBalancers() {
		h.Verdict, h.Evidence = Unknown, "the node's load balancers were not collected"
		return h, nil
	}
	x := e.Snapshot.Index()
	fe := snapshot.Frontend{VIP: to.IP, Protocol: to.Protocol, Port: to.Port}
	lbs := x.LBsFor(fe)
	if len(lbs) == 0 {
		h.Verdict = Fail
		h.Evidence = fmt.Sprintf("no HNS load balancer for %s on node %s", frontend(fe), e.Node)
		var other []string
		for _, lb := range x.LBsWithVIP(to.IP) {
			for _, pm := range lb.Ports {
				other = append(other, fmt.Sprintf("%d/%s", pm.ExternalPort, pm.Protocol))
			}
		}
		if len(other) > 0 {
			h.Evidence += "; the VIP has load balancers only for " + strings.Join(other, ", ")
		}
		h.Detail = "kube-proxy has not programmed this Service on the node, so the VIP goes nowhere. Read kube-proxy's log on the node for HNS errors, then restart kube-proxy"
		return h, nil
	}
	var parts []string
	for _, lb := range lbs {
		for _, pm := range lb.Ports {
			if pm.ExternalPort == to.Port && strings.EqualFold(pm.Protocol, to.Protocol) {
				parts = append(parts, fmt.Sprintf("%s %d->%d/%s, %d backends", short(lb.ID), pm.ExternalPort, pm.InternalPort, pm.Protocol, len(lb.EndpointIDs)))
			}
		}
	}
	h.Verdict, h.Evidence = OK, frontend(fe)+": "+strings.Join(parts, "; ")
	return h, lbs
}

// backend is one destination of the flow: a ready endpoint of the Service, or the pod or
// address targeted.
type backend struct {
	ip   string
	port int
	pod  *facts.PodInfo
}

// readyEndpoints lists the Service's ready endpoint addresses for its port, with the backend
// port (the EndpointSlice's port of the same name).
func (e *explainer) readyEndpoints(to *pathplan.Resolved) []backend {
	var out []backend
	for _, ep := range pathplan.ReadyEndpoints(e.Cluster, to) {
		out = append(out, backend{ip: ep.IP, port: ep.Port, pod: ep.Pod})
	}
	return out
}

// backends: the load balancer must send to exactly the Service's ready endpoints. A backend
// that is not one is stale (a deleted pod: connections to it time out); a ready endpoint the
// load balancer lacks gets no traffic from this node.
func (e *explainer) backends(to *pathplan.Resolved, lbs []*snapshot.LoadBalancer) (Hop, []backend) {
	h := Hop{Name: HopBackends}
	ready := e.readyEndpoints(to)
	if len(lbs) == 0 {
		h.Verdict, h.Evidence = Skipped, "no load balancer to compare"
		return h, ready
	}
	x := e.Snapshot.Index()
	readySet := map[string]bool{}
	var readyIPs []string
	for _, b := range ready {
		readySet[b.ip] = true
		readyIPs = append(readyIPs, b.ip)
	}
	lbSet := map[string]bool{}
	var stale, unknownIDs []string
	for _, lb := range lbs {
		for _, id := range lb.EndpointIDs {
			ep := x.EndpointByID[id]
			if ep == nil {
				unknownIDs = append(unknownIDs, short(id))
				continue
			}
			if !lbSet[ep.IP] {
				lbSet[ep.IP] = true
				if !readySet[ep.IP] {
					stale = append(stale, ep.IP)
				}
			}
		}
	}
	var missing []string
	for _, ip := range readyIPs {
		if !lbSet[ip] {
			missing = append(missing, ip)
		}
	}
	lbIPs := keys(lbSet)
	h.Evidence = fmt.Sprintf("load balancer sends to %s; ready endpoints %s", dashList(lbIPs), dashList(readyIPs))
	switch {
	case len(ready) == 0:
		h.Verdict = Fail
		h.Detail = "the Service has no ready endpoints: its pods are not ready, or its selector matches none. Check: kubectl get endpointslices -n " + to.Namespace + " -l kubernetes.io/service-name=" + to.Target.Name
	case len(stale) > 0:
		h.Verdict = Fail
		h.Evidence += "; stale backend " + strings.Join(stale, ", ") + " (not a ready endpoint)"
		h.Detail = "the load balancer still sends to addresses that are no longer ready endpoints, so some connections go to a pod that is gone. kube-proxy has not caught up with the EndpointSlice: read its log for HNS errors, then restart it"
	case len(unknownIDs) > 0:
		h.Verdict = Fail
		h.Evidence += "; backend endpoint " + strings.Join(unknownIDs, ", ") + " does not exist in HNS"
		h.Detail = "the load balancer references HNS endpoints that were deleted; restart kube-proxy so it reprograms the Service"
	case len(missing) > 0:
		h.Verdict = Warn
		h.Evidence += "; ready endpoint " + strings.Join(missing, ", ") + " has no backend here"
		h.Detail = "kube-proxy has not added every ready endpoint yet; traffic from this node skips them"
	default:
		h.Verdict = OK
	}
	return h, ready
}

// reach: each backend must be an HNS endpoint on the node: local (a pod here) or remote (a pod
// elsewhere; on overlay it needs the provider address of the node hosting it).
func (e *explainer) reach(to *pathplan.Resolved, lbs []*snapshot.LoadBalancer) Hop {
	h := Hop{Name: HopReach}
	if len(lbs) == 0 {
		h.Verdict, h.Evidence = Skipped, "no load balancer, so no backends to reach"
		return h
	}
	x := e.Snapshot.Index()
	var parts, bad []string
	seen := map[string]bool{}
	for _, lb := range lbs {
		for _, id := range lb.EndpointIDs {
			ep := x.EndpointByID[id]
			if ep == nil || seen[ep.IP] {
				continue
			}
			seen[ep.IP] = true
			switch {
			case !ep.Remote:
				parts = append(parts, ep.IP+" local")
			case ep.ProviderAddress != "":
				parts = append(parts, ep.IP+" remote via "+ep.ProviderAddress)
			default:
				if n := e.Snapshot.NetworkOf(ep); n != nil && n.IsOverlay() {
					bad = append(bad, ep.IP)
					parts = append(parts, ep.IP+" remote, no provider address")
				} else {
					parts = append(parts, ep.IP+" remote (routed)")
				}
			}
		}
	}
	h.Evidence = dashList(parts)
	h.Verdict = OK
	if len(parts) == 0 {
		h.Verdict, h.Evidence = Skipped, "the load balancer has no backend endpoints on this node"
	}
	if len(bad) > 0 {
		h.Verdict = Fail
		h.Detail = "on an overlay network a remote endpoint needs the provider address of the node hosting it, or its packets are not encapsulated to that node"
	}
	return h
}

// podEndpoint: a pod target on this node needs a local HNS endpoint.
func (e *explainer) podEndpoint(to *pathplan.Resolved) Hop {
	h := Hop{Name: HopReach}
	if !e.Snapshot.HaveEndpoints() {
		h.Verdict, h.Evidence = Unknown, "the node's endpoints were not collected"
		return h
	}
	eps := e.Snapshot.Index().EndpointsByIP[to.IP]
	onNode := to.Pod != nil && to.Pod.Node == e.Node
	for _, ep := range eps {
		if onNode && !ep.Remote {
			h.Verdict, h.Evidence = OK, to.IP+" is local endpoint "+short(ep.ID)
			return h
		}
		if !onNode && ep.Remote {
			h.Verdict, h.Evidence = OK, to.IP+" is remote endpoint "+short(ep.ID)
			if ep.ProviderAddress != "" {
				h.Evidence += " via " + ep.ProviderAddress
			}
			return h
		}
	}
	if onNode {
		h.Verdict, h.Evidence = Fail, fmt.Sprintf("the pod runs on this node but no local HNS endpoint holds %s", to.IP)
		h.Detail = "the pod's network endpoint is gone (an HNS restart or a CNI failure); delete the pod so it gets a new one"
		return h
	}
	h.Verdict, h.Evidence = OK, to.IP+" is off this node, reached by routing"
	return h
}

// policy: NetworkPolicies must allow the flow, where the node enforces them.
func (e *explainer) policy(to *pathplan.Resolved, backends []backend) Hop {
	h := Hop{Name: HopPolicy}
	if e.Pod == nil || e.Pod.Spec.HostNetwork {
		h.Verdict, h.Evidence = Skipped, "the source is the node, which NetworkPolicies do not select"
		return h
	}
	if m := e.Cluster.Missing["networkpolicies"]; m != "" {
		h.Verdict, h.Evidence = Unknown, "NetworkPolicies could not be read: "+m
		return h
	}
	if len(backends) == 0 {
		h.Verdict, h.Evidence = Skipped, "no destination to evaluate"
		return h
	}
	proto := corev1.Protocol(to.Protocol)
	var denied []string
	var reasons []string
	for _, b := range backends {
		port := b.port
		if port == 0 {
			port = to.Port
		}
		f := netpol.Flow{From: netpol.Endpoint{Pod: e.Pod, Namespace: e.namespace(e.Pod.Namespace)}, Protocol: proto, Port: int32(port)}
		if a, err := netip.ParseAddr(b.ip); err == nil {
			f.To.IP = a
		}
		if b.pod != nil {
			f.To.Pod = e.podObject(b.pod, b.ip)
			f.To.Namespace = e.namespace(b.pod.Namespace)
		}
		v := netpol.Evaluate(e.Cluster.NetworkPolicies, f)
		who := b.ip
		if b.pod != nil {
			who += " (" + b.pod.Namespace + "/" + b.pod.Name + ")"
		}
		if !v.Allowed {
			dv := v.Egress
			if dv.Allowed {
				dv = v.Ingress
			}
			denied = append(denied, fmt.Sprintf("%s:%d denied: %s", who, port, dv.Reason))
		} else if len(reasons) == 0 {
			reasons = append(reasons, "egress: "+v.Egress.Reason, "ingress: "+v.Ingress.Reason)
		}
	}
	if len(denied) == 0 {
		h.Verdict, h.Evidence = OK, "allowed; "+strings.Join(reasons, "; ")
		return h
	}
	h.Evidence = strings.Join(denied, "; ")
	enforced, who, known := policyEnforcement(e.Snapshot, e.Cluster)
	switch {
	case enforced:
		h.Verdict = Fail
		h.Evidence += "; enforced by " + who
		h.Detail = "a NetworkPolicy blocks this flow and the node's CNI enforces it. Add an egress rule for the source and an ingress rule for the destination that allow this port, or test another destination"
	case known:
		h.Verdict = Warn
		h.Evidence += "; not enforced: " + who + " does not enforce NetworkPolicy on Windows"
		h.Detail = "the policies mean to block this flow but nothing on the node enforces them, so they are not what blocks it"
	default:
		h.Verdict = Warn
		h.Evidence += "; whether the node's CNI enforces policy is unknown"
	}
	return h
}

func (e *explainer) namespace(name string) *corev1.Namespace {
	for _, n := range e.Cluster.Namespaces {
		if n.Name == name {
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
		}
	}
	return nil
}

// podObject returns the full pod when it is on the node (named ports need its containers),
// else one built from the compact facts.
func (e *explainer) podObject(p *facts.PodInfo, ip string) *corev1.Pod {
	for i := range e.Cluster.Pods {
		if q := &e.Cluster.Pods[i]; q.Namespace == p.Namespace && q.Name == p.Name {
			return q
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels},
		Spec:       corev1.PodSpec{NodeName: p.Node, HostNetwork: p.HostNetwork},
		Status:     corev1.PodStatus{PodIP: ip, Phase: p.Phase},
	}
}

// defaults: the default checks. A kube-dns VIP that fails while a CoreDNS pod answers directly
// is the VIP's load balancer on this node, not CoreDNS.
func (e *explainer) defaults() []Hop {
	var hops []Hop
	var podOK, podFail bool
	var podHops []Hop
	for _, p := range e.probesWith(pathplan.RoleCoreDNSPod) {
		h := e.probeHop(HopCoreDNSPod+" "+strings.TrimPrefix(p.Detail, "CoreDNS pod "), p.Spec)
		e.dnsEvidence(&h, p.Spec)
		podHops = append(podHops, h)
		podOK = podOK || h.Verdict == OK
		podFail = podFail || h.Verdict == Fail
	}
	for _, role := range []string{pathplan.RoleClusterDNS, pathplan.RoleClusterDNSTCP} {
		name := HopClusterDNS
		if role == pathplan.RoleClusterDNSTCP {
			name = HopClusterDNSTCP
		}
		for _, p := range e.probesWith(role) {
			h := e.probeHop(name, p.Spec)
			e.dnsEvidence(&h, p.Spec)
			if h.Verdict == Fail {
				switch {
				case e.kubeDNSLBMissing(p.Spec):
					// The node's own state says why, whatever the direct probes did.
					h.Detail = "the kube-dns VIP has no HNS load balancer on this node, so nothing forwards the query to CoreDNS: kube-proxy did not program it (see service-lb-missing)"
				case podOK:
					h.Detail = "a CoreDNS pod answers when asked directly, so CoreDNS works and the kube-dns VIP is broken on this node: check its HNS load balancer (kube-proxy)"
				case podFail:
					h.Detail = "no CoreDNS pod answers when asked directly either: CoreDNS itself, or the path to its pods, is broken"
				}
			}
			hops = append(hops, h)
		}
	}
	hops = append(hops, podHops...)
	for _, p := range e.probesWith(pathplan.RoleAPIServer) {
		hops = append(hops, e.probeHop(HopAPIServer, p.Spec))
	}
	for _, p := range e.probesWith(pathplan.RoleExternal) {
		h := e.probeHop(HopExternal+" "+p.Detail, p.Spec)
		e.dnsEvidence(&h, p.Spec)
		hops = append(hops, h)
	}
	return hops
}

// kubeDNSLBMissing reports whether the load balancers were collected and none fronts the
// DNS probe's server on its port and transport.
func (e *explainer) kubeDNSLBMissing(spec string) bool {
	if e.Snapshot == nil || !e.Snapshot.HaveLoadBalancers() {
		return false
	}
	t, err := probe.ParseTarget(spec) // the plan's own spec: server, port and transport
	if err != nil || t.Protocol != probe.ProtoDNS {
		return false
	}
	proto := "UDP"
	if t.OverTCP {
		proto = "TCP"
	}
	return !e.Snapshot.Index().HasLB(snapshot.Frontend{VIP: t.Addr.Addr().String(), Protocol: proto, Port: int(t.Addr.Port())})
}

// dnsEvidence adds the answers of a successful DNS probe.
func (e *explainer) dnsEvidence(h *Hop, spec string) {
	p, ok := e.results[spec]
	if !ok || p.Verdict != "ok" || p.Protocol != "dns" {
		return
	}
	if d, ok := decodeDNS(p); ok {
		h.Evidence += " -> " + dashList(d.Answers)
	}
}

func frontend(f snapshot.Frontend) string {
	return hostPort(f.VIP, f.Port) + "/" + f.Protocol
}

// hostPort writes IP:PORT as probe specs do, IPv6 in brackets.
func hostPort(ip string, port int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip + ":" + fmt.Sprint(port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)).String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dashList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// short trims a GUID for the table; JSON keeps hops as sentences anyway.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
