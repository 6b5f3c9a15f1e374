package analyze

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// podGroup collects pods that share one problem, so a node target yields one finding per
// distinct problem rather than one per pod.
type podGroup struct {
	key  string
	sev  string
	pods []*corev1.Pod
	ev   []Evidence
}

type podGroups struct {
	order []string
	m     map[string]*podGroup
}

func (g *podGroups) add(key, sev string, p *corev1.Pod, ev ...Evidence) {
	if g.m == nil {
		g.m = map[string]*podGroup{}
	}
	pg := g.m[key]
	if pg == nil {
		pg = &podGroup{key: key, sev: sev}
		g.m[key] = pg
		g.order = append(g.order, key)
		pg.ev = append(pg.ev, ev...)
	}
	pg.pods = append(pg.pods, p)
}

func (pg *podGroup) subject() string {
	if len(pg.pods) == 1 {
		return fmt.Sprintf("pod %s/%s", pg.pods[0].Namespace, pg.pods[0].Name)
	}
	return fmt.Sprintf("%d pods", len(pg.pods))
}

func (pg *podGroup) objects() []ObjectRef {
	var out []ObjectRef
	for i, p := range pg.pods {
		if i == 20 {
			break
		}
		out = append(out, podRef(p))
	}
	return out
}

// dnsPolicyOf returns the pod's effective DNS policy (ClusterFirst by default).
func dnsPolicyOf(p *corev1.Pod) corev1.DNSPolicy {
	if p.Spec.DNSPolicy == "" {
		return corev1.DNSClusterFirst
	}
	return p.Spec.DNSPolicy
}

// dnsServerMismatch: the pod's DNS servers are not the cluster DNS service IP.
func dnsServerMismatch(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		if view := podDNSView(in); view != nil {
			return podViewDNSServerMismatch(in, view)
		}
		return nil, missingEndpoints
	}
	x := in.ix()
	want, source := x.clusterDNS()
	if len(want) == 0 {
		return nil, "neither kubelet's clusterDNS nor the kube-dns Service is known"
	}
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	var out []Finding
	// kubelet and the kube-dns Service disagree: every pod gets a server that is not DNS.
	if k := x.s.Kubelet; k != nil && len(k.ClusterDNS) > 0 && x.c != nil && x.c.KubeDNS != nil {
		if svcIPs := serviceIPs(x.c.KubeDNS); len(svcIPs) > 0 && len(diff(k.ClusterDNS, svcIPs)) == len(k.ClusterDNS) {
			out = append(out, Finding{
				ID: "dns-server-mismatch", Severity: SeverityError,
				Title: fmt.Sprintf("kubelet on %s gives pods DNS server %s, but Service %s/%s is at %s", x.node,
					strings.Join(k.ClusterDNS, ","), x.c.KubeDNS.Namespace, x.c.KubeDNS.Name, strings.Join(svcIPs, ",")),
				Evidence:    []Evidence{{Artifact: wire.KindFile, Object: strings.Join(k.Sources, ", "), Detail: "clusterDNS " + strings.Join(k.ClusterDNS, ",")}},
				Remediation: "Set kubelet's clusterDNS (--cluster-dns) to the kube-dns Service's ClusterIP and restart kubelet; pods created before the fix keep the old server until recreated.",
				Objects:     []ObjectRef{serviceRef(x.c.KubeDNS), nodeRef(x.node)},
			})
		}
	}
	cni := x.s.ActiveCNI()
	var g podGroups
	for _, p := range pods {
		expect := want
		switch dnsPolicyOf(p) {
		case corev1.DNSDefault:
			continue // the node's resolver, by request
		case corev1.DNSNone:
			if p.Spec.DNSConfig == nil {
				continue
			}
			expect = p.Spec.DNSConfig.Nameservers
		}
		for _, ip := range podIPs(p) {
			e := x.localEndpoint(ip)
			if e == nil || len(expect) == 0 {
				continue
			}
			epEv := Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: "DNS servers: " + listOrNone(e.DNSServers)}
			var cniEv []Evidence
			if cni != nil && !cni.DNSCapability && len(cni.DNSServers) > 0 {
				cniEv = append(cniEv, Evidence{Artifact: wire.KindFile, Object: cni.Path, Detail: "the CNI config sets Nameservers " + strings.Join(cni.DNSServers, ",") + " and does not take the pod's DNS settings from the runtime (capabilities.dns)"})
			}
			switch {
			case len(e.DNSServers) == 0:
				g.add("no DNS servers on the endpoint", SeverityError, p, append([]Evidence{epEv}, cniEv...)...)
			case !contains(expect, e.DNSServers[0]) && len(diff(expect, e.DNSServers)) == len(expect):
				g.add("DNS servers "+strings.Join(e.DNSServers, ",")+" do not include "+strings.Join(expect, ","), SeverityError, p, append([]Evidence{epEv}, cniEv...)...)
			case !contains(expect, e.DNSServers[0]):
				g.add("first DNS server "+e.DNSServers[0]+" is not "+strings.Join(expect, ","), SeverityWarning, p, epEv)
			}
			break
		}
	}
	for _, key := range g.order {
		pg := g.m[key]
		f := Finding{
			ID: "dns-server-mismatch", Severity: pg.sev,
			Title:    fmt.Sprintf("%s: %s (cluster DNS from %s)", pg.subject(), key, source),
			Evidence: capEvidence(pg.ev, 10, wire.KindHCNEndpoints),
			Remediation: "Pods resolve cluster names only through the cluster DNS Service. The CNI sets the endpoint's " +
				"DNS servers: with capabilities.dns it takes kubelet's clusterDNS from the runtime, otherwise its own " +
				"Nameservers list. Fix the CNI config (or kubelet's clusterDNS) and recreate the pods.",
			Objects: pg.objects(),
		}
		if pg.sev == SeverityWarning {
			f.SeverityReason = "the cluster DNS server is on the list, but Windows asks the first server first and waits for it to time out"
		}
		out = append(out, f)
	}
	return out, ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// dnsSuffixIncomplete: the pod's DNS search list lacks <ns>.svc.<domain>, svc.<domain> or
// <domain>. Windows appends the search list only to single-label names, so the namespace
// suffix is what makes "svc-name" resolve.
func dnsSuffixIncomplete(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		if view := podDNSView(in); view != nil {
			return podViewDNSSuffixIncomplete(in, view)
		}
		return nil, missingEndpoints
	}
	x := in.ix()
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	domain, assumed := x.clusterDomain()
	cni := x.s.ActiveCNI()
	var g podGroups
	for _, p := range pods {
		if dnsPolicyOf(p) == corev1.DNSDefault || dnsPolicyOf(p) == corev1.DNSNone {
			continue
		}
		for _, ip := range podIPs(p) {
			e := x.localEndpoint(ip)
			if e == nil {
				continue
			}
			have := map[string]bool{}
			for _, s := range e.DNSSearch {
				have[strings.ToLower(strings.TrimSuffix(s, "."))] = true
			}
			nsSuffix := p.Namespace + ".svc." + domain
			var lack []string
			sev := SeverityInfo
			if !hasNamespaceSuffix(have, p.Namespace, domain) {
				lack, sev = append(lack, nsSuffixName(p.Namespace, domain)), SeverityError
			}
			for _, s := range []string{"svc." + domain, domain} {
				if !have[s] {
					lack = append(lack, s)
					if sev == SeverityInfo {
						sev = SeverityWarning
					}
				}
			}
			if len(lack) == 0 {
				break
			}
			ev := []Evidence{{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: "DNS search list: " + listOrNone(e.DNSSearch)}}
			if cni != nil && !cni.DNSCapability {
				ev = append(ev, Evidence{Artifact: wire.KindFile, Object: cni.Path, Detail: "the CNI config's Search is " + listOrNone(cni.DNSSearch) + " and it does not take the pod's search list from the runtime (capabilities.dns)"})
			}
			if assumed {
				ev = append(ev, Evidence{Artifact: "kubelet-config", Detail: "cluster domain not collected; assumed cluster.local"})
			}
			key := strings.Join(lack, ", ")
			if lack[0] == nsSuffix {
				key = "<namespace>.svc." + domain + strings.TrimPrefix(key, nsSuffix) // group pods of different namespaces
			}
			g.add(key, sev, p, ev...)
			break
		}
	}
	var out []Finding
	for _, key := range g.order {
		pg := g.m[key]
		f := Finding{
			ID: "dns-suffix-incomplete", Severity: pg.sev,
			Title:    fmt.Sprintf("%s: DNS search list lacks %s", pg.subject(), key),
			Evidence: capEvidence(pg.ev, 10, wire.KindHCNEndpoints),
			Remediation: "Short Service names (\"web\") resolve only through the pod's namespace suffix. Enable " +
				"capabilities.dns in the CNI config so the runtime passes kubelet's search list (or list the suffixes in " +
				"the config's Search), then recreate the pods. Fully qualified names (web.shop.svc." + domain + ") work meanwhile.",
			Objects: pg.objects(),
		}
		switch pg.sev {
		case SeverityWarning:
			f.SeverityReason = "the pod's own namespace suffix is present; only longer partial names are affected"
		case SeverityInfo:
			f.SeverityReason = "only the bare cluster domain is missing"
		}
		out = append(out, f)
	}
	return out, ""
}

var hostToken = regexp.MustCompile(`[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+`)

// partialName reports a name the Windows resolver treats as fully qualified although it is
// not: it has a dot, is not absolute, and does not end in the cluster domain.
func partialName(name, domain string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.Contains(name, ".") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, "."+domain) {
		return false
	}
	if _, ok := parseAddr(name); ok {
		return false
	}
	return true
}

func probeQuery(p *wire.ProbeData) string {
	if m, ok := p.Detail.(map[string]any); ok {
		for _, k := range []string{"query", "name", "host"} {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

func probeServer(p *wire.ProbeData) string {
	host := p.Target
	if m, ok := p.Detail.(map[string]any); ok {
		if s, ok := m["server"].(string); ok && s != "" {
			host = s // "10.96.0.10" or, from the collector's DNS probe, "10.96.0.10:53"
		}
	} else if _, server, ok := strings.Cut(host, "@"); ok {
		host = server // a DNS probe's target: NAME@SERVER[:PORT]
	}
	if i := strings.LastIndex(host, ":"); i > 0 && !strings.Contains(host[i+1:], ".") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// isDNSProbe: the collector's DNS probes have protocol "dns"; transcripts and older streams
// name the method "dns" or probe UDP port 53.
func isDNSProbe(p *wire.ProbeData) bool {
	return strings.EqualFold(p.Protocol, "dns") || strings.EqualFold(p.Method, "dns") ||
		strings.HasSuffix(p.Target, ":53") && strings.EqualFold(p.Protocol, "udp")
}

func probeFailed(p *wire.ProbeData) bool {
	return p.Verdict == "fail" || p.Verdict == "timeout"
}

// dnsDottedNameSemantics: a name with a dot ("web.shop") is treated as fully qualified by
// the Windows resolver, so the search list is not appended and it fails to resolve
// (kubernetes/website windows networking: Windows resolves only single-label names with the
// pod's suffix; "kubernetes.default" does not resolve).
func dnsDottedNameSemantics(in Input) ([]Finding, string) {
	x := in.ix()
	domain, _ := x.clusterDomain()
	sawProbe := false
	var out []Finding
	for i := range x.s.Probes {
		p := &x.s.Probes[i]
		q := probeQuery(p)
		if !isDNSProbe(p) || q == "" {
			continue
		}
		sawProbe = true
		if !partialName(q, domain) || !probeFailed(p) {
			continue
		}
		out = append(out, Finding{
			ID: "dns-dotted-name-semantics", Severity: SeverityWarning,
			Title:    fmt.Sprintf("%q did not resolve: Windows treats a name with a dot as fully qualified", q),
			Evidence: []Evidence{{Artifact: "probe", Object: p.Target, Detail: fmt.Sprintf("query %s: %s %s", q, p.Verdict, p.Error)}},
			Remediation: fmt.Sprintf("Use the fully qualified name (%s.svc.%s) or the single-label name from the same "+
				"namespace; partial names such as <service>.<namespace> resolve on Linux pods but not on Windows.", strings.TrimSuffix(q, ".svc"), domain),
		})
	}
	if in.Pod == nil && !sawProbe {
		return out, "no DNS probe of a name ran, and no target pod's configuration to read"
	}
	if in.Pod != nil && x.c != nil && x.clusterMissing("services") == "" {
		// Partial Service names in the pod's environment.
		partial := map[string]*corev1.Service{}
		for i := range x.c.Services {
			s := &x.c.Services[i]
			partial[s.Name+"."+s.Namespace] = s
			partial[s.Name+"."+s.Namespace+".svc"] = s
		}
		var ev []Evidence
		var objs []ObjectRef
		seen := map[string]bool{}
		for _, c := range append(append([]corev1.Container(nil), in.Pod.Spec.InitContainers...), in.Pod.Spec.Containers...) {
			for _, env := range c.Env {
				for _, tok := range hostToken.FindAllString(strings.ToLower(env.Value), -1) {
					s := partial[tok]
					if s == nil || seen[tok] {
						continue
					}
					seen[tok] = true
					ev = append(ev, Evidence{Artifact: "Pod", Object: fmt.Sprintf("%s/%s container %s env %s", in.Pod.Namespace, in.Pod.Name, c.Name, env.Name), Detail: fmt.Sprintf("refers to %q", tok)})
					objs = append(objs, serviceRef(s))
				}
			}
		}
		if len(ev) > 0 {
			out = append(out, Finding{
				ID: "dns-dotted-name-semantics", Severity: SeverityWarning,
				Title:    fmt.Sprintf("pod %s/%s refers to Services by partial dotted names, which Windows treats as fully qualified", in.Pod.Namespace, in.Pod.Name),
				Evidence: ev,
				Remediation: "Windows does not append the search list to a name that has a dot, so <service>.<namespace> " +
					"fails to resolve. Use <service>.<namespace>.svc." + domain + " in the pod's configuration.",
				Objects: append([]ObjectRef{podRef(in.Pod)}, objs...),
			})
		}
	}
	return out, ""
}

// dnsResolutionFailed: a DNS probe from the pod failed; the evidence names the name, the
// server, the error, and what on the node explains it.
func dnsResolutionFailed(in Input) ([]Finding, string) {
	x := in.ix()
	var ran int
	var out []Finding
	want, _ := x.clusterDNS()
	for i := range x.s.Probes {
		p := &x.s.Probes[i]
		if !isDNSProbe(p) {
			continue
		}
		ran++
		if !probeFailed(p) {
			continue
		}
		server := probeServer(p)
		q := probeQuery(p)
		ev := []Evidence{{Artifact: "probe", Object: p.Target, Detail: fmt.Sprintf("query %q via %s/%s: %s %s", q, server, p.Protocol, p.Verdict, p.Error)}}
		var cause []string
		if in.Snapshot.HaveLoadBalancers() {
			for _, proto := range []string{"UDP", "TCP"} {
				if !x.sx.HasLB(snapshot.Frontend{VIP: server, Protocol: proto, Port: 53}) && x.c != nil && x.servicesByIP[server] != nil {
					cause = append(cause, fmt.Sprintf("no HNS load balancer for %s:53/%s (service-lb-missing)", server, proto))
				}
			}
		}
		switch {
		case x.isKubeDNSBackend(server):
			// A probe sent straight to a CoreDNS pod (the default probe set does that to tell
			// a broken VIP from broken CoreDNS): the pod itself did not answer.
			cause = append(cause, fmt.Sprintf("%s is a kube-dns backend (a CoreDNS pod) queried directly: the DNS pod itself did not answer", server))
		case len(want) > 0 && !contains(want, server):
			cause = append(cause, fmt.Sprintf("%s is not the cluster DNS (%s)", server, strings.Join(want, ",")))
		}
		if len(cause) > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindHCNLoadBalancers, Detail: strings.Join(cause, "; ")})
		}
		title := fmt.Sprintf("DNS query %q to %s failed (%s)", q, server, p.Verdict)
		if q == "" {
			title = fmt.Sprintf("DNS probe to %s failed (%s)", server, p.Verdict)
		}
		f := Finding{
			ID: "dns-resolution-failed", Severity: SeverityError, Title: title, Evidence: ev,
			Remediation: "Fix what the evidence names first (a missing DNS load balancer, a wrong server). If the node " +
				"looks right, check the DNS pods themselves (kubectl -n kube-system get pods -l k8s-app=kube-dns) and that " +
				"UDP/53 is allowed to them.",
		}
		if in.Pod != nil {
			f.Objects = []ObjectRef{podRef(in.Pod)}
		}
		out = append(out, f)
	}
	if ran == 0 {
		return nil, "no DNS probe ran from the pod"
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out, ""
}

// isKubeDNSBackend reports whether ip is a ready address of the kube-dns Service.
func (x *index) isKubeDNSBackend(ip string) bool {
	if x.c == nil || x.c.KubeDNS == nil || x.slicesBySvc == nil {
		return false
	}
	for _, sl := range x.slicesBySvc[nsName{x.c.KubeDNS.Namespace, x.c.KubeDNS.Name}] {
		for _, e := range sl.Endpoints {
			for _, a := range e.Addresses {
				if a == ip {
					return true
				}
			}
		}
	}
	return false
}

// podDNSView is the target pod's own resolver settings, when they were read without the HNS
// endpoints: from inside the pod's compartment, or from an `ipconfig /all` pasted from the pod.
func podDNSView(in Input) *wire.DNSClient {
	if in.Pod == nil || in.Snapshot.Pod == nil || in.Snapshot.Pod.DNS == nil {
		return nil
	}
	if d := in.Snapshot.Pod.DNS; len(d.Servers) > 0 || len(d.SearchList) > 0 {
		return d
	}
	return nil
}

// windowsDefaultDNS is true when every server is one of fec0:0:0:ffff::1-3: the site-local
// addresses Windows lists on an adapter that was given no DNS server. No cluster DNS lives
// there, so a pod showing only these has none set: the CNI wrote no DNS servers.
var windowsDefaultDNSServers = []netip.Addr{
	netip.MustParseAddr("fec0:0:0:ffff::1"), netip.MustParseAddr("fec0:0:0:ffff::2"), netip.MustParseAddr("fec0:0:0:ffff::3"),
}

func windowsDefaultDNS(servers []string) bool {
	for _, s := range servers {
		s, _, _ = strings.Cut(s, "%") // the zone index ipconfig appends
		a, err := netip.ParseAddr(s)
		if err != nil || !slices.Contains(windowsDefaultDNSServers, a) {
			return false
		}
	}
	return len(servers) > 0
}

func podViewDNSServerMismatch(in Input, view *wire.DNSClient) ([]Finding, string) {
	x := in.ix()
	want, source := x.clusterDNS()
	p := in.Pod
	if dnsPolicyOf(p) == corev1.DNSDefault || (dnsPolicyOf(p) == corev1.DNSNone && p.Spec.DNSConfig == nil) {
		return nil, ""
	}
	if dnsPolicyOf(p) == corev1.DNSNone {
		want, source = p.Spec.DNSConfig.Nameservers, "the pod's dnsConfig"
	}
	ev := Evidence{Artifact: wire.KindPodDNS, Object: "pod " + p.Namespace + "/" + p.Name, Detail: "the pod's DNS servers: " + listOrNone(view.Servers)}
	sev, what, reason := "", "", ""
	switch {
	case len(want) == 0 && windowsDefaultDNS(view.Servers):
		// Without the cluster DNS address the one certain case is a pod given no server at all.
		sev, what = SeverityError, "the pod was given no DNS server: it lists only Windows' site-local defaults "+strings.Join(view.Servers, ",")
		source = "unknown: neither kubelet's clusterDNS nor the kube-dns Service is in the files"
		reason = "lacking the cluster DNS address, the finding rests on the defaults alone: Windows lists fec0:0:0:ffff::1-3 only when an adapter has no DNS server, and no cluster DNS answers there"
	case len(want) == 0:
		return nil, "neither kubelet's clusterDNS nor the kube-dns Service is known"
	case len(view.Servers) == 0:
		sev, what = SeverityError, "the pod has no DNS servers"
	case windowsDefaultDNS(view.Servers):
		sev, what = SeverityError, "the pod was given no DNS server (it lists only Windows' site-local defaults "+strings.Join(view.Servers, ",")+"), not "+strings.Join(want, ",")
	case len(diff(want, view.Servers)) == len(want):
		sev, what = SeverityError, "the pod's DNS servers "+strings.Join(view.Servers, ",")+" do not include "+strings.Join(want, ",")
	case !contains(want, view.Servers[0]):
		sev, what = SeverityWarning, "the pod's first DNS server "+view.Servers[0]+" is not "+strings.Join(want, ",")
	default:
		return nil, ""
	}
	f := Finding{
		ID: "dns-server-mismatch", Severity: sev,
		Title:    fmt.Sprintf("pod %s/%s: %s (cluster DNS from %s)", p.Namespace, p.Name, what, source),
		Evidence: []Evidence{ev},
		Remediation: "Pods resolve cluster names only through the cluster DNS Service. The CNI sets the pod's DNS " +
			"servers: with capabilities.dns it takes kubelet's clusterDNS from the runtime, otherwise its own " +
			"Nameservers list. Fix the CNI config (or kubelet's clusterDNS) and recreate the pod.",
		Objects: []ObjectRef{{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}},
	}
	switch {
	case reason != "":
		f.SeverityReason = reason
	case sev == SeverityWarning:
		f.SeverityReason = "the cluster DNS server is on the list, but Windows asks the first server first and waits for it to time out"
	}
	return []Finding{f}, ""
}

// hasNamespaceSuffix reports whether a search list (lower-cased, no trailing dot) holds the
// pod's namespace suffix. A pod known only by its IP has no known namespace: then any
// "<namespace>.svc.<domain>" entry counts, since the CNI wrote the one it was given.
func hasNamespaceSuffix(have map[string]bool, ns, domain string) bool {
	if ns != "" {
		return have[ns+".svc."+domain]
	}
	for s := range have {
		if label, ok := strings.CutSuffix(s, ".svc."+domain); ok && label != "" && !strings.Contains(label, ".") {
			return true
		}
	}
	return false
}

func nsSuffixName(ns, domain string) string {
	if ns == "" {
		ns = "<namespace>"
	}
	return ns + ".svc." + domain
}

func podViewDNSSuffixIncomplete(in Input, view *wire.DNSClient) ([]Finding, string) {
	x := in.ix()
	p := in.Pod
	if dnsPolicyOf(p) == corev1.DNSDefault || dnsPolicyOf(p) == corev1.DNSNone {
		return nil, ""
	}
	domain, _ := x.clusterDomain()
	have := map[string]bool{}
	for _, s := range view.SearchList {
		have[strings.ToLower(strings.TrimSuffix(s, "."))] = true
	}
	var lack []string
	sev := SeverityInfo
	if !hasNamespaceSuffix(have, p.Namespace, domain) {
		lack, sev = append(lack, nsSuffixName(p.Namespace, domain)), SeverityError
	}
	for _, s := range []string{"svc." + domain, domain} {
		if !have[s] {
			lack = append(lack, s)
			if sev == SeverityInfo {
				sev = SeverityWarning
			}
		}
	}
	if len(lack) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "dns-suffix-incomplete", Severity: sev,
		Title:    fmt.Sprintf("pod %s/%s's DNS search list lacks %s", p.Namespace, p.Name, strings.Join(lack, ", ")),
		Evidence: []Evidence{{Artifact: wire.KindPodDNS, Object: "pod " + p.Namespace + "/" + p.Name, Detail: "search list: " + listOrNone(view.SearchList)}},
		Remediation: "Windows appends the search list only to single-label names, so without <namespace>.svc.<domain> a " +
			"bare Service name does not resolve. The CNI sets the list (its DNS Search setting, or the runtime's with " +
			"capabilities.dns): fix the CNI config and recreate the pod, or use fully qualified names.",
		Objects: []ObjectRef{{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}},
	}}, ""
}
