package analyze

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// NetworkPolicy evaluation, compiled once per policy (Kubernetes semantics: a pod is isolated
// for a direction when any policy selecting it has that policy type; traffic is then allowed
// when any rule of those policies allows it).

type cpeer struct {
	pod, ns labels.Selector // nil: not set
	block   *netip.Prefix
	except  []netip.Prefix
}

type crule struct {
	peers []cpeer // empty: every source/destination
	ports []networkingv1.NetworkPolicyPort
}

type cpolicy struct {
	p               *networkingv1.NetworkPolicy
	pods            labels.Selector
	ingress, egress bool
	in, out         []crule
	bad             bool // a selector did not parse: the policy is not judged
}

func selector(ls *metav1.LabelSelector) (labels.Selector, bool) {
	if ls == nil {
		return nil, true
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	return s, err == nil
}

func compilePeers(peers []networkingv1.NetworkPolicyPeer) ([]cpeer, bool) {
	var out []cpeer
	for _, p := range peers {
		var c cpeer
		var ok1, ok2 bool
		c.pod, ok1 = selector(p.PodSelector)
		c.ns, ok2 = selector(p.NamespaceSelector)
		if !ok1 || !ok2 {
			return nil, false
		}
		if p.IPBlock != nil {
			b, ok := parsePrefix(p.IPBlock.CIDR)
			if !ok {
				return nil, false
			}
			c.block = &b
			c.except = parsePrefixes(p.IPBlock.Except)
		}
		out = append(out, c)
	}
	return out, true
}

func compilePolicy(p *networkingv1.NetworkPolicy) *cpolicy {
	c := &cpolicy{p: p}
	var ok bool
	if c.pods, ok = selector(&p.Spec.PodSelector); !ok {
		c.bad = true
		return c
	}
	if len(p.Spec.PolicyTypes) == 0 {
		c.ingress, c.egress = true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		c.ingress = c.ingress || t == networkingv1.PolicyTypeIngress
		c.egress = c.egress || t == networkingv1.PolicyTypeEgress
	}
	for _, r := range p.Spec.Ingress {
		peers, ok := compilePeers(r.From)
		if !ok {
			c.bad = true
		}
		c.in = append(c.in, crule{peers: peers, ports: r.Ports})
	}
	for _, r := range p.Spec.Egress {
		peers, ok := compilePeers(r.To)
		if !ok {
			c.bad = true
		}
		c.out = append(c.out, crule{peers: peers, ports: r.Ports})
	}
	return c
}

// policies returns the compiled policies of a namespace (compiled once).
func (x *index) policies(ns string) []*cpolicy {
	if x.compiled == nil {
		x.compiled = map[string][]*cpolicy{}
	}
	if c, ok := x.compiled[ns]; ok {
		return c
	}
	var out []*cpolicy
	for _, p := range x.policiesByNS[ns] {
		if cp := compilePolicy(p); !cp.bad {
			out = append(out, cp)
		}
	}
	x.compiled[ns] = out
	return out
}

// endpoint is one side of a flow.
type flowEnd struct {
	ns     string // "" when not a pod
	labels map[string]string
	ip     netip.Addr
}

func (x *index) nsMatches(sel labels.Selector, ns string) bool {
	return sel.Matches(labels.Set(x.nsLabels[ns]))
}

// peerMatches reports whether peer (of a policy in policyNS) selects end.
func (x *index) peerMatches(p cpeer, policyNS string, end flowEnd) bool {
	if p.block != nil {
		return end.ip.IsValid() && p.block.Contains(end.ip) && !addrCovered(end.ip, p.except)
	}
	if end.ns == "" {
		return false // selectors match pods only; a NATed flow arrives from the node's IP
	}
	if p.ns == nil {
		if end.ns != policyNS {
			return false
		}
	} else if !x.nsMatches(p.ns, end.ns) {
		return false
	}
	return p.pod == nil || p.pod.Matches(labels.Set(end.labels))
}

// portMatches: unknown (named) ports count as matching, so a verdict never rests on a guess.
func portMatches(ports []networkingv1.NetworkPolicyPort, proto string, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := "TCP"
		if p.Protocol != nil {
			pp = string(*p.Protocol)
		}
		if !strings.EqualFold(pp, proto) {
			continue
		}
		if p.Port == nil || p.Port.IntValue() == 0 || port == 0 {
			return true
		}
		lo, hi := p.Port.IntValue(), p.Port.IntValue()
		if p.EndPort != nil {
			hi = int(*p.EndPort)
		}
		if port >= lo && port <= hi {
			return true
		}
	}
	return false
}

// verdict says whether policies in ns let traffic leave (egress) or reach (ingress) a pod.
// selecting lists the policies that isolate the pod in that direction.
func (x *index) verdict(ns string, podLabels map[string]string, egress bool, peer flowEnd, proto string, port int) (allowed bool, selecting []string) {
	allowed = true
	for _, cp := range x.policies(ns) {
		if (egress && !cp.egress) || (!egress && !cp.ingress) || !cp.pods.Matches(labels.Set(podLabels)) {
			continue
		}
		if len(selecting) == 0 {
			allowed = false
		}
		selecting = append(selecting, cp.p.Name)
		rules := cp.in
		if egress {
			rules = cp.out
		}
		for _, r := range rules {
			if !portMatches(r.ports, proto, port) {
				continue
			}
			if len(r.peers) == 0 {
				allowed = true
				break
			}
			for _, p := range r.peers {
				if x.peerMatches(p, cp.p.Namespace, peer) {
					allowed = true
					break
				}
			}
		}
	}
	return allowed, selecting
}

// policyEnforced says whether the node's CNI enforces NetworkPolicy on Windows pods:
// Calico and Antrea do; flannel and the plain win-bridge/win-overlay/sdnbridge plugins do
// not; Azure CNI does when Azure NPM (or Calico) runs on the node.
func (x *index) policyEnforced() (enforced bool, who string, known bool) {
	for _, c := range x.components(facts.RoleNetPolicy) {
		return true, c.Name, true
	}
	for _, c := range x.components(facts.RoleCNI) {
		if c.Name == "calico" || c.Name == "antrea" {
			return true, c.Name, true
		}
	}
	family, from := x.cniFamily()
	switch {
	case from == "":
		return false, "", false
	case family == "calico" || family == "antrea":
		return true, family, true
	case family == "":
		if c := x.s.ActiveCNI(); c != nil {
			return false, strings.Join(c.Plugins, ","), true
		}
		return false, "unknown", true
	}
	return false, family, true
}

// networkPolicyNotEnforced: NetworkPolicies select the pod but the CNI does not enforce them.
func networkPolicyNotEnforced(in Input) ([]Finding, string) {
	x := in.ix()
	if why := x.clusterMissing("networkpolicies"); why != "" {
		return nil, why
	}
	enforced, who, known := x.policyEnforced()
	if !known {
		return nil, "the node's CNI is unknown (no CNI config and no CNI pod on the node)"
	}
	if enforced {
		return nil, ""
	}
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	var ev []Evidence
	var objs []ObjectRef
	for _, p := range pods {
		var names []string
		for _, cp := range x.policies(p.Namespace) {
			if cp.pods.Matches(labels.Set(p.Labels)) {
				names = append(names, cp.p.Name)
			}
		}
		if len(names) == 0 {
			continue
		}
		ev = append(ev, Evidence{Artifact: "NetworkPolicy", Object: p.Namespace + "/" + strings.Join(names, ","), Detail: fmt.Sprintf("select pod %s/%s", p.Namespace, p.Name)})
		objs = append(objs, podRef(p))
	}
	if len(ev) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "networkpolicy-not-enforced", Severity: SeverityWarning,
		Title:    fmt.Sprintf("NetworkPolicies select %d %s on node %s, but its CNI (%s) does not enforce policy on Windows", len(objs), plural(len(objs), "pod", "pods"), x.node, who),
		Evidence: capEvidence(ev, 15, "NetworkPolicy"),
		Remediation: "These pods accept and send traffic the policies mean to block. Use a CNI that enforces policy on " +
			"Windows (Calico, Antrea, or Azure CNI with Azure NPM), or isolate the workloads another way.",
		Objects: capObjects(objs, 20),
	}}, ""
}

func capObjects(o []ObjectRef, max int) []ObjectRef {
	if len(o) > max {
		return o[:max]
	}
	return o
}

// endpointExceptions returns the OutBoundNAT exceptions of a pod's endpoint and whether it
// NATs at all.
func (x *index) endpointExceptions(ip string) ([]netip.Prefix, bool) {
	e := x.localEndpoint(ip)
	if e == nil || len(e.OutBoundNAT) == 0 {
		return nil, false
	}
	var exc []netip.Prefix
	for _, o := range e.OutBoundNAT {
		exc = append(exc, parsePrefixes(o.Exceptions)...)
	}
	return exc, true
}

// networkPolicySNATConflict: a policy allows a Windows pod on this node by pod or namespace
// selector, but the pod's traffic to the policy's pods is NATed to the node IP (their IPs are
// not OutBoundNAT exceptions), so the policy denies it.
func networkPolicySNATConflict(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	for _, f := range []string{"networkpolicies", "all-pods"} {
		if why := x.clusterMissing(f); why != "" {
			return nil, why
		}
	}
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	if len(x.c.NetworkPolicies) == 0 {
		return nil, ""
	}
	// Sources whose traffic to some pod IP is NATed.
	type src struct {
		pod *corev1.Pod
		ip  netip.Addr
		exc []netip.Prefix
	}
	podCIDRs, _ := x.clusterPodCIDRs()
	var srcs []src
	bySrcNS := map[string][]int{}
	for _, p := range pods {
		for _, ip := range podIPs(p) {
			exc, nat := x.endpointExceptions(ip)
			a, ok := parseAddr(ip)
			if !nat || !ok {
				continue
			}
			if len(podCIDRs) > 0 {
				all := true
				for _, c := range podCIDRs {
					all = all && prefixCovered(c, exc)
				}
				if all {
					continue // every pod IP is excepted: nothing to pods is NATed
				}
			}
			bySrcNS[p.Namespace] = append(bySrcNS[p.Namespace], len(srcs))
			srcs = append(srcs, src{p, a, exc})
		}
	}
	if len(srcs) == 0 {
		return nil, ""
	}
	srcNS := make([]string, 0, len(bySrcNS))
	for ns := range bySrcNS {
		srcNS = append(srcNS, ns)
	}
	sort.Strings(srcNS)
	podsByNS := map[string][]*facts.PodInfo{}
	for i := range x.c.AllPods {
		p := &x.c.AllPods[i]
		if !p.HostNetwork {
			podsByNS[p.Namespace] = append(podsByNS[p.Namespace], p)
		}
	}
	policyNS := make([]string, 0, len(x.policiesByNS))
	for ns := range x.policiesByNS {
		policyNS = append(policyNS, ns)
	}
	sort.Strings(policyNS)
	var ev []Evidence
	var objs []ObjectRef
	for _, ns := range policyNS {
		for _, cp := range x.policies(ns) {
			if !cp.ingress {
				continue
			}
			var allowed []int // sources a selector-based peer allows
			for _, r := range cp.in {
				for _, peer := range r.peers {
					if peer.block != nil {
						continue
					}
					for _, sns := range srcNS {
						if peer.ns == nil && sns != cp.p.Namespace || peer.ns != nil && !x.nsMatches(peer.ns, sns) {
							continue
						}
						for _, k := range bySrcNS[sns] {
							if peer.pod == nil || peer.pod.Matches(labels.Set(srcs[k].pod.Labels)) {
								allowed = append(allowed, k)
							}
						}
					}
				}
			}
			if len(allowed) == 0 {
				continue
			}
			for _, k := range allowed {
				s := srcs[k]
				for _, d := range podsByNS[cp.p.Namespace] {
					if !cp.pods.Matches(labels.Set(d.Labels)) || len(d.IPs) == 0 {
						continue
					}
					a, ok := parseAddr(d.IPs[0])
					if !ok || addrCovered(a, s.exc) {
						continue
					}
					ev = append(ev, Evidence{Artifact: "NetworkPolicy", Object: cp.p.Namespace + "/" + cp.p.Name,
						Detail: fmt.Sprintf("allows pod %s/%s by selector, but its traffic to %s/%s (%s) leaves NATed to the node IP: %s is not an OutBoundNAT exception",
							s.pod.Namespace, s.pod.Name, d.Namespace, d.Name, d.IPs[0], d.IPs[0])})
					objs = append(objs, ObjectRef{Kind: "NetworkPolicy", Namespace: cp.p.Namespace, Name: cp.p.Name}, podRef(s.pod))
					break
				}
			}
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "networkpolicy-snat-conflict", Severity: SeverityError,
		Title:    fmt.Sprintf("%d NetworkPolicy %s allow Windows pods on node %s by selector, but those pods' traffic arrives NATed to the node IP", len(ev), plural(len(ev), "rule", "rules"), x.node),
		Evidence: capEvidence(ev, 15, "NetworkPolicy"),
		Remediation: "The destination sees the node's IP, which no pod or namespace selector matches, so the policy denies " +
			"the traffic it means to allow. Add the cluster pod range to the CNI config's OutBoundNAT exceptions (see " +
			"outboundnat-exceptions-mismatch) and recreate the pods; an ipBlock for the node IPs is a workaround that " +
			"allows every pod on those nodes.",
		Objects: capObjects(objs, 20),
	}}, ""
}

// splitTarget reads "ip:port" (or "[v6]:port").
func splitTarget(t string) (string, int) {
	i := strings.LastIndex(t, ":")
	if i < 0 {
		return t, 0
	}
	port, err := strconv.Atoi(t[i+1:])
	if err != nil {
		return t, 0
	}
	return strings.Trim(t[:i], "[]"), port
}

// networkPolicyDenies: for a probed flow that failed, the policies selecting the source or
// every destination pod deny it.
func networkPolicyDenies(in Input) ([]Finding, string) {
	x := in.ix()
	if in.Pod == nil {
		return nil, "no target pod: probes run from a pod"
	}
	if why := x.clusterMissing("networkpolicies"); why != "" {
		return nil, why
	}
	ran := 0
	for i := range x.s.Probes {
		if _, port := splitTarget(x.s.Probes[i].Target); port > 0 {
			ran++
		}
	}
	if ran == 0 {
		return nil, "no connectivity probe ran from the pod"
	}
	if enforced, _, known := x.policyEnforced(); known && !enforced {
		return nil, "" // policies are not enforced on this node, so they deny nothing
	}
	srcIPs := podIPs(in.Pod)
	if len(srcIPs) == 0 {
		return nil, "the target pod has no IP"
	}
	srcIP, _ := parseAddr(srcIPs[0])
	exc, nat := x.endpointExceptions(srcIPs[0])
	src := flowEnd{ns: in.Pod.Namespace, labels: in.Pod.Labels, ip: srcIP}
	var out []Finding
	for i := range x.s.Probes {
		p := &x.s.Probes[i]
		host, port := splitTarget(p.Target)
		if port == 0 || !probeFailed(p) {
			continue
		}
		proto := strings.ToUpper(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		dsts := x.flowDestinations(host, proto, port)
		if len(dsts) == 0 {
			continue
		}
		var ev []Evidence
		denied := 0
		for _, d := range dsts {
			seen := src
			if nat && d.end.ip.IsValid() && !addrCovered(d.end.ip, exc) {
				seen = flowEnd{ip: x.nodeAddr()} // SNATed to the node
			}
			okOut, egressBy := x.verdict(src.ns, src.labels, true, d.end, proto, d.port)
			okIn, ingressBy := true, []string(nil)
			if d.end.ns != "" {
				okIn, ingressBy = x.verdict(d.end.ns, d.end.labels, false, seen, proto, d.port)
			}
			switch {
			case !okOut:
				denied++
				ev = append(ev, Evidence{Artifact: "NetworkPolicy", Object: src.ns + "/" + strings.Join(egressBy, ","),
					Detail: fmt.Sprintf("egress from %s/%s to %s port %d/%s: no rule of the policies selecting the pod allows it", src.ns, in.Pod.Name, d.name, d.port, proto)})
			case !okIn:
				denied++
				det := fmt.Sprintf("ingress to %s port %d/%s from %s/%s: no rule of the policies selecting it allows it", d.name, d.port, proto, src.ns, in.Pod.Name)
				if seen.ns == "" {
					det += " (the traffic arrives NATed to the node IP)"
				}
				ev = append(ev, Evidence{Artifact: "NetworkPolicy", Object: d.end.ns + "/" + strings.Join(ingressBy, ","), Detail: det})
			}
		}
		if denied == 0 || denied < len(dsts) {
			continue
		}
		out = append(out, Finding{
			ID: "networkpolicy-denies", Severity: SeverityError,
			Title:    fmt.Sprintf("NetworkPolicies deny pod %s/%s's probed flow to %s (%s)", in.Pod.Namespace, in.Pod.Name, p.Target, proto),
			Evidence: append([]Evidence{{Artifact: "probe", Object: p.Target, Detail: p.Verdict + " " + p.Error}}, capEvidence(ev, 10, "NetworkPolicy")...),
			Remediation: "Add a rule allowing this flow to the policies named (egress on the source side, ingress on the " +
				"destination side, both when both are isolated), or correct their selectors.",
			Objects: []ObjectRef{podRef(in.Pod)},
		})
	}
	return out, ""
}

// flowDst is one pod (or address) a probed target resolves to.
type flowDst struct {
	end  flowEnd
	name string
	port int
}

// flowDestinations resolves a probe target: a Service front end to its ready backends at
// the target port (policies see traffic after the load balancer), a pod IP to the pod,
// anything else to the bare address.
func (x *index) flowDestinations(host, proto string, port int) []flowDst {
	if x.c == nil {
		return nil
	}
	toEnd := func(ip string) flowEnd {
		a, _ := parseAddr(ip)
		if p := x.podsByIP[ip]; p != nil {
			return flowEnd{ns: p.Namespace, labels: p.Labels, ip: a}
		}
		return flowEnd{ip: a}
	}
	name := func(ip string) string {
		if p := x.podsByIP[ip]; p != nil {
			return "pod " + p.Namespace + "/" + p.Name
		}
		return ip
	}
	if s := x.servicesByIP[host]; s != nil {
		var out []flowDst
		for j := range s.Spec.Ports {
			sp := &s.Spec.Ports[j]
			if int(sp.Port) != port || protoOf(sp) != proto {
				continue
			}
			bs := x.backendsFor(s, sp)
			for _, ip := range bs.all {
				out = append(out, flowDst{toEnd(ip), name(ip), bs.targetPort})
			}
		}
		return out
	}
	if _, ok := parseAddr(host); !ok {
		return nil
	}
	return []flowDst{{toEnd(host), name(host), port}}
}

// nodeAddr is the node's primary address (for flows NATed to it).
func (x *index) nodeAddr() netip.Addr {
	if x.thisNode != nil && len(x.thisNode.InternalIPs) > 0 {
		a, _ := parseAddr(x.thisNode.InternalIPs[0])
		return a
	}
	for ip := range x.nodeIPs {
		if a, ok := parseAddr(ip); ok {
			return a
		}
	}
	return netip.Addr{}
}

// PolicyEnforced is policyEnforced for callers outside the analyzer (the --to path
// explanation), so both judge policy enforcement the same way.
func PolicyEnforced(snap *snapshot.Snapshot, cl *facts.Cluster) (enforced bool, who string, known bool) {
	if snap == nil {
		snap = &snapshot.Snapshot{}
	}
	return Input{Snapshot: snap, Cluster: cl}.ix().policyEnforced()
}
