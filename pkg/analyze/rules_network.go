package analyze

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func networkNames(nets []snapshot.Network) string {
	var names []string
	for _, n := range nets {
		names = append(names, fmt.Sprintf("%s (%s)", n.Name, n.Type))
	}
	return listOrNone(names)
}

// hnsNetworkMissing: the HNS network the CNI config or kube-proxy expects does not exist.
func hnsNetworkMissing(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		// Without the network list, kube-proxy's own complaint is the evidence.
		if fs := networkMissingFromLogs(in); len(fs) > 0 {
			return fs, ""
		}
		return nil, missingNetworks
	}
	x := in.ix()
	type want struct{ name, who string }
	var wants []want
	if kp := x.s.KubeProxy; kp != nil && kp.NetworkName != "" {
		wants = append(wants, want{kp.NetworkName, "kube-proxy (--network-name / KUBE_NETWORK, " + strings.Join(kp.Sources, ", ") + ")"})
	}
	if c := x.s.ActiveCNI(); c != nil && c.Name != "" && c.ParseError == "" {
		wants = append(wants, want{c.Name, "the CNI config " + c.Path})
	}
	complaints, _ := x.networkComplaints()
	for _, c := range complaints {
		wants = append(wants, want{c.name, fmt.Sprintf("%s (%s line %d)", c.who, c.line.file.Path, c.line.n)})
	}
	if len(wants) == 0 {
		return nil, "neither kube-proxy's network name nor a CNI config was collected"
	}
	var out []Finding
	seen := map[string]bool{}
	for _, w := range wants {
		k := strings.ToLower(w.name)
		if seen[k] || x.sx.NetworkByName[k] != nil {
			continue
		}
		seen[k] = true
		ev := []Evidence{{Artifact: wire.KindHCNNetworks, Detail: "networks on the node: " + networkNames(x.s.Networks)}}
		for _, l := range x.kubeProxyLog().startup {
			if strings.Contains(strings.ToLower(l.text), "network") {
				ev = append(ev, l.evidence())
				break
			}
		}
		out = append(out, Finding{
			ID: "hns-network-missing", Severity: SeverityError,
			Title:    fmt.Sprintf("HNS network %q, expected by %s, does not exist on node %s", w.name, w.who, x.node),
			Evidence: ev,
			Remediation: "Pods get no network and kube-proxy waits for the network. The CNI daemon (flanneld, calico-node, " +
				"the Azure CNI) creates it: check that it runs; after a reboot or HNS restart it must run before pods start. " +
				"If the network exists under another name, make the CNI config's name, kube-proxy's --network-name and the " +
				"daemon agree.",
			Objects: []ObjectRef{nodeRef(x.node)},
		})
	}
	return out, ""
}

// hnsNetworkUnhealthy: the cluster's HNS network exists but its host vNIC has no usable
// address (APIPA 169.254.x.x management IP), or it has no subnet.
func hnsNetworkUnhealthy(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		return nil, missingNetworks
	}
	x := in.ix()
	var out []Finding
	for i := range x.s.Networks {
		n := &x.s.Networks[i]
		if strings.EqualFold(n.Type, "NAT") || strings.EqualFold(n.Type, "ICS") {
			continue
		}
		var problems []string
		var ev []Evidence
		if isAPIPA(n.ManagementIP) {
			problems = append(problems, fmt.Sprintf("its management IP is %s (APIPA): the host vNIC lost its address", n.ManagementIP))
			ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: "ManagementIP " + n.ManagementIP})
		}
		for _, a := range x.s.Adapters {
			if !strings.Contains(strings.ToLower(a.Name), "vethernet") || (n.AdapterName != "" && !strings.Contains(a.Name, n.AdapterName)) {
				continue
			}
			for _, addr := range a.Addresses {
				if isAPIPA(addr.Address) && len(a.Addresses) == 1 {
					problems = append(problems, fmt.Sprintf("host adapter %q has only the APIPA address %s", a.Name, addr.Address))
					ev = append(ev, Evidence{Artifact: wire.KindHostAdapters, Object: a.Name, Detail: "address " + addr.Address})
				}
			}
		}
		if len(n.Subnets) == 0 && (strings.EqualFold(n.Type, "L2Bridge") || n.IsOverlay()) {
			problems = append(problems, "it has no subnet")
			ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: "no Subnets/Ipams"})
		}
		if len(problems) == 0 {
			continue
		}
		out = append(out, Finding{
			ID: "hns-network-unhealthy", Severity: SeverityError,
			Title:    fmt.Sprintf("HNS network %q on node %s is not usable: %s", n.Name, x.node, strings.Join(problems, "; ")),
			Evidence: ev,
			Remediation: "The network must be recreated: stop kube-proxy and the CNI daemon, delete the network " +
				"(Get-HnsNetwork | ? Name -eq '" + n.Name + "' | Remove-HnsNetwork), restart the CNI daemon so it recreates " +
				"it, then kube-proxy, then the pods. networkhealth.ps1 gives the same advice for an APIPA management IP.",
			Objects: []ObjectRef{nodeRef(x.node)},
		})
	}
	return out, ""
}

// overlayRemoteSubnetMissing: an overlay network lacks the RemoteSubnetRoute for another
// node's pod subnet, or routes it to an old address.
func overlayRemoteSubnetMissing(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		return nil, missingNetworks
	}
	x := in.ix()
	n := x.clusterNetwork()
	if n == nil {
		return nil, "which HNS network the cluster uses is unknown"
	}
	if !n.IsOverlay() {
		return nil, ""
	}
	if c := x.s.ActiveCNI(); c != nil && (strings.EqualFold(c.Type, "calico") || c.HasPlugin("calico")) {
		return nil, "Calico routes remote pods per IPAM block, which Nodes do not show"
	}
	if why := x.clusterMissing("nodes"); why != "" {
		return nil, why
	}
	routes := make(map[netip.Prefix]snapshot.RemoteSubnetRoute, len(n.RemoteSubnets))
	for _, r := range n.RemoteSubnets {
		if p, ok := parsePrefix(r.DestinationPrefix); ok {
			routes[p] = r
		}
	}
	var ev []Evidence
	var objs []ObjectRef
	owned := map[netip.Prefix]bool{}
	for i := range x.c.Nodes {
		nd := &x.c.Nodes[i]
		for _, c := range nd.PodCIDRs {
			p, ok := parsePrefix(c)
			if !ok {
				continue
			}
			owned[p] = true
			if nd.Name == x.node || len(nd.InternalIPs) == 0 || !p.Addr().Is4() {
				continue
			}
			r, ok := routes[p]
			switch {
			case !ok:
				ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: fmt.Sprintf("no RemoteSubnetRoute for node %s's pod subnet %s (PA %s)", nd.Name, c, nd.InternalIPs[0])})
				objs = append(objs, nodeRef(nd.Name))
			case !contains(nd.InternalIPs, r.ProviderAddress):
				ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: fmt.Sprintf("RemoteSubnetRoute %s points at %s, but node %s's address is %s", c, r.ProviderAddress, nd.Name, strings.Join(nd.InternalIPs, ","))})
				objs = append(objs, nodeRef(nd.Name))
			}
		}
	}
	sev := SeverityError
	reason := ""
	if len(ev) == 0 {
		for p, r := range routes {
			if !owned[p] {
				ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: fmt.Sprintf("RemoteSubnetRoute %s -> %s matches no node's pod subnet", r.DestinationPrefix, r.ProviderAddress)})
			}
		}
		sev, reason = SeverityWarning, "only routes for subnets no node owns now: leftovers of removed nodes"
	}
	if len(ev) == 0 {
		return nil, ""
	}
	sort.Slice(ev, func(i, j int) bool { return ev[i].Detail < ev[j].Detail })
	return []Finding{{
		ID: "overlay-remote-subnet-missing", Severity: sev, SeverityReason: reason,
		Title:    fmt.Sprintf("overlay network %q on node %s has wrong or missing routes to other nodes' pod subnets", n.Name, x.node),
		Evidence: capEvidence(ev, 20, wire.KindHCNNetworks),
		Remediation: "Pods here cannot reach pods on the nodes named: their VXLAN traffic has no (or the wrong) provider " +
			"address. The CNI daemon (flanneld) adds these routes as nodes join: check that it runs and watches Nodes, " +
			"then restart it.",
		Objects: append([]ObjectRef{nodeRef(x.node)}, objs...),
	}}, ""
}

// cniConfigInvalid: a CNI config does not parse, still holds template placeholders, or holds
// values that are not addresses or ranges.
func cniConfigInvalid(in Input) ([]Finding, string) {
	x := in.ix()
	if len(x.s.CNIConfigs) == 0 {
		if f, ok := placeholdersOnEndpoints(x); ok {
			return []Finding{f}, ""
		}
		return nil, "no CNI config file was collected"
	}
	var out []Finding
	for i, c := range x.s.CNIConfigs {
		var problems []string
		if c.ParseError != "" {
			problems = append(problems, "it is not valid JSON: "+c.ParseError)
		}
		if len(c.Placeholders) > 0 {
			problems = append(problems, "it still holds template placeholders "+strings.Join(c.Placeholders, ", "))
		}
		problems = append(problems, c.Invalid...)
		if len(problems) == 0 {
			continue
		}
		f := Finding{
			ID: "cni-config-invalid", Severity: SeverityError,
			Title:    fmt.Sprintf("CNI config %s is invalid: %s", c.Path, strings.Join(problems, "; ")),
			Evidence: []Evidence{{Artifact: wire.KindFile, Object: c.Path, Detail: strings.Join(problems, "; ")}},
			Remediation: "The runtime cannot set up pod networking with this config: pods stay in ContainerCreating. The " +
				"install script that renders it (flannel/Calico/Azure CNI) failed to fill it in; re-run it, or fix the " +
				"values by hand, then recreate the pods.",
			Objects: []ObjectRef{nodeRef(x.node)},
		}
		if i > 0 {
			f.Severity, f.SeverityReason = SeverityWarning, "the runtime uses "+x.s.CNIConfigs[0].Path+" first; this one is not in use"
		}
		out = append(out, f)
	}
	return out, ""
}

// cniConfigDrift: HNS state contradicts the on-disk CNI config: endpoints miss its OutBoundNAT
// exceptions or routes, carry other DNS servers, or the network's subnet differs.
func cniConfigDrift(in Input) ([]Finding, string) {
	x := in.ix()
	c := x.s.ActiveCNI()
	if c == nil {
		return nil, "no CNI config file was collected"
	}
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	if c.ParseError != "" || len(c.Placeholders) > 0 {
		return nil, "the CNI config is invalid (see cni-config-invalid), so HNS cannot be compared with it"
	}
	n := x.clusterNetwork()
	var ev []Evidence
	differ, total := 0, 0
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		if e.Remote || x.isInfraEndpoint(e) || (n != nil && x.s.NetworkOf(e) != n) {
			continue
		}
		if x.c != nil && x.nodePodsByIP[e.IP] == nil && len(x.c.Pods) > 0 {
			continue // leaked endpoints are judged by stale-local-endpoint
		}
		total++
		var what []string
		var exc []string
		for _, o := range e.OutBoundNAT {
			exc = append(exc, o.Exceptions...)
		}
		if c.HasOutBoundNAT && len(e.OutBoundNAT) == 0 {
			what = append(what, "no OutBoundNAT policy, the config has one")
		} else if lack := diff(c.OutBoundNATExceptions, exc); len(lack) > 0 {
			what = append(what, "OutBoundNAT lacks exceptions "+strings.Join(lack, ", "))
		}
		var routes []string
		for _, r := range e.SDNRoutes {
			routes = append(routes, r.DestinationPrefix)
		}
		var cfgRoutes []string
		for _, r := range c.Routes {
			cfgRoutes = append(cfgRoutes, r.DestinationPrefix)
		}
		if lack := diff(cfgRoutes, routes); len(lack) > 0 {
			what = append(what, "routes lack "+strings.Join(lack, ", "))
		}
		if !c.DNSCapability && len(c.DNSServers) > 0 && len(e.DNSServers) > 0 && strings.Join(c.DNSServers, ",") != strings.Join(e.DNSServers, ",") {
			what = append(what, fmt.Sprintf("DNS servers %s, the config says %s", strings.Join(e.DNSServers, ","), strings.Join(c.DNSServers, ",")))
		}
		if len(what) > 0 {
			differ++
			if len(ev) < 10 {
				ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID, Detail: fmt.Sprintf("IP %s: %s", e.IP, strings.Join(what, "; "))})
			}
		}
	}
	if n != nil && len(c.Subnets) > 0 && len(n.Subnets) > 0 {
		var have []string
		for _, s := range n.Subnets {
			if p, ok := parsePrefix(s.Prefix); ok {
				have = append(have, p.String())
			}
		}
		var cfg []string
		for _, s := range c.Subnets {
			if p, ok := parsePrefix(s); ok {
				cfg = append(cfg, p.String())
			}
		}
		if lack := diff(cfg, have); len(lack) > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: fmt.Sprintf("subnet %s, the CNI config's IPAM uses %s", strings.Join(have, ","), strings.Join(lack, ","))})
			differ++
		}
	}
	if differ == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "cni-config-drift", Severity: SeverityWarning,
		Title:    fmt.Sprintf("HNS state on node %s differs from CNI config %s (%d of %d pod endpoints, or the network)", x.node, c.Path, differ, total),
		Evidence: append([]Evidence{{Artifact: wire.KindFile, Object: c.Path, Detail: fmt.Sprintf("OutBoundNAT exceptions %s; routes %d; DNS %s", listOrNone(c.OutBoundNATExceptions), len(c.Routes), listOrNone(c.DNSServers))}}, ev...),
		Remediation: "The CNI config changed after these pods were created (or a different config created them). Pods " +
			"keep the policies they were born with: recreate them to apply the current config, and make sure only one CNI " +
			"config is in the runtime's conf directory.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// placeholdersOnEndpoints: without the CNI config, its placeholders show on what it made: the
// CNI copies its OutBoundNAT exceptions and SDN routes onto every pod endpoint, so a template
// value there ("<your service cidr>") is the config's.
func placeholdersOnEndpoints(x *index) (Finding, bool) {
	var ev []Evidence
	seen := map[string]bool{}
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		var vals []string
		for _, n := range e.OutBoundNAT {
			vals = append(vals, n.Exceptions...)
		}
		for _, r := range e.SDNRoutes {
			vals = append(vals, r.DestinationPrefix)
		}
		for _, v := range vals {
			if snapshot.IsPlaceholder(v) && !seen[v] {
				seen[v] = true
				ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Object: "endpoint " + e.ID + " " + e.Name,
					Detail: fmt.Sprintf("policy value %q is a template placeholder", v)})
			}
		}
	}
	if len(ev) == 0 {
		return Finding{}, false
	}
	return Finding{
		ID: "cni-config-invalid", Severity: SeverityError,
		Title:    fmt.Sprintf("the CNI config on node %s still holds template placeholders: they show in the pod endpoints' policies", x.node),
		Evidence: capEvidence(ev, 5, wire.KindHCNEndpoints),
		Remediation: "The CNI copied values its install script should have filled in (the Service CIDR, the cluster " +
			"CIDR) into the endpoints' OutBoundNAT exceptions and routes; HNS may refuse such an endpoint (invalid state, " +
			"attach failures) and pod traffic is NATed or routed wrongly. Fill in the install config (for Calico, " +
			"config.ps1's service CIDR) and re-run the install, then recreate the pods.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}, true
}

// cniFamily names the node's CNI from its config or the daemons present: flannel, calico,
// azure, antrea, or "" (plain win-bridge/win-overlay/sdnbridge, which has no daemon).
func (x *index) cniFamily() (family, from string) {
	if c := x.s.ActiveCNI(); c != nil {
		src := c.Path
		if src == "" {
			src = "the CNI config" // one read from a paste, without a file name
		}
		switch {
		case c.HasPlugin("flannel"):
			return "flannel", src
		case c.HasPlugin("calico"):
			return "calico", src
		case c.HasPlugin("antrea"):
			return "antrea", src
		case c.HasPlugin("azure-vnet"):
			if strings.EqualFold(c.IPAMType, "azure-cns") {
				return "azure-cns", src
			}
			return "azure", src
		}
		return "", src
	}
	for _, comp := range x.components(facts.RoleCNI) {
		return comp.Name, "pod " + comp.Namespace + "/" + comp.Pod
	}
	return "", ""
}

// cniDaemons are the node daemons of the CNIs that have one: their Windows services, process
// names, the log component that holds their own log, and how their DaemonSet pods are named.
var cniDaemons = map[string]struct {
	services, processes []string
	log                 string
	pod                 *regexp.Regexp
}{
	"flannel":   {[]string{"flanneld"}, []string{"flanneld"}, wire.LogFlanneld, regexp.MustCompile(`\bkube-flannel[\w.-]*`)},
	"calico":    {[]string{"CalicoNode", "CalicoFelix"}, []string{"calico-node", "calico-felix"}, wire.LogCalico, regexp.MustCompile(`\bcalico-node[\w.-]*`)},
	"azure-cns": {[]string{"azure-cns"}, []string{"azure-cns"}, "", regexp.MustCompile(`\bazure-cns[\w.-]*`)},
	"antrea":    {[]string{"antrea-agent"}, []string{"antrea-agent"}, "", regexp.MustCompile(`\bantrea-agent[\w.-]*`)},
}

// cniFamilyFromTraces names the CNI when neither its config nor its pod was collected, from
// what it leaves behind: its daemon's own log, a sandbox error naming its DaemonSet pod, or an
// HNS network it names after itself (flannel.4096, flannel's "cbr0" is too generic to count).
func (x *index) cniFamilyFromTraces() (family, from string) {
	for _, fam := range []string{"flannel", "calico"} {
		if l := cniDaemons[fam].log; l != "" && len(x.s.Logs(l)) > 0 {
			return fam, "its daemon's log " + x.s.Logs(l)[0].Path
		}
	}
	fams := make([]string, 0, len(cniDaemons))
	for f := range cniDaemons {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, l := range x.runtimeLogs() {
		for _, fam := range fams {
			if m := cniDaemons[fam].pod.FindString(l.text); m != "" {
				return fam, fmt.Sprintf("pod %s named in %s line %d", m, l.file.Path, l.n)
			}
		}
	}
	for _, n := range x.s.Networks {
		if strings.HasPrefix(strings.ToLower(n.Name), "flannel.") {
			return "flannel", "HNS network " + n.Name
		}
	}
	for _, l := range x.runtimeLogs() {
		if m := flannelNetworkName.FindString(l.text); m != "" {
			return "flannel", fmt.Sprintf("network %s named in %s line %d", strings.TrimPrefix(m, "_"), l.file.Path, l.n)
		}
	}
	return "", ""
}

// flannelNetworkName is the HNS network flannel's vxlan backend creates (flannel.<VNI>).
var flannelNetworkName = regexp.MustCompile(`(?:\b|_)flannel\.\d+\b`)

// daemonPodFailing: lines of the kubelet (and pasted events) saying the daemon's own pod
// cannot start (no sandbox) or keeps crashing (back-off).
var daemonPodFailing = regexp.MustCompile(`(?i)failed to create pod sandbox|failedcreatepodsandbox|back-off restarting failed container|crashloopbackoff|failed to start sandbox container`)

// cniDaemonNotRunning: the CNI's node daemon (flanneld, calico-node/felix, Azure CNS,
// antrea-agent) is not running.
func cniDaemonNotRunning(in Input) ([]Finding, string) {
	x := in.ix()
	family, from := x.cniFamily()
	if from == "" {
		family, from = x.cniFamilyFromTraces()
	}
	if from == "" {
		return nil, "the node's CNI is unknown (no CNI config and no CNI pod on the node)"
	}
	d, ok := cniDaemons[family]
	if !ok {
		return nil, "" // the plain plugins and azure-vnet-ipam have no node daemon
	}
	installed, running, state := x.serviceState(d.services...)
	if running || x.processRunning(d.processes...) || x.processRunning("rke2", "k3s") {
		return nil, ""
	}
	comps := x.components(facts.RoleCNI)
	for _, c := range comps {
		if c.Name == family && c.Ready {
			return nil, ""
		}
	}
	var ev []Evidence
	decisive := false
	if in.Snapshot.Have[wire.KindProcesses] {
		decisive = true
		ev = append(ev, Evidence{Artifact: wire.KindProcesses, Detail: fmt.Sprintf("no %s process among %d", strings.Join(d.processes, "/"), len(x.s.Processes))})
	}
	if installed {
		decisive = true
		ev = append(ev, Evidence{Artifact: wire.KindServices, Detail: fmt.Sprintf("service %s is %s", strings.Join(d.services, "/"), state)})
	}
	var objs []ObjectRef
	for _, c := range comps {
		if c.Name == family {
			decisive = true
			ev = append(ev, Evidence{Artifact: "Pod", Object: c.Namespace + "/" + c.Pod, Detail: fmt.Sprintf("phase %s, not ready, %d restarts %s", c.Phase, c.Restarts, c.Waiting)})
			objs = append(objs, ObjectRef{Kind: "Pod", Namespace: c.Namespace, Name: c.Pod})
		}
	}
	sev, reason := SeverityError, ""
	if !decisive {
		// Without the process list or the daemon's pod, the daemon's own last words and the
		// kubelet's word on its pod are the evidence.
		var logEv []Evidence
		logEv, sev, reason = x.daemonDownFromLogs(family)
		if len(logEv) == 0 {
			return nil, "neither the node's process list nor a " + family + " service, pod or log saying it stopped was collected"
		}
		ev = append(ev, logEv...)
	}
	return []Finding{{
		ID: "cni-daemon-not-running", Severity: sev, SeverityReason: reason,
		Title:    fmt.Sprintf("the %s daemon is not running on node %s (CNI from %s)", family, x.node, from),
		Evidence: ev,
		Remediation: "Without its daemon the CNI cannot create the HNS network after a reboot, learn about other nodes' " +
			"subnets, or enforce policy; new pods fail and routes go stale. Start it (its Windows service or DaemonSet " +
			"pod) and read its log for why it stopped.",
		Objects: append([]ObjectRef{nodeRef(x.node)}, objs...),
	}}, ""
}

// daemonDownFromLogs judges a CNI daemon from logs alone: its log ends with a fatal line (it
// exited), or shows an earlier crash and ends with an error (a crash loop), or the kubelet
// cannot create or keep its pod. A log that only ends with an error is a warning: a running
// daemon may log an error and go on.
func (x *index) daemonDownFromLogs(family string) (ev []Evidence, sev, reason string) {
	d := cniDaemons[family]
	sev = SeverityError
	if d.log != "" {
		lines := x.componentLog(d.log)
		fatal, ended, lastErr := endedFatally(lines, 3)
		switch {
		case ended:
			ev = append(ev, evidenceOf(fatal)...)
		case len(fatal) > 0 && lastErr != nil:
			ev = append(ev, evidenceOf(fatal)...)
			ev = append(ev, lastErr.evidence())
		case lastErr != nil:
			ev = append(ev, lastErr.evidence())
			sev, reason = SeverityWarning, "its log ends with an error, but nothing shows the process exited"
		}
	}
	var podEv []Evidence
	for _, l := range x.runtimeLogs() {
		if d.pod.MatchString(l.text) && daemonPodFailing.MatchString(l.text) {
			podEv = append(podEv, l.evidence())
		}
	}
	if len(podEv) > 0 {
		ev = append(ev, capEvidence(podEv, 3, wire.KindFile)...)
		sev, reason = SeverityError, ""
	}
	return ev, sev, reason
}

// containerRuntime names the node's runtime (containerd, docker) and where that came from.
func (x *index) containerRuntime() (rt, from string) {
	if x.c != nil && x.c.Node != nil {
		if v := x.c.Node.Status.NodeInfo.ContainerRuntimeVersion; v != "" {
			name, _, _ := strings.Cut(v, "://")
			return strings.ToLower(name), "Node status containerRuntimeVersion " + v
		}
	}
	if k := x.s.Kubelet; k != nil && k.ContainerRuntimeEndpoint != "" {
		if strings.Contains(strings.ToLower(k.ContainerRuntimeEndpoint), "containerd") {
			return "containerd", "kubelet --container-runtime-endpoint " + k.ContainerRuntimeEndpoint
		}
		if strings.Contains(strings.ToLower(k.ContainerRuntimeEndpoint), "docker") {
			return "docker", "kubelet --container-runtime-endpoint " + k.ContainerRuntimeEndpoint
		}
	}
	if _, running, _ := x.serviceState("containerd"); running {
		if _, docker, _ := x.serviceState("docker"); !docker {
			return "containerd", "the containerd service is running (docker is not)"
		}
	}
	return "", ""
}

// cniRuntimeIncompatible: the CNI plugin cannot work with the runtime. The containernetworking
// win-bridge/win-overlay plugins use the HNS v1 API unless "apiVersion": 2, and containerd
// puts each pod in an HCN namespace only the v2 API can attach to (containernetworking/plugins
// #713 and #1229; the fix documented in containernetworking/cni.dev#154).
func cniRuntimeIncompatible(in Input) ([]Finding, string) {
	x := in.ix()
	c := x.s.ActiveCNI()
	if c == nil {
		if f, ok := runtimeIncompatibleFromLogs(x); ok {
			return []Finding{f}, ""
		}
		return nil, "no CNI config file was collected"
	}
	rt, from := x.containerRuntime()
	if rt == "" {
		return nil, "the node's container runtime is unknown (no Node status, kubelet config or service list)"
	}
	if rt != "containerd" {
		return nil, ""
	}
	var legacy []string
	for _, p := range c.Plugins {
		if strings.EqualFold(p, "win-bridge") || strings.EqualFold(p, "win-overlay") {
			legacy = append(legacy, p)
		}
	}
	if len(legacy) == 0 || c.APIVersion >= 2 {
		return nil, ""
	}
	return []Finding{{
		ID: "cni-runtime-incompatible", Severity: SeverityError,
		Title: fmt.Sprintf("CNI plugin %s in %s uses the HNS v1 API, which cannot attach pods under containerd",
			strings.Join(legacy, ","), c.Path),
		Evidence: []Evidence{
			{Artifact: wire.KindFile, Object: c.Path, Detail: fmt.Sprintf("plugins %s, apiVersion %d", strings.Join(c.Plugins, ","), c.APIVersion)},
			{Artifact: "runtime", Detail: from},
		},
		Remediation: "Set \"apiVersion\": 2 in the plugin's config (win-bridge/win-overlay v0.8.6+), or use the sdnbridge/" +
			"sdnoverlay plugins from microsoft/windows-container-networking, which support containerd; then recreate the pods.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// sandboxEndpointNotFound is pod sandbox set-up failing because the endpoint the CNI plugin
// has just created for the sandbox cannot be found: the endpoint name is the sandbox id and
// the network ("<64 hex>_flannel.4096 not found", "failed to find HNSEndpoint <id>_Calico").
// Under containerd this is what a plugin using the HNS v1 API (no HCN namespaces) leaves.
var sandboxEndpointNotFound = regexp.MustCompile(`(?i)(?:endpoint|hnsendpoint) [0-9a-f]{64}_[\w.-]+:? (?:not found|was not found)|failed to find hnsendpoint [0-9a-f]{64}_`)

// containerdFromTraces says where the node's runtime shows itself to be containerd when neither the
// Node object nor the kubelet's flags were collected: its config, its own log, or
// containerd's words in the kubelet's.
func (x *index) containerdFromTraces() string {
	if rt, from := x.containerRuntime(); rt != "" {
		if rt == "containerd" {
			return from
		}
		return ""
	}
	if fs := x.s.FilesWithRole(wire.RoleContainerdConfig); len(fs) > 0 {
		return "a containerd config (" + fs[0].Path + ")"
	}
	if fs := x.s.Logs(wire.LogContainerd); len(fs) > 0 {
		return "containerd's log " + fs[0].Path
	}
	return ""
}

// runtimeIncompatibleFromLogs: without the CNI config, repeated sandbox failures because the
// plugin's own endpoint is "not found", on a containerd node, are the CNI/runtime mismatch's
// signature; a warning, since the config that would prove it was not collected.
func runtimeIncompatibleFromLogs(x *index) (Finding, bool) {
	from := x.containerdFromTraces()
	if from == "" {
		return Finding{}, false
	}
	var ev []Evidence
	for _, l := range x.runtimeLogs() {
		if sandboxEndpointNotFound.MatchString(l.text) {
			ev = append(ev, l.evidence())
		}
	}
	if len(ev) == 0 {
		return Finding{}, false
	}
	family, _ := x.cniFamilyFromTraces()
	cni := "the CNI plugin"
	if family != "" {
		cni = "the " + family + " CNI plugin"
	}
	return Finding{
		ID: "cni-runtime-incompatible", Severity: SeverityWarning,
		SeverityReason: "the CNI config that would show the plugin and its HNS API version was not collected",
		Title:          fmt.Sprintf("%s creates pod endpoints containerd cannot find on node %s (runtime from %s)", cni, x.node, from),
		Evidence:       append(capEvidence(ev, 3, wire.KindFile), Evidence{Artifact: "runtime", Detail: from}),
		Remediation: "Under containerd each pod sandbox has an HCN namespace, and the CNI must create its endpoint with the " +
			"HNS v2 (HCN) API and attach it there; plugins that use the v1 API create an endpoint the runtime then cannot " +
			"find. Use a CNI release that supports containerd: sdnoverlay/sdnbridge from microsoft/windows-container-" +
			"networking as flannel's delegate (or win-overlay/win-bridge with \"apiVersion\": 2), Calico for Windows with " +
			"containerd support; then recreate the pods.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}, true
}

// clusterPodCIDRs is the cluster's pod range: kube-proxy's clusterCIDR, flannel's Network,
// else every node's pod CIDR.
func (x *index) clusterPodCIDRs() (cidrs []netip.Prefix, from string) {
	if kp := x.s.KubeProxy; kp != nil && kp.ClusterCIDR != "" {
		return parsePrefixes(strings.Split(kp.ClusterCIDR, ",")), "kube-proxy clusterCIDR"
	}
	if f := x.s.Flannel; f != nil && f.Network != "" {
		return parsePrefixes([]string{f.Network}), "flannel net-conf Network"
	}
	if x.c != nil && x.clusterMissing("nodes") == "" {
		for _, n := range x.c.Nodes {
			cidrs = append(cidrs, parsePrefixes(n.PodCIDRs)...)
		}
		if len(cidrs) > 0 {
			return cidrs, "the Nodes' pod CIDRs"
		}
	}
	return nil, ""
}

// outboundNATExceptionsMismatch: OutBoundNAT exceptions miss the pod, service or node ranges
// (so in-cluster traffic is NATed to the node IP), or except everything.
func outboundNATExceptionsMismatch(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	podCIDRs, podFrom := x.clusterPodCIDRs()
	if len(podCIDRs) == 0 {
		return nil, "the cluster's pod range is unknown (no kube-proxy clusterCIDR, flannel config or Nodes)"
	}
	var svcCIDRs []netip.Prefix
	svcFrom := ""
	var svcIPs []string
	if x.c != nil && len(x.c.ServiceCIDRs) > 0 {
		svcCIDRs, svcFrom = parsePrefixes(x.c.ServiceCIDRs), "ServiceCIDR objects"
	} else if x.c != nil && x.clusterMissing("services") == "" {
		if x.c.KubeDNS != nil {
			svcIPs = append(svcIPs, serviceIPs(x.c.KubeDNS)...)
		}
		for i := range x.c.Services {
			if s := &x.c.Services[i]; s.Namespace == "default" && s.Name == "kubernetes" {
				svcIPs = append(svcIPs, serviceIPs(s)...)
			}
		}
		svcFrom = "the kubernetes and kube-dns ClusterIPs"
	}
	n := x.clusterNetwork()
	flat := n != nil && !n.IsOverlay()
	type gap struct {
		sev  string
		what string
	}
	gaps := map[string]gap{}
	affected, checked := 0, 0
	// Endpoints share their exception lists: judge each distinct list once.
	verdicts := map[string]bool{}
	for i := range x.s.Endpoints {
		e := &x.s.Endpoints[i]
		if e.Remote || len(e.OutBoundNAT) == 0 || x.isInfraEndpoint(e) || (n != nil && x.s.NetworkOf(e) != n) {
			continue
		}
		checked++
		var raw []string
		for _, o := range e.OutBoundNAT {
			raw = append(raw, o.Exceptions...)
		}
		key := strings.Join(raw, ",")
		found, done := verdicts[key]
		if !done {
			found = false
			exc := parsePrefixes(raw)
			note := func(key, sev, what string) {
				if _, ok := gaps[key]; !ok {
					gaps[key] = gap{sev, what}
				}
				found = true
			}
			for _, p := range podCIDRs {
				if !prefixCovered(p, exc) {
					note("pod "+p.String(), SeverityError, fmt.Sprintf("pod range %s (from %s) is not excepted: pod-to-pod traffic is NATed to the node IP", p, podFrom))
				}
			}
			for _, p := range svcCIDRs {
				if !prefixCovered(p, exc) {
					note("svc "+p.String(), SeverityWarning, fmt.Sprintf("service range %s (from %s) is not excepted", p, svcFrom))
				}
			}
			for _, ip := range svcIPs {
				if a, ok := parseAddr(ip); ok && !addrCovered(a, exc) {
					note("svcip "+ip, SeverityWarning, fmt.Sprintf("ClusterIP %s (from %s) is not excepted", ip, svcFrom))
				}
			}
			if flat && x.c != nil {
				for _, nd := range x.c.Nodes {
					for _, ip := range nd.InternalIPs {
						if a, ok := parseAddr(ip); ok && a.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !addrCovered(a, exc) {
							note("node "+ip, SeverityWarning, fmt.Sprintf("node %s's address %s (the VNET/node range) is not excepted: pods reach other nodes as the node IP", nd.Name, ip))
						}
					}
				}
			}
			if flat {
				// The cloud network's own ranges (VNet, VPC): pods on a flat network reach its
				// hosts directly, and a reply to a NATed source never finds its way back.
				for _, cs := range x.s.CloudAddressSpaces {
					for _, p := range parsePrefixes(cs.Prefixes) {
						if !prefixCovered(p, exc) {
							note("cloud "+p.String(), SeverityWarning, fmt.Sprintf("%s network %s range %s (from the cloud network description) is not excepted: pod traffic to it is NATed to the node IP", cs.Provider, cs.Name, p))
						}
					}
				}
			}
			for _, p := range exc {
				if p.Bits() < 8 {
					note("broad "+p.String(), SeverityError, fmt.Sprintf("exception %s covers almost everything: traffic to the internet is not NATed and cannot return", p))
				}
			}
			verdicts[key] = found
		}
		if found {
			affected++
		}
	}
	if checked == 0 {
		return nil, "no pod endpoint on the cluster network has an OutBoundNAT policy to check"
	}
	if len(gaps) == 0 {
		return nil, ""
	}
	keys := make([]string, 0, len(gaps))
	sev := SeverityWarning
	for k, g := range gaps {
		keys = append(keys, k)
		if g.sev == SeverityError {
			sev = SeverityError
		}
	}
	sort.Strings(keys)
	var ev []Evidence
	for _, k := range keys {
		ev = append(ev, Evidence{Artifact: wire.KindHCNEndpoints, Detail: gaps[k].what})
	}
	ev = capEvidence(ev, 15, wire.KindHCNEndpoints)
	return []Finding{{
		ID: "outboundnat-exceptions-mismatch", Severity: sev,
		Title:    fmt.Sprintf("OutBoundNAT exceptions on %d of %d pod endpoints on node %s miss cluster ranges or except too much", affected, checked, x.node),
		Evidence: ev,
		Remediation: "Traffic to destinations outside the OutBoundNAT exceptions leaves with the node's IP: NetworkPolicies " +
			"that allow pods by label then deny it, and in L2Bridge replies may not find their way back. List the cluster " +
			"pod range, the service range and the node/VNET range in the CNI config's OutBoundNAT exceptions (and nothing " +
			"as broad as 0.0.0.0/0), then recreate the pods.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// overlayMTUMismatch: pod MTU + 50 bytes of VXLAN overhead exceed the underlay NIC's MTU.
func overlayMTUMismatch(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		return nil, missingNetworks
	}
	x := in.ix()
	n := x.clusterNetwork()
	if n == nil {
		return nil, "which HNS network the cluster uses is unknown"
	}
	if !n.IsOverlay() {
		return nil, ""
	}
	const vxlanOverhead = 50
	nic, nicName := 0, ""
	for _, a := range x.s.Adapters {
		if a.Compartment > 1 || a.MTU == 0 {
			continue
		}
		for _, addr := range a.Addresses {
			if x.nodeIPs[addr.Address] && (x.thisNode == nil || contains(x.thisNode.InternalIPs, addr.Address)) {
				nic, nicName = a.MTU, a.Name
			}
		}
	}
	if nic == 0 {
		return nil, "the MTU of the adapter carrying the node's address is unknown (" + wire.KindHostAdapters + " not collected)"
	}
	pod, podFrom := 0, ""
	if c := x.s.ActiveCNI(); c != nil && c.MTU > 0 {
		pod, podFrom = c.MTU, "CNI config "+c.Path
	}
	if f := x.s.Flannel; pod == 0 && f != nil && f.MTU > 0 {
		pod, podFrom = f.MTU, "flannel subnet.env FLANNEL_MTU"
	}
	for _, a := range x.s.Adapters {
		if a.Compartment > 1 && a.MTU > pod {
			pod, podFrom = a.MTU, fmt.Sprintf("pod adapter %q (compartment %d)", a.Name, a.Compartment)
		}
	}
	if pod == 0 {
		return nil, "the pods' MTU is unknown (no CNI MTU, FLANNEL_MTU or pod adapter was collected)"
	}
	if pod+vxlanOverhead <= nic {
		return nil, ""
	}
	return []Finding{{
		ID: "overlay-mtu-mismatch", Severity: SeverityError,
		Title:    fmt.Sprintf("pod MTU %d + %d bytes of VXLAN overhead exceeds node %s's NIC MTU %d", pod, vxlanOverhead, x.node, nic),
		Evidence: []Evidence{{Artifact: wire.KindHostAdapters, Object: nicName, Detail: fmt.Sprintf("MTU %d", nic)}, {Artifact: "pod MTU", Detail: fmt.Sprintf("%d from %s", pod, podFrom)}},
		Remediation: fmt.Sprintf("Large packets between pods on different nodes are dropped or fragmented (small requests work, "+
			"large responses hang). Set the pod MTU to at most %d (CNI mtu / flannel MTU), or raise the underlay MTU, "+
			"then recreate the pods.", nic-vxlanOverhead),
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// Complaints that a named network does not exist: kube-proxy (winkernel) at start ("Unable to
// find HNS Network specified by cbr0"), the CNI plugins through the kubelet or the runtime
// ("GETHNSNewtorkByName(flannel.4096): Network flannel.4096 not found" — the plugin's own
// spelling), docker's "network host not found" for a pod sandbox.
var (
	kpNetworkNotFound  = regexp.MustCompile(`(?i)(?:unable|could not) to? ?find hns network(?: specified by)? "?([A-Za-z0-9._-]+)`)
	netByNameFailed    = regexp.MustCompile(`(?i)GETHNSNe(?:tw|wt)orkByName\(([^)\s]+)\)`)
	namedNetworkAbsent = regexp.MustCompile(`(?i)\b(?:hns )?network "?([A-Za-z0-9._-]+)"? (?:not found|does not exist)`)
	repeatedEvent      = regexp.MustCompile(`\(x(\d+) over|combined from similar events`)
)

// networkComplaint is one log line naming a network that is not there.
type networkComplaint struct {
	name string
	line logLine
	who  string
}

// networkComplaints reads every log that complains about a missing named network, first
// complaint per network name kept, with how many lines (and repeated events) said so.
func (x *index) networkComplaints() (first []networkComplaint, times map[string]int) {
	times = map[string]int{}
	add := func(name string, l logLine, who string) {
		name = strings.TrimRight(name, ".:,")
		k := strings.ToLower(name)
		if times[k] == 0 {
			first = append(first, networkComplaint{name, l, who})
		}
		times[k]++
		if repeatedEvent.MatchString(l.text) {
			times[k]++
		}
	}
	for _, l := range x.kubeProxyLog().startup {
		if m := kpNetworkNotFound.FindStringSubmatch(l.text); m != nil {
			add(m[1], l, "kube-proxy")
		}
	}
	for _, l := range x.runtimeLogs() {
		if m := netByNameFailed.FindStringSubmatch(l.text); m != nil {
			add(m[1], l.logLine, "the CNI plugin")
		} else if m := namedNetworkAbsent.FindStringSubmatch(l.text); m != nil {
			add(m[1], l.logLine, "the container runtime")
		}
	}
	return first, times
}

// networkMissingFromLogs: without the node's network list, the components' own complaints
// are the evidence. One complaint could be a moment during start-up (the CNI daemon creates
// the network a few seconds later): a warning; repeated ones are an error.
func networkMissingFromLogs(in Input) []Finding {
	x := in.ix()
	first, times := x.networkComplaints()
	var out []Finding
	where := "this node"
	if x.node != "" {
		where = "node " + x.node
	}
	for _, c := range first {
		sev, reason := SeverityError, ""
		if n := times[strings.ToLower(c.name)]; n < 2 && c.who != "kube-proxy" {
			sev, reason = SeverityWarning, "one complaint, and the node's HNS networks were not collected to confirm it"
		}
		out = append(out, Finding{
			ID: "hns-network-missing", Severity: sev, SeverityReason: reason,
			Title:    fmt.Sprintf("%s cannot find the network %q on %s", c.who, c.name, where),
			Evidence: []Evidence{c.line.evidence()},
			Remediation: "Nothing that needs the network works until it exists: pods get no sandbox and kube-proxy programs " +
				"no Service. The CNI daemon (flanneld, calico-node, the Azure CNI) creates the cluster network: check that it " +
				"runs and read its log. A network the node's set-up creates (docker's \"host\" NAT network for host-network " +
				"pods under dockershim) must be created again after a reboot. If the network exists under another name, make " +
				"kube-proxy's --network-name (KUBE_NETWORK) and the CNI config's name agree.",
			Objects: []ObjectRef{nodeRef(x.node)},
		})
	}
	return out
}
