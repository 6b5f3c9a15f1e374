package analyze

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const missingEvents = "Windows event logs (" + wire.KindEvents + ") were not collected"

func eventRef(e wire.Event) string {
	return fmt.Sprintf("%s event %d at %s", e.Channel, e.ID, e.Time.Format("2006-01-02T15:04:05Z07:00"))
}

func isHNSServiceEvent(e wire.Event) bool {
	m := strings.ToLower(e.Message)
	return strings.EqualFold(e.Channel, "System") && (strings.Contains(m, "host network service") || strings.Contains(m, " hns "))
}

// hnsRestarted: HNS crashed or restarted in the window (System 7031/7034 crash, 7036 state
// change). kube-proxy does not notice and keeps stale state until it restarts
// (kubernetes/kubernetes#135802, #139519), so an HNS restart after kube-proxy's start is an
// error.
func hnsRestarted(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindEvents] {
		return nil, missingEvents
	}
	x := in.ix()
	var crashes, restarts []wire.Event
	var kpStart time.Time
	for _, e := range x.s.Events {
		m := strings.ToLower(e.Message)
		switch {
		case isHNSServiceEvent(e) && (e.ID == 7031 || e.ID == 7034):
			crashes = append(crashes, e)
		case isHNSServiceEvent(e) && e.ID == 7036:
			restarts = append(restarts, e)
		case strings.EqualFold(e.Channel, "System") && e.ID == 7036 && (strings.Contains(m, "kubeproxy") || strings.Contains(m, "kube-proxy")) && strings.Contains(m, "running"):
			if e.Time.After(kpStart) {
				kpStart = e.Time
			}
		}
	}
	if len(crashes) == 0 && len(restarts) == 0 {
		return nil, ""
	}
	if l, ok := x.kubeProxyLog().lastStart(); ok && l.t.After(kpStart) {
		kpStart = l.t
	}
	var last time.Time
	var ev []Evidence
	for _, e := range append(append([]wire.Event(nil), crashes...), restarts...) {
		if e.Time.After(last) {
			last = e.Time
		}
		ev = append(ev, Evidence{Artifact: wire.KindEvents, Object: eventRef(e), Detail: oneLine(e.Message)})
	}
	sort.Slice(ev, func(i, j int) bool { return ev[i].Object < ev[j].Object })
	f := Finding{
		ID:       "hns-restarted",
		Evidence: capEvidence(ev, 10, wire.KindEvents),
		Remediation: "When HNS restarts it may drop or restore load balancers and endpoints behind kube-proxy's back, " +
			"and running pods can lose their endpoints. Restart kube-proxy (it re-creates every load balancer), then the " +
			"CNI daemon, then pods without a network. Repeated crashes (7031) need the node's Windows updates and an HNS " +
			"trace for Microsoft support.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	switch {
	case kpStart.IsZero() || last.After(kpStart):
		f.Severity = SeverityError
		f.Title = fmt.Sprintf("HNS %s on node %s at %s, after kube-proxy last started: kube-proxy's state is stale",
			restartWord(crashes), x.node, last.Format("2006-01-02 15:04:05"))
		if kpStart.IsZero() {
			f.Title = fmt.Sprintf("HNS %s on node %s at %s (when kube-proxy last started is unknown)", restartWord(crashes), x.node, last.Format("2006-01-02 15:04:05"))
			f.Severity, f.SeverityReason = SeverityWarning, "kube-proxy's start time is unknown, so whether its state is stale cannot be told"
		}
	case len(crashes) > 0:
		f.Severity = SeverityWarning
		f.SeverityReason = "kube-proxy restarted after HNS, so it has re-synced"
		f.Title = fmt.Sprintf("HNS crashed %d time(s) on node %s (last at %s)", len(crashes), x.node, last.Format("2006-01-02 15:04:05"))
	default:
		f.Severity = SeverityInfo
		f.SeverityReason = "a clean restart, and kube-proxy restarted after it"
		f.Title = fmt.Sprintf("HNS restarted on node %s at %s", x.node, last.Format("2006-01-02 15:04:05"))
	}
	return []Finding{f}, ""
}

func restartWord(crashes []wire.Event) string {
	if len(crashes) > 0 {
		return "crashed"
	}
	return "restarted"
}

var (
	guidPattern = regexp.MustCompile(`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)
	numPattern  = regexp.MustCompile(`\b\d+(\.\d+)*\b`)
)

// knownHNSFaults are fault strings Microsoft's scripts match in HNS-Admin events
// (microsoft/SDN dbg detectHNSCrash.ps1, faultAnalysis.ps1).
var knownHNSFaults = map[string]string{
	"elbdsrpolicy-update-failure": "a DSR load balancer policy could not be updated (known HNS bug 41071049)",
	"network-not-found":           "HNS lost a network it was using (known HNS bug 42521831)",
}

// hnsErrors: error events in the Host-Network-Service channels, grouped by message.
func hnsErrors(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindEvents] {
		return nil, missingEvents
	}
	x := in.ix()
	type group struct {
		first wire.Event
		n     int
	}
	groups := map[string]*group{}
	var order []string
	total := 0
	var targetIDs []string
	if in.Pod != nil {
		targetIDs = podIPs(in.Pod)
		for _, ip := range targetIDs {
			if e := x.localEndpoint(ip); e != nil {
				targetIDs = append(targetIDs, e.ID)
			}
		}
	}
	mentionsTarget := false
	for _, e := range x.s.Events {
		if !strings.Contains(e.Channel, "Host-Network-Service") || (e.Level != "Error" && e.Level != "Critical") {
			continue
		}
		total++
		key := numPattern.ReplaceAllString(guidPattern.ReplaceAllString(e.Message, "<id>"), "#")
		if g := groups[key]; g != nil {
			g.n++
		} else {
			groups[key] = &group{first: e, n: 1}
			order = append(order, key)
		}
		low := strings.ToLower(e.Message)
		for _, id := range targetIDs {
			if strings.Contains(low, strings.ToLower(id)) {
				mentionsTarget = true
			}
		}
	}
	if total == 0 {
		return nil, ""
	}
	var ev []Evidence
	for _, k := range order {
		g := groups[k]
		detail := withCodes(oneLine(g.first.Message), g.first.Message)
		for fault, words := range knownHNSFaults {
			if strings.Contains(strings.ToLower(g.first.Message), fault) {
				detail += " [" + words + "]"
			}
		}
		if g.n > 1 {
			detail = fmt.Sprintf("%s (×%d)", detail, g.n)
		}
		ev = append(ev, Evidence{Artifact: wire.KindEvents, Object: eventRef(g.first), Detail: detail})
	}
	f := Finding{
		ID: "hns-errors", Severity: SeverityWarning,
		Title:    fmt.Sprintf("%d error event(s) in the Host Network Service logs (%d distinct)", total, len(order)),
		Evidence: capEvidence(ev, 15, wire.KindEvents),
		Remediation: "Read the events' messages: they name the network, endpoint or policy HNS failed on, with the code " +
			"decoded. Persistent errors usually need the HNS state cleaned (restart kube-proxy, then the CNI) or a node reboot.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if mentionsTarget {
		f.Severity = SeverityError
		f.SeverityReason = "an error names the target pod's address or endpoint"
		f.Objects = append(f.Objects, podRef(in.Pod))
	}
	return []Finding{f}, ""
}

// knownIssue is a Windows build with a public, sourced networking defect.
type knownIssue struct {
	build           string
	fromUBR, toUBR  int // affected: fromUBR <= UBR < toUBR
	introducedBy    string
	fixedBy         string
	symptom         string
	source          string
	raiseWithCalico bool // the defect was reported with Calico: a Calico node is very likely hit
}

// knownIssues lists only defects with a public source naming the affected builds.
var knownIssues = []knownIssue{
	{
		// Sources: microsoft/Windows-Containers#516 ("Container networking on Kubernetes broken after Server
		// 2022 July 2024 / KB5040437 (OS Build 20348.2582) update"); projectcalico/calico#9019 and #8529, which
		// quote the KB5044281 (20348.2762) release note: "Fixed: Container networking on Kubernetes might not
		// work as you expect ... when you use Calico".
		build: "20348", fromUBR: 2582, toUBR: 2762,
		introducedBy: "KB5040437 (July 2024, 20348.2582)", fixedBy: "KB5044281 (October 2024, 20348.2762)",
		symptom: "container networking on Kubernetes can break: pods cannot reach other pods, Services or external " +
			"networks (reported with Calico, also with flannel overlay)",
		source:          "microsoft/Windows-Containers#516; projectcalico/calico#9019",
		raiseWithCalico: true,
	},
}

// osBuildKnownIssue: the node's Windows build has a known networking defect.
func osBuildKnownIssue(in Input) ([]Finding, string) {
	x := in.ix()
	o := x.s.OS
	if o == nil || o.Build == "" {
		return nil, "the node's Windows build (" + wire.KindOSInfo + ") was not collected"
	}
	var out []Finding
	for _, k := range knownIssues {
		if o.Build != k.build {
			continue
		}
		hit := o.UBR >= k.fromUBR && o.UBR < k.toUBR
		if o.UBR == 0 {
			hit = hasHotfix(x.s.Hotfixes, k.introducedBy) && !hasHotfix(x.s.Hotfixes, k.fixedBy)
		}
		if !hit {
			continue
		}
		f := Finding{
			ID: "os-build-known-issue", Severity: SeverityWarning,
			Title:    fmt.Sprintf("node %s runs Windows build %s.%d, which has a known container networking defect", x.node, o.Build, o.UBR),
			Evidence: []Evidence{{Artifact: wire.KindOSInfo, Detail: fmt.Sprintf("%s build %s.%d; introduced by %s, fixed by %s: %s (%s)", o.ProductName, o.Build, o.UBR, k.introducedBy, k.fixedBy, k.symptom, k.source)}},
			Remediation: "Install " + k.fixedBy + " or a later cumulative update on the node and reboot it. Until then the " +
				"symptoms above may have this cause rather than the cluster's configuration.",
			Objects: []ObjectRef{nodeRef(x.node)},
		}
		if family, _ := x.cniFamily(); k.raiseWithCalico && family == "calico" {
			f.Severity, f.SeverityReason = SeverityError, "the node runs Calico, the configuration the defect was reported with"
		}
		out = append(out, f)
	}
	return out, ""
}

var kbPattern = regexp.MustCompile(`KB\d+`)

func hasHotfix(hs []wire.Hotfix, text string) bool {
	kb := kbPattern.FindString(text)
	for _, h := range hs {
		if kb != "" && strings.EqualFold(h.ID, kb) {
			return true
		}
	}
	return false
}

func listenCount(t *wire.TCPConnections) int {
	n := 0
	for k, v := range t.ByState {
		if strings.HasPrefix(strings.ToLower(k), "listen") {
			n += v
		}
	}
	return n
}

// portExhaustion: free 64-port chunks of the dynamic TCP range are 10 or fewer (the
// networkhealth.ps1 threshold), or Tcpip logged ephemeral port exhaustion (System 4227/4231).
func portExhaustion(in Input) ([]Finding, string) {
	x := in.ix()
	var ev []Evidence
	sev := ""
	for _, e := range x.s.Events {
		if strings.EqualFold(e.Channel, "System") && strings.Contains(strings.ToLower(e.Provider), "tcpip") && (e.ID == 4227 || e.ID == 4231) {
			ev = append(ev, Evidence{Artifact: wire.KindEvents, Object: eventRef(e), Detail: oneLine(e.Message)})
			sev = SeverityError
		}
	}
	pr, tc := x.s.PortRanges, x.s.TCPConnections
	haveCounts := pr != nil && tc != nil
	if haveCounts {
		if d, ok := pr.Dynamic["tcp"]; ok && d.End >= d.Start {
			size := d.End - d.Start + 1
			excluded := 0
			for _, r := range pr.Excluded["tcp"] {
				lo, hi := max(r.Start, d.Start), min(r.End, d.End)
				if hi >= lo {
					excluded += hi - lo + 1
				}
			}
			used := tc.Total - listenCount(tc)
			free := size - excluded - used
			chunks := free / 64
			switch {
			case chunks <= 10:
				sev = SeverityError
			case float64(free) < 0.2*float64(size) && sev == "":
				sev = SeverityWarning
			}
			if chunks <= 10 || float64(free) < 0.2*float64(size) {
				ev = append(ev, Evidence{Artifact: wire.KindTCPConnections, Detail: fmt.Sprintf("dynamic TCP range %d-%d (%d ports), %d excluded, %d connections in use: %d free (%d chunks of 64)", d.Start, d.End, size, excluded, used, free, chunks)})
			}
		} else {
			haveCounts = false
		}
	}
	if !haveCounts && !in.Snapshot.Have[wire.KindEvents] {
		return nil, "neither the port ranges and TCP connection counts nor the event log were collected"
	}
	if len(ev) == 0 {
		if !haveCounts {
			return nil, "port ranges (" + wire.KindPortRanges + ") and TCP connection counts (" + wire.KindTCPConnections + ") were not collected"
		}
		return nil, ""
	}
	f := Finding{
		ID: "port-exhaustion", Severity: sev,
		Title:    fmt.Sprintf("node %s is running out of dynamic ports", x.node),
		Evidence: ev,
		Remediation: "New outgoing connections, SNAT for pods, probes and DNS fail intermittently. Find the processes " +
			"holding connections (Get-NetTCPConnection | Group-Object OwningProcess), fix connection leaks or TIME_WAIT " +
			"storms, or enlarge the range (netsh int ipv4 set dynamicport tcp start=10000 num=55535, then reboot).",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if sev == SeverityWarning {
		f.SeverityReason = "fewer than 20% of the dynamic ports are free, but more than 10 chunks of 64 remain"
	}
	return []Finding{f}, ""
}

// requiredPort is a port the cluster needs on the node.
type requiredPort struct {
	proto string // tcp | udp
	port  int
	what  string
	sev   string
}

// requiredPorts lists what kubelet, kube-proxy's NodePorts and the overlay need bound or
// programmable on this node.
func (x *index) requiredPorts() []requiredPort {
	if x.reqPorts != nil {
		return x.reqPorts
	}
	out := []requiredPort{{"tcp", 10250, "kubelet", SeverityError}}
	defer func() { x.reqPorts = out }()
	if n := x.clusterNetwork(); n != nil && n.IsOverlay() {
		port := n.VxlanPort
		if port == 0 && x.s.Flannel != nil && x.s.Flannel.Port > 0 {
			port = x.s.Flannel.Port
		}
		if port == 0 {
			port = 4789
		}
		out = append(out, requiredPort{"udp", port, "VXLAN", SeverityError})
	}
	if x.c != nil {
		seen := map[string]bool{}
		for i := range x.c.Services {
			s := &x.c.Services[i]
			for _, p := range s.Spec.Ports {
				if p.NodePort == 0 {
					continue
				}
				proto := strings.ToLower(protoOf(&p))
				k := fmt.Sprintf("%s/%d", proto, p.NodePort)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, requiredPort{proto, int(p.NodePort), "NodePort of Service " + s.Namespace + "/" + s.Name, SeverityError})
			}
		}
	}
	return out
}

// portReservationConflict: excluded (reserved) port ranges cover ports kubelet, NodePorts
// or VXLAN need; HNS then refuses the NodePort load balancers with "port already exists"
// (0x803b0013, hcsshim#1043).
func portReservationConflict(in Input) ([]Finding, string) {
	x := in.ix()
	pr := x.s.PortRanges
	if pr == nil {
		return nil, "port ranges (" + wire.KindPortRanges + ") were not collected"
	}
	var ev []Evidence
	sev := ""
	for _, rp := range x.requiredPorts() {
		for _, r := range pr.Excluded[rp.proto] {
			if rp.port >= r.Start && rp.port <= r.End {
				ev = append(ev, Evidence{Artifact: wire.KindPortRanges, Detail: fmt.Sprintf("%s port %d (%s) is inside the excluded range %d-%d", strings.ToUpper(rp.proto), rp.port, rp.what, r.Start, r.End)})
				if SeverityRank(rp.sev) > SeverityRank(sev) {
					sev = rp.sev
				}
			}
		}
	}
	if d, ok := pr.Dynamic["tcp"]; ok && x.c != nil {
		overlap := 0
		first := 0
		for _, rp := range x.requiredPorts() {
			if rp.proto == "tcp" && strings.HasPrefix(rp.what, "NodePort") && rp.port >= d.Start && rp.port <= d.End {
				overlap++
				if first == 0 {
					first = rp.port
				}
			}
		}
		if overlap > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindPortRanges, Detail: fmt.Sprintf("the dynamic TCP range %d-%d holds %d NodePorts in use (e.g. %d): an outgoing connection can take one", d.Start, d.End, overlap, first)})
			if sev == "" {
				sev = SeverityWarning
			}
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	f := Finding{
		ID: "port-reservation-conflict", Severity: sev,
		Title:    fmt.Sprintf("reserved or dynamic port ranges on node %s collide with ports the cluster needs", x.node),
		Evidence: capEvidence(ev, 15, wire.KindPortRanges),
		Remediation: "Excluded ranges (Hyper-V, WinNAT and other software reserve them at boot) stop kubelet, VXLAN or " +
			"NodePort load balancers from binding. Show them with netsh int ipv4 show excludedportrange protocol=tcp; remove " +
			"the offending reservation or reserve the NodePort range for Kubernetes first (netsh int ipv4 add " +
			"excludedportrange protocol=tcp startport=30000 numberofports=2768 before the other software starts).",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if sev == SeverityWarning {
		f.SeverityReason = "NodePorts are only at risk from the dynamic range; nothing is reserved over them"
	}
	return []Finding{f}, ""
}

// firewallBlocking: Windows Firewall blocks inbound traffic the cluster needs (kubelet,
// VXLAN).
func firewallBlocking(in Input) ([]Finding, string) {
	x := in.ix()
	fw := x.s.Firewall
	if fw == nil {
		return nil, "Windows Firewall state (" + wire.KindFirewall + ") was not collected"
	}
	var blockingProfiles []string
	anyEnabled := false
	for _, p := range fw.Profiles {
		if p.Enabled {
			anyEnabled = true
			if strings.EqualFold(p.DefaultInbound, "Block") {
				blockingProfiles = append(blockingProfiles, p.Name)
			}
		}
	}
	if !anyEnabled && len(fw.Profiles) > 0 {
		return nil, ""
	}
	var ev []Evidence
	sev := ""
	for _, rp := range x.requiredPorts() {
		if strings.HasPrefix(rp.what, "NodePort") {
			continue // NodePort traffic is switched in VFP before the host firewall
		}
		proto := strings.ToUpper(rp.proto)
		allowed := false
		for _, r := range fw.Rules {
			if !r.Enabled || !strings.EqualFold(r.Direction, "In") || !protoMatches(r.Protocol, proto) || !parsePortSpec(r.LocalPorts).has(rp.port) {
				continue
			}
			switch {
			case strings.EqualFold(r.Action, "Block"):
				ev = append(ev, Evidence{Artifact: wire.KindFirewall, Object: "rule " + r.Name, Detail: fmt.Sprintf("blocks inbound %s %d (%s)", proto, rp.port, rp.what)})
				sev = SeverityError
			case strings.EqualFold(r.Action, "Allow"):
				allowed = true
			}
		}
		if !allowed && len(blockingProfiles) > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindFirewall, Detail: fmt.Sprintf("profiles %s block inbound by default and no enabled rule allows %s %d (%s)", strings.Join(blockingProfiles, ","), proto, rp.port, rp.what)})
			if sev == "" {
				sev = SeverityWarning
			}
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	f := Finding{
		ID: "firewall-blocking", Severity: sev,
		Title:    fmt.Sprintf("Windows Firewall on node %s blocks traffic the cluster needs", x.node),
		Evidence: ev,
		Remediation: "kubectl logs/exec need kubelet's 10250/TCP; overlay pod traffic needs the VXLAN UDP port. Add allow " +
			"rules (New-NetFirewallRule -Direction Inbound -Protocol TCP -LocalPort 10250 -Action Allow) or remove the " +
			"block rules named; explicit block rules win over allow rules.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if sev == SeverityWarning {
		f.SeverityReason = "only the default action blocks: an allow rule scoped by program (e.g. kubelet.exe) may still admit it"
	}
	return []Finding{f}, ""
}
