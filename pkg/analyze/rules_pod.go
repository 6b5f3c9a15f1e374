package analyze

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const missingEndpoints = "HNS endpoints (" + wire.KindHCNEndpoints + ") were not collected"

// podsOrMissing returns the pods to judge, or why they are unknown.
func (x *index) podsOrMissing() ([]*corev1.Pod, string) {
	if x.in.Pod == nil {
		if why := x.clusterMissing("pods"); why != "" {
			return nil, why
		}
	}
	return x.targetPods(), ""
}

// podEndpointMissing: no local HNS endpoint carries a pod's IP. kube-proxy never creates
// local endpoints (the CNI does), and logs "Local endpoint not found" when one is missing.
func podEndpointMissing(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		if f, ok := endpointMissingFromLogs(in); ok {
			return []Finding{f}, ""
		}
		return nil, missingEndpoints
	}
	x := in.ix()
	if in.Pod != nil && !in.Pod.Spec.HostNetwork && len(podIPs(in.Pod)) == 0 {
		if in.Pod.Status.Phase == "" && in.Pod.UID == "" {
			return nil, fmt.Sprintf("pod %s/%s is known only by name: its IP is not in the files (pass --pod-ip)", in.Pod.Namespace, in.Pod.Name)
		}
		return nil, fmt.Sprintf("pod %s/%s has no IP yet, so there is no endpoint to look for", in.Pod.Namespace, in.Pod.Name)
	}
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	v6 := x.nodeHasIPv6()
	var out []Finding
	for _, p := range pods {
		for _, ip := range podIPs(p) {
			if (isIPv6(ip) && !v6) || x.localEndpoint(ip) != nil {
				continue
			}
			ev := []Evidence{{Artifact: wire.KindHCNEndpoints, Detail: fmt.Sprintf("%d endpoints, none local with IP %s", len(x.s.Endpoints), ip)}}
			for _, e := range x.sx.EndpointsByIP[ip] {
				ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID,
					Detail: "only a remote endpoint carries this IP: HNS treats the pod as living on another node"})
			}
			for _, l := range x.kubeProxyLog().localMiss {
				if strings.Contains(l.text, ip) {
					ev = append(ev, l.evidence())
					break
				}
			}
			out = append(out, Finding{
				ID: "pod-endpoint-missing", Severity: SeverityError,
				Title:    fmt.Sprintf("no local HNS endpoint carries pod %s/%s's IP %s", p.Namespace, p.Name, ip),
				Evidence: ev,
				Remediation: "The CNI did not create (or lost) the pod's endpoint, so the pod has no network and kube-proxy " +
					"cannot use it as a backend. Check that the CNI daemon runs and read its log on the node, then delete the " +
					"pod so it is recreated with a fresh endpoint. If HNS restarted, endpoints of running pods are not re-created: " +
					"restart those pods.",
				Objects: []ObjectRef{podRef(p)},
			})
		}
	}
	return out, ""
}

// endpointNotFound is a CNI daemon or plugin saying it cannot find a workload's HNS endpoint
// (felix: "Failed to look up HNS endpoint for workload", "Could not resolve hns endpoint id").
var endpointNotFound = regexp.MustCompile(`(?i)(?:could not resolve|failed to (?:look ?up|find|get)|cannot find|unable to find)\b.{0,20}\bhns ?endpoint|hns ?endpoint\b.{0,40}\bnot found`)

// endpointMissingFromLogs: without the node's endpoints, the CNI's own complaint about the
// target pod (by IP or namespace/name) is the evidence; a warning, since the CNI may have
// created it since.
func endpointMissingFromLogs(in Input) (Finding, bool) {
	p := in.Pod
	if p == nil {
		return Finding{}, false
	}
	x := in.ix()
	keys := podIPs(p)
	if p.Name != "" {
		keys = append(keys, p.Namespace+"/"+p.Name, p.Name+"_"+p.Namespace)
	}
	var ev []Evidence
	for _, l := range x.componentLogs(wire.LogCalico, wire.LogFlanneld, wire.LogAzureVnet, wire.LogContainerd, wire.LogKubelet) {
		if !endpointNotFound.MatchString(l.text) {
			continue
		}
		for _, k := range keys {
			if k != "" && k != "/" && mentions(l.text, k) {
				ev = append(ev, l.evidence())
				break
			}
		}
	}
	if len(ev) == 0 {
		return Finding{}, false
	}
	name := p.Namespace + "/" + p.Name
	if p.Name == "" {
		name = "with IP " + strings.Join(podIPs(p), ",")
	}
	return Finding{
		ID: "pod-endpoint-missing", Severity: SeverityWarning,
		SeverityReason: "only the CNI's log says so; the node's HNS endpoints were not collected to confirm it",
		Title:          fmt.Sprintf("the CNI cannot find an HNS endpoint for pod %s", name),
		Evidence:       capEvidence(ev, 5, wire.KindFile),
		Remediation: "The pod has no network while its endpoint is gone. HNS endpoints do not survive a reboot or an HNS " +
			"restart, and nothing re-runs the CNI for a pod that keeps its sandbox (a bare Pod, not one of a Deployment): " +
			"delete the pod so it is recreated with a fresh endpoint, and check Get-HnsEndpoint for its IP.",
		Objects: []ObjectRef{podRef(p)},
	}, true
}

// mentions reports whether text holds key as a whole token (an IP not as the prefix of a
// longer one: 10.0.0.1 is not in 10.0.0.12).
func mentions(text, key string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], key)
		if j < 0 {
			return false
		}
		end := i + j + len(key)
		if end == len(text) || !isTokenByte(text[end]) {
			if i+j == 0 || !isTokenByte(text[i+j-1]) {
				return true
			}
		}
		i += j + 1
	}
}

func isTokenByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_'
}

// podEndpointUnhealthy: the pod's endpoint exists but is detached, degraded, on the wrong
// network, or its network compartment is gone.
func podEndpointUnhealthy(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	pods, why := x.podsOrMissing()
	if why != "" {
		return nil, why
	}
	haveState := in.Snapshot.Have[wire.KindHNSEndpointsV1]
	haveNS := in.Snapshot.Have[wire.KindHCNNamespaces]
	cn := x.clusterNetwork()
	checked := false
	var out []Finding
	for _, p := range pods {
		for _, ip := range podIPs(p) {
			e := x.localEndpoint(ip)
			if e == nil {
				continue
			}
			var problems []string
			sev := SeverityWarning
			if e.State != "" {
				checked = true
				switch e.State {
				case snapshot.StateAttached, snapshot.StateAttachedSharing:
					// Healthy. networkhealth.ps1 expects AttachedSharing for docker-era pods; under
					// containerd each pod has its own namespace and Attached is normal.
				default:
					problems = append(problems, fmt.Sprintf("endpoint state is %s, not attached", e.State))
					sev = SeverityError
				}
			}
			if cn != nil {
				checked = true
				if n := x.s.NetworkOf(e); n != nil && n.ID != cn.ID {
					problems = append(problems, fmt.Sprintf("endpoint is on HNS network %q, but kube-proxy and the CNI use %q", n.Name, cn.Name))
					sev = SeverityError
				}
			}
			if haveNS && e.Namespace != "" {
				checked = true
				if x.sx.NamespaceByID[e.Namespace] == nil {
					problems = append(problems, fmt.Sprintf("endpoint's network namespace %s no longer exists", e.Namespace))
				}
			}
			if len(problems) == 0 {
				continue
			}
			f := Finding{
				ID: "pod-endpoint-unhealthy", Severity: sev,
				Title:    fmt.Sprintf("pod %s/%s's HNS endpoint %s is not usable: %s", p.Namespace, p.Name, e.ID, strings.Join(problems, "; ")),
				Evidence: []Evidence{{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("IP %s, network %s, state %q, namespace %q", e.IP, e.NetworkName, e.State, e.Namespace)}},
				Remediation: "The pod's network interface is not attached where traffic flows. Delete the pod so the CNI " +
					"creates a fresh endpoint; if many pods are affected, restart the CNI daemon, then the pods.",
				Objects: []ObjectRef{podRef(p)},
			}
			if sev == SeverityWarning {
				f.SeverityReason = "a missing namespace alone may be a stale record; the endpoint's state is not known to be bad"
			}
			out = append(out, f)
		}
	}
	if !checked && !haveState && !haveNS && cn == nil && len(out) == 0 {
		return nil, "neither the v1 endpoint view (" + wire.KindHNSEndpointsV1 + "), the HNS namespaces nor the cluster network is known"
	}
	return out, ""
}

// duplicateEndpointIP: one IP on two or more endpoints, or an endpoint carrying the network's
// gateway or management IP. kube-proxy keys endpoints by IP and lets the remote one win.
func duplicateEndpointIP(in Input) ([]Finding, string) {
	// A filtered endpoint list (Group-Object IPAddress | Where-Object Count -gt 1) is enough:
	// a duplicate is something present.
	if !in.Snapshot.HaveEndpoints() && !in.Snapshot.Partial[wire.KindHCNEndpoints] {
		return nil, missingEndpoints
	}
	x := in.ix()
	var ips []string
	for ip, eps := range x.sx.EndpointsByIP {
		if len(eps) > 1 {
			ips = append(ips, ip)
		}
	}
	sort.Strings(ips)
	var out []Finding
	for _, ip := range ips {
		eps := x.sx.EndpointsByIP[ip]
		local, remote, unknown := 0, 0, 0
		var ev []Evidence
		for _, e := range eps {
			if onlyIP(e) {
				unknown++
				ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "an endpoint with IP " + ip,
					Detail: "known by its IP alone (a Group-Object count): its ID, network and whether it is local or remote are not in the files"})
				continue
			}
			kind := "local"
			if e.Remote {
				kind, remote = "remote", remote+1
			} else {
				local++
			}
			ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("%s, network %s, name %q", kind, e.NetworkName, e.Name)})
		}
		f := Finding{ID: "duplicate-endpoint-ip", Severity: SeverityError, Evidence: ev}
		switch {
		case unknown > 0:
			f.Severity, f.SeverityReason = SeverityWarning, "the files give only a count of endpoints per IP: whether a local pod is hidden behind a remote endpoint, or two local endpoints collide, is not shown"
			f.Title = fmt.Sprintf("IP %s is on %d HNS endpoints", ip, len(eps))
			f.Remediation = "Two endpoints with one IP misdeliver that pod's traffic. List them whole (Get-HnsEndpoint | Where-Object IPAddress -eq '" + ip +
				"' | ConvertTo-Json -Depth 4): a remote one on a local pod's IP is stale (restart kube-proxy); two local ones mean a leaked endpoint " +
				"(delete it with hnsdiag delete endpoints <id> and recreate the pod)."
		case local > 0 && remote > 0:
			f.Title = fmt.Sprintf("IP %s is on %d local and %d remote HNS endpoints", ip, local, remote)
			f.Remediation = "kube-proxy prefers the remote endpoint for a duplicated IP, so Service traffic to this pod is " +
				"sent to another node. The remote endpoint is stale (the pod's IP was reused here): restart kube-proxy, which " +
				"re-creates its remote endpoints, or delete the remote endpoint with hnsdiag."
		case local > 1:
			f.Title = fmt.Sprintf("IP %s is on %d local HNS endpoints", ip, local)
			f.Remediation = "The node's IPAM gave the same address twice, or an old endpoint leaked. Find the pods with this IP " +
				"(kubectl get pods -A -o wide), delete the leaked endpoint (hnsdiag delete endpoints <id>) and recreate the pods."
		default:
			f.Severity, f.SeverityReason = SeverityWarning, "only remote endpoints collide: no local pod is hidden"
			f.Title = fmt.Sprintf("IP %s is on %d remote HNS endpoints", ip, remote)
			f.Remediation = "kube-proxy re-uses one remote endpoint per IP; the others are leftovers. Restarting kube-proxy cleans them."
		}
		if p := x.nodePodsByIP[ip]; p != nil {
			f.Objects = append(f.Objects, podRef(p))
		}
		out = append(out, f)
	}
	// An endpoint carrying its network's gateway or management IP.
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		n := x.s.NetworkOf(e)
		if e.IP == "" {
			continue
		}
		if n == nil {
			// Without the network, the endpoint's own gateway says it: the CNI gave the pod the
			// address it routes through (an IPAM range that did not exclude the gateway).
			if !e.Remote && e.Gateway == e.IP {
				out = append(out, Finding{
					ID: "duplicate-endpoint-ip", Severity: SeverityError,
					Title:    fmt.Sprintf("HNS endpoint %s carries its own gateway address %s", firstNonEmpty(e.ID, e.Name), e.IP),
					Evidence: []Evidence{{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + firstNonEmpty(e.ID, e.Name), Detail: fmt.Sprintf("IP %s, gateway %s", e.IP, e.Gateway)}},
					Remediation: "The pod got the subnet's gateway address, so its traffic has nowhere to go and the gateway is " +
						"captured. The CNI's IPAM range must exclude the gateway (host-local: a rangeStart above it; flannel on " +
						"Windows had this defect, kubernetes/kubernetes#74766): fix the range, delete the endpoint, recreate the pod.",
				})
			}
			continue
		}
		what := ""
		if n.ManagementIP == e.IP {
			what = "management IP"
		}
		for _, sub := range n.Subnets {
			if sub.Gateway == e.IP {
				what = "gateway"
			}
		}
		if what == "" {
			continue
		}
		sev, reason := SeverityError, ""
		if what == "management IP" && e.Remote {
			sev, reason = SeverityWarning, "a remote endpoint for the node's own IP is what kube-proxy makes for a host-network backend on this node"
		}
		out = append(out, Finding{
			ID: "duplicate-endpoint-ip", Severity: sev, SeverityReason: reason,
			Title:    fmt.Sprintf("HNS endpoint %s carries network %s's %s %s", e.ID, n.Name, what, e.IP),
			Evidence: []Evidence{{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("remote=%v, name %q", e.Remote, e.Name)}, {Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: what + " " + e.IP}},
			Remediation: "Traffic for the node itself or the subnet's gateway is captured by this endpoint. Check that the CNI's " +
				"IPAM range excludes the gateway and the node address, then delete the endpoint and recreate its pod.",
		})
	}
	return out, ""
}

// isInfraEndpoint reports endpoints the CNI or kube-proxy create for the host rather than a
// pod: the source VIP endpoint, the host vNIC endpoint ("cbr0_ep", "Calico_ep", kube-proxy's
// root HNS endpoint), and endpoints on the node's own addresses.
func (x *index) isInfraEndpoint(e *snapshot.Endpoint) bool {
	if x.nodeIPs[e.IP] {
		return true
	}
	if kp := x.s.KubeProxy; kp != nil && (e.IP == kp.SourceVIP || (kp.RootHNSEndpointName != "" && strings.EqualFold(e.Name, kp.RootHNSEndpointName))) {
		return true
	}
	name := strings.ToLower(e.Name)
	if strings.Contains(name, "source_vip") || strings.Contains(name, "sourcevip") || strings.HasSuffix(name, "_ep") || name == "cbr0" {
		return true
	}
	return x.lbSourceVIPs()[e.IP]
}

// staleLocalEndpoint: a local endpoint whose IP belongs to no pod on the node.
func staleLocalEndpoint(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	if why := x.clusterMissing("pods"); why != "" {
		return nil, why
	}
	starting := 0
	for i := range x.c.Pods {
		p := &x.c.Pods[i]
		if !p.Spec.HostNetwork && len(podIPs(p)) == 0 && p.Status.Phase == corev1.PodPending {
			starting++
		}
	}
	var ev []Evidence
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		if e.Remote || e.IP == "" || x.nodePodsByIP[e.IP] != nil || x.isInfraEndpoint(e) {
			continue
		}
		if n := x.s.NetworkOf(e); n != nil && (strings.EqualFold(n.Type, "NAT") || strings.EqualFold(n.Type, "ICS")) {
			continue // docker/containerd NAT networks are not the cluster's
		}
		ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("IP %s, name %q, network %s: no pod on node %s has this IP", e.IP, e.Name, e.NetworkName, x.node)})
	}
	if len(ev) == 0 {
		return nil, ""
	}
	f := Finding{
		ID: "stale-local-endpoint", Severity: SeverityWarning,
		Title:    fmt.Sprintf("%d local HNS %s belong to no pod on node %s", len(ev), plural(len(ev), "endpoint", "endpoints"), x.node),
		Evidence: capEvidence(ev, 20, wire.KindHCNEndpoints),
		Remediation: "Leaked endpoints hold pod addresses (the pool runs dry) and can duplicate an IP handed out again. " +
			"They are left when the CNI's DEL did not run (node crash, runtime restart). Delete them with " +
			"hnsdiag delete endpoints <id> once no pod uses them.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if starting > 0 {
		f.Severity = SeverityInfo
		f.SeverityReason = fmt.Sprintf("%d pod(s) on the node are still starting and may own these endpoints before their IP is reported", starting)
	}
	return []Finding{f}, ""
}

// staleRemoteEndpoint: a remote endpoint whose IP belongs to no current pod, node or
// Service, or that no load balancer references.
func staleRemoteEndpoint(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	haveLBs := in.Snapshot.HaveLoadBalancers()
	podsKnown := x.c != nil && x.clusterMissing("all-pods") == "" && len(x.c.AllPods) > 0
	ownersKnown := podsKnown && x.clusterMissing("nodes") == "" && len(x.c.Nodes) > 0 && x.clusterMissing("services") == ""
	// With only the pod list (a pasted `kubectl get pods -A -o wide`), an IP no pod has may
	// still be a node's or a Service's: only IPs inside the pods' own /16s, that no node name
	// gives away, are judged, and only as a warning.
	partial := podsKnown && !ownersKnown
	if !haveLBs && !podsKnown {
		return nil, "neither the HNS load balancers nor the cluster's pods, nodes and Services were collected"
	}
	var podNets map[netip.Prefix]bool
	var namedNodeIPs map[string]bool
	if partial {
		podNets, namedNodeIPs = x.podSixteens(), x.nodeIPsFromNames()
	}
	sourceVIPs := x.lbSourceVIPs()
	var ev []Evidence
	orphans, unreferenced := 0, 0
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		if !e.Remote || e.IP == "" || sourceVIPs[e.IP] {
			continue
		}
		isServiceVIP := x.c != nil && x.servicesByIP[e.IP] != nil
		var why []string
		unowned := podsKnown && x.podsByIP[e.IP] == nil && x.nodesByIP[e.IP] == nil && !isServiceVIP && !x.isEndpointAddr(e.IP) && !x.nodeIPs[e.IP]
		switch {
		case unowned && ownersKnown:
			why = append(why, "its IP belongs to no pod, node or Service")
			orphans++
		case unowned && partial && inSixteens(e.IP, podNets) && !namedNodeIPs[e.IP]:
			why = append(why, "its IP, in the pods' address range, belongs to no pod in the pod list")
			orphans++
		}
		// kube-proxy makes an unreferenced remote endpoint per ClusterIP in overlay networks.
		if haveLBs && x.sx.LBRefs[e.ID] == 0 && !isServiceVIP {
			why = append(why, "no load balancer references it")
			unreferenced++
		}
		if len(why) > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("remote IP %s: %s", e.IP, strings.Join(why, "; "))})
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	reason := ""
	if partial && unreferenced == 0 {
		reason = "judged on the pod list alone: the cluster's Nodes and Services were not collected"
	}
	return []Finding{{
		ID: "stale-remote-endpoint", Severity: SeverityWarning, SeverityReason: reason,
		Title: fmt.Sprintf("%d stale remote HNS %s (%d for IPs nothing owns, %d referenced by no load balancer)",
			len(ev), plural(len(ev), "endpoint", "endpoints"), orphans, unreferenced),
		Evidence: capEvidence(ev, 20, wire.KindHCNEndpoints),
		Remediation: "kube-proxy ref-counts remote endpoints and deletes them when no Service uses them; leftovers come from " +
			"node churn, failed load balancer creation or an HNS restart. A stale remote endpoint for an IP later given to a " +
			"pod on this node hides that pod. Restart kube-proxy (it rebuilds its endpoints), or delete them with hnsdiag.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// podSixteens are the /16s the cluster's pod IPs fall in (IPv4).
func (x *index) podSixteens() map[netip.Prefix]bool {
	out := map[netip.Prefix]bool{}
	for ip := range x.podsByIP {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			p, _ := a.Prefix(16)
			out[p] = true
		}
	}
	return out
}

func inSixteens(ip string, nets map[netip.Prefix]bool) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return false
	}
	p, _ := a.Prefix(16)
	return nets[p]
}

// awsNodeName is an EC2 private DNS name, which spells the node's IP: ip-10-0-1-5.ec2.internal.
var awsNodeName = regexp.MustCompile(`^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\.|$)`)

// nodeIPsFromNames are node IPs that the pod list's NODE column gives away (EC2 names).
func (x *index) nodeIPsFromNames() map[string]bool {
	out := map[string]bool{}
	for _, p := range x.c.AllPods {
		if m := awsNodeName.FindStringSubmatch(p.Node); m != nil {
			out[strings.Join(m[1:], ".")] = true
		}
	}
	return out
}

// ipamExhaustionPatterns are what IPAM plugins log when the pool is empty (host-local,
// azure-vnet-ipam, Azure CNS, Calico IPAM).
var ipamExhaustionPatterns = []string{"no ip addresses available", "no available addresses", "no free ip",
	"pool is exhausted", "address pool exhausted", "no more free affine blocks", "ipam exhausted", "no ips available",
	"failed to allocate for range", "range is full", "no addresses available"}

// podIPExhaustion: the node's pod address pool is (nearly) exhausted.
func podIPExhaustion(in Input) ([]Finding, string) {
	x := in.ix()
	sources := 0
	var ev []Evidence
	sev := ""
	raise := func(s string) {
		if SeverityRank(s) > SeverityRank(sev) {
			sev = s
		}
	}
	// 1. IPAM and runtime logs saying the pool is empty.
	for _, comp := range []string{wire.LogAzureVnet, wire.LogCalico, wire.LogFlanneld, wire.LogContainerd, wire.LogKubelet} {
		for _, f := range in.Snapshot.Logs(comp) {
			sources++
			n := 0
			for rest := f.Content; rest != "" && len(ev) < 10; {
				var line string
				line, rest, _ = strings.Cut(rest, "\n")
				n++
				if containsAny(strings.ToLower(line), ipamExhaustionPatterns) {
					ev = append(ev, Evidence{Artifact: wire.KindFile, Object: fmt.Sprintf("%s line %d", f.Path, n), Detail: oneLine(line)})
					raise(SeverityError)
				}
			}
		}
	}
	// 2. IPAM state files.
	for _, p := range in.Snapshot.IPAMPools {
		sources++
		if p.Total == 0 {
			continue
		}
		used := float64(p.InUse) / float64(p.Total)
		if used >= 0.9 {
			ev = append(ev, Evidence{Artifact: wire.KindFile, Object: p.Source, Detail: fmt.Sprintf("pool %s: %d of %d addresses in use", p.Prefix, p.InUse, p.Total)})
			if p.InUse >= p.Total {
				raise(SeverityError)
			} else {
				raise(SeverityWarning)
			}
		}
	}
	// 3. The node's pod subnet against the local endpoints holding addresses in it.
	if in.Snapshot.HaveEndpoints() {
		var cidrs []string
		if x.thisNode != nil {
			cidrs = x.thisNode.PodCIDRs
		}
		if len(cidrs) == 0 {
			if n := x.clusterNetwork(); n != nil {
				for _, s := range n.Subnets {
					cidrs = append(cidrs, s.Prefix)
				}
			}
		}
		for _, c := range cidrs {
			pfx, ok := parsePrefix(c)
			if !ok || !pfx.Addr().Is4() {
				continue
			}
			sources++
			capacity := prefixSize(pfx) - 3 // network, gateway and broadcast addresses
			used := 0
			for i := range x.s.Endpoints {
				e := &x.s.Endpoints[i]
				if a, ok := parseAddr(e.IP); ok && !e.Remote && pfx.Contains(a) {
					used++
				}
			}
			if capacity > 0 && float64(used) >= 0.9*float64(capacity) {
				ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Detail: fmt.Sprintf("%d local endpoints hold addresses in pod subnet %s (about %d usable)", used, c, capacity)})
				if used >= capacity {
					raise(SeverityError)
				} else {
					raise(SeverityWarning)
				}
			}
		}
	}
	if sources == 0 {
		return nil, "no IPAM state, CNI or runtime log, and no pod subnet with endpoints was collected"
	}
	if len(ev) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "pod-ip-exhaustion", Severity: sev,
		Title:    fmt.Sprintf("node %s's pod address pool is exhausted or nearly so", x.node),
		Evidence: ev,
		Remediation: "New pods on this node get no IP and stay in ContainerCreating. Delete leaked endpoints (see " +
			"stale-local-endpoint), lower the node's max pods, or give the node a larger pod range (Azure CNI: more IPs " +
			"per node; host-local: a larger podCIDR).",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// onlyIP: an endpoint known by nothing but its IP (Get-HnsEndpoint | Group-Object IPAddress).
func onlyIP(e *snapshot.Endpoint) bool {
	return e.ID == "" && e.Name == "" && e.NetworkID == "" && e.NetworkName == "" && e.MAC == ""
}
