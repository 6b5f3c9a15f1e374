package netpol

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// end is an Endpoint prepared for matching.
type end struct {
	pod     *corev1.Pod
	ns      labels.Set // the pod's namespace labels
	nsKnown bool       // ns came from a Namespace object, not only from the pod's namespace name
	ip      netip.Addr
}

func newEnd(e Endpoint) end {
	out := end{pod: e.Pod, ip: e.IP.Unmap()}
	if e.Pod == nil {
		return out
	}
	if !out.ip.IsValid() {
		// An unparsable or empty PodIP leaves the IP unknown; ipBlock peers then cannot match.
		if ip, err := netip.ParseAddr(e.Pod.Status.PodIP); err == nil {
			out.ip = ip.Unmap()
		}
	}
	out.ns = labels.Set{}
	if e.Namespace != nil {
		out.nsKnown = true
		for k, v := range e.Namespace.Labels {
			out.ns[k] = v
		}
	}
	// The API server sets this label on every namespace, so it is known even without the
	// Namespace object, and selectors written against it (the common case) still work.
	if _, ok := out.ns[corev1.LabelMetadataName]; !ok {
		out.ns[corev1.LabelMetadataName] = e.Pod.Namespace
	}
	return out
}

func (e end) String() string {
	switch {
	case e.pod != nil && e.ip.IsValid():
		return fmt.Sprintf("pod %s/%s (%s)", e.pod.Namespace, e.pod.Name, e.ip)
	case e.pod != nil:
		return fmt.Sprintf("pod %s/%s", e.pod.Namespace, e.pod.Name)
	case e.ip.IsValid():
		return e.ip.String()
	}
	return "an unknown endpoint"
}

func selector(s *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s)
}

func labelsOf(m map[string]string) labels.Set { return labels.Set(m) }

// matchPeers returns the index of the first peer that matches other, or -1 and true when the
// rule has no peers, which the API defines as all sources or destinations. The caveats are
// those of the matching peer, or of every peer when none matched: a caveat on a peer that did
// not decide the outcome would only mislead.
func matchPeers(policyNS, policy string, dir Direction, ruleIdx int, peers []networkingv1.NetworkPolicyPeer, other end) (int, bool, caveats) {
	if len(peers) == 0 {
		return -1, true, nil
	}
	field := "from"
	if dir == Egress {
		field = "to"
	}
	var all caveats
	for j := range peers {
		var notes caveats
		where := fmt.Sprintf("%s %s[%d]", ruleName(policy, dir, ruleIdx), field, j)
		if matchPeer(policyNS, where, &peers[j], other, &notes) {
			return j, true, notes
		}
		all.add(notes...)
	}
	return -1, false, all
}

func matchPeer(policyNS, where string, pr *networkingv1.NetworkPolicyPeer, other end, notes *caveats) bool {
	hasSelector := pr.PodSelector != nil || pr.NamespaceSelector != nil
	switch {
	case pr.IPBlock != nil && hasSelector:
		notes.add(fmt.Sprintf("peer %s combines ipBlock with selectors, which the API forbids; it was treated as matching nothing", where))
		return false
	case pr.IPBlock != nil:
		return matchIPBlock(where, pr.IPBlock, other, notes)
	case !hasSelector:
		notes.add(fmt.Sprintf("peer %s is empty, which the API forbids; it was treated as matching nothing", where))
		return false
	}
	// Selectors are parsed before looking at the endpoint so an invalid one is reported
	// whatever the flow.
	nsSel, podSel := labels.Everything(), labels.Everything()
	var err error
	if pr.NamespaceSelector != nil {
		if nsSel, err = selector(pr.NamespaceSelector); err != nil {
			notes.add(fmt.Sprintf("peer %s has an invalid namespaceSelector and was treated as matching nothing: %v", where, err))
			return false
		}
	}
	if pr.PodSelector != nil {
		if podSel, err = selector(pr.PodSelector); err != nil {
			notes.add(fmt.Sprintf("peer %s has an invalid podSelector and was treated as matching nothing: %v", where, err))
			return false
		}
	}
	// Selectors only ever select pods: an external address or a node is reachable through
	// ipBlock alone.
	if other.pod == nil {
		return false
	}
	if pr.NamespaceSelector == nil {
		// A podSelector alone selects pods in the policy's own namespace.
		if other.pod.Namespace != policyNS {
			return false
		}
	} else {
		if !other.nsKnown && needsNamespaceLabels(pr.NamespaceSelector) {
			notes.add(fmt.Sprintf("the labels of namespace %s were not given, so namespaceSelector of %s was evaluated with only %s=%s", other.pod.Namespace, where, corev1.LabelMetadataName, other.pod.Namespace))
		}
		if !nsSel.Matches(other.ns) {
			return false
		}
	}
	return podSel.Matches(labelsOf(other.pod.Labels))
}

// needsNamespaceLabels reports whether s looks at any namespace label besides the name label
// the API server always sets.
func needsNamespaceLabels(s *metav1.LabelSelector) bool {
	for k := range s.MatchLabels {
		if k != corev1.LabelMetadataName {
			return true
		}
	}
	for _, e := range s.MatchExpressions {
		if e.Key != corev1.LabelMetadataName {
			return true
		}
	}
	return false
}

func matchIPBlock(where string, b *networkingv1.IPBlock, other end, notes *caveats) bool {
	if !other.ip.IsValid() {
		notes.add(fmt.Sprintf("the IP of %s is unknown, so ipBlock peers cannot match it", other))
		return false
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		notes.add(fmt.Sprintf("peer %s has an invalid ipBlock cidr %q and was treated as matching nothing", where, b.CIDR))
		return false
	}
	if !cidr.Masked().Contains(other.ip) {
		return false
	}
	for _, ex := range b.Except {
		p, err := netip.ParsePrefix(ex)
		if err != nil {
			notes.add(fmt.Sprintf("peer %s has an invalid ipBlock except %q, which was ignored", where, ex))
			continue
		}
		if p.Masked().Contains(other.ip) {
			return false
		}
	}
	return true
}

// matchPorts returns the index of the first port entry that matches t, or -1 and true when the
// rule lists no ports, which the API defines as all ports.
func matchPorts(ports []networkingv1.NetworkPolicyPort, t traffic) (int, bool) {
	if len(ports) == 0 {
		return -1, true
	}
	for k := range ports {
		if matchPort(&ports[k], t) {
			return k, true
		}
	}
	return -1, false
}

func matchPort(pp *networkingv1.NetworkPolicyPort, t traffic) bool {
	proto := corev1.ProtocolTCP
	if pp.Protocol != nil && *pp.Protocol != "" {
		proto = *pp.Protocol
	}
	if proto != t.proto {
		return false
	}
	if pp.Port == nil {
		// A port entry without a port allows every port of its protocol.
		return true
	}
	if pp.Port.Type == intstr.String {
		return hasNamedPort(t.dst, pp.Port.StrVal, proto, t.port)
	}
	lo, hi := pp.Port.IntVal, pp.Port.IntVal
	if pp.EndPort != nil {
		hi = *pp.EndPort
	}
	return t.port >= lo && t.port <= hi
}

// hasNamedPort reports whether the destination pod declares a container port called name with
// this protocol and number. Restartable init containers (sidecars) run alongside the main
// containers and serve traffic, so their ports count too.
func hasNamedPort(pod *corev1.Pod, name string, proto corev1.Protocol, port int32) bool {
	if pod == nil {
		return false
	}
	check := func(cs []corev1.Container, sidecarsOnly bool) bool {
		for _, c := range cs {
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				cp := p.Protocol
				if cp == "" {
					cp = corev1.ProtocolTCP
				}
				if p.Name == name && cp == proto && p.ContainerPort == port {
					return true
				}
			}
		}
		return false
	}
	return check(pod.Spec.Containers, false) || check(pod.Spec.InitContainers, true)
}
