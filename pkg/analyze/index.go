package analyze

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// index is what the rules share: lookups over the snapshot and the cluster facts, built once
// per Run, and views derived on first use (the expected load balancers, the kube-proxy log).
type index struct {
	in   Input
	s    *snapshot.Snapshot
	sx   *snapshot.Index
	c    *facts.Cluster // nil when cluster facts were not read
	node string

	thisNode *facts.NodeInfo
	nodeIPs  map[string]bool // this node's own addresses

	nodesByIP     map[string]*facts.NodeInfo
	podsByIP      map[string]*facts.PodInfo
	nodePodsByIP  map[string]*corev1.Pod
	servicesByIP  map[string]*corev1.Service // ClusterIPs, external IPs and load balancer ingress IPs
	slicesBySvc   map[nsName][]*discoveryv1.EndpointSlice
	nsLabels      map[string]map[string]string
	policiesByNS  map[string][]*networkingv1.NetworkPolicy
	endpointAddrs map[string]bool // every EndpointSlice address; built on first use

	exp        *expectations
	kp         *kubeProxyLog
	scans      map[string][]scanned // component logs with their levels, read on first use
	sourceVIPs map[string]bool
	compiled   map[string][]*cpolicy // NetworkPolicies by namespace, compiled on first use
	reqPorts   []requiredPort
}

// nsName keys objects by namespace and name without building a string.
type nsName struct{ ns, name string }

// isEndpointAddr reports whether any EndpointSlice lists ip.
func (x *index) isEndpointAddr(ip string) bool {
	if x.c == nil {
		return false
	}
	if x.endpointAddrs == nil {
		x.endpointAddrs = map[string]bool{}
		for i := range x.c.EndpointSlices {
			for _, e := range x.c.EndpointSlices[i].Endpoints {
				for _, a := range e.Addresses {
					x.endpointAddrs[a] = true
				}
			}
		}
	}
	return x.endpointAddrs[ip]
}

// lbSourceVIPs is the set of source VIPs the load balancers use.
func (x *index) lbSourceVIPs() map[string]bool {
	if x.sourceVIPs == nil {
		x.sourceVIPs = map[string]bool{}
		for i := range x.s.LoadBalancers {
			if v := x.s.LoadBalancers[i].SourceVIP; v != "" {
				x.sourceVIPs[v] = true
			}
		}
	}
	return x.sourceVIPs
}

func newIndex(in Input) *index {
	in.x = nil
	x := &index{in: in, s: in.Snapshot, sx: in.Snapshot.Index(), c: in.Cluster, node: in.Snapshot.Node,
		nodeIPs: map[string]bool{}}
	if x.c != nil && x.c.NodeName != "" {
		x.node = x.c.NodeName
	}
	for _, n := range x.s.Networks {
		if n.ManagementIP != "" {
			x.nodeIPs[n.ManagementIP] = true
		}
		if n.ProviderAddress != "" {
			x.nodeIPs[n.ProviderAddress] = true
		}
	}
	for _, a := range x.s.Adapters {
		if a.Compartment <= 1 {
			for _, addr := range a.Addresses {
				if !isAPIPA(addr.Address) {
					x.nodeIPs[addr.Address] = true
				}
			}
		}
	}
	if x.c == nil {
		return x
	}
	c := x.c
	x.nodesByIP = make(map[string]*facts.NodeInfo, len(c.Nodes))
	for i := range c.Nodes {
		n := &c.Nodes[i]
		for _, ip := range n.InternalIPs {
			x.nodesByIP[ip] = n
		}
		if n.Name == x.node {
			x.thisNode = n
			for _, ip := range n.InternalIPs {
				x.nodeIPs[ip] = true
			}
		}
	}
	x.podsByIP = make(map[string]*facts.PodInfo, len(c.AllPods))
	for i := range c.AllPods {
		p := &c.AllPods[i]
		if p.HostNetwork {
			continue
		}
		for _, ip := range p.IPs {
			x.podsByIP[ip] = p
		}
	}
	x.nodePodsByIP = make(map[string]*corev1.Pod, len(c.Pods))
	for i := range c.Pods {
		p := &c.Pods[i]
		if p.Spec.HostNetwork {
			continue
		}
		for _, ip := range podIPs(p) {
			x.nodePodsByIP[ip] = p
		}
	}
	x.servicesByIP = make(map[string]*corev1.Service, len(c.Services))
	for i := range c.Services {
		s := &c.Services[i]
		for _, ip := range serviceIPs(s) {
			x.servicesByIP[ip] = s
		}
		for _, ip := range s.Spec.ExternalIPs {
			x.servicesByIP[ip] = s
		}
		for _, ing := range s.Status.LoadBalancer.Ingress {
			if ing.IP != "" {
				x.servicesByIP[ing.IP] = s
			}
		}
	}
	x.slicesBySvc = make(map[nsName][]*discoveryv1.EndpointSlice, len(c.Services))
	for i := range c.EndpointSlices {
		sl := &c.EndpointSlices[i]
		name := sl.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		k := nsName{sl.Namespace, name}
		x.slicesBySvc[k] = append(x.slicesBySvc[k], sl)
	}
	x.nsLabels = make(map[string]map[string]string, len(c.Namespaces))
	for _, ns := range c.Namespaces {
		x.nsLabels[ns.Name] = ns.Labels
	}
	x.policiesByNS = map[string][]*networkingv1.NetworkPolicy{}
	for i := range c.NetworkPolicies {
		p := &c.NetworkPolicies[i]
		x.policiesByNS[p.Namespace] = append(x.policiesByNS[p.Namespace], p)
	}
	return x
}

func podIPs(p *corev1.Pod) []string {
	var out []string
	for _, ip := range p.Status.PodIPs {
		out = append(out, ip.IP)
	}
	if len(out) == 0 && p.Status.PodIP != "" {
		out = []string{p.Status.PodIP}
	}
	return out
}

// serviceIPs are a Service's cluster IPs (empty for headless and ExternalName Services).
func serviceIPs(s *corev1.Service) []string {
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ips := s.Spec.ClusterIPs
	if len(ips) == 0 && s.Spec.ClusterIP != "" {
		ips = []string{s.Spec.ClusterIP}
	}
	var out []string
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, ip)
		}
	}
	return out
}

// clusterMissing says why a cluster fact is unusable ("" when it is usable).
func (x *index) clusterMissing(fact string) string {
	if x.c == nil {
		return "cluster objects were not read (offline analysis without a cluster dump)"
	}
	if why, ok := x.c.Missing[fact]; ok {
		return fmt.Sprintf("the cluster's %s could not be read: %s", fact, why)
	}
	return ""
}

// clusterNetwork is the HNS network pods and kube-proxy use: the one kube-proxy is told to
// use, else the CNI config's, else the target pod's, else the only non-NAT network.
func (x *index) clusterNetwork() *snapshot.Network {
	if name := x.expectedNetworkName(); name != "" {
		if n := x.sx.NetworkByName[strings.ToLower(name)]; n != nil {
			return n
		}
	}
	for _, p := range x.targetPods() {
		for _, ip := range podIPs(p) {
			if e := x.localEndpoint(ip); e != nil {
				if n := x.s.NetworkOf(e); n != nil {
					return n
				}
			}
		}
	}
	var only *snapshot.Network
	for i := range x.s.Networks {
		n := &x.s.Networks[i]
		if strings.EqualFold(n.Type, "NAT") || strings.EqualFold(n.Type, "ICS") {
			continue
		}
		if only != nil {
			return nil
		}
		only = n
	}
	return only
}

// expectedNetworkName is the HNS network name kube-proxy or the CNI config names.
func (x *index) expectedNetworkName() string {
	if kp := x.s.KubeProxy; kp != nil && kp.NetworkName != "" {
		return kp.NetworkName
	}
	if c := x.s.ActiveCNI(); c != nil && c.Name != "" {
		return c.Name
	}
	return ""
}

// isOverlay reports whether the cluster network encapsulates.
func (x *index) isOverlay() bool {
	if n := x.clusterNetwork(); n != nil {
		return n.IsOverlay()
	}
	return false
}

// localEndpoint is the local (non-remote) endpoint carrying ip, or nil.
func (x *index) localEndpoint(ip string) *snapshot.Endpoint {
	for _, e := range x.sx.EndpointsByIP[ip] {
		if !e.Remote {
			return e
		}
	}
	return nil
}

// targetPods are the pods to judge: the target pod, or for a node target every running
// pod-network pod on the node.
func (x *index) targetPods() []*corev1.Pod {
	if x.in.Pod != nil {
		if x.in.Pod.Spec.HostNetwork {
			return nil
		}
		return []*corev1.Pod{x.in.Pod}
	}
	if x.c == nil {
		return nil
	}
	var out []*corev1.Pod
	for i := range x.c.Pods {
		p := &x.c.Pods[i]
		if p.Spec.HostNetwork || p.Status.Phase != corev1.PodRunning || len(podIPs(p)) == 0 {
			continue
		}
		out = append(out, p)
	}
	return out
}

// hnsVersion returns the HNS version (major, minor) and whether it is known.
func (x *index) hnsVersion() (int, int, bool) {
	maj, min, ok := strings.Cut(x.s.HNSVersion, ".")
	if !ok {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	return a, b, err1 == nil && err2 == nil
}

// dsrSupported says whether HNS supports DSR (HNS 9.3+ in 9.x, 10.2+, any later major;
// hcsshim hcnglobals.go). Unknown versions count as supported, as kube-proxy would see them
// on any supported Windows build.
func (x *index) dsrSupported() bool {
	maj, min, ok := x.hnsVersion()
	if !ok {
		return true
	}
	switch {
	case maj < 9:
		return false
	case maj == 9:
		return min >= 3
	case maj == 10:
		return min >= 2
	}
	return true
}

// nodeHasIPv6 reports whether the node serves IPv6 front ends at all.
func (x *index) nodeHasIPv6() bool {
	for _, n := range x.s.Networks {
		for _, sub := range n.Subnets {
			if isIPv6(sub.Prefix) {
				return true
			}
		}
	}
	for _, lb := range x.s.LoadBalancers {
		if lb.IPv6 {
			return true
		}
	}
	return false
}

// clusterDNS is the DNS server pods should use: kubelet's clusterDNS, else kube-dns's
// ClusterIP. source names where it came from.
func (x *index) clusterDNS() (ips []string, source string) {
	if k := x.s.Kubelet; k != nil && len(k.ClusterDNS) > 0 {
		return k.ClusterDNS, "kubelet clusterDNS (" + strings.Join(k.Sources, ", ") + ")"
	}
	if x.c != nil && x.c.KubeDNS != nil {
		if ips := serviceIPs(x.c.KubeDNS); len(ips) > 0 {
			return ips, "Service " + x.c.KubeDNS.Namespace + "/" + x.c.KubeDNS.Name
		}
	}
	return nil, ""
}

// clusterDomain is the cluster's DNS domain: kubelet's clusterDomain, else the suffix the
// pods' search lists end in, else the Kubernetes default.
func (x *index) clusterDomain() (domain string, assumed bool) {
	if k := x.s.Kubelet; k != nil && k.ClusterDomain != "" {
		return strings.TrimSuffix(k.ClusterDomain, "."), false
	}
	for _, e := range x.s.Endpoints {
		for _, s := range e.DNSSearch {
			if i := strings.Index(s, ".svc."); i >= 0 {
				return strings.TrimSuffix(s[i+len(".svc."):], "."), false
			}
			if strings.HasPrefix(s, "svc.") {
				return strings.TrimSuffix(s[len("svc."):], "."), false
			}
		}
	}
	return "cluster.local", true
}

// refTime is "now" for the snapshot: when the collector started, else the newest event.
func (x *index) refTime() time.Time {
	if !x.s.Started.IsZero() {
		return x.s.Started
	}
	var t time.Time
	for _, e := range x.s.Events {
		if e.Time.After(t) {
			t = e.Time
		}
	}
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// --- kube-proxy log ---

// logLine is one line of a collected log.
type logLine struct {
	file *wire.FileData
	n    int // 1-based
	text string
	t    time.Time // zero when the line carries no parsable time
	// event is set when the line is an event-log entry (a service wrapper's); file then
	// names the source and n its place among that source's entries, oldest first.
	event *wire.Event
}

func (l logLine) evidence() Evidence {
	if e := l.event; e != nil {
		obj := fmt.Sprintf("%s event %d", e.Provider, e.ID)
		if e.RecordID != 0 {
			obj += fmt.Sprintf(", record %d", e.RecordID)
		}
		return Evidence{Artifact: wire.KindEvents, Object: obj, Detail: withCodes(oneLine(l.text), l.text)}
	}
	return Evidence{Artifact: wire.KindFile, Object: fmt.Sprintf("%s line %d", l.file.Path, l.n), Detail: withCodes(oneLine(l.text), l.text)}
}

type kubeProxyLog struct {
	files     []*wire.FileData
	failures  []logLine // HNS programming failures
	startup   []logLine // fatal start-up errors
	localMiss []logLine // "Local endpoint not found"
	starts    []logLine // kube-proxy (re)starts
}

var klogTime = regexp.MustCompile(`^[IWEF](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})`)

// lineTime reads a klog header's time; the year is not in klog lines, so it is taken from
// ref (the snapshot's time), stepping back a year for lines dated after ref.
func lineTime(line string, ref time.Time) time.Time {
	m := klogTime.FindStringSubmatch(line)
	if m == nil {
		if i := strings.Index(line, "time=\""); i >= 0 { // logrus: time="2025-11-26T01:02:03Z"
			rest := line[i+6:]
			if j := strings.IndexByte(rest, '"'); j > 0 {
				if t, err := time.Parse(time.RFC3339Nano, rest[:j]); err == nil {
					return t
				}
			}
		}
		return time.Time{}
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	t := time.Date(ref.Year(), time.Month(n(1)), n(2), n(3), n(4), n(5), 0, time.UTC)
	if t.After(ref.Add(48 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

var (
	kpFailurePatterns = []string{"policy creation failed", "hnscall failed", "hcncreateloadbalancer failed",
		"hcnmodifyloadbalancer failed", "hcndeleteloadbalancer failed", "hcncreateendpoint failed",
		"endpoint creation failed", "endpoint deletion failed", "failed to delete policy list",
		"failed to create loadbalancer", "failed to update loadbalancer", "0x803b"}
	kpStartupPatterns = []string{"source-vip flag not set", "feature gate not enabled", "platform does not support feature",
		"could not find host mac", "unable to find hns network", "could not find hns network",
		"network-flag not initialized", "failed to get hns network", "unable to create proxier", "unable to create ipv4 proxier"}
	kpStartMarkers = []string{`"using winkernel proxier"`, `"version info"`, "using kernelspace proxier", "starting kube-proxy"}
)

// klogError matches a klog error or fatal header ("E0509 18:41:13.804062"), also behind a
// prefix, as in lines exported from the Windows event log or a log shipper.
var klogError = regexp.MustCompile(`(?:^|\s)[EF]\d{4} \d\d:\d\d:\d\d`)

// logrusTextError is logrus's text formatter on a terminal ("FATA[2021-11-08T21:55:32-08:00] ...").
var (
	logrusTextError = regexp.MustCompile(`^(?:ERRO|FATA|PANI)\[`)
	logrusTextAny   = regexp.MustCompile(`^(?:PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\[`)
	klogAny         = regexp.MustCompile(`(?:^|\s)[IWEF]\d{4} \d\d:\d\d:\d\d`)
)

// hasLogLevel reports whether a log line says its level (klog header, logrus, JSON).
func hasLogLevel(line, lower string) bool {
	return klogAny.MatchString(line) || logrusTextAny.MatchString(line) || strings.Contains(lower, "level=") ||
		strings.Contains(lower, `"level":`)
}

// kubeProxyLog scans the kube-proxy logs once.
func (x *index) kubeProxyLog() *kubeProxyLog {
	if x.kp != nil {
		return x.kp
	}
	k := &kubeProxyLog{files: x.s.Logs(wire.LogKubeProxy)}
	ref := x.refTime()
	for _, f := range k.files {
		n := 0
		for rest := f.Content; rest != ""; {
			var line string
			line, rest, _ = strings.Cut(rest, "\n")
			n++
			l := strings.ToLower(line)
			// A line pasted without its header has no level: its own words ("Policy creation
			// failed") are then the only judge, as they are for a reader.
			isErr := klogError.MatchString(line) || strings.Contains(l, "level=error") ||
				strings.Contains(l, `"level":"error"`) || strings.Contains(l, "err=") ||
				logrusTextError.MatchString(line) || !hasLogLevel(line, l)
			switch {
			case containsAny(l, kpStartMarkers):
				k.starts = append(k.starts, logLine{file: f, n: n, text: line, t: lineTime(line, ref)})
			case isErr && containsAny(l, kpStartupPatterns):
				k.startup = append(k.startup, logLine{file: f, n: n, text: line, t: lineTime(line, ref)})
			case isErr && strings.Contains(l, "local endpoint not found"):
				k.localMiss = append(k.localMiss, logLine{file: f, n: n, text: line, t: lineTime(line, ref)})
			case isErr && containsAny(l, kpFailurePatterns):
				k.failures = append(k.failures, logLine{file: f, n: n, text: line, t: lineTime(line, ref)})
			}
		}
	}
	x.kp = k
	return k
}

// lastStart is the kube-proxy start the logs show last (zero when none).
func (k *kubeProxyLog) lastStart() (logLine, bool) {
	if len(k.starts) == 0 {
		return logLine{}, false
	}
	return k.starts[len(k.starts)-1], true
}

// failuresMentioning returns up to max failure lines that mention s.
func (k *kubeProxyLog) failuresMentioning(s string, max int) []Evidence {
	var out []Evidence
	for _, l := range k.failures {
		if strings.Contains(l.text, s) {
			out = append(out, l.evidence())
			if len(out) >= max {
				break
			}
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// capEvidence keeps the first max items and says how many were left out.
func capEvidence(ev []Evidence, max int, artifact string) []Evidence {
	if len(ev) <= max {
		return ev
	}
	more := len(ev) - max
	ev = append(ev[:max:max], Evidence{Artifact: artifact, Detail: fmt.Sprintf("… and %d more", more)})
	return ev
}

func podRef(p *corev1.Pod) ObjectRef {
	return ObjectRef{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
}

func serviceRef(s *corev1.Service) ObjectRef {
	return ObjectRef{Kind: "Service", Namespace: s.Namespace, Name: s.Name}
}

func nodeRef(name string) ObjectRef { return ObjectRef{Kind: "Node", Name: name} }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
