package capture

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// fakePktmon records the commands it is given and plays a node's pktmon: start creates the
// .etl and a goroutine grows it until stop.
type fakePktmon struct {
	mu       sync.Mutex
	calls    []string
	list     string // what filter list prints
	failOn   string // a command (its first words) that fails
	noPcap   bool   // etl2pcap is missing
	comps    string // what list --json prints
	grow     int    // bytes added to the .etl each 5ms while running
	running  bool
	stopGrow chan struct{}
}

func (f *fakePktmon) run(_ context.Context, argv ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(argv, " ")
	f.calls = append(f.calls, cmd)
	if f.failOn != "" && strings.HasPrefix(cmd, f.failOn) {
		return "The operation failed.", errors.New("exit status 1")
	}
	switch argv[0] {
	case "filter":
		if argv[1] == "list" {
			return f.list, nil
		}
	case "start":
		etl := argv[len(argv)-5]
		if err := os.WriteFile(etl, []byte("ETL"), 0o600); err != nil {
			return "", err
		}
		f.running = true
		f.stopGrow = make(chan struct{})
		if f.grow > 0 {
			go grow(etl, f.grow, f.stopGrow)
		}
	case "stop":
		if f.running {
			close(f.stopGrow)
			f.running = false
		}
	case "etl2pcap":
		if f.noPcap {
			return "Unknown command: etl2pcap", errors.New("exit status 87")
		}
		content := "PCAPNG-BYTES"
		if i := slices.Index(argv, "--component-id"); i > 0 {
			content = "DROPS-OF-" + argv[i+1]
		}
		return "", os.WriteFile(argv[slices.Index(argv, "--out")+1], []byte(content), 0o600)
	case "etl2txt":
		return "", os.WriteFile(argv[3], []byte("packet text\n"), 0o600)
	case "list":
		return f.comps, nil
	}
	return "", nil
}

func grow(path string, n int, stop chan struct{}) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return
			}
			_, _ = f.Write(make([]byte, n))
			_ = f.Close()
		}
	}
}

func (f *fakePktmon) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		// The work folder is a temp path: keep the command's shape.
		if strings.HasPrefix(c, "start ") || strings.HasPrefix(c, "etl2") {
			c = strings.Fields(c)[0]
		}
		out[i] = c
	}
	return out
}

type result struct {
	err    error
	files  map[string]string
	status []wire.CaptureStatus
}

func runCapture(t *testing.T, f *fakePktmon, control io.Reader, ctx context.Context, mod func(*Config)) result {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := Config{
		Pktmon: f.run, Dir: filepath.Join(t.TempDir(), "capture"),
		Filters:  []pktmon.Filter{{Protocol: "UDP", Ports: []uint16{53}, IPs: []netip.Addr{netip.MustParseAddr("10.244.1.5")}}},
		Duration: time.Minute, MaxBytes: 1 << 20, Control: control, Out: &out, Status: wire.NewEncoder(&errb),
		Poll: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	err := Run(ctx, cfg)
	r := result{err: err, files: map[string]string{}}
	tr := tar.NewReader(&out)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		r.files[hdr.Name] = string(b)
	}
	dec := wire.NewDecoder(&errb)
	for {
		rec, err := dec.Next()
		if err != nil {
			break
		}
		if rec.Kind == wire.KindCaptureStatus {
			var s wire.CaptureStatus
			if err := json.Unmarshal(rec.Data, &s); err == nil {
				r.status = append(r.status, s)
			}
		}
	}
	if _, err := os.Stat(cfg.Dir); !os.IsNotExist(err) {
		t.Errorf("the capture folder %s was left on the node (%v)", cfg.Dir, err)
	}
	return r
}

func (r result) final() wire.CaptureStatus {
	for i := len(r.status) - 1; i >= 0; i-- {
		if r.status[i].State == wire.CaptureStopped {
			return r.status[i]
		}
	}
	return wire.CaptureStatus{}
}

func TestStopLineEndsTheCaptureAndSendsThePcapng(t *testing.T) {
	f := &fakePktmon{list: "There are no packet filters."}
	pr, pw := io.Pipe()
	go func() { time.Sleep(30 * time.Millisecond); _, _ = io.WriteString(pw, "noise\nstop\n") }()
	r := runCapture(t, f, pr, context.Background(), nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{"filter list", "filter add winnet-1 -t UDP -i 10.244.1.5 -p 53 -e", "start", "stop", "etl2pcap", "filter remove"}
	if got := f.commands(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pktmon commands:\n got %q\nwant %q", got, want)
	}
	if r.files["capture.pcapng"] != "PCAPNG-BYTES" || len(r.files) != 1 {
		t.Errorf("tar stream = %v, want capture.pcapng only", r.files)
	}
	if s := r.final(); s.Reason != wire.StopAsked {
		t.Errorf("reason = %q, want %q", s.Reason, wire.StopAsked)
	}
	if last := r.status[len(r.status)-1]; last.State != wire.CaptureCompleted || last.Format != wire.CaptureFormatPcapng {
		t.Errorf("last status = %+v, want completed pcapng", last)
	}
}

func TestEndings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       *fakePktmon
		control func() io.Reader
		mod     func(*Config)
		cancel  bool
		reason  string
	}{
		{name: "duration", f: &fakePktmon{}, mod: func(c *Config) { c.Duration = 40 * time.Millisecond }, reason: wire.StopDuration},
		{name: "size", f: &fakePktmon{grow: 64 << 10}, mod: func(c *Config) { c.MaxBytes = 256 << 10 }, reason: wire.StopSize},
		// The plugin went away: its end of stdin closed.
		{name: "stdin closed", f: &fakePktmon{}, control: func() io.Reader { return strings.NewReader("") }, reason: wire.StopAsked},
		{name: "signal", f: &fakePktmon{}, cancel: true, reason: wire.StopSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var control io.Reader
			if tc.control != nil {
				control = tc.control()
			} else {
				control, _ = io.Pipe() // open, silent
			}
			ctx := context.Background()
			if tc.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(30*time.Millisecond, cancel)
			}
			r := runCapture(t, tc.f, control, ctx, tc.mod)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if s := r.final(); s.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", s.Reason, tc.reason)
			}
			cmds := tc.f.commands()
			if cmds[len(cmds)-1] != "filter remove" || !contains(cmds, "stop") {
				t.Errorf("pktmon was not stopped and cleared: %q", cmds)
			}
		})
	}
}

func TestStaleWinnetSessionIsStoppedFirst(t *testing.T) {
	f := &fakePktmon{list: " 1  winnet-1  UDP  10.244.1.9\n"}
	r := runCapture(t, f, strings.NewReader(""), context.Background(), nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	cmds := f.commands()
	if strings.Join(cmds[:3], "|") != "filter list|stop|filter remove" {
		t.Errorf("commands = %q, want the stale session stopped and its filters removed first", cmds)
	}
	if !strings.Contains(r.status[1].Note, "earlier winnet capture") {
		t.Errorf("status %+v does not say a stale session was stopped", r.status[1])
	}
}

func TestFailuresStillClearPktmon(t *testing.T) {
	t.Run("start refused", func(t *testing.T) {
		f := &fakePktmon{failOn: "start"}
		r := runCapture(t, f, strings.NewReader(""), context.Background(), nil)
		if r.err == nil || !strings.Contains(r.err.Error(), "another capture") || !strings.Contains(r.err.Error(), "The operation failed.") {
			t.Fatalf("err = %v, want pktmon's output and a hint about another capture", r.err)
		}
		cmds := f.commands()
		if cmds[len(cmds)-1] != "filter remove" || contains(cmds, "stop") {
			t.Errorf("commands = %q: a session that never started needs no stop, but the filters must go", cmds)
		}
	})
	t.Run("filter refused", func(t *testing.T) {
		f := &fakePktmon{failOn: "filter add"}
		r := runCapture(t, f, strings.NewReader(""), context.Background(), nil)
		if r.err == nil || contains(f.commands(), "start") || f.commands()[len(f.commands())-1] != "filter remove" {
			t.Errorf("err %v, commands %q", r.err, f.commands())
		}
	})
	t.Run("no pktmon", func(t *testing.T) {
		f := &fakePktmon{failOn: "filter list"}
		r := runCapture(t, f, strings.NewReader(""), context.Background(), nil)
		if r.err == nil || !strings.Contains(r.err.Error(), "Windows Server 2019") {
			t.Errorf("err = %v, want it to say where pktmon exists", r.err)
		}
	})
}

func TestWithoutEtl2pcapTheEtlAndTextAreSent(t *testing.T) {
	f := &fakePktmon{noPcap: true}
	r := runCapture(t, f, strings.NewReader(""), context.Background(), nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.files["capture.etl"] == "" || r.files["capture.txt"] != "packet text\n" || len(r.files) != 2 {
		t.Errorf("files = %v, want capture.etl and capture.txt", r.files)
	}
	var sending wire.CaptureStatus
	for _, s := range r.status {
		if s.State == wire.CaptureSending {
			sending = s
		}
	}
	if sending.Format != wire.CaptureFormatETL || !strings.Contains(sending.Note, "etl2pcap") {
		t.Errorf("sending status = %+v, want format etl and a note naming etl2pcap", sending)
	}
}

func TestBadConfigIsRefusedBeforePktmon(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no duration":  func(c *Config) { c.Duration = 0 },
		"too long":     func(c *Config) { c.Duration = 2 * time.Hour },
		"no size":      func(c *Config) { c.MaxBytes = 0 },
		"many filters": func(c *Config) { c.Filters = make([]pktmon.Filter, 33) },
	} {
		f := &fakePktmon{}
		var errb bytes.Buffer
		cfg := Config{Pktmon: f.run, Dir: t.TempDir(), Duration: time.Second, MaxBytes: 1 << 20, Out: io.Discard, Status: wire.NewEncoder(&errb)}
		mod(&cfg)
		if err := Run(context.Background(), cfg); err == nil || len(f.commands()) != 0 {
			t.Errorf("%s: err %v, commands %q", name, err, f.commands())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A drops capture converts only the dropped packets (etl2pcap leaves them out by default),
// sends pktmon's text (where each drop's reason is) beside them, and, per component that
// pktmon lists, the packets that component dropped, for the plugin to count.
func TestDropsSendsWhatEachComponentDropped(t *testing.T) {
	f := &fakePktmon{comps: `[{"Group": "Ethernet", "Components": [{"Id": 3, "Name": "Intel NIC", "Type": "Miniport"}, {"Id": 12, "Name": "VFP", "Type": "Filter"}]}]`}
	r := runCapture(t, f, nil, context.Background(), func(c *Config) { c.Drops = true; c.Duration = 30 * time.Millisecond })
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "start ") && !strings.Contains(c, " --type drop ") {
			t.Errorf("%q does not capture drop events only", c)
		}
	}
	want := map[string]string{
		"capture.pcapng":            "PCAPNG-BYTES",
		"capture.txt":               "packet text\n",
		"drops/components.json":     f.comps,
		"drops/component-3.pcapng":  "DROPS-OF-3",
		"drops/component-12.pcapng": "DROPS-OF-12",
	}
	for name, content := range want {
		if r.files[name] != content {
			t.Errorf("tar entry %s = %q, want %q (entries %v)", name, r.files[name], content, keys(r.files))
		}
	}
	if len(r.files) != len(want) {
		t.Errorf("tar entries %v, want %v", keys(r.files), keys(want))
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "etl2pcap") && !strings.Contains(c, " --drop-only") {
			t.Errorf("%q converts without --drop-only: the dropped packets would be left out", c)
		}
	}
}

// Without a usable component list the drops still arrive, with a note saying why they are
// not counted per component.
func TestDropsWithoutComponentList(t *testing.T) {
	for name, f := range map[string]*fakePktmon{
		"list fails":      {failOn: "list"},
		"list unreadable": {comps: "Unknown option --json"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCapture(t, f, nil, context.Background(), func(c *Config) { c.Drops = true; c.Duration = 20 * time.Millisecond })
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.files["capture.pcapng"] == "" || len(r.files) != 2 {
				t.Errorf("tar entries %v, want the drops and their text", keys(r.files))
			}
			note := ""
			for _, s := range r.status {
				if s.State == wire.CaptureSending {
					note = s.Note
				}
			}
			if !strings.Contains(note, "not counted per component") {
				t.Errorf("sending note = %q", note)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// stalled is a stream nobody reads and nobody closes: every write blocks.
type stalled struct{ never chan struct{} }

func (s stalled) Write(p []byte) (int, error) { <-s.never; return 0, io.ErrClosedPipe }

// A plugin that stops reading without its stream closing (a stalled connection) must not hold
// the capture: it still ends on its duration, and pktmon is stopped and its filters removed
// before the files are sent (the send then stalls too, and fails when the context ends).
func TestStalledStreamsStillClearPktmon(t *testing.T) {
	f := &fakePktmon{}
	never := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(never) }) }
	t.Cleanup(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			Pktmon: f.run, Dir: filepath.Join(t.TempDir(), "capture"), Duration: 50 * time.Millisecond, MaxBytes: 1 << 20,
			Out: stalled{never}, Status: wire.NewEncoder(stalled{never}), Poll: time.Millisecond, StatusFlush: 10 * time.Millisecond,
		})
	}()
	// The send blocks on the stalled stream; by then pktmon must already be clear.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(f.commands(), "|"), "filter remove") {
		if time.Now().After(deadline) {
			t.Fatalf("pktmon was not cleared while the streams stalled; commands %q", f.commands())
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := []string{"filter list", "start", "stop", "etl2pcap", "filter remove"}
	if got := f.commands(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pktmon commands:\n got %q\nwant %q", got, want)
	}
	cancel()
	release() // the stalled writes now fail: Run returns
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run succeeded although nothing could be sent")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return once its streams failed")
	}
}
