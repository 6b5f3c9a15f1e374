package analyze

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const missingNetworks = "HNS networks (" + wire.KindHCNNetworks + ") were not collected"

// sourceVIP returns the overlay source VIP and where it came from: kube-proxy's --source-vip,
// else the source VIP the load balancers carry that is not a node address.
func (x *index) sourceVIP() (vip, from string) {
	if kp := x.s.KubeProxy; kp != nil && kp.SourceVIP != "" {
		return kp.SourceVIP, "kube-proxy --source-vip (" + strings.Join(kp.Sources, ", ") + ")"
	}
	var vips []string
	for v := range x.lbSourceVIPs() {
		if !x.nodeIPs[v] {
			vips = append(vips, v)
		}
	}
	if len(vips) > 0 {
		sort.Strings(vips)
		return vips[0], "the load balancers' SourceVIP"
	}
	return "", ""
}

// sourceVIPMissing: in an overlay network kube-proxy needs --source-vip and a local HNS
// endpoint carrying it (it creates one if none exists, "Source Vip endpoint creation failed"
// otherwise).
func sourceVIPMissing(in Input) ([]Finding, string) {
	if f, ok := sourceVIPAllocationFailed(in.ix()); ok {
		return []Finding{f}, ""
	}
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		// kube-proxy asks for a source VIP only on an overlay network: its refusal to start
		// without one says both that the network is overlay and that the VIP is missing.
		var ev []Evidence
		for _, l := range in.ix().kubeProxyLog().startup {
			if strings.Contains(strings.ToLower(l.text), "source-vip flag not set") {
				ev = append(ev, l.evidence())
			}
		}
		if len(ev) > 0 {
			return []Finding{{ID: "source-vip-missing", Severity: SeverityError,
				Title:    "kube-proxy refuses to start: the overlay network needs a source VIP and none is configured",
				Evidence: capEvidence(ev, 3, wire.KindFile),
				Remediation: "In overlay mode kube-proxy needs --source-vip (winkernel.sourceVip): an address reserved in the " +
					"node's pod subnet (flannel and Calico start scripts create a \"source_vip\" endpoint for it). Pass it " +
					"and restart kube-proxy.",
				Objects: []ObjectRef{nodeRef(in.ix().node)}}}, ""
		}
		return nil, missingNetworks
	}
	x := in.ix()
	n := x.clusterNetwork()
	if n == nil {
		return nil, "which HNS network the cluster uses is unknown (no kube-proxy or CNI config, several networks)"
	}
	if !n.IsOverlay() {
		return nil, ""
	}
	kp := x.kubeProxyLog()
	var startupEv, createEv []Evidence
	for _, l := range kp.startup {
		if strings.Contains(strings.ToLower(l.text), "source-vip") {
			startupEv = append(startupEv, l.evidence())
		}
	}
	for _, l := range kp.failures {
		if strings.Contains(strings.ToLower(l.text), "source vip") {
			createEv = append(createEv, l.evidence())
		}
	}
	vip, from := x.sourceVIP()
	base := Finding{ID: "source-vip-missing", Severity: SeverityError, Objects: []ObjectRef{nodeRef(x.node)}}
	switch {
	case vip == "" && (len(startupEv) > 0 || (x.s.KubeProxy != nil && hasConfigSource(x.s.KubeProxy.Sources))):
		base.Title = fmt.Sprintf("overlay network %q but kube-proxy has no source VIP configured", n.Name)
		base.Evidence = append([]Evidence{{Artifact: wire.KindHCNNetworks, Object: "network " + n.Name, Detail: "type Overlay"}}, startupEv...)
		if x.s.KubeProxy != nil {
			base.Evidence = append(base.Evidence, Evidence{Artifact: wire.KindFile, Object: strings.Join(x.s.KubeProxy.Sources, ", "), Detail: "no sourceVip / --source-vip"})
		}
		base.Remediation = "In overlay mode kube-proxy refuses to start without --source-vip (\"source-vip flag not set\"). " +
			"Reserve an address in the node's pod subnet for it (flannel and Calico start scripts create a \"source_vip\" " +
			"endpoint), pass it as --source-vip or winkernel.sourceVip, and restart kube-proxy."
		return []Finding{base}, ""
	case vip == "":
		return nil, "kube-proxy's configuration (--source-vip) was not collected and no load balancer carries a source VIP"
	}
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	if x.localEndpoint(vip) != nil {
		return nil, ""
	}
	base.Title = fmt.Sprintf("overlay network %q: no HNS endpoint carries the source VIP %s", n.Name, vip)
	base.Evidence = append([]Evidence{
		{Artifact: wire.KindHCNEndpoints, Detail: fmt.Sprintf("%d endpoints, none local with IP %s", len(x.s.Endpoints), vip)},
		{Artifact: "kube-proxy", Detail: "source VIP from " + from},
	}, createEv...)
	base.Remediation = "Service traffic from this node's pods is SNATed to the source VIP; without its endpoint the " +
		"load balancers do not work. kube-proxy creates the endpoint at sync if it can: read the quoted errors, check " +
		"that the VIP is a free address in the node's pod subnet, and restart kube-proxy (with flannel or Calico, " +
		"re-run the start script that creates the source_vip endpoint)."
	return []Finding{base}, ""
}

// sourceVIPAllocationFailed: flannel's and Calico's Windows start scripts reserve the source
// VIP by calling host-local directly and saving its answer as sourceVip.json; an error there
// means the overlay node has no source VIP to give kube-proxy, whatever else was collected.
func sourceVIPAllocationFailed(x *index) (Finding, bool) {
	for _, f := range x.s.FilesWithRole(wire.RoleCNIResult) {
		if !strings.Contains(strings.ToLower(strings.ReplaceAll(f.Path, "_", "")), "sourcevip") {
			continue
		}
		var res struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(f.Content)), &res) != nil || (res.Code == 0 && res.Msg == "") {
			continue
		}
		return Finding{
			ID: "source-vip-missing", Severity: SeverityError,
			Title: fmt.Sprintf("the source VIP was never allocated on node %s: %s holds the IPAM plugin's error %d (%s)",
				x.node, f.Path, res.Code, res.Msg),
			Evidence: []Evidence{{Artifact: wire.KindFile, Object: f.Path, Detail: fmt.Sprintf("CNI error %d: %s", res.Code, res.Msg)}},
			Remediation: "kube-proxy in overlay mode needs the source VIP (--source-vip): without it Services do not work " +
				"from this node. The start script asks host-local for an address with the request file next to it; " +
				"\"invalid character ... looking for beginning of value\" means that file is not plain JSON (PowerShell 5's " +
				"Out-File/Set-Content write a byte-order mark: write it with -Encoding ascii). Delete the result, fix the " +
				"request and run the script again, then pass the address to kube-proxy.",
			Objects: []ObjectRef{nodeRef(x.node)},
		}, true
	}
	return Finding{}, false
}

func hasConfigSource(sources []string) bool {
	for _, s := range sources {
		if !strings.HasSuffix(strings.ToLower(s), ".log") {
			return true
		}
	}
	return false
}

// sourceVIPInvalid: the source VIP is outside the network's subnet, a reserved address, a
// pod's address, or rejected by HNS.
func sourceVIPInvalid(in Input) ([]Finding, string) {
	x := in.ix()
	rejected := x.sourceVIPRejections()
	vip, from := x.sourceVIP()
	// HNS refusing the source VIP is proof on its own; the network list only adds why.
	fromLogAlone := func() []Finding {
		if len(rejected) == 0 {
			return nil
		}
		what := "the source VIP"
		if vip != "" {
			what = "source VIP " + vip
		}
		return []Finding{sourceVIPInvalidFinding(x, fmt.Sprintf("HNS rejected %s (%s)", what, decodedCodes(rejected)), rejected, nil)}
	}
	if !in.Snapshot.Have[wire.KindHCNNetworks] {
		if fs := fromLogAlone(); fs != nil {
			return fs, ""
		}
		return nil, missingNetworks
	}
	n := x.clusterNetwork()
	if n == nil {
		if fs := fromLogAlone(); fs != nil {
			return fs, ""
		}
		return nil, "which HNS network the cluster uses is unknown (no kube-proxy or CNI config, several networks)"
	}
	if !n.IsOverlay() {
		return nil, ""
	}
	if vip == "" {
		if fs := fromLogAlone(); fs != nil {
			return fs, ""
		}
		return nil, "the source VIP is not known (see source-vip-missing)"
	}
	var problems []string
	var objs []ObjectRef
	a, ok := parseAddr(vip)
	if !ok {
		problems = append(problems, fmt.Sprintf("%q is not an IP address", vip))
	} else {
		inSubnet := len(n.Subnets) == 0
		for _, sub := range n.Subnets {
			p, ok := parsePrefix(sub.Prefix)
			if !ok || !p.Contains(a) {
				continue
			}
			inSubnet = true
			switch {
			case a == p.Addr():
				problems = append(problems, fmt.Sprintf("it is subnet %s's network address", sub.Prefix))
			case sub.Gateway == vip:
				problems = append(problems, fmt.Sprintf("it is subnet %s's gateway", sub.Prefix))
			case p.Addr().Is4() && p.Bits() < 31 && isBroadcast(a.As4(), p.Bits()):
				problems = append(problems, fmt.Sprintf("it is subnet %s's broadcast address", sub.Prefix))
			}
		}
		if !inSubnet {
			var subs []string
			for _, s := range n.Subnets {
				subs = append(subs, s.Prefix)
			}
			problems = append(problems, fmt.Sprintf("it is outside network %s's subnet %s", n.Name, strings.Join(subs, ", ")))
		}
		if x.nodeIPs[vip] {
			problems = append(problems, "it is the node's own address")
		}
		if x.c != nil {
			if p := x.podsByIP[vip]; p != nil {
				problems = append(problems, fmt.Sprintf("pod %s/%s has this IP", p.Namespace, p.Name))
				objs = append(objs, ObjectRef{Kind: "Pod", Namespace: p.Namespace, Name: p.Name})
			}
		}
	}
	if len(rejected) > 0 && len(problems) == 0 {
		problems = append(problems, "HNS rejected it ("+decodedCodes(rejected)+")")
	}
	if len(problems) == 0 {
		return nil, ""
	}
	ev := append([]Evidence{{Artifact: "kube-proxy", Detail: "source VIP " + vip + " from " + from}}, rejected...)
	return []Finding{sourceVIPInvalidFinding(x, fmt.Sprintf("overlay source VIP %s is invalid: %s", vip, strings.Join(problems, "; ")), ev, objs)}, ""
}

// sourceVIPRejections are kube-proxy's log lines where HNS refused to create the source VIP
// endpoint as an invalid or reserved address (HNS-FACTS §3.3: 0x803b002f, k/k#100962).
func (x *index) sourceVIPRejections() []Evidence {
	var ev []Evidence
	for _, l := range x.kubeProxyLog().failures {
		t := strings.ToLower(l.text)
		if strings.Contains(t, "source vip") && (strings.Contains(t, "0x803b002f") || strings.Contains(t, "0x803b001e") || strings.Contains(t, "0x80070057")) {
			ev = append(ev, l.evidence())
		}
	}
	return ev
}

// decodedCodes names the HNS error codes quoted in the evidence.
func decodedCodes(ev []Evidence) string {
	var out []string
	seen := map[string]bool{}
	for _, e := range ev {
		for _, c := range errorCodesIn(e.Detail) {
			if !seen[c.Code] {
				seen[c.Code] = true
				out = append(out, c.Code+" "+c.Words)
			}
		}
	}
	if len(out) == 0 {
		return "an HNS error"
	}
	return strings.Join(out, ", ")
}

func sourceVIPInvalidFinding(x *index, title string, ev []Evidence, objs []ObjectRef) Finding {
	return Finding{
		ID: "source-vip-invalid", Severity: SeverityError,
		Title:    title,
		Evidence: ev,
		Remediation: "The source VIP must be an unused address inside this node's pod subnet, reserved from the CNI's " +
			"IPAM so no pod gets it. Pick such an address (the flannel/Calico kube-proxy start scripts request one from " +
			"IPAM), set --source-vip, delete the old source_vip endpoint and restart kube-proxy.",
		Objects: append([]ObjectRef{nodeRef(x.node)}, objs...),
	}
}

func isBroadcast(a [4]byte, bits int) bool {
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	host := uint32(1)<<(32-bits) - 1
	return v&host == host
}

// dsrUnsupported: DSR is requested but HNS lacks it, the WinDSR gate is off, or HNS rejects
// DSR policies.
func dsrUnsupported(in Input) ([]Finding, string) {
	x := in.ix()
	cfg := x.s.KubeProxy
	kp := x.kubeProxyLog()
	var ev []Evidence
	for _, l := range kp.startup {
		t := strings.ToLower(l.text)
		if strings.Contains(t, "windsr") || strings.Contains(t, "direct server return") || strings.Contains(t, "dsr") {
			ev = append(ev, l.evidence())
		}
	}
	for _, e := range x.s.Events {
		if strings.Contains(e.Message, "ElbDsrPolicy-Update-Failure") {
			ev = append(ev, Evidence{Artifact: wire.KindEvents, Object: fmt.Sprintf("%s event %d at %s", e.Channel, e.ID, e.Time.Format("2006-01-02T15:04:05Z07:00")), Detail: oneLine(e.Message)})
		}
	}
	requested := cfg.DSREnabled()
	if !requested && len(ev) == 0 {
		if cfg == nil && !in.Snapshot.Have[wire.KindEvents] {
			return nil, "kube-proxy's configuration (--enable-dsr) was not collected"
		}
		return nil, ""
	}
	var problems []string
	if requested {
		ev = append(ev, Evidence{Artifact: wire.KindFile, Object: strings.Join(cfg.Sources, ", "), Detail: "enableDSR true"})
		if !x.dsrSupported() {
			problems = append(problems, fmt.Sprintf("HNS %s has no DSR (needs 9.3+ on 9.x, or 10.2+)", x.s.HNSVersion))
		}
		gate, set := cfg.FeatureGates["WinDSR"]
		switch {
		case set && !gate && !versionAtLeast(cfg.Version, 1, 35):
			problems = append(problems, "feature gate WinDSR is set false")
		case !set && cfg.Version != "" && !versionAtLeast(cfg.Version, 1, 33):
			// WinDSR was alpha (off by default) until it went beta in v1.33 (KEP-5100).
			problems = append(problems, fmt.Sprintf("kube-proxy %s needs --feature-gates=WinDSR=true", cfg.Version))
		}
		if in.Snapshot.HaveLoadBalancers() && len(x.s.LoadBalancers) > 0 {
			dsrLBs := 0
			for i := range x.s.LoadBalancers {
				if x.s.LoadBalancers[i].DSR {
					dsrLBs++
				}
			}
			if dsrLBs == 0 {
				problems = append(problems, fmt.Sprintf("none of the %d HNS load balancers has the DSR flag", len(x.s.LoadBalancers)))
			}
		}
	}
	if len(ev) > 0 && len(problems) == 0 && !requested {
		problems = append(problems, "HNS reported DSR policy failures")
	} else if len(problems) == 0 && len(ev) > 1 {
		problems = append(problems, "kube-proxy or HNS reported DSR failures")
	}
	if len(problems) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "dsr-unsupported", Severity: SeverityError,
		Title:    fmt.Sprintf("Direct Server Return is requested but does not work on node %s: %s", x.node, strings.Join(problems, "; ")),
		Evidence: ev,
		Remediation: "kube-proxy exits at start when DSR is requested and unavailable, and ETP=Local Services lose client " +
			"IPs without it. Update the node's Windows build (DSR needs HNS 9.3/10.2+, Windows Server 2019 or later), " +
			"enable the WinDSR gate on kube-proxy older than v1.33, or turn --enable-dsr off.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}}, ""
}

// healthCheckRefused is kube-proxy failing to create a health-check load balancer because HNS
// says the port is taken ("Healthcheck loadbalancer policy creation failed" ... "The specified
// port already exists. (0x803b0013)").
var healthCheckRefused = regexp.MustCompile(`(?i)health ?check.*(?:0x803b0013|port already exists)`)

// healthCheckRefusedInLog: without the port ranges, HNS's refusal in kube-proxy's log is the
// evidence. The port is the kube-proxy healthz port unless the line names another.
func healthCheckRefusedInLog(x *index) (Finding, bool) {
	var ev []Evidence
	for _, l := range x.componentLog(wire.LogKubeProxy) {
		if healthCheckRefused.MatchString(l.text) {
			ev = append(ev, l.evidence())
		}
	}
	if len(ev) == 0 {
		return Finding{}, false
	}
	return Finding{
		ID: "healthcheck-port-conflict", Severity: SeverityError,
		Title: fmt.Sprintf("HNS refused kube-proxy's health-check load balancer on node %s: the port is already taken "+
			"(kube-proxy's own healthz port is %d)", x.node, x.healthzPort()),
		Evidence: capEvidence(ev, 3, wire.KindFile),
		Remediation: "The Service's cloud load balancer probes the health-check port; without the health-check load " +
			"balancer the Service is not provisioned on this node. With --forward-healthcheck-vip kube-proxy asks for a " +
			"load balancer on its own healthz port, which it already listens on: on Windows Server 2019 HNS refuses it. " +
			"Run kube-proxy without --forward-healthcheck-vip, or move --healthz-bind-address off the port, and check " +
			"excluded port ranges (netsh int ipv4 show excludedportrange protocol=tcp).",
		Objects: []ObjectRef{nodeRef(x.node)},
	}, true
}

// healthCheckPortConflict: a load balancer health-check port (a Service's
// healthCheckNodePort, kube-proxy's healthz port) is excluded, dynamic, or refused by HNS.
func healthCheckPortConflict(in Input) ([]Finding, string) {
	x := in.ix()
	ports := map[int]string{x.healthzPort(): "kube-proxy healthz"}
	var svcs map[int]*corev1.Service
	if x.c != nil && x.clusterMissing("services") == "" {
		svcs = x.expectations().hcPorts
		for p, s := range svcs {
			ports[p] = fmt.Sprintf("healthCheckNodePort of Service %s/%s", s.Namespace, s.Name)
		}
	}
	pr := x.s.PortRanges
	if pr == nil {
		if f, ok := healthCheckRefusedInLog(x); ok {
			return []Finding{f}, ""
		}
		return nil, "port ranges (" + wire.KindPortRanges + ") were not collected"
	}
	list := make([]int, 0, len(ports))
	for p := range ports {
		list = append(list, p)
	}
	sort.Ints(list)
	var out []Finding
	for _, port := range list {
		var why []string
		sev := SeverityError
		for _, r := range pr.Excluded["tcp"] {
			if port >= r.Start && port <= r.End {
				why = append(why, fmt.Sprintf("TCP excluded port range %d-%d covers it", r.Start, r.End))
			}
		}
		if d, ok := pr.Dynamic["tcp"]; ok && port >= d.Start && port <= d.End && len(why) == 0 {
			why = append(why, fmt.Sprintf("it lies in the dynamic port range %d-%d, so an outgoing connection can hold it", d.Start, d.End))
			sev = SeverityWarning
		}
		ev := x.kubeProxyLog().failuresMentioning(fmt.Sprintf("%d", port), 3)
		var filtered []Evidence
		for _, e := range ev {
			if strings.Contains(e.Detail, "0x803b0013") {
				filtered = append(filtered, e)
			}
		}
		if len(filtered) > 0 && len(why) == 0 {
			why = append(why, "HNS refused it with \"port already exists\"")
			sev = SeverityError
		}
		if len(why) == 0 {
			continue
		}
		f := Finding{
			ID: "healthcheck-port-conflict", Severity: sev,
			Title:    fmt.Sprintf("health-check port %d (%s) on node %s: %s", port, ports[port], x.node, strings.Join(why, "; ")),
			Evidence: append([]Evidence{{Artifact: wire.KindPortRanges, Detail: strings.Join(why, "; ")}}, filtered...),
			Remediation: "The cloud load balancer probes this port to find nodes with endpoints; when the port cannot be " +
				"bound or programmed the node is marked unhealthy (or wrongly healthy). Remove the exclusion (netsh int ipv4 " +
				"delete excludedportrange) or move the dynamic range (netsh int ipv4 set dynamicport tcp start=49152 num=16384), " +
				"then restart kube-proxy.",
			Objects: []ObjectRef{nodeRef(x.node)},
		}
		if s := svcs[port]; s != nil {
			f.Objects = append(f.Objects, serviceRef(s))
		}
		if sev == SeverityWarning {
			f.SeverityReason = "the port is only at risk: nothing shows it taken"
		}
		out = append(out, f)
	}
	return out, ""
}
