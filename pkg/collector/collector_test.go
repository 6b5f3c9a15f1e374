package collector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// fakeSource is a Source whose behaviour is a function.
type fakeSource struct {
	name string
	fn   func(ctx context.Context, out Emitter) error
}

func (f fakeSource) Name() string                                   { return f.name }
func (f fakeSource) Collect(ctx context.Context, out Emitter) error { return f.fn(ctx, out) }

func artifactSource(name, kind string, data any) fakeSource {
	return fakeSource{name: name, fn: func(_ context.Context, out Emitter) error { return out.Artifact(kind, data) }}
}

// decodeAll decodes a whole stream with the plugin's decoder; any line that is not a record
// fails the test, which is how "stdout carries only NDJSON" is checked.
func decodeAll(t *testing.T, b []byte) []wire.Record {
	t.Helper()
	dec := wire.NewDecoder(bytes.NewReader(b))
	var recs []wire.Record
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("stream does not decode: %v\n%s", err, b)
		}
		recs = append(recs, r)
	}
}

func run(t *testing.T, cfg Config, sources ...Source) ([]wire.Record, wire.DoneData, []byte) {
	t.Helper()
	var buf bytes.Buffer
	var log bytes.Buffer
	cfg.Log = &log
	done, err := Run(context.Background(), &buf, cfg, sources)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if strings.Contains(log.String(), "{\"v\"") {
		t.Errorf("a record leaked into the log: %s", log.String())
	}
	return decodeAll(t, buf.Bytes()), done, buf.Bytes()
}

func checkFrame(t *testing.T, recs []wire.Record) {
	t.Helper()
	if len(recs) < 2 {
		t.Fatalf("want at least hello and done, got %d records", len(recs))
	}
	if recs[0].Type != wire.TypeHello {
		t.Errorf("first record is %q, want hello", recs[0].Type)
	}
	if last := recs[len(recs)-1]; last.Type != wire.TypeDone {
		t.Errorf("last record is %q, want done", last.Type)
	}
	for i, r := range recs[1 : len(recs)-1] {
		if r.Type == wire.TypeHello || r.Type == wire.TypeDone {
			t.Errorf("record %d is a second %s", i+1, r.Type)
		}
	}
}

func byType(recs []wire.Record, typ string) []wire.Record {
	var out []wire.Record
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func TestRunFraming(t *testing.T) {
	pretty := []byte("{\n  \"ID\": \"a\",\n  \"Flags\": 1\n}\n")
	sources := []Source{
		artifactSource("one", "k.one", map[string]int{"a": 1}),
		fakeSource{name: "raw", fn: func(_ context.Context, out Emitter) error {
			return out.RawArtifact("k.raw", pretty)
		}},
		fakeSource{name: "probe", fn: func(_ context.Context, out Emitter) error {
			return out.Probe(wire.ProbeData{Target: "10.96.0.10:53", Protocol: "udp", Verdict: "ok"})
		}},
	}
	recs, done, raw := run(t, Config{Version: "v1.2.3", Backend: BackendReplay, Since: time.Hour}, sources...)
	checkFrame(t, recs)

	if n := bytes.Count(raw, []byte("\n")); n != len(recs) {
		t.Errorf("stream has %d lines for %d records: a record spans lines", n, len(recs))
	}

	var hello wire.HelloData
	if err := json.Unmarshal(recs[0].Data, &hello); err != nil {
		t.Fatalf("hello data: %v", err)
	}
	exe, _ := os.Executable()
	b, _ := os.ReadFile(exe)
	sum := sha256.Sum256(b)
	want := wire.HelloData{CollectorVersion: "v1.2.3", SchemaVersion: wire.SchemaVersion, SHA256: hex.EncodeToString(sum[:]),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Backend: BackendReplay}
	got := hello
	got.Hostname, got.Since = "", ""
	if got != want {
		t.Errorf("hello = %+v, want %+v", got, want)
	}
	if _, err := time.Parse(time.RFC3339, hello.Since); err != nil {
		t.Errorf("hello since %q is not RFC 3339: %v", hello.Since, err)
	}

	arts := byType(recs, wire.TypeArtifact)
	if len(arts) != 2 {
		t.Fatalf("got %d artifacts, want 2", len(arts))
	}
	for _, a := range arts {
		switch a.Kind {
		case "k.one":
			if a.Source != "one" || string(a.Data) != `{"a":1}` {
				t.Errorf("artifact k.one = %s from %q", a.Data, a.Source)
			}
		case "k.raw":
			if a.Source != "raw" || string(a.Data) != `{"ID":"a","Flags":1}` {
				t.Errorf("raw artifact = %s from %q, want it compacted", a.Data, a.Source)
			}
		default:
			t.Errorf("unexpected kind %q", a.Kind)
		}
	}
	probes := byType(recs, wire.TypeProbe)
	if len(probes) != 1 || probes[0].Source != "probe" {
		t.Fatalf("probes = %+v", probes)
	}

	// Every source gets a start and an end progress record, the end with a duration field.
	stages := map[string][]string{}
	for _, r := range byType(recs, wire.TypeProgress) {
		var p wire.ProgressData
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatalf("progress data: %v", err)
		}
		stages[r.Source] = append(stages[r.Source], p.Stage)
	}
	for _, s := range sources {
		if got := strings.Join(stages[s.Name()], ","); got != "start,end" {
			t.Errorf("progress of %s = %q, want start,end", s.Name(), got)
		}
	}
	if done.Artifacts != 2 || done.Errors != 0 {
		t.Errorf("done = %+v, want 2 artifacts, 0 errors", done)
	}
	var last wire.DoneData
	if err := json.Unmarshal(recs[len(recs)-1].Data, &last); err != nil || last != done {
		t.Errorf("done record = %+v (%v), Run returned %+v", last, err, done)
	}
}

// TestRunIsolation checks that each way a source can fail yields exactly one error record
// naming it, while a healthy source next to it still delivers.
func TestRunIsolation(t *testing.T) {
	release := make(chan struct{})
	lateWrite := make(chan error, 1)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	tests := []struct {
		name    string
		src     fakeSource
		wantErr string
	}{
		{
			name: "error",
			src: fakeSource{name: "bad", fn: func(context.Context, Emitter) error {
				return errors.New("computenetwork.dll not found")
			}},
			wantErr: "computenetwork.dll not found",
		},
		{
			name: "panic",
			src: fakeSource{name: "boom", fn: func(context.Context, Emitter) error {
				var m map[string]int
				m["x"] = 1 // a real runtime panic, not a friendly one
				return nil
			}},
			wantErr: "panicked: assignment to entry in nil map",
		},
		{
			name: "hung call ignoring its context",
			src: fakeSource{name: "stuck", fn: func(_ context.Context, out Emitter) error {
				<-release // like an HNS call: nothing cancels it
				lateWrite <- out.Artifact("k.late", 1)
				return nil
			}},
			wantErr: "timed out after 50ms",
		},
		{
			name: "context-aware source past its deadline",
			src: fakeSource{name: "slow", fn: func(ctx context.Context, _ Emitter) error {
				<-ctx.Done()
				return ctx.Err()
			}},
			wantErr: "timed out after 50ms",
		},
		{
			name: "invalid raw JSON",
			src: fakeSource{name: "garbled", fn: func(_ context.Context, out Emitter) error {
				return out.RawArtifact("k.bad", []byte(`{"a":`))
			}},
			wantErr: "not valid JSON",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := artifactSource("good", "k.good", []string{"x"})
			recs, done, raw := run(t, Config{SourceTimeout: 50 * time.Millisecond}, tt.src, good)
			checkFrame(t, recs)
			errs := byType(recs, wire.TypeError)
			if len(errs) != 1 {
				t.Fatalf("got %d error records, want 1: %s", len(errs), raw)
			}
			if errs[0].Source != tt.src.name || !strings.Contains(errs[0].Error, tt.wantErr) {
				t.Errorf("error record = source %q %q, want source %q containing %q", errs[0].Source, errs[0].Error, tt.src.name, tt.wantErr)
			}
			arts := byType(recs, wire.TypeArtifact)
			if len(arts) != 1 || arts[0].Source != "good" {
				t.Errorf("artifacts = %+v, want only the good source's", arts)
			}
			if done.Errors != 1 || done.Artifacts != 1 {
				t.Errorf("done = %+v, want 1 artifact and 1 error", done)
			}
		})
	}

	// The abandoned source wakes up after the run: its write must be refused.
	close(release)
	if err := <-lateWrite; !errors.Is(err, ErrEmitterClosed) {
		t.Errorf("late write from an abandoned source = %v, want ErrEmitterClosed", err)
	}
}

func TestRunCounts(t *testing.T) {
	sources := []Source{
		fakeSource{name: "multi", fn: func(_ context.Context, out Emitter) error {
			for i := range 3 {
				if err := out.Artifact("k.file", i); err != nil {
					return err
				}
			}
			return out.Error(errors.New("one file was unreadable"))
		}},
		fakeSource{name: "partial", fn: func(_ context.Context, out Emitter) error {
			if err := out.Artifact("k.x", true); err != nil {
				return err
			}
			_ = out.Error(errors.New("first problem"))
			return errors.New("second problem")
		}},
		fakeSource{name: "probe-only", fn: func(_ context.Context, out Emitter) error {
			return out.Probe(wire.ProbeData{Target: "a", Verdict: "fail"})
		}},
	}
	recs, done, _ := run(t, Config{}, sources...)
	checkFrame(t, recs)
	want := wire.DoneData{Artifacts: 4, Errors: 3}
	done.DurationMS = 0
	if done != want {
		t.Errorf("done = %+v, want %+v", done, want)
	}
	if got := len(byType(recs, wire.TypeError)); got != 3 {
		t.Errorf("%d error records, want 3", got)
	}
	for _, r := range byType(recs, wire.TypeError) {
		if r.Source == "" {
			t.Errorf("error record without a source: %+v", r)
		}
	}
}

func TestRunConcurrencyBound(t *testing.T) {
	var active, peak atomic.Int32
	var sources []Source
	for i := range 8 {
		sources = append(sources, fakeSource{name: string(rune('a' + i)), fn: func(_ context.Context, out Emitter) error {
			n := active.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			for range 100 {
				runtime.Gosched()
			}
			active.Add(-1)
			return out.Artifact("k", 1)
		}})
	}
	_, done, _ := run(t, Config{Concurrency: 2}, sources...)
	if p := peak.Load(); p > 2 {
		t.Errorf("%d sources ran at once, want at most 2", p)
	}
	if done.Artifacts != 8 {
		t.Errorf("done = %+v, want 8 artifacts", done)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	started := atomic.Bool{}
	src := fakeSource{name: "never", fn: func(ctx context.Context, _ Emitter) error {
		started.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}}
	done, err := Run(ctx, &buf, Config{}, []Source{src, src})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	recs := decodeAll(t, buf.Bytes())
	checkFrame(t, recs)
	errs := byType(recs, wire.TypeError)
	if len(errs) != 2 || done.Errors != 2 {
		t.Fatalf("errors = %+v, done = %+v; want one per source", errs, done)
	}
	for _, e := range errs {
		if !strings.Contains(e.Error, "cancelled") {
			t.Errorf("error %q does not say the run was cancelled", e.Error)
		}
	}
}

// failingWriter accepts ok writes, then fails every write.
type failingWriter struct {
	mu sync.Mutex
	ok int
	n  int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n >= f.ok {
		return 0, errors.New("broken pipe")
	}
	f.n++
	return len(p), nil
}

func TestRunStreamFailure(t *testing.T) {
	for _, ok := range []int{0, 1, 3} {
		t.Run("after "+string(rune('0'+ok))+" writes", func(t *testing.T) {
			src := artifactSource("a", "k", 1)
			_, err := Run(context.Background(), &failingWriter{ok: ok}, Config{}, []Source{src, src, src})
			if err == nil || !strings.Contains(err.Error(), "broken pipe") {
				t.Errorf("Run = %v, want the write error", err)
			}
		})
	}
}

func TestAwait(t *testing.T) {
	t.Run("result", func(t *testing.T) {
		v, err := Await(context.Background(), func() (int, error) { return 7, nil })
		if v != 7 || err != nil {
			t.Errorf("Await = %v, %v", v, err)
		}
	})
	t.Run("context done first", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		block := make(chan struct{})
		defer close(block)
		_, err := Await(ctx, func() (int, error) { <-block; return 1, nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Await = %v, want context.Canceled", err)
		}
	})
	t.Run("panic", func(t *testing.T) {
		_, err := Await(context.Background(), func() (int, error) { panic("bad handle") })
		if err == nil || !strings.Contains(err.Error(), "bad handle") {
			t.Errorf("Await = %v, want the panic as an error", err)
		}
	})
}
