package winesmoke

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const sha = "5d78f940cba365e118ecc9860ae6f4f2d76324e20059b3f70c84e37d76a202ce"

// stream is a collector stream under construction.
type stream struct {
	buf  bytes.Buffer
	enc  *wire.Encoder
	arts int
	errs int
}

func newStream(hello wire.HelloData) *stream {
	s := &stream{}
	s.enc = wire.NewEncoder(&s.buf)
	_ = s.enc.Emit(wire.TypeHello, "", "", hello)
	return s
}

func goodHello() wire.HelloData {
	return wire.HelloData{CollectorVersion: "v1", SchemaVersion: wire.SchemaVersion, SHA256: sha, OS: "windows", Arch: "amd64", Backend: "windows"}
}

// run adds one source's records: start, its artifacts or errors, end.
func (s *stream) run(source string, kinds []string, errs []string, probes ...wire.ProbeData) *stream {
	_ = s.enc.Emit(wire.TypeProgress, source, "", wire.ProgressData{Stage: "start"})
	for _, k := range kinds {
		_ = s.enc.Emit(wire.TypeArtifact, source, k, []string{})
		s.arts++
	}
	for _, e := range errs {
		_ = s.enc.Write(wire.Record{Type: wire.TypeError, Source: source, Error: e})
		s.errs++
	}
	for _, p := range probes {
		_ = s.enc.Emit(wire.TypeProbe, source, "", p)
	}
	_ = s.enc.Emit(wire.TypeProgress, source, "", wire.ProgressData{Stage: "end", DurationMS: 3})
	return s
}

func (s *stream) done() []byte {
	_ = s.enc.Emit(wire.TypeDone, "", "", wire.DoneData{Artifacts: s.arts, Errors: s.errs})
	return s.buf.Bytes()
}

var table = []Expect{
	{Source: "hcn.networks", Outcome: Unavailable, Text: hcnMissing, Required: true},
	{Source: "services", Outcome: Artifact, Required: true},
	{Source: "processes", Outcome: Artifact},
	{Source: "events", Outcome: Either},
	{Source: "probes.host", Outcome: Either, Required: true},
	{Source: "pod.compartment", Outcome: Unavailable, Text: CompartmentMissing},
}

var (
	okProbe  = wire.ProbeData{Target: "127.0.0.1:4000", Protocol: "tcp", Verdict: "ok", Method: "host-tcp"}
	udpProbe = wire.ProbeData{Target: "127.0.0.1:5000", Protocol: "udp", Verdict: "ok", Method: "host-udp", Detail: map[string]string{"result": "sent"}}
	dnsProbe = wire.ProbeData{Target: "smoke.winnet.test@127.0.0.1:5353", Protocol: "dns", Verdict: "ok", Method: "host-dns",
		Detail: map[string]any{"rcode": "NOERROR", "answers": []string{"192.0.2.53"}}}
	podProbe = wire.ProbeData{Target: "127.0.0.1:9", Protocol: "tcp", Verdict: "skipped", Method: "pod-compartment",
		Error: CompartmentMissing + ", so this system cannot move a thread into another network compartment"}
)

func healthy() *stream {
	return newStream(goodHello()).
		run("hcn.networks", nil, []string{hcnMissing + "; the node lacks the Windows Containers feature"}).
		run("services", []string{"services"}, nil).
		run("events", nil, []string{"EvtQuery returned no handle"}).
		run("probes.host", nil, nil, okProbe, udpProbe, dnsProbe).
		run("pod.compartment", nil, []string{CompartmentMissing + ", so this system cannot move a thread"}, podProbe)
}

func TestCheck(t *testing.T) {
	probes := []ProbeWant{{Target: "tcp:127.0.0.1:4000", Verdict: "ok"}}
	tests := []struct {
		name     string
		stream   []byte
		probes   []ProbeWant
		want     []string // problems, by substring; none when empty
		untabled []string
	}{
		{name: "what Wine gives", stream: healthy().done(), probes: probes},
		{name: "a source the table does not know is listed",
			stream: healthy().run("tool.hnsdiag", nil, []string{"hnsdiag.exe is not in C:\\windows\\system32"}).done(), untabled: []string{"tool.hnsdiag"}},
		{name: "wrong exe", stream: func() []byte {
			h := goodHello()
			h.SHA256 = strings.Repeat("0", 64)
			return newStream(h).run("hcn.networks", nil, []string{hcnMissing}).run("services", []string{"services"}, nil).
				run("probes.host", nil, nil, okProbe).done()
		}(), want: []string{"but the exe's is " + sha}},
		{name: "replay backend", stream: func() []byte {
			h := goodHello()
			h.Backend = "replay"
			return newStream(h).run("hcn.networks", nil, []string{hcnMissing}).run("services", []string{"services"}, nil).
				run("probes.host", nil, nil, okProbe).done()
		}(), want: []string{`backend "replay"`}},
		{name: "data where an error is expected, and the reverse",
			stream: newStream(goodHello()).run("hcn.networks", []string{"hcn.networks"}, nil).run("services", nil, []string{"access denied"}).
				run("probes.host", nil, nil, okProbe).done(),
			want: []string{"source hcn.networks should report", "source services should return data"}},
		{name: "required source missing, optional one absent is fine",
			stream: newStream(goodHello()).run("hcn.networks", nil, []string{hcnMissing}).run("probes.host", nil, nil, okProbe).done(),
			want:   []string{"source services is not registered"}},
		{name: "panic, multi-line error, hang",
			stream: healthy().run("processes", []string{"processes"}, []string{"the collector source panicked: boom"}).
				run("tool.x", nil, []string{"line one\nline two"}).run("tool.y", nil, []string{"timed out after 30s; the source was abandoned"}).done(),
			want: []string{"source processes panicked", "over several lines", "source tool.y hung", "source processes should return data"}, untabled: []string{"tool.x", "tool.y"}},
		{name: "probe verdict", stream: healthy().done(), probes: []ProbeWant{{Target: "tcp:127.0.0.1:4000", Verdict: "fail"}, {Target: "tcp:127.0.0.1:1", Verdict: "fail"}},
			want: []string{"probe of tcp:127.0.0.1:4000 is ok", "no probe record for tcp:127.0.0.1:1"}},
		{name: "udp result", stream: healthy().done(), probes: []ProbeWant{{Target: "udp:127.0.0.1:5000", Verdict: "ok", Result: "replied"}},
			want: []string{`probe of udp:127.0.0.1:5000 has result "sent", want "replied"`}},
		{name: "dns answer and method", stream: healthy().done(), probes: []ProbeWant{
			{Target: "dns:smoke.winnet.test@127.0.0.1:5353", Verdict: "ok", Method: "host-dns", Answer: "192.0.2.53"},
			{Target: "dns:smoke.winnet.test@127.0.0.1:5353", Verdict: "ok", Answer: "192.0.2.54"},
			{Target: "dns:smoke.winnet.test@127.0.0.1:5353", Verdict: "ok", Method: "pod-compartment"}},
			want: []string{"answered [192.0.2.53], want 192.0.2.54 among the answers", `ran by "host-dns", want "pod-compartment"`}},
		{name: "skipped pod probe", stream: healthy().done(), probes: []ProbeWant{
			{Target: "tcp:127.0.0.1:9", Verdict: "skipped", Method: "pod-compartment", Error: CompartmentMissing},
			{Target: "tcp:127.0.0.1:9", Verdict: "skipped", Error: "Hyper-V"}},
			want: []string{"probe of tcp:127.0.0.1:9 says"}},
		{name: "done miscounts", stream: func() []byte {
			s := healthy()
			s.arts += 2
			return s.done()
		}(), want: []string{"done counts 3 artifacts"}},
		{name: "the hash could not be computed", stream: healthy().run("collector", nil, []string{"cannot open the running executable"}).done(),
			want: []string{"the collector itself reported: cannot open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			problems, untabled := r.Check(sha, table, tt.probes)
			if len(problems) != len(tt.want) {
				t.Errorf("problems = %q, want %d matching %q", problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if i < len(problems) && !strings.Contains(problems[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
				}
			}
			if strings.Join(untabled, ",") != strings.Join(tt.untabled, ",") {
				t.Errorf("untabled = %v, want %v", untabled, tt.untabled)
			}
		})
	}
}

func TestParse(t *testing.T) {
	unended := newStream(goodHello())
	_ = unended.enc.Emit(wire.TypeProgress, "services", "", wire.ProgressData{Stage: "start"})
	tests := []struct {
		name, want string
		stream     []byte
	}{
		{"nothing", "printed nothing", nil},
		{"wine noise on stdout", "not NDJSON", append([]byte("fixme:ntdll:NtQuerySystemInformation\n"), healthy().done()...)},
		{"no hello", "the first record is progress", bytes.SplitN(healthy().done(), []byte("\n"), 2)[1]},
		{"no done", "no done record", unended.buf.Bytes()},
		{"after done", "comes after done", append(healthy().done(), healthy().done()...)},
		{"bad probe data", "does not decode", func() []byte {
			s := newStream(goodHello())
			_ = s.enc.Write(wire.Record{Type: wire.TypeProbe, Source: "probes.host", Data: json.RawMessage(`{"verdict":7}`)})
			return s.done()
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.stream); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error with %q", err, tt.want)
			}
		})
	}

	r, err := Parse(healthy().done())
	if err != nil {
		t.Fatal(err)
	}
	sum := r.Summary()
	for _, w := range []string{"SOURCE", "hcn.networks", "error: " + hcnMissing[:40], "services", "data [services]", "probes.host", "3 probes"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
}

func TestExpectationsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Expectations {
		if seen[e.Source] {
			t.Errorf("%s is in the table twice", e.Source)
		}
		seen[e.Source] = true
		if e.Outcome == Unavailable && e.Text == "" {
			t.Errorf("%s is expected unavailable but says no error text to look for", e.Source)
		}
		if e.Why == "" {
			t.Errorf("%s does not say what Wine does", e.Source)
		}
	}
}
