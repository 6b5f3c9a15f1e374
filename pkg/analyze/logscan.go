package analyze

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// lineLevel is how bad a log line says it is. Pasted fragments often lose their headers, so
// the level is read from every shape a component prints: klog, logrus (key=value and terminal
// text), JSON, calico's brackets, Go's crash output.
type lineLevel int

const (
	levelNone  lineLevel = iota // the line does not say (a bare message, a timestamp, prose)
	levelInfo                   // info, debug, trace
	levelWarn                   // warning
	levelError                  // error
	levelFatal                  // the process ended: klog F, fatal/panic levels, a Go panic or its stack
)

var (
	klogLevel    = regexp.MustCompile(`(?:^|\s)([IWEF])\d{4} \d\d:\d\d:\d\d`)
	logrusText   = regexp.MustCompile(`^(PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\[`)
	keyLevel     = regexp.MustCompile(`(?i)\blevel=?"?:?\s*"?(panic|fatal|error|err|warning|warn|info|debug|trace)\b`)
	calicoLevel  = regexp.MustCompile(`\[(PANIC|FATAL|ERROR|WARNING|INFO|DEBUG)\]\[\d+\]`)
	goPanic      = regexp.MustCompile(`^(?:panic: |fatal error: |goroutine \d+ \[[a-z ]+\]:|\[signal )`)
	goStackFrame = regexp.MustCompile(`^\s+\S+\.go:\d+(?: \+0x[0-9a-f]+)?$`)
	// cobra-based Kubernetes components end with "command failed" err=... when their start-up
	// fails (the line is klog E, but the process exits right after it).
	commandFailed = regexp.MustCompile(`"command failed"|\bcommand failed\b.*\berr=`)
)

// levelOf reads a log line's level.
func levelOf(line string) lineLevel {
	if goPanic.MatchString(line) || goStackFrame.MatchString(line) || commandFailed.MatchString(line) {
		return levelFatal
	}
	if m := klogLevel.FindStringSubmatch(line); m != nil {
		return map[string]lineLevel{"I": levelInfo, "W": levelWarn, "E": levelError, "F": levelFatal}[m[1]]
	}
	if m := logrusText.FindStringSubmatch(line); m != nil {
		return map[string]lineLevel{"PANI": levelFatal, "FATA": levelFatal, "ERRO": levelError, "WARN": levelWarn,
			"INFO": levelInfo, "DEBU": levelInfo, "TRAC": levelInfo}[m[1]]
	}
	if m := calicoLevel.FindStringSubmatch(line); m != nil {
		return wordLevel(m[1])
	}
	if m := keyLevel.FindStringSubmatch(line); m != nil {
		return wordLevel(m[1])
	}
	return levelNone
}

func wordLevel(w string) lineLevel {
	switch strings.ToLower(w) {
	case "panic", "fatal":
		return levelFatal
	case "error", "err":
		return levelError
	case "warning", "warn":
		return levelWarn
	}
	return levelInfo
}

// scanned is a log line with its level.
type scanned struct {
	logLine
	level lineLevel
}

// componentLog is every line of one component's logs (kube-proxy, kubelet, flanneld, ...), read once.
// The kubelet's log includes the Warning events of pasted `kubectl describe`/`get events`.
func (x *index) componentLog(component string) []scanned {
	if x.scans == nil {
		x.scans = map[string][]scanned{}
	}
	if s, ok := x.scans[component]; ok {
		return s
	}
	var out []scanned
	ref := x.refTime()
	for _, f := range x.s.Logs(component) {
		n := 0
		for rest := f.Content; rest != ""; {
			var line string
			line, rest, _ = strings.Cut(rest, "\n")
			n++
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			out = append(out, scanned{logLine{file: f, n: n, text: line, t: lineTime(line, ref)}, levelOf(line)})
		}
	}
	out = append(out, x.wrapperEvents(component)...)
	x.scans[component] = out
	return out
}

var (
	// A service wrapper's word that the program it runs has ended.
	childExited = regexp.MustCompile(`(?i)\b(?:child ?process|process)\b.{0,40}\b(?:exited|terminated|died)\b`)
	// A stack frame as an event message holds it: trimmed, so without its indent, but with
	// the frame's offset, which prose does not have.
	bareStackFrame = regexp.MustCompile(`^\S+\.go:\d+ \+0x[0-9a-f]+$`)
)

// wrapperEvents are the event-log entries whose source is the component itself, oldest
// first, read as its log lines. A component run as a Windows service through a wrapper
// (EKS's AMI, nssm, WinSW) has its output, and the wrapper's own "child process exited",
// written to the Application log under the service's name, so that is where its last words
// are. A line's level is what its text says, else the wrapper's exit notice (fatal: the
// process ended), else the event's level.
func (x *index) wrapperEvents(component string) []scanned {
	var evs []*wire.Event
	for i := range x.s.Events {
		if e := &x.s.Events[i]; sameProgram(e.Provider, component) {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	byTime, byRecord := true, true
	for _, e := range evs {
		byTime = byTime && !e.Time.IsZero()
		byRecord = byRecord && e.RecordID != 0
	}
	switch {
	case byTime:
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	case byRecord:
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].RecordID < evs[j].RecordID })
	}
	src := &wire.FileData{Path: fmt.Sprintf("event log, source %s", evs[0].Provider)}
	out := make([]scanned, 0, len(evs))
	for i, e := range evs {
		msg := strings.TrimSpace(e.Message)
		lv := levelOf(msg)
		switch {
		case lv != levelNone:
		case childExited.MatchString(msg), bareStackFrame.MatchString(msg):
			lv = levelFatal
		default:
			lv = map[string]lineLevel{"Critical": levelError, "Error": levelError, "Warning": levelWarn}[e.Level]
			if lv == levelNone {
				lv = levelInfo
			}
		}
		out = append(out, scanned{logLine{file: src, n: i + 1, text: msg, t: e.Time, event: e}, lv})
	}
	return out
}

// sameProgram: an event source names the component, spelt either way (kube-proxy, kubeproxy).
func sameProgram(provider, component string) bool {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", ".exe", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	}
	return provider != "" && norm(provider) == norm(component)
}

// componentLogs is componentLog over several components, in order.
func (x *index) componentLogs(components ...string) []scanned {
	var out []scanned
	for _, c := range components {
		out = append(out, x.componentLog(c)...)
	}
	return out
}

// runtimeLogs are the logs that report what pod sandbox set-up met: the kubelet (with pasted
// events), the runtime, and the CNI plugins that log on their own.
func (x *index) runtimeLogs() []scanned {
	return x.componentLogs(wire.LogKubelet, wire.LogContainerd, wire.LogAzureVnet)
}

// endedFatally looks at how a log ends: the last line that states a level. A component that
// is still running keeps logging info lines after an error; one whose last words are fatal
// (klog F, FATA, a panic and its stack, "command failed") has exited. It returns the fatal
// lines (at most max, newest last) and whether the log ends with one; an error as the last
// word is reported as ended=false but with the error line, for a weaker claim.
func endedFatally(lines []scanned, max int) (fatal []scanned, ended bool, lastErr *scanned) {
	last := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].level != levelNone {
			last = i
			break
		}
	}
	for i := range lines {
		if lines[i].level == levelFatal {
			fatal = append(fatal, lines[i])
		}
	}
	// A stack trace is one crash, however many frames it prints: keep its first line.
	fatal = firstOfRuns(fatal)
	if len(fatal) > max {
		fatal = fatal[len(fatal)-max:]
	}
	if last < 0 {
		return fatal, false, nil
	}
	switch lines[last].level {
	case levelFatal:
		return fatal, true, nil
	case levelError:
		return fatal, false, &lines[last]
	}
	return fatal, false, nil
}

// firstOfRuns keeps the first of each run of consecutive lines of one file (a panic's frames).
func firstOfRuns(ls []scanned) []scanned {
	var out []scanned
	for i, l := range ls {
		if i > 0 && ls[i-1].file == l.file && ls[i-1].n+2 >= l.n && partOfTrace(l.text) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// partOfTrace: a stack frame or the goroutine header that follows "panic:".
func partOfTrace(s string) bool {
	return goStackFrame.MatchString(s) || bareStackFrame.MatchString(s) || strings.HasPrefix(s, "goroutine ")
}

func evidenceOf(ls []scanned) []Evidence {
	out := make([]Evidence, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.evidence())
	}
	return out
}
