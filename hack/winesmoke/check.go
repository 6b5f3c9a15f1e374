// Package winesmoke checks what the Windows collector prints when it runs under Wine: the
// smoke test (winesmoke_test.go, build tag winesmoke, run by hack/wine-smoke.sh) starts the
// real windows/amd64 exe with Wine and hands its stdout to Parse and Check.
//
// Wine is not Windows: it has no HNS (computenetwork.dll and vmcompute.dll are absent), no
// firewall or servicing registry, and stubs for some IP Helper calls and for netsh. What the
// test proves is that the build starts, speaks valid NDJSON framed by hello and done, turns
// every missing piece into one clear error record, and returns real data wherever Wine can
// give it. Expectations holds what each source must do, by source name; a source the build
// does not register is skipped unless it is Required, and a source the table does not know is
// listed so the table can be brought up to date.
package winesmoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Outcome is what a source must produce under Wine.
type Outcome int

const (
	// Artifact: at least one artifact of the expected kind, and no error record.
	Artifact Outcome = iota + 1
	// Unavailable: no artifact, and an error record that contains Expect.Text.
	Unavailable
	// Either: an artifact or a clean error; for sources whose Wine support varies.
	Either
	// Absent: neither artifact nor error: the thing (an inbox tool) is not on the host, which
	// is normal, and the source says so on stderr only.
	Absent
)

func (o Outcome) String() string {
	switch o {
	case Artifact:
		return "artifact"
	case Unavailable:
		return "unavailable"
	case Either:
		return "either"
	case Absent:
		return "absent"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Expect is one row of the table.
type Expect struct {
	Source   string
	Outcome  Outcome
	Kind     string // the artifact kind for Artifact; the source's name when empty
	Text     string // what the error must say for Unavailable
	Required bool   // the build must register the source
	Why      string // what Wine does here
}

// PodIP is the pod the smoke runs pass as --pod-ip: no HNS endpoint has it under Wine.
const PodIP = "10.244.1.5"

// The openings of the errors the Windows backend words for a host without HNS.
const (
	hcnMissing         = "HNS/HCN is not available on this host: computenetwork.dll not found"
	vmcomputeMissing   = "HNS/HCN is not available on this host: vmcompute.dll not found"
	eventsStub         = "event log query not supported on this host"
	CompartmentMissing = "cannot enter the network compartment of pod " + PodIP + ": iphlpapi.dll has no SetCurrentThreadCompartmentId"
)

// Expectations is the one table of what every known source does under Debian's Wine 8.
var Expectations = []Expect{
	{Source: wire.KindHCNNetworks, Outcome: Unavailable, Text: hcnMissing, Required: true, Why: "no computenetwork.dll"},
	{Source: wire.KindHCNEndpoints, Outcome: Unavailable, Text: hcnMissing, Required: true, Why: "no computenetwork.dll"},
	{Source: wire.KindHCNLoadBalancers, Outcome: Unavailable, Text: hcnMissing, Required: true, Why: "no computenetwork.dll"},
	{Source: wire.KindHCNNamespaces, Outcome: Unavailable, Text: hcnMissing, Required: true, Why: "no computenetwork.dll"},
	{Source: wire.KindHNSVersion, Outcome: Unavailable, Text: vmcomputeMissing, Required: true, Why: "no vmcompute.dll"},
	{Source: wire.KindHNSPolicyLists, Outcome: Unavailable, Text: vmcomputeMissing, Why: "no vmcompute.dll"},
	{Source: wire.KindServices, Outcome: Artifact, Required: true, Why: "Wine's service manager answers; the watched services are NotInstalled"},
	{Source: wire.KindOSInfo, Outcome: Artifact, Required: true, Why: "the registry holds a Windows version"},
	{Source: wire.KindProcesses, Outcome: Artifact, Why: "Wine lists its own processes"},
	{Source: "files", Outcome: Artifact, Kind: wire.KindFile, Required: true, Why: "the test plants a kube-proxy log, a CNI config and a kubeconfig with secrets in the prefix's C:\\k and C:\\etc\\cni\\net.d"},
	{Source: "events:Microsoft-Windows-Host-Network-Service-Admin", Outcome: Unavailable, Text: eventsStub, Required: true, Why: "EvtQuery is a stub returning NULL with last-error 0"},
	{Source: "events:Microsoft-Windows-Host-Network-Service-Operational", Outcome: Unavailable, Text: eventsStub, Required: true, Why: "EvtQuery is a stub"},
	{Source: "events:System", Outcome: Unavailable, Text: eventsStub, Required: true, Why: "EvtQuery is a stub"},
	{Source: "events:Microsoft-Windows-Hyper-V-VmSwitch-Operational", Outcome: Unavailable, Text: eventsStub, Why: "EvtQuery is a stub"},
	{Source: "events:Microsoft-Windows-Hyper-V-Compute-Admin", Outcome: Unavailable, Text: eventsStub, Why: "EvtQuery is a stub"},
	{Source: wire.KindHNSEndpointsV1, Outcome: Unavailable, Text: vmcomputeMissing, Why: "no vmcompute.dll"},
	{Source: "tool:hnsdiag", Outcome: Absent, Why: "no hnsdiag.exe under Wine: the source only logs that it is absent"},
	{Source: "tool:vfpctrl", Outcome: Absent, Why: "no vfpctrl.exe under Wine: the source only logs that it is absent"},
	{Source: wire.KindHostAdapters, Outcome: Artifact, Required: true, Why: "GetAdaptersAddresses maps the Linux interfaces"},
	{Source: wire.KindHostRoutes, Outcome: Artifact, Required: true, Why: "GetIpForwardTable2 maps the Linux routes"},
	{Source: wire.KindHostNeighbors, Outcome: Unavailable, Text: "reading the neighbor cache (GetIpNetTable2)", Required: true, Why: "GetIpNetTable2 is a stub (ERROR_INVALID_FUNCTION)"},
	{Source: wire.KindDNSClient, Outcome: Artifact, Required: true, Why: "adapter DNS servers come from the Linux resolver"},
	{Source: wire.KindTCPConnections, Outcome: Artifact, Required: true, Why: "GetExtendedTcpTable maps the Linux sockets"},
	{Source: wire.KindPortRanges, Outcome: Unavailable, Text: "printed nothing for any port range query", Required: true, Why: "netsh.exe is a stub that prints nothing"},
	{Source: wire.KindFirewall, Outcome: Unavailable, Text: "to read Windows Firewall's settings", Required: true, Why: "no firewall policy in the registry"},
	{Source: wire.KindHotfixes, Outcome: Unavailable, Text: "to list the installed updates", Required: true, Why: "no component store in the registry"},
	{Source: "probes.host", Outcome: Either, Why: "loopback TCP, UDP and a DNS stub answer; registered by the runs with host probes, whose verdicts are checked separately"},
	{Source: wire.KindPodCompartment, Outcome: Unavailable, Text: CompartmentMissing, Required: true, Why: "Wine's iphlpapi.dll lacks the compartment functions; every run passes --pod-ip " + PodIP + ", and pod-scoped probes must come back skipped"},
}

// ProbeWant is the verdict one probe must get. Empty fields are not checked.
type ProbeWant struct {
	Target  string // the canonical --probe spec: tcp:IP:PORT, dns:NAME@IP:PORT
	Verdict string
	Result  string // for UDP: the detail's result, "replied" or "sent"
	Method  string // host-tcp, host-udp, host-dns, pod-compartment
	Error   string // what the probe's error must say
	Answer  string // for DNS: an address the detail's answers must hold
}

// SourceResult is what one source did in the stream.
type SourceResult struct {
	Name           string
	Started, Ended bool
	Kinds          []string
	Errors         []string
	Probes         int
	DurationMS     int64
}

// Report is a parsed collector stream.
type Report struct {
	Hello     wire.HelloData
	Done      wire.DoneData
	Artifacts int
	Errors    int
	Sources   []*SourceResult // in order of first appearance
	Probes    []wire.ProbeData
	byName    map[string]*SourceResult
}

// Parse decodes a whole stream with the plugin's decoder and checks its frame: every line a
// record, hello first, done last and once.
func Parse(stdout []byte) (*Report, error) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return nil, errors.New("the collector printed nothing on stdout")
	}
	dec := wire.NewDecoder(bytes.NewReader(stdout))
	r := &Report{byName: map[string]*SourceResult{}}
	n, sawDone := 0, false
	for {
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("stdout is not NDJSON the plugin can read: %w", err)
		}
		n++
		if sawDone {
			return nil, fmt.Errorf("record %d (%s) comes after done", n, rec.Type)
		}
		if n == 1 && rec.Type != wire.TypeHello {
			return nil, fmt.Errorf("the first record is %s, want hello", rec.Type)
		}
		if err := r.add(rec, n); err != nil {
			return nil, err
		}
		sawDone = rec.Type == wire.TypeDone
	}
	if !sawDone {
		return nil, fmt.Errorf("the stream has no done record after %d records: the collector stopped early", n)
	}
	return r, nil
}

func (r *Report) source(name string) *SourceResult {
	s, ok := r.byName[name]
	if !ok {
		s = &SourceResult{Name: name}
		r.byName[name] = s
		r.Sources = append(r.Sources, s)
	}
	return s
}

func (r *Report) add(rec wire.Record, n int) error {
	decode := func(v any) error {
		if err := json.Unmarshal(rec.Data, v); err != nil {
			return fmt.Errorf("record %d (%s from %q) has data that does not decode: %w", n, rec.Type, rec.Source, err)
		}
		return nil
	}
	switch rec.Type {
	case wire.TypeHello:
		if n != 1 {
			return fmt.Errorf("record %d is a second hello", n)
		}
		return decode(&r.Hello)
	case wire.TypeDone:
		return decode(&r.Done)
	case wire.TypeProgress:
		var p wire.ProgressData
		if err := decode(&p); err != nil {
			return err
		}
		s := r.source(rec.Source)
		switch p.Stage {
		case "start":
			s.Started = true
		case "end":
			s.Ended, s.DurationMS = true, p.DurationMS
		}
	case wire.TypeArtifact:
		r.Artifacts++
		if !json.Valid(rec.Data) {
			return fmt.Errorf("record %d: the %s artifact is not valid JSON", n, rec.Kind)
		}
		s := r.source(rec.Source)
		s.Kinds = append(s.Kinds, rec.Kind)
	case wire.TypeError:
		r.Errors++
		s := r.source(rec.Source)
		s.Errors = append(s.Errors, rec.Error)
	case wire.TypeProbe:
		var p wire.ProbeData
		if err := decode(&p); err != nil {
			return err
		}
		r.Probes = append(r.Probes, p)
		r.source(rec.Source).Probes++
	}
	return nil
}

// Check compares the stream with what the build must say: the hello (backend, OS, the exe's
// hash), done's totals, every source's outcome against the table, and the probes' verdicts.
// It returns every mismatch, and the names of sources the table does not know.
func (r *Report) Check(exeSHA256 string, table []Expect, probes []ProbeWant) (problems []error, untabled []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	h := r.Hello
	if h.Backend != "windows" || h.OS != "windows" || h.Arch != "amd64" {
		bad("hello says backend %q on %s/%s, want the windows backend on windows/amd64", h.Backend, h.OS, h.Arch)
	}
	if h.SchemaVersion != wire.SchemaVersion {
		bad("hello says schema %q, want %q", h.SchemaVersion, wire.SchemaVersion)
	}
	if !strings.EqualFold(h.SHA256, exeSHA256) {
		bad("hello says sha256 %q, but the exe's is %s", h.SHA256, exeSHA256)
	}
	if r.Done.Artifacts != r.Artifacts || r.Done.Errors != r.Errors {
		bad("done counts %d artifacts and %d errors, the stream holds %d and %d", r.Done.Artifacts, r.Done.Errors, r.Artifacts, r.Errors)
	}

	for _, s := range r.Sources {
		if s.Name == "" || s.Name == "collector" {
			for _, e := range s.Errors {
				bad("the collector itself reported: %s", e)
			}
			continue
		}
		if !s.Started || !s.Ended {
			bad("source %s did not run to its end (start seen: %v, end seen: %v)", s.Name, s.Started, s.Ended)
		}
		for _, e := range s.Errors {
			if strings.Contains(e, "panic") {
				bad("source %s panicked: %s", s.Name, e)
			}
			if strings.ContainsAny(e, "\r\n") {
				bad("source %s wrote an error over several lines: %q", s.Name, e)
			}
			if strings.Contains(e, "timed out after") {
				bad("source %s hung until its deadline: %s", s.Name, e)
			}
		}
	}

	tabled := map[string]bool{}
	for _, want := range table {
		tabled[want.Source] = true
		s, ok := r.byName[want.Source]
		if !ok || !s.Started {
			if want.Required {
				bad("source %s is not registered in this build, but the table requires it", want.Source)
			}
			continue
		}
		kind := want.Kind
		if kind == "" {
			kind = want.Source
		}
		switch want.Outcome {
		case Artifact:
			if !contains(s.Kinds, kind) || len(s.Errors) > 0 {
				bad("source %s should return data under Wine (%s); it sent kinds %v and errors %q", s.Name, want.Why, s.Kinds, s.Errors)
			}
		case Unavailable:
			if len(s.Kinds) > 0 || !anyContains(s.Errors, want.Text) {
				bad("source %s should report %q under Wine (%s); it sent kinds %v and errors %q", s.Name, want.Text, want.Why, s.Kinds, s.Errors)
			}
		case Absent:
			if len(s.Kinds) > 0 || len(s.Errors) > 0 {
				bad("source %s should find nothing under Wine (%s); it sent kinds %v and errors %q", s.Name, want.Why, s.Kinds, s.Errors)
			}
		case Either:
			if len(s.Kinds) == 0 && len(s.Errors) == 0 && s.Probes == 0 {
				bad("source %s ended without sending anything: no data and no error says what happened", s.Name)
			}
		}
	}
	for _, s := range r.Sources {
		if !tabled[s.Name] && s.Name != "" && s.Name != "collector" {
			untabled = append(untabled, s.Name)
		}
	}

	got := map[string]wire.ProbeData{}
	for _, p := range r.Probes {
		got[p.Protocol+":"+p.Target] = p
	}
	for _, w := range probes {
		p, ok := got[w.Target]
		switch {
		case !ok:
			bad("no probe record for %s", w.Target)
		case p.Verdict != w.Verdict:
			bad("probe of %s is %s (%s), want %s", w.Target, p.Verdict, p.Error, w.Verdict)
		case w.Result != "" && probeResult(p) != w.Result:
			bad("probe of %s has result %q, want %q", w.Target, probeResult(p), w.Result)
		case w.Method != "" && p.Method != w.Method:
			bad("probe of %s ran by %q, want %q", w.Target, p.Method, w.Method)
		case !strings.Contains(p.Error, w.Error):
			bad("probe of %s says %q, want %q", w.Target, p.Error, w.Error)
		case w.Answer != "" && !contains(probeAnswers(p), w.Answer):
			bad("probe of %s answered %v, want %s among the answers", w.Target, probeAnswers(p), w.Answer)
		}
	}
	return problems, untabled
}

// probeResult is the "result" of a probe's detail (UDP probes set it).
func probeResult(p wire.ProbeData) string {
	if d, ok := p.Detail.(map[string]any); ok {
		r, _ := d["result"].(string)
		return r
	}
	return ""
}

// probeAnswers are the addresses of a DNS probe's detail.
func probeAnswers(p wire.ProbeData) []string {
	d, _ := p.Detail.(map[string]any)
	list, _ := d["answers"].([]any)
	var out []string
	for _, a := range list {
		if s, ok := a.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Summary is a table of what every source did, for the test log.
func (r *Report) Summary() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tMS\tRESULT")
	sorted := append([]*SourceResult(nil), r.Sources...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, s := range sorted {
		result := "nothing"
		switch {
		case len(s.Kinds) > 0 && len(s.Errors) > 0:
			result = fmt.Sprintf("data %v, %d errors: %s", s.Kinds, len(s.Errors), shorten(s.Errors[0]))
		case len(s.Kinds) > 0:
			result = fmt.Sprintf("data %v", s.Kinds)
		case len(s.Errors) > 0:
			result = "error: " + shorten(s.Errors[0])
		case s.Probes > 0:
			result = fmt.Sprintf("%d probes", s.Probes)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Name, s.DurationMS, result)
	}
	_ = tw.Flush()
	return b.String()
}

func shorten(s string) string {
	if len(s) > 110 {
		return s[:110] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anyContains(list []string, sub string) bool {
	for _, x := range list {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}
