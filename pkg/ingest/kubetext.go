package ingest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// table is a column-aligned text table (kubectl get, PowerShell Format-Table, netstat).
type table struct {
	cols   []string
	starts []int
	rows   [][]string
}

var twoSpaces = regexp.MustCompile(`\S+(?: \S+)*`)

// headerColumns splits a header line into its column names and start offsets. Column names
// may hold one space ("LAST SEEN", "NOMINATED NODE"); columns are separated by two or more.
func headerColumns(line string) ([]string, []int) {
	var cols []string
	var starts []int
	for _, loc := range twoSpaces.FindAllStringIndex(line, -1) {
		cols = append(cols, line[loc[0]:loc[1]])
		starts = append(starts, loc[0])
	}
	return cols, starts
}

// cell slices one column out of a row by the header's offsets; when the row is not aligned to
// the header (a pasted table whose spaces were squeezed) it falls back to whitespace fields.
func (t *table) row(line string) []string {
	out := make([]string, len(t.cols))
	aligned := true
	for i := 1; i < len(t.starts); i++ {
		s := t.starts[i]
		if s >= len(line) || (s > 0 && line[s-1] != ' ') {
			aligned = false
			break
		}
	}
	if !aligned {
		fs := fields(line)
		for i := range out {
			if i < len(fs) {
				out[i] = fs[i]
			}
		}
		if len(fs) > len(out) && len(out) > 0 { // the last column takes the rest (MESSAGE)
			out[len(out)-1] = strings.Join(fs[len(out)-1:], " ")
		}
		return out
	}
	for i, s := range t.starts {
		if s >= len(line) {
			break
		}
		e := len(line)
		if i+1 < len(t.starts) && t.starts[i+1] < e {
			e = t.starts[i+1]
		}
		out[i] = strings.TrimSpace(line[s:e])
	}
	return out
}

func (t *table) col(name string) int {
	for i, c := range t.cols {
		if c == name {
			return i
		}
	}
	return -1
}

func (t *table) get(r []string, name string) string {
	if i := t.col(name); i >= 0 && i < len(r) {
		return r[i]
	}
	return ""
}

// findTables finds tables whose header has all of want, and reads rows until a blank line or
// a prompt.
func findTables(ls []string, want ...string) []*table {
	var out []*table
	for i := 0; i < len(ls); i++ {
		cols, starts := headerColumns(ls[i])
		if len(cols) < len(want) || !containsAll(cols, want) {
			continue
		}
		t := &table{cols: cols, starts: starts}
		j := i + 1
		for ; j < len(ls); j++ {
			l := ls[j]
			if strings.TrimSpace(l) == "" || isPrompt(l) {
				break
			}
			if strings.Trim(strings.TrimSpace(l), "- ") == "" { // a ---- ---- underline
				continue
			}
			t.rows = append(t.rows, t.row(l))
		}
		out = append(out, t)
		i = j
	}
	return out
}

func containsAll(have []string, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

var promptRe = regexp.MustCompile(`^(PS [^>]*>|[A-Za-z]:\\[^>]*>|\$ |[#>] |[\w.-]+@[\w.-]+[:~][^$#]*[$#] )`)

func isPrompt(l string) bool { return promptRe.MatchString(l) }

// recogniseKubectlTables reads `kubectl get pods|svc|nodes|endpoints -o wide` and
// `kubectl get events` text, with or without -A (NAMESPACE column).
func recogniseKubectlTables(d *Doc) *Output {
	ls := d.Lines()
	out := &Output{Format: "kubectl-get-text"}
	counts := map[string]int{}
	for _, t := range findTables(ls, "NAME", "READY", "STATUS", "IP", "NODE") {
		for _, r := range t.rows {
			p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}}
			p.Name, p.Namespace = t.get(r, "NAME"), t.get(r, "NAMESPACE")
			p.Spec.NodeName = noneToEmpty(t.get(r, "NODE"))
			p.Status.Phase = corev1.PodPhase(t.get(r, "STATUS"))
			if ip := noneToEmpty(t.get(r, "IP")); ip != "" {
				p.Status.PodIP = ip
				p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
			}
			if p.Name == "" {
				continue
			}
			out.Kube = append(out.Kube, KubeObject{Object: p})
			counts["Pod"]++
		}
	}
	for _, t := range findTables(ls, "NAME", "TYPE", "CLUSTER-IP", "PORT(S)") {
		for _, r := range t.rows {
			s := &corev1.Service{TypeMeta: metav1.TypeMeta{Kind: "Service", APIVersion: "v1"}}
			s.Name, s.Namespace = t.get(r, "NAME"), t.get(r, "NAMESPACE")
			s.Spec.Type = corev1.ServiceType(t.get(r, "TYPE"))
			s.Spec.ClusterIP = noneToEmpty(t.get(r, "CLUSTER-IP"))
			if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
				s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
			}
			if ext := noneToEmpty(t.get(r, "EXTERNAL-IP")); ext != "" && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
				s.Spec.ExternalIPs = strings.Split(ext, ",")
			}
			s.Spec.Ports = parseServicePorts(t.get(r, "PORT(S)"))
			if sel := noneToEmpty(t.get(r, "SELECTOR")); sel != "" {
				s.Spec.Selector = parseLabels(sel)
			}
			if s.Name == "" {
				continue
			}
			out.Kube = append(out.Kube, KubeObject{Object: s})
			counts["Service"]++
		}
	}
	for _, t := range findTables(ls, "NAME", "STATUS", "ROLES", "VERSION", "INTERNAL-IP") {
		for _, r := range t.rows {
			n := &corev1.Node{TypeMeta: metav1.TypeMeta{Kind: "Node", APIVersion: "v1"}}
			n.Name = t.get(r, "NAME")
			if ip := noneToEmpty(t.get(r, "INTERNAL-IP")); ip != "" {
				n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
			}
			n.Status.NodeInfo.OSImage = t.get(r, "OS-IMAGE")
			n.Status.NodeInfo.KernelVersion = t.get(r, "KERNEL-VERSION")
			n.Status.NodeInfo.KubeletVersion = t.get(r, "VERSION")
			n.Status.NodeInfo.ContainerRuntimeVersion = t.get(r, "CONTAINER-RUNTIME")
			if strings.Contains(strings.ToLower(n.Status.NodeInfo.OSImage), "windows") {
				n.Labels = map[string]string{corev1.LabelOSStable: "windows"}
			}
			if n.Name == "" {
				continue
			}
			out.Kube = append(out.Kube, KubeObject{Object: n})
			counts["Node"]++
		}
	}
	for _, t := range findTables(ls, "NAME", "ENDPOINTS", "AGE") {
		for _, r := range t.rows {
			e := &corev1.Endpoints{TypeMeta: metav1.TypeMeta{Kind: "Endpoints", APIVersion: "v1"}}
			e.Name, e.Namespace = t.get(r, "NAME"), t.get(r, "NAMESPACE")
			eps := noneToEmpty(t.get(r, "ENDPOINTS"))
			if e.Name == "" {
				continue
			}
			if eps != "" && !strings.Contains(eps, "more...") { // "a,b + 3 more..." is cut: unusable
				var sub corev1.EndpointSubset
				seen := map[string]bool{}
				for _, hp := range strings.Split(eps, ",") {
					host, _, _ := strings.Cut(strings.TrimSpace(hp), ":")
					if host != "" && !seen[host] {
						seen[host] = true
						sub.Addresses = append(sub.Addresses, corev1.EndpointAddress{IP: host})
					}
				}
				e.Subsets = []corev1.EndpointSubset{sub}
			}
			out.Kube = append(out.Kube, KubeObject{Object: e})
			counts["Endpoints"]++
		}
	}
	var events []KubeEvent
	for _, t := range findTables(ls, "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE") {
		for _, r := range t.rows {
			events = append(events, KubeEvent{Namespace: t.get(r, "NAMESPACE"), LastSeen: t.get(r, "LAST SEEN"), Type: t.get(r, "TYPE"),
				Reason: t.get(r, "REASON"), Object: t.get(r, "OBJECT"), Message: t.get(r, "MESSAGE")})
		}
	}
	if len(events) > 0 {
		out.Records = append(out.Records, eventRecords(events)...)
		counts["Event"] += len(events)
	}
	if len(out.Kube) == 0 && len(out.Records) == 0 {
		return nil
	}
	out.Detail = kindCounts(counts)
	return out
}

func noneToEmpty(s string) string {
	if s == "<none>" || s == "<pending>" || s == "<unknown>" {
		return ""
	}
	return s
}

// parseServicePorts reads "53/UDP,53/TCP,9153/TCP" and "80:30080/TCP".
func parseServicePorts(s string) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, p := range strings.Split(noneToEmpty(s), ",") {
		p = strings.TrimSpace(p)
		num, proto, _ := strings.Cut(p, "/")
		port, nodePort, _ := strings.Cut(num, ":")
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			continue
		}
		sp := corev1.ServicePort{Port: int32(n), Protocol: corev1.Protocol(strings.ToUpper(firstOf(proto, "TCP"))), TargetPort: intstr.FromInt32(int32(n))}
		if np, err := strconv.Atoi(nodePort); err == nil && np > 0 && np <= 65535 {
			sp.NodePort = int32(np)
		}
		out = append(out, sp)
	}
	return out
}

func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// describeBlocks returns the line ranges [start, end) of the `kubectl describe` objects in ls:
// from a "Name:" line followed by "Namespace:" to the next such pair, or to the next prompt (a
// prompt starts another command's output, which is no longer that object's).
func describeBlocks(ls []string) [][2]int {
	var out [][2]int
	for i := 0; i+1 < len(ls); i++ {
		if !strings.HasPrefix(ls[i], "Name:") || !strings.HasPrefix(ls[i+1], "Namespace:") {
			continue
		}
		j := i + 1
		for ; j < len(ls); j++ {
			if isPrompt(ls[j]) || (strings.HasPrefix(ls[j], "Name:") && j+1 < len(ls) && strings.HasPrefix(ls[j+1], "Namespace:")) {
				break
			}
		}
		out = append(out, [2]int{i, j})
		i = j - 1
	}
	return out
}

// recogniseDescribePod reads `kubectl describe pod` text: name, namespace, node, IP, status,
// labels, and the Events section.
func recogniseDescribePod(d *Doc) *Output {
	ls := d.Lines()
	out := &Output{Format: "kubectl-describe-pod"}
	var events []KubeEvent
	for _, b := range describeBlocks(ls) {
		name, _ := strings.CutPrefix(ls[b[0]], "Name:")
		p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}}
		p.Name = strings.TrimSpace(name)
		isPod := false
		inLabels, inEvents := false, false
		var evTable *table
		for j := b[0] + 1; j < b[1]; j++ {
			l := ls[j]
			if l != "" && l[0] != ' ' {
				inLabels, inEvents = false, false
				k, v, _ := cut(l, ":")
				switch k {
				case "Namespace":
					p.Namespace = v
				case "Node":
					node, _, _ := strings.Cut(v, "/")
					p.Spec.NodeName = noneToEmpty(node)
					isPod = true
				case "Status":
					p.Status.Phase = corev1.PodPhase(v)
				case "IP":
					p.Status.PodIP = v
					isPod = true
				case "Containers", "Init Containers":
					isPod = true
				case "Labels":
					if v != "<none>" {
						p.Labels = parseLabels(v)
						inLabels = true
					}
				case "Events":
					inEvents = true
				}
				continue
			}
			t := strings.TrimSpace(l)
			switch {
			case inLabels && strings.Contains(t, "="):
				if p.Labels == nil {
					p.Labels = map[string]string{}
				}
				k, v, _ := cut(t, "=")
				p.Labels[k] = v
			case inEvents && evTable == nil && strings.HasPrefix(t, "Type"):
				cols, starts := headerColumns(l)
				evTable = &table{cols: cols, starts: starts}
			case inEvents && evTable != nil && t != "" && strings.Trim(t, "- ") != "":
				r := evTable.row(l)
				ev := KubeEvent{Namespace: p.Namespace, Object: "pod/" + p.Name, Type: evTable.get(r, "Type"), Reason: evTable.get(r, "Reason"),
					LastSeen: evTable.get(r, "Age"), Message: evTable.get(r, "Message")}
				if ev.Type == "" && len(events) > 0 && ev.Reason == "" { // a wrapped message line
					events[len(events)-1].Message += " " + t
					continue
				}
				events = append(events, ev)
			}
		}
		if isPod && p.Name != "" {
			if p.Status.PodIP != "" {
				p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
			}
			out.Kube = append(out.Kube, KubeObject{Object: p})
		}
	}
	if len(out.Kube) == 0 {
		return nil
	}
	if len(events) > 0 {
		out.Records = append(out.Records, eventRecords(events)...)
	}
	out.Detail = fmt.Sprintf("%d pod(s), %d event(s)", len(out.Kube), len(events))
	return out
}

// describeEventRow is one row of a describe Events table: Type, Reason, Age, From, Message.
// The Age column ("4s", "3m (x12 over 3m)", "<unknown>") is what tells a row from prose that
// happens to start with "Warning"; From is one word, or "kubelet, NODE" as kubectl before 1.20
// printed it.
var describeEventRow = regexp.MustCompile(`^\s*(Normal|Warning)\s+([A-Z][A-Za-z0-9]*)\s+(<unknown>|<invalid>|(?:\d+[smhdy])+(?:\s+\(x\d+ over (?:\d+[smhdy])+\))?)\s+([A-Za-z][\w.-]*(?:,\s*[\w.-]+)?)\s+(\S.*)$`)

// describeEventHeader is the Events table's header row and its underline.
var describeEventHeader = regexp.MustCompile(`^\s*(?:Type\s+Reason\s+Age\s+From\s+Message|-+\s+-+\s+-+\s+-+\s+-+)\s*$`)

// Where kubelet's and the scheduler's messages name the pod they are about. The CNI's pod ID
// is NAME_NAMESPACE (dockershim and the CNI plugins build it so; neither part may hold "_").
var (
	cniPodIDRe      = regexp.MustCompile(`(?:set up|tear down) pod "([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9-]*)" network`)
	forPodRe        = regexp.MustCompile(`\bfor pod "([a-z0-9][a-z0-9.-]*)"`)
	assignedRe      = regexp.MustCompile(`^Successfully assigned ([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9.-]*) to (\S+)$`)
	kubeletFromNode = regexp.MustCompile(`^kubelet,\s*(\S+)$`)
)

// eventSubject names the pod a kubelet or scheduler event message is about, and the node the
// scheduler put it on ("" where the message does not say).
func eventSubject(msg string) (ns, pod, node string) {
	if m := cniPodIDRe.FindStringSubmatch(msg); m != nil {
		return m[2], m[1], ""
	}
	if m := assignedRe.FindStringSubmatch(strings.TrimSpace(msg)); m != nil {
		return m[1], m[2], m[3]
	}
	if m := forPodRe.FindStringSubmatch(msg); m != nil {
		return "", m[1], ""
	}
	return "", "", ""
}

// recogniseDescribeEvents reads Events rows pasted without the describe output around them
// (with or without the "Events:" line and the table header, down to a single row), into the
// events a whole `kubectl describe pod` gives. Rows inside a describe block are that block's.
func recogniseDescribeEvents(d *Doc) *Output {
	ls := d.Lines()
	inBlock := make([]bool, len(ls))
	for _, b := range describeBlocks(ls) {
		for i := b[0]; i < b[1]; i++ {
			inBlock[i] = true
		}
	}
	var events []KubeEvent
	nodes := map[string]bool{}
	// A run of rows is one pasted table, most often one pod's: a pod named by one row is
	// the subject of the rows that name none.
	runStart := 0
	closeRun := func() {
		run := events[runStart:]
		pods, nss := map[string]bool{}, map[string]bool{}
		for _, e := range run {
			if e.Object != "" {
				pods[e.Object] = true
			}
			if e.Namespace != "" {
				nss[e.Namespace] = true
			}
		}
		if obj := onlyKey(pods); obj != "" {
			ns := onlyKey(nss)
			for i := range run {
				run[i].Object = obj
				if run[i].Namespace == "" {
					run[i].Namespace = ns
				}
			}
		}
		runStart = len(events)
	}
	inRun := false
	for i, l := range ls {
		if inBlock[i] {
			if inRun {
				closeRun()
				inRun = false
			}
			continue
		}
		t := strings.TrimSpace(l)
		if m := describeEventRow.FindStringSubmatch(l); m != nil {
			ev := KubeEvent{Type: m[1], Reason: m[2], LastSeen: m[3], Message: strings.TrimSpace(m[5])}
			if n := kubeletFromNode.FindStringSubmatch(m[4]); n != nil {
				nodes[strings.ToLower(n[1])] = true
			}
			ns, pod, node := eventSubject(ev.Message)
			if pod != "" {
				ev.Namespace, ev.Object = ns, "pod/"+pod
			}
			if node != "" {
				nodes[strings.ToLower(node)] = true
			}
			events = append(events, ev)
			inRun = true
			continue
		}
		switch {
		case t == "Events:" || describeEventHeader.MatchString(l):
			continue
		case inRun && t != "" && (l[0] == ' ' || l[0] == '\t') && !isPrompt(l):
			// A message the terminal wrapped: kubectl prints one line per event.
			events[len(events)-1].Message += " " + t
			continue
		}
		if inRun {
			closeRun()
			inRun = false
		}
	}
	if inRun {
		closeRun()
	}
	if len(events) == 0 {
		return nil
	}
	out := &Output{Format: "kubectl-describe-events", Records: eventRecords(events)}
	out.Detail = fmt.Sprintf("%d event(s)", len(events))
	if node := onlyKey(nodes); node != "" {
		// The kubelet that reported the events runs on the node the paste is about.
		out.Records = append(out.Records, artifact(wire.KindOSInfo, wire.OSInfo{Hostname: node}))
		out.Detail += ", node " + node
	}
	unnamed := 0
	for _, e := range events {
		if e.Object == "" {
			unnamed++
		}
	}
	if unnamed > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d event(s) do not say which pod they are about (the describe output's Name: line was not pasted)", unnamed))
	}
	return out
}

// onlyKey returns the single key of m, or "" when it has none or several.
func onlyKey(m map[string]bool) string {
	if len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}

// kubeletEventMessages are how the kubelet's pod sandbox events begin (kuberuntime and the
// dockershim wrap every CRI error in them), by reason. Only these are taken from a bare
// message: they are kubelet's own words, not a paraphrase.
var kubeletEventMessages = []struct{ prefix, reason string }{
	{"Failed to create pod sandbox: ", "FailedCreatePodSandBox"},
	{"Unable to get pod sandbox status: ", "FailedPodSandBoxStatus"},
	{"error killing pod: failed to \"KillPodSandbox\"", "FailedKillPod"},
}

// combinedPrefix is what the event recorder puts before a message it aggregated.
const combinedPrefix = "(combined from similar events): "

// recogniseKubeletEventMessage reads a kubelet event's message pasted on its own (copied from
// a dashboard or `kubectl get events -o custom-columns`): one Warning event per message, its
// reason inferred from how the message begins.
func recogniseKubeletEventMessage(d *Doc) *Output {
	var events []KubeEvent
	for _, l := range d.Lines() {
		t := strings.TrimSpace(l)
		msg := strings.TrimPrefix(t, combinedPrefix)
		reason := ""
		for _, k := range kubeletEventMessages {
			if strings.HasPrefix(msg, k.prefix) && len(msg) > len(k.prefix)+8 {
				reason = k.reason
				break
			}
		}
		if reason == "" {
			continue
		}
		ev := KubeEvent{Type: "Warning", Reason: reason, Message: t}
		if ns, pod, _ := eventSubject(msg); pod != "" {
			ev.Namespace, ev.Object = ns, "pod/"+pod
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	return &Output{Format: "kubelet-event-message", Detail: fmt.Sprintf("%d event(s), reason inferred from the message", len(events)),
		Records: eventRecords(events)}
}

// recogniseDockerNetworkLs notes `docker network ls`: the network names say which driver the
// node uses, but there is nothing to analyze in it.
func recogniseDockerNetworkLs(d *Doc) *Output {
	ts := findTables(d.Lines(), "NETWORK ID", "NAME", "DRIVER")
	if len(ts) == 0 {
		return nil
	}
	var names []string
	for _, t := range ts {
		for _, r := range t.rows {
			names = append(names, t.get(r, "NAME")+" ("+t.get(r, "DRIVER")+")")
		}
	}
	return &Output{Format: "docker-network-ls", Unused: true, Detail: strings.Join(names, ", "),
		Notes: []string{"docker networks are listed for reference; HNS state comes from Get-HnsNetwork or hnsdiag"}}
}
