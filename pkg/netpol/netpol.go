// Package netpol decides whether Kubernetes NetworkPolicies (networking.k8s.io/v1) allow one
// flow, and explains the verdict: which policies select the source for egress and the
// destination for ingress, which rule (policy, direction, rule, peer and port index) allows
// the flow, or that policies select a pod for a direction and none of their rules allows it.
//
// It evaluates the API's semantics, not one implementation's. Where the API leaves behaviour
// to the implementation, this package makes one documented choice and reports a caveat with
// the verdict, so a reader knows which part of the answer a given CNI may not share:
//
//   - ipBlock peers are matched against every endpoint's IP, pod IPs included. The API
//     reference says ipBlock is meant for cluster-external IPs and that whether it applies to
//     pod IPs is implementation-defined; some implementations match pod IPs, others do not. A
//     rule that allows a flow only through an ipBlock matching a pod IP carries a caveat.
//   - hostNetwork pods are evaluated like any pod, with a caveat in the Reason: most
//     implementations do not enforce policies on them, and their traffic carries the node's IP.
//   - Named ports are resolved against the destination pod's container ports (and those of its
//     restartable init containers, i.e. sidecars), for ingress and for egress alike, and must
//     match the rule's protocol. A named port towards a non-pod destination matches nothing.
//
// The package never fails: an invalid selector or CIDR (which the API server would have
// rejected) makes that policy or peer match nothing and is reported as a caveat.
package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Endpoint is one end of a flow. A pod endpoint has Pod set; Namespace carries its namespace's
// labels for namespaceSelector peers. Without Namespace only the label the API server puts on
// every namespace, kubernetes.io/metadata.name, is known, and a caveat says so when a
// namespaceSelector had to be evaluated. A non-pod endpoint (an external address, a node) has
// only IP; ingress or egress policies never select it, and only ipBlock peers can match it.
type Endpoint struct {
	Pod       *corev1.Pod
	Namespace *corev1.Namespace
	// IP is the address the flow uses. For a pod it defaults to Status.PodIP; set it to pick
	// the family of a dual-stack pod.
	IP netip.Addr
}

// Flow is one connection attempt from From to To.
type Flow struct {
	From, To Endpoint
	// Protocol defaults to TCP, as in the API.
	Protocol corev1.Protocol
	// Port is the destination port number.
	Port int32
}

// Direction is the direction a policy rule governs, spelled as the API's policyTypes.
type Direction string

const (
	Ingress Direction = "Ingress"
	Egress  Direction = "Egress"
)

// Verdict is the answer for one flow. The flow is allowed only if both the source's egress and
// the destination's ingress allow it.
type Verdict struct {
	Allowed bool             `json:"allowed"`
	Egress  DirectionVerdict `json:"egress"`
	Ingress DirectionVerdict `json:"ingress"`
}

// DirectionVerdict is the answer for one direction: egress from the source pod or ingress to
// the destination pod.
type DirectionVerdict struct {
	// Selected is true when at least one policy selects the pod for this direction; then only
	// what a rule allows is allowed (default deny).
	Selected bool `json:"selected"`
	Allowed  bool `json:"allowed"`
	// By is the rule that allows the flow: the first in policy order (namespace/name) and rule
	// order. Nil when the flow is denied or no policy selects the pod.
	By *RuleRef `json:"by,omitempty"`
	// Policies are the namespace/name of the policies that select the pod for this direction.
	Policies []string `json:"policies,omitempty"`
	// Reason says in one sentence why, and appends the hostNetwork caveat when it applies.
	Reason string `json:"reason"`
	// Rules lists every rule of the selecting policies for this direction with what it
	// matched, so a denial can say which rule came closest.
	Rules []RuleCheck `json:"rules,omitempty"`
	// Caveats are the implementation-defined or missing-input parts of this verdict.
	Caveats []string `json:"caveats,omitempty"`
}

// RuleRef names one rule, and the peer and port entries that matched the flow.
type RuleRef struct {
	Policy    string    `json:"policy"` // namespace/name
	Direction Direction `json:"direction"`
	Rule      int       `json:"rule"` // index in spec.ingress or spec.egress
	// Peer is the index in the rule's from (ingress) or to (egress); -1 when the rule lists no
	// peers, which allows all.
	Peer int `json:"peer"`
	// Port is the index in the rule's ports; -1 when the rule lists no ports, which allows all.
	Port int `json:"port"`
}

// String renders the reference as a reader would look it up in the policy's YAML.
func (r RuleRef) String() string {
	peers := "from"
	if r.Direction == Egress {
		peers = "to"
	}
	s := ruleName(r.Policy, r.Direction, r.Rule)
	if r.Peer < 0 {
		s += " (all " + peers + ","
	} else {
		s += fmt.Sprintf(" (%s[%d],", peers, r.Peer)
	}
	if r.Port < 0 {
		s += " all ports)"
	} else {
		s += fmt.Sprintf(" ports[%d])", r.Port)
	}
	return s
}

// ruleName is "namespace/name ingress[i]": the policy and the path of the rule in its spec.
func ruleName(policy string, dir Direction, i int) string {
	return fmt.Sprintf("%s %s[%d]", policy, strings.ToLower(string(dir)), i)
}

// RuleCheck is how one rule of a selecting policy fared against the flow.
type RuleCheck struct {
	Policy    string    `json:"policy"`
	Direction Direction `json:"direction"`
	Rule      int       `json:"rule"`
	// PeerMatched: a peer (or an empty peer list) matches the other end of the flow.
	PeerMatched bool `json:"peerMatched"`
	// PortMatched: a port entry (or an empty port list) matches the protocol and port.
	PortMatched bool `json:"portMatched"`
}

// Evaluate decides whether policies allow f. Policies in any namespace may be passed; only
// those in the source's namespace can select it for egress and only those in the
// destination's namespace can select it for ingress. The order of policies does not matter.
func Evaluate(policies []networkingv1.NetworkPolicy, f Flow) Verdict {
	proto := f.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	ordered := make([]*networkingv1.NetworkPolicy, len(policies))
	for i := range policies {
		ordered[i] = &policies[i]
	}
	// Policies are a union, so any allowing rule is a correct explanation; sorting makes the
	// one reported independent of the order the API server listed them in.
	slices.SortStableFunc(ordered, func(a, b *networkingv1.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	src, dst := newEnd(f.From), newEnd(f.To)
	t := traffic{proto: proto, port: f.Port, dst: dst.pod}
	v := Verdict{
		Egress:  evaluate(ordered, Egress, src, dst, t),
		Ingress: evaluate(ordered, Ingress, dst, src, t),
	}
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	return v
}

// traffic is what port entries are matched against.
type traffic struct {
	proto corev1.Protocol
	port  int32
	dst   *corev1.Pod // resolves named ports
}

func (t traffic) String() string { return fmt.Sprintf("%s/%d", t.proto, t.port) }

// evaluate answers for one direction: subject is the pod policies may select (the source for
// egress, the destination for ingress), other is the far end that rules' peers must match.
func evaluate(pols []*networkingv1.NetworkPolicy, dir Direction, subject, other end, t traffic) DirectionVerdict {
	var dv DirectionVerdict
	// notes hold caveats about the direction as a whole; ruleNotes those of the rules, of which
	// only the allowing rule's are kept when the flow is allowed.
	var notes, ruleNotes, byNotes caveats
	role, otherRole, prep := "destination", "source", "from"
	if dir == Egress {
		role, otherRole, prep = "source", "destination", "to"
	}
	lower := strings.ToLower(string(dir))
	if subject.pod == nil {
		dv.Allowed = true
		dv.Reason = fmt.Sprintf("the %s %s is not a pod, so no %s policy applies to it", role, subject, lower)
		return dv
	}
	pod := subject.pod
	for _, p := range pols {
		if p.Namespace != pod.Namespace || !hasType(p, dir) {
			continue
		}
		name := p.Namespace + "/" + p.Name
		sel, err := selector(&p.Spec.PodSelector)
		if err != nil {
			notes.add(fmt.Sprintf("policy %s has an invalid podSelector and was ignored: %v", name, err))
			continue
		}
		if !sel.Matches(labelsOf(pod.Labels)) {
			continue
		}
		dv.Selected = true
		dv.Policies = append(dv.Policies, name)
		for i, r := range rulesOf(p, dir) {
			peer, peerOK, peerNotes := matchPeers(p.Namespace, name, dir, i, r.peers, other)
			port, portOK := matchPorts(r.ports, t)
			dv.Rules = append(dv.Rules, RuleCheck{Policy: name, Direction: dir, Rule: i, PeerMatched: peerOK, PortMatched: portOK})
			ruleNotes.add(peerNotes...)
			if peerOK && portOK && dv.By == nil {
				dv.By = &RuleRef{Policy: name, Direction: dir, Rule: i, Peer: peer, Port: port}
				byNotes.add(peerNotes...)
				if peer >= 0 && r.peers[peer].IPBlock != nil && other.pod != nil {
					byNotes.add(fmt.Sprintf("%s allows the flow through an ipBlock that contains the IP of %s; whether ipBlock applies to pod IPs is implementation-defined", dv.By, other))
				}
			}
		}
	}
	if len(dv.Rules) > 0 && other.pod != nil && other.pod.Spec.HostNetwork {
		notes.add(fmt.Sprintf("the %s %s uses the host network: its traffic carries the node's IP, so implementations usually do not match it by pod or namespace selectors", otherRole, other))
	}
	switch {
	case !dv.Selected:
		dv.Allowed = true
		dv.Reason = fmt.Sprintf("no NetworkPolicy selects %s for %s, so all %s is allowed", subject, lower, lower)
	case dv.By != nil:
		dv.Allowed = true
		dv.Reason = fmt.Sprintf("%s allows %s %s %s", dv.By, t, prep, other)
		notes.add(byNotes...)
	case len(dv.Rules) == 0:
		dv.Reason = fmt.Sprintf("%s %s %s %s for %s and %s no %s rules, so all %s is denied (default deny)",
			plural(len(dv.Policies), "NetworkPolicy", "NetworkPolicies"), strings.Join(dv.Policies, ", "),
			plural(len(dv.Policies), "selects", "select"), subject, lower, plural(len(dv.Policies), "has", "have"), lower, lower)
	default:
		dv.Reason = fmt.Sprintf("%s %s %s %s for %s and no rule allows %s %s %s (default deny)%s",
			plural(len(dv.Policies), "NetworkPolicy", "NetworkPolicies"), strings.Join(dv.Policies, ", "),
			plural(len(dv.Policies), "selects", "select"), subject, lower, t, prep, other, closest(dv.Rules, otherRole, t))
		notes.add(ruleNotes...)
	}
	if pod.Spec.HostNetwork {
		note := fmt.Sprintf("%s uses the host network; NetworkPolicies usually do not apply to hostNetwork pods (implementation-defined), so the node may not enforce this verdict", subject)
		dv.Reason += "; note: " + note
		notes.add(note)
	}
	dv.Caveats = notes
	return dv
}

// closest names the first rule that matched one half of the flow, because that is usually the
// rule its author meant to allow it with.
func closest(rules []RuleCheck, otherRole string, t traffic) string {
	for _, r := range rules {
		field := ruleName(r.Policy, r.Direction, r.Rule)
		switch {
		case r.PeerMatched && !r.PortMatched:
			return fmt.Sprintf("; closest: %s matches the %s but not %s", field, otherRole, t)
		case !r.PeerMatched && r.PortMatched:
			return fmt.Sprintf("; closest: %s matches %s but not the %s", field, t, otherRole)
		}
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// hasType applies the API's defaulting of policyTypes: Ingress always, Egress only when the
// policy has egress rules.
func hasType(p *networkingv1.NetworkPolicy, dir Direction) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return dir == Ingress || len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyType(dir))
}

// rule is an ingress or egress rule with its peers and ports, whichever direction it came from.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

func rulesOf(p *networkingv1.NetworkPolicy, dir Direction) []rule {
	var out []rule
	if dir == Ingress {
		for _, r := range p.Spec.Ingress {
			out = append(out, rule{peers: r.From, ports: r.Ports})
		}
		return out
	}
	for _, r := range p.Spec.Egress {
		out = append(out, rule{peers: r.To, ports: r.Ports})
	}
	return out
}

// caveats collects notes once each, in the order they arose.
type caveats []string

func (c *caveats) add(notes ...string) {
	for _, s := range notes {
		if !slices.Contains(*c, s) {
			*c = append(*c, s)
		}
	}
}
