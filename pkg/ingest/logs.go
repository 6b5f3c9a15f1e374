package ingest

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Log line shapes. klog lines may sit behind a prefix (an event log export, a service
// wrapper), so the klog pattern is not anchored.
var (
	klogRe = regexp.MustCompile(`\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{3,}\s+\d+ [\w./-]+:\d+\]`)
	// Pastes often lose the klog header up to the source location ("proxier.go: 1756] ...",
	// "server.go:225] ..."); what is left still says it is a klog line. Some pasters keep the
	// time or the pid, and some forums put a space after the colon.
	klogTrimmedRe = regexp.MustCompile(`^\s*(?:\d{2}:\d{2}:\d{2}\.\d+\s+)?(?:\d+\s+)?[\w.-]+\.go:\s?\d+\](?:\s|$)`)
	// klog's structured form without any header: a quoted message, then key=value pairs. Only
	// the first pair is required to look like one: klog prints struct values with %+v (spaces,
	// braces), and pastes get cut mid-value. The pair keeps a quoted sentence alone from counting.
	klogStructRe = regexp.MustCompile(`^\s*"(?:[^"\\]|\\.)+"\s+[A-Za-z_][\w.-]*=\S`)
	logrusRe     = regexp.MustCompile(`^time="?[0-9T:.\-+Z ]+"? level=\w+`)
	// logrus's text formatter on a terminal: the level's first four letters, then either the
	// seconds since start or the full time in brackets.
	logrusTextRe = regexp.MustCompile(`^(?:PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\[(?:\d{4,}|\d{4}-\d{2}-\d{2}[T ][^\]]{1,40})\]`)
	// logfmt written by other libraries (go-kit, zap's logfmt encoder) does not start with time=.
	logfmtRe  = regexp.MustCompile(`^[\w.@-]+=\S.*(?:^|\s)level=(?:trace|debug|info|warn|warning|error|fatal|panic|crit)\b.*\smsg=`)
	calicoRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \[(?:INFO|WARNING|ERROR|DEBUG|PANIC|FATAL)\]\[\d+\] `)
	golangRe  = regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? `)
	isoLogRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+(?:\[?(?:INFO|WARN|WARNING|ERROR|DEBUG|info|warn|error|debug)\]?)`)
	klogFlags = regexp.MustCompile(`FLAG: (--[\w-]+)="(.*)"$`)

	// A Go runtime crash: the panic line, goroutine headers, the signal line, and frames (a
	// function with its arguments, then its source line indented). A paste may start anywhere
	// in the trace, so every one of these counts on its own.
	goPanicRe     = regexp.MustCompile(`^(?:panic: |fatal error: |goroutine \d+ \[[^\]]+\]:\s*$|\[signal [^\]]+\]\s*$)`)
	goFrameRe     = regexp.MustCompile(`^(?:created by )?[\w.~-]+(?:/[\w.~-]+)*\.\S*\((?:[0-9a-fx, .{}?]*|\.\.\.)\)(?: in goroutine \d+)?\s*$`)
	goCreatedByRe = regexp.MustCompile(`^created by [\w.~-]+(?:/[\w.~-]+)*\.\S+(?: in goroutine \d+)?\s*$`)
	goSourceRe    = regexp.MustCompile(`^(?:\s+\S.*\.go:\d+(?: \+0x[0-9a-f]+)?|\S+\.go:\d+ \+0x[0-9a-f]+)\s*$`)

	// What may stand before a JSON log object on its line: an ETW consumer's "[pid] ", a
	// timestamp, the CRI log file's "stdout F ", a syslog-style "tag[pid]:".
	jsonLogPrefixRe = regexp.MustCompile(`^\s*(?:(?:\[[^\]\[{}"=]{1,40}\]|\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?|stdout|stderr|[FP]|[\w.-]+(?:\[\d+\])?:)\s*)*$`)
	// The CRI log file format (/var/log/pods/...): time, stream, partial flag, then the
	// container's own line.
	criPrefixRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2}) (?:stdout|stderr) [FP] `)

	// Lines that say nothing either way: blank, an elision, a bare timestamp (a log viewer's
	// column pasted alone), a Markdown fence, a shell or PowerShell prompt (the command the
	// log was printed by).
	neutralRe = regexp.MustCompile("^\\s*(?:\\.{3,}|…|\\[\\.\\.\\.\\]|<snip>|\\[snip\\]|```[\\w-]*|\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(?:[.,]\\d+)?(?:Z|[+-]\\d{2}:?\\d{2})?)?\\s*$")
)

func isLogLine(l string) bool {
	if m := criPrefixRe.FindStringIndex(l); m != nil {
		l = l[m[1]:]
	}
	switch {
	case klogRe.MatchString(l), logrusRe.MatchString(l), calicoRe.MatchString(l), golangRe.MatchString(l), isoLogRe.MatchString(l),
		klogTrimmedRe.MatchString(l), klogStructRe.MatchString(l), logrusTextRe.MatchString(l), logfmtRe.MatchString(l):
		return true
	case isGoTraceLine(l):
		return true
	}
	return isJSONLogLine(l)
}

func isGoTraceLine(l string) bool {
	return goPanicRe.MatchString(l) || goFrameRe.MatchString(l) || goCreatedByRe.MatchString(l) || goSourceRe.MatchString(l)
}

// isJSONLogLine: one JSON object on the line, behind at most a short prefix, with a message and
// something only a log entry carries next to it (a level, a provider, a time, a stream). The
// message may be nested, as ETW consumers put it under Payload.
func isJSONLogLine(l string) bool {
	i := strings.IndexByte(l, '{')
	if i < 0 || i > 64 || !jsonLogPrefixRe.MatchString(l[:i]) {
		return false
	}
	body := strings.TrimSpace(l[i:])
	if !strings.HasSuffix(body, "}") {
		return false
	}
	o, ok := newJObj(json.RawMessage(body))
	if !ok {
		return false
	}
	msg := jsonHasMessage(o)
	for _, k := range []string{"payload", "fields", "data", "eventdata", "properties"} {
		if msg {
			break
		}
		if inner, ok := o.obj(k); ok {
			msg = jsonHasMessage(inner)
		}
	}
	return msg && o.hasAny("level", "lvl", "severity", "loglevel", "levelname", "providername", "provider", "logger",
		"time", "timestamp", "ts", "@timestamp", "stream")
}

func jsonHasMessage(o jobj) bool {
	for _, k := range []string{"msg", "message", "log"} {
		if o.str(k) != "" {
			return true
		}
	}
	return false
}

func neutralLine(l string) bool {
	return neutralRe.MatchString(l) || isPrompt(l)
}

// enoughLogLines: a log paste may carry the prompt it was printed by, a sentence or two, a
// banner; it is a log when most of what is left is log lines, or, in a longer file, when log
// lines are at least three and not lost among other text.
func enoughLogLines(matched, total int) bool {
	if matched == 0 {
		return false
	}
	return matched*2 > total || (matched >= 3 && matched*10 >= total*3)
}

type logSignal struct {
	s string
	w int
}

// logSignals are content clues per component, with weights, matched as written. A component
// wins by the highest total.
var logSignals = map[string][]logSignal{
	wire.LogKubeProxy: {{"proxier.go", 5}, {"winkernel", 5}, {"Kernelspace Proxier", 5}, {"hnsV2.go", 4}, {"hns.go:", 2}, {"Policy creation failed", 4},
		{"Hns Endpoint resource", 4}, {"--proxy-mode", 4}, {"--source-vip", 3}, {"Syncing Policies", 3}, {"kube-proxy", 2}, {"syncProxyRules", 3},
		{"server_windows.go", 2}, {"Unable to find HNS Network", 4}, {"loadbalancer.go", 2}, {"HNS LoadBalancer", 3},
		{"unable to create proxier", 5}, {"source-vip flag not set", 5},
		{"Hns LoadBalancer", 3}, {"Source Vip endpoint", 4}, {"hcnCreateLoadBalancer", 3}, {"Endpoint information not available for service", 3},
		// Flags only kube-proxy has, as its start-up FLAG dump prints them.
		{"FLAG: --masquerade-all", 4}, {"FLAG: --ipvs-", 4}, {"FLAG: --conntrack-", 3}},
	wire.LogKubelet: {{"kubelet.go", 4}, {"kuberuntime_", 4}, {"pod_workers.go", 4}, {"kubelet_node_status.go", 5}, {"docker_sandbox.go", 3},
		{"remote_runtime.go", 3}, {"eviction_manager.go", 4}, {"--pod-infra-container-image", 4}, {"cpu_manager", 3}, {"Kubelet", 1},
		{"RunPodSandbox", 1}, {"volume_manager", 3}, {"FailedCreatePodSandBox", 1}},
	wire.LogFlanneld: {{"flannel", 2}, {"subnet.env", 4}, {"vxlan_windows.go", 5}, {"vxlan_network_windows.go", 5}, {"hostgw_windows.go", 5},
		{"CLI flags config", 4}, {"etcdPrefix", 4}, {"FLANNEL_", 3}, {"kube.go", 1}},
	wire.LogCalico: {{"felix/", 5}, {"calico", 2}, {"confd", 2}, {"[INFO][", 2}, {"Felix", 3}, {"calico-node", 3}, {"bird", 1}},
	wire.LogContainerd: {{"io.containerd", 4}, {"runtime.v1.CRIService", 4}, {"RunPodSandbox for", 3}, {"shim", 1},
		{"level=info msg=", 1}, {"snapshotter", 2}},
	wire.LogAzureVnet: {{"[cni-net]", 5}, {"[cni-ipam]", 5}, {"azure-vnet", 4}, {"[azure-cns]", 4}, {"[net]", 2}, {"[cni]", 2}},
	wire.LogCSIProxy:  {{"csi-proxy", 5}, {"csi.proxy", 3}},
}

// logSignalsFold are clues whose case varies between versions and pastes (a warning's
// capitalisation, an ETW provider spelled "ContainerD"); written in lower case, matched
// ignoring case.
var logSignalsFold = map[string][]logSignal{
	wire.LogKubeProxy: {{"all flags other than --config, --write-config-to, and --cleanup are deprecated", 6}},
	wire.LogKubelet:   {{"failed to create pod sandbox", 4}, {"networkplugin cni failed", 4}},
	wire.LogFlanneld: {{"could not create ip forward entry", 5}, {"determining ip address of default interface", 5},
		{"subnet manager", 3}},
	// kubelet relays containerd's "failed to setup network for sandbox" in its own lines, so it
	// weighs less than kubelet's own source files.
	wire.LogContainerd: {{"containerd", 3}, {"failed to setup network for sandbox", 3}, {"failed to create containerd task", 4},
		{"hcsshim::createcomputesystem", 2}},
}

// panicOwners map a Go package path in a stack frame to the component whose binary it is.
var panicOwners = []struct{ pkg, comp string }{
	{"k8s.io/kubernetes/pkg/proxy", wire.LogKubeProxy},
	{"k8s.io/kubernetes/cmd/kube-proxy", wire.LogKubeProxy},
	{"k8s.io/kubernetes/pkg/kubelet", wire.LogKubelet},
	{"k8s.io/kubernetes/cmd/kubelet", wire.LogKubelet},
	{"github.com/flannel-io/flannel", wire.LogFlanneld},
	{"github.com/coreos/flannel", wire.LogFlanneld},
	{"github.com/projectcalico/", wire.LogCalico},
	{"github.com/containerd/containerd", wire.LogContainerd},
}

// panicScores: a stack trace names its binary through its frames' package paths, more surely
// than any word in the message; the component with more frames wins among several (a
// vendored package shows up in a few).
func panicScores(ls []string, scores map[string]int) {
	frames := map[string]int{}
	for i, l := range ls {
		if i >= 4000 {
			break
		}
		if !goFrameRe.MatchString(l) && !goCreatedByRe.MatchString(l) && !goSourceRe.MatchString(l) {
			continue
		}
		for _, o := range panicOwners {
			if strings.Contains(l, o.pkg) {
				frames[o.comp]++
				break
			}
		}
	}
	for c, n := range frames {
		scores[c] += 6 + min(n, 4)
	}
}

// contentScores weighs every component's clues in the text.
func contentScores(d *Doc) map[string]int {
	scores := map[string]int{}
	sample := head(d.Text, 512<<10)
	lower := strings.ToLower(sample)
	for comp, sigs := range logSignals {
		for _, s := range sigs {
			if strings.Contains(sample, s.s) {
				scores[comp] += s.w
			}
		}
	}
	for comp, sigs := range logSignalsFold {
		for _, s := range sigs {
			if strings.Contains(lower, s.s) {
				scores[comp] += s.w
			}
		}
	}
	panicScores(d.Lines(), scores)
	return scores
}

// nameHints are what users name a file after: the pod or service they ran `kubectl logs` or
// Get-Content on.
var nameHints = []struct{ s, comp string }{
	{"kube-proxy", wire.LogKubeProxy}, {"kubeproxy", wire.LogKubeProxy},
	{"kubelet", wire.LogKubelet},
	{"flannel", wire.LogFlanneld},
	{"calico", wire.LogCalico}, {"felix", wire.LogCalico},
	{"containerd", wire.LogContainerd},
	{"azure-vnet", wire.LogAzureVnet},
	{"csi-proxy", wire.LogCSIProxy},
}

// nameBonus is small on purpose: it may settle a tie or lift a faint clue to a decision, but
// a file named after one pod can hold another component's lines.
const nameBonus = 2

// minComponentScore is what a component needs to be named at all.
const minComponentScore = 3

// chooseComponent picks the component from the content's scores, with the file name as a
// tie-breaker. It returns "" when nothing is sure enough, and whether the name decided.
func chooseComponent(content map[string]int, name string) (comp string, byName bool) {
	scores := make(map[string]int, len(content)+1)
	for c, s := range content {
		scores[c] = s
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, `\`, "/")))
	hinted := map[string]bool{}
	for _, h := range nameHints {
		if strings.Contains(base, h.s) && !hinted[h.comp] {
			hinted[h.comp] = true
			scores[h.comp] += nameBonus
		}
	}
	comp, best := argmax(scores)
	leader, leaderScore := argmax(content)
	// The name never overrules what the content alone says clearly.
	if leaderScore >= minComponentScore && content[comp] < leaderScore {
		comp, best = leader, leaderScore
	}
	if best < minComponentScore {
		return "", false
	}
	return comp, content[comp] < minComponentScore
}

// argmax breaks ties by name, so the same file always gets the same component.
func argmax(scores map[string]int) (string, int) {
	comps := make([]string, 0, len(scores))
	for c := range scores {
		comps = append(comps, c)
	}
	sort.Strings(comps)
	comp, best := "", 0
	for _, c := range comps {
		if scores[c] > best {
			comp, best = c, scores[c]
		}
	}
	return comp, best
}

// recogniseLog reads component logs: klog ("I1126 10:00:00.000000 1234 proxier.go:123]",
// also with the header cut down to "proxier.go:123]" or gone, leaving `"msg" key=value`),
// logrus ("time=... level=... msg=...", "ERRO[0001] ..."), calico's "[INFO][pid]" lines, Go's
// log package, Go panic traces, and JSON lines (also behind an ETW "[pid] " prefix). The
// component is decided from the content (proxier.go/winkernel is kube-proxy, felix/ is calico,
// [cni-net] is azure-vnet, a trace's package paths, ...), the file name only breaking ties.
func recogniseLog(d *Doc) *Output {
	ls := d.Lines()
	total, matched := 0, 0
	for _, l := range ls {
		if neutralLine(l) {
			continue
		}
		total++
		if isLogLine(l) {
			matched++
		}
		if total >= 400 {
			break
		}
	}
	if !enoughLogLines(matched, total) {
		return nil
	}
	comp, byName := chooseComponent(contentScores(d), d.Name)
	out := logOutput(d, comp)
	if byName {
		out.Notes = append(out.Notes, fmt.Sprintf("the log's content hints at %s only faintly; the file name %q settled it", comp, d.Name))
	}
	return out
}

// logOutput keeps the file whole under its log role: the analyzer judges each line by its own
// level (E-klog, FATA, level=error, panic:), so no line is rewritten or dropped.
func logOutput(d *Doc, comp string) *Output {
	ls := d.Lines()
	out := &Output{}
	role := wire.RoleLogPrefix + "unknown"
	if comp != "" {
		role = wire.RoleLogPrefix + comp
		out.Format = "log:" + comp
	} else {
		out.Format = "log"
		out.Notes = append(out.Notes, "a log, but nothing in it says which component wrote it; it is kept under role log:unknown")
	}
	out.Records = append(out.Records, fileRecord(role, d.Text))
	out.Detail = fmt.Sprintf("%d lines", len(ls))
	// kube-proxy and kubelet print their flags at start (FLAG: --x="y"): the command line the
	// analyzer would otherwise need from the service definition.
	if comp == wire.LogKubeProxy || comp == wire.LogKubelet {
		var args []string
		for _, l := range ls {
			if m := klogFlags.FindStringSubmatch(l); m != nil && m[2] != "" {
				args = append(args, m[1]+"="+m[2])
			}
		}
		if len(args) > 0 {
			argRole := wire.RoleKubeProxyArgs
			if comp == wire.LogKubelet {
				argRole = wire.RoleKubeletArgs
			}
			out.Records = append(out.Records, fileRecord(argRole, comp+" "+strings.Join(args, " ")))
			out.Notes = append(out.Notes, fmt.Sprintf("%d flags read from the log's FLAG lines (%s)", len(args), argRole))
		}
	}
	return out
}

// messageSignals are messages that only one component prints, strong enough to name it when
// a paste kept nothing but the message: no time, no level, no source location. Lower case.
var messageSignals = []struct {
	s, comp string
	// also must appear on the same line, for a phrase that names an operation, not its failure.
	also string
}{
	{s: "policy creation failed", comp: wire.LogKubeProxy},
	{s: "source vip endpoint creation failed", comp: wire.LogKubeProxy},
	{s: "skipped creating hns loadbalancer", comp: wire.LogKubeProxy},
	{s: "hcncreateloadbalancer failed", comp: wire.LogKubeProxy},
	{s: "unable to find hns network", comp: wire.LogKubeProxy},
	{s: "failed to create pod sandbox", comp: wire.LogKubelet},
	{s: "networkplugin cni failed", comp: wire.LogKubelet},
	{s: "runpodsandbox from runtime service failed", comp: wire.LogKubelet},
	{s: "failed to setup network for sandbox", comp: wire.LogContainerd},
	{s: "failed to create containerd task", comp: wire.LogContainerd},
	{s: "hcsshim::createcomputesystem", comp: wire.LogContainerd, also: "failed"},
	{s: "could not create ip forward entry", comp: wire.LogFlanneld},
}

// messageSignalWeight is what one message signal adds to its component.
const messageSignalWeight = 4

// maxBareMessageLines keeps the last-resort recogniser to short pastes: in a longer text a
// matching phrase is more likely quoted in prose or in another command's output.
const maxBareMessageLines = 8

var (
	// What may stand before a message and still leave it a bare message: a level word, an
	// event's "(combined from similar events):", a quote.
	messageLeadRe = regexp.MustCompile(`^\s*(?:(?:error|err|warning|warn|fatal|info)\s*:\s*|\([^)]{0,80}\):?\s*|["'` + "`" + `])*`)
	// Words of someone writing, not of a program logging.
	proseRe = regexp.MustCompile(`(?i)(?:^|[\s,(])(?:i'm|i've|i'd|we|we're|we've|my|our|you|your|please|help|anyone|thanks|hi|hello|hey)(?:$|[\s,.!?)])|(?:^|\s)I\s`)
	// A row of `kubectl describe`'s or `kubectl get events`' event table: another recogniser's.
	eventRowRe = regexp.MustCompile(`^\s*(?:\S+\s{2,})?(?:Normal|Warning)\s{2,}[A-Z][A-Za-z]+\s{2,}`)
)

// bareMessageSignal returns the component of the message signal the line carries where a
// program's message would start (the line's start after a level word, or after a ": " or
// "= " that chains errors), or "".
func bareMessageSignal(l string) string {
	lower := strings.ToLower(l)
	lead := len(messageLeadRe.FindString(lower))
	for _, m := range messageSignals {
		if m.also != "" && !strings.Contains(lower, m.also) {
			continue
		}
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], m.s)
			if i < 0 {
				break
			}
			i += from
			before := lower[:i]
			if i == lead || strings.HasSuffix(before, ": ") || strings.HasSuffix(before, "= ") {
				return m.comp
			}
			from = i + len(m.s)
		}
	}
	return ""
}

// recogniseLogMessage is the last resort for short pastes of bare messages (the words of an
// error, copied without the log line around them) when the words are ones only one component
// prints. Prose, event tables and longer texts are left alone.
func recogniseLogMessage(d *Doc) *Output {
	nonNeutral, withSignal, logLines := 0, 0, 0
	found := map[string]int{}
	for _, l := range d.Lines() {
		if neutralLine(l) {
			continue
		}
		nonNeutral++
		if nonNeutral > maxBareMessageLines {
			return nil
		}
		trimmed := strings.TrimSpace(l)
		if strings.HasSuffix(trimmed, "?") || proseRe.MatchString(l) || eventRowRe.MatchString(l) {
			return nil
		}
		if c := bareMessageSignal(l); c != "" {
			withSignal++
			found[c]++
		} else if isLogLine(l) {
			logLines++
		}
	}
	if withSignal == 0 || (withSignal+logLines)*2 <= nonNeutral {
		return nil
	}
	content := contentScores(d)
	for c, n := range found {
		content[c] += n * messageSignalWeight
	}
	comp, _ := chooseComponent(content, d.Name)
	if comp == "" {
		return nil
	}
	out := logOutput(d, comp)
	out.Notes = append(out.Notes, fmt.Sprintf("no log header in this file: the component (%s) was inferred from the message text", comp))
	return out
}
