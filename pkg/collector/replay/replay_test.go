package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// replayDir runs the replay backend over dir through the real runtime and returns the decoded
// records and the log; requested are the --probe flags.
func replayDir(t *testing.T, dir string, requested ...probe.Target) ([]wire.Record, string) {
	t.Helper()
	var log bytes.Buffer
	sources, err := Sources(dir, &log, requested...)
	if err != nil {
		t.Fatalf("Sources(%s): %v", dir, err)
	}
	var out bytes.Buffer
	if _, err := collector.Run(context.Background(), &out, collector.Config{Backend: collector.BackendReplay, Log: &log}, sources); err != nil {
		t.Fatalf("Run: %v", err)
	}
	dec := wire.NewDecoder(&out)
	var recs []wire.Record
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding the stream: %v", err)
		}
		recs = append(recs, r)
	}
	if len(recs) < 2 || recs[0].Type != wire.TypeHello || recs[len(recs)-1].Type != wire.TypeDone {
		t.Fatalf("stream is not framed by hello..done: %+v", recs)
	}
	return recs, log.String()
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func utf16leBOM(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}

func TestJSONFiles(t *testing.T) {
	good := []byte(`[{"name":"hns","state":"Running"}]`)
	tests := []struct {
		name     string
		file     string
		data     []byte
		kind     string
		wantData string // the artifact's data when it succeeds
		wantErr  string // the error record's text when it fails
	}{
		{name: "array passes verbatim, unknown fields kept", file: "hns-endpoints.json", kind: wire.KindHCNEndpoints,
			data:     []byte("[\n {\"ID\": \"A\", \"Flags\": 1, \"Future\": {\"x\": true}}\n]\n"),
			wantData: `[{"ID":"A","Flags":1,"Future":{"x":true}}]`},
		{name: "single object becomes a one-item array", file: "hns-networks.json", kind: wire.KindHCNNetworks,
			data: []byte(`{"ID":"N","Type":"L2Bridge"}`), wantData: `[{"ID":"N","Type":"L2Bridge"}]`},
		{name: "UTF-16LE with BOM from PowerShell 5.1", file: "hns-loadbalancers.json", kind: wire.KindHCNLoadBalancers,
			data: utf16leBOM("{\r\n    \"ID\":  \"L\",\r\n    \"FrontendVIPs\":  [\"10.96.0.10\"]\r\n}\r\n"), wantData: `[{"ID":"L","FrontendVIPs":["10.96.0.10"]}]`},
		{name: "UTF-8 with BOM", file: "hns-namespaces.json", kind: wire.KindHCNNamespaces,
			data: append([]byte{0xEF, 0xBB, 0xBF}, `[{"ID":"S"}]`...), wantData: `[{"ID":"S"}]`},
		{name: "empty file is an empty array", file: "hns-policylists.json", kind: wire.KindHNSPolicyLists,
			data: []byte("\r\n"), wantData: `[]`},
		{name: "null is an empty array", file: "processes.json", kind: wire.KindProcesses,
			data: []byte("null"), wantData: `[]`},
		{name: "v1 endpoints", file: "hns-endpoints-v1.json", kind: wire.KindHNSEndpointsV1,
			data:     []byte(`[{"ID":"A","IsRemoteEndpoint":false,"State":3}]`),
			wantData: `[{"ID":"A","IsRemoteEndpoint":false,"State":3}]`},
		{name: "event messages are redacted as on a node", file: "events.json", kind: wire.KindEvents,
			data:     []byte(`[{"channel":"System","id":1,"level":"Error","time":"2025-11-26T01:00:00Z","message":"--token=abc"},{"id":2,"message":"clean","channel":"System"}]`),
			wantData: `[{"channel":"System","id":1,"level":"Error","message":"--token=[REDACTED:secret]","time":"2025-11-26T01:00:00Z"},{"id":2,"message":"clean","channel":"System"}]`},
		{name: "version object", file: "hns-version.json", kind: wire.KindHNSVersion,
			data: []byte(`{"Major":13,"Minor":2}`), wantData: `{"Major":13,"Minor":2}`},
		{name: "os info", file: "os.json", kind: wire.KindOSInfo,
			data:     []byte(`{"productName":"Windows Server 2022 Datacenter","build":"20348","ubr":2700}`),
			wantData: `{"productName":"Windows Server 2022 Datacenter","build":"20348","ubr":2700}`},
		{name: "events", file: "events.json", kind: wire.KindEvents,
			data:     []byte(`{"channel":"System","id":7031,"level":"Error","time":"2025-11-26T01:00:00Z","message":"x"}`),
			wantData: `[{"channel":"System","id":7031,"level":"Error","time":"2025-11-26T01:00:00Z","message":"x"}]`},

		{name: "invalid JSON names the line", file: "hns-endpoints.json", kind: wire.KindHCNEndpoints,
			data: []byte("[\n{\"ID\": \"A\",}\n]"), wantErr: "hns-endpoints.json: not valid JSON at line 2"},
		{name: "array where an object is wanted", file: "os.json", kind: wire.KindOSInfo,
			data: []byte(`[{"build":"20348"}]`), wantErr: "want a JSON object, found an array"},
		{name: "array of non-objects", file: "hns-networks.json", kind: wire.KindHCNNetworks,
			data: []byte(`["a"]`), wantErr: "item 0 is a string"},
		{name: "scalar where an array is wanted", file: "hns-networks.json", kind: wire.KindHCNNetworks,
			data: []byte(`42`), wantErr: "want a JSON array of objects, found a number"},
		{name: "mistyped field", file: "events.json", kind: wire.KindEvents,
			data: []byte(`[{"channel":"System","id":"seven"}]`), wantErr: "does not match the events format"},
		{name: "empty object file", file: "hns-version.json", kind: wire.KindHNSVersion,
			data: nil, wantErr: "the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string][]byte{tt.file: tt.data, "services.json": good})
			recs, _ := replayDir(t, dir)
			var got, services *wire.Record
			var errs []wire.Record
			for i, r := range recs {
				switch {
				case r.Type == wire.TypeArtifact && r.Kind == tt.kind:
					got = &recs[i]
				case r.Type == wire.TypeArtifact && r.Kind == wire.KindServices:
					services = &recs[i]
				case r.Type == wire.TypeError:
					errs = append(errs, r)
				}
			}
			if services == nil || string(services.Data) != string(good) {
				t.Errorf("the healthy file next to it was not replayed intact: %+v", services)
			}
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %+v", errs)
				}
				if got == nil {
					t.Fatalf("no %s artifact", tt.kind)
				}
				if string(got.Data) != compact(t, tt.wantData) {
					t.Errorf("data = %s, want %s", got.Data, tt.wantData)
				}
				if got.Source != tt.kind {
					t.Errorf("source = %q, want %q (named like the Windows source)", got.Source, tt.kind)
				}
				return
			}
			if got != nil {
				t.Errorf("a broken file was emitted: %s", got.Data)
			}
			if len(errs) != 1 || errs[0].Source != tt.kind || !strings.Contains(errs[0].Error, tt.wantErr) {
				t.Errorf("errors = %+v, want one from %s containing %q", errs, tt.kind, tt.wantErr)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	proxyLog := "I1126 00:58:10.101234    4242 server.go:100] \"Starting\"\n"
	dir := writeFiles(t, map[string][]byte{
		"files/C/k/kube-proxy.log":              []byte(proxyLog),
		"files/C/etc/cni/net.d/10-flannel.conf": utf16leBOM(`{"name":"cbr0"}`),
		"files/c/ProgramData/containerd/x.toml": []byte("version = 2\n"),
		"files/notadrive/x.txt":                 []byte("x"),
		"files/C/notes.txt":                     []byte(""),
		"hns-version.json":                      []byte(`{"Major":13,"Minor":2}`),
		"README.md":                             []byte("# scenario"),
		"cluster.yaml":                          []byte("kind: Namespace"),
		"hns-leftover.csv":                      []byte("a,b"),
		".hidden":                               []byte("x"),
	})
	recs, log := replayDir(t, dir)

	want := map[string]wire.FileData{
		`C:\k\kube-proxy.log`:              {Path: `C:\k\kube-proxy.log`, Role: "log:kube-proxy", Size: int64(len(proxyLog)), Content: proxyLog},
		`C:\etc\cni\net.d\10-flannel.conf`: {Path: `C:\etc\cni\net.d\10-flannel.conf`, Role: "cni-config", Size: 32, Content: `{"name":"cbr0"}`},
		`C:\ProgramData\containerd\x.toml`: {Path: `C:\ProgramData\containerd\x.toml`, Role: "containerd-config", Size: 12, Content: "version = 2\n"},
		`C:\notes.txt`:                     {Path: `C:\notes.txt`},
	}
	got := map[string]wire.FileData{}
	var errs []wire.Record
	for _, r := range recs {
		switch {
		case r.Type == wire.TypeArtifact && r.Kind == wire.KindFile:
			var fd wire.FileData
			if err := json.Unmarshal(r.Data, &fd); err != nil {
				t.Fatalf("file data: %v", err)
			}
			if r.Source != "files" {
				t.Errorf("file record source = %q, want files", r.Source)
			}
			got[fd.Path] = fd
		case r.Type == wire.TypeError:
			errs = append(errs, r)
		}
	}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("file %s = %+v, want %+v", path, got[path], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d file records, want %d: %v", len(got), len(want), got)
	}
	if len(errs) != 1 || errs[0].Source != "files" || !strings.Contains(errs[0].Error, `must be a drive letter`) ||
		!strings.Contains(errs[0].Error, "files/notadrive/x.txt") {
		t.Errorf("errors = %+v, want one naming files/notadrive/x.txt", errs)
	}
	if !strings.Contains(log, "skipping hns-leftover.csv") {
		t.Errorf("log does not report the unknown file: %s", log)
	}
	for _, quiet := range []string{"README.md", "cluster.yaml", ".hidden"} {
		if strings.Contains(log, "skipping "+quiet) {
			t.Errorf("log reports %s, which is expected in a scenario: %s", quiet, log)
		}
	}
	for _, r := range recs {
		if r.Type == wire.TypeArtifact && r.Kind != wire.KindFile && r.Kind != wire.KindHNSVersion {
			t.Errorf("unexpected artifact %s", r.Kind)
		}
	}
}

func TestProbes(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		ProbesFile: []byte(`[{"target":"10.96.0.10:53","protocol":"udp","verdict":"timeout","error":"no answer"},` +
			`{"target":"10.96.12.34:80","protocol":"tcp","verdict":"ok","latencyMs":2}]`),
	})
	recs, _ := replayDir(t, dir)
	var got []wire.ProbeData
	for _, r := range recs {
		if r.Type == wire.TypeProbe {
			var p wire.ProbeData
			if err := json.Unmarshal(r.Data, &p); err != nil {
				t.Fatal(err)
			}
			got = append(got, p)
		}
	}
	if len(got) != 2 || got[0].Verdict != "timeout" || got[1].Target != "10.96.12.34:80" || got[1].LatencyMS != 2 {
		t.Errorf("probes = %+v", got)
	}
}

func TestSourcesErrors(t *testing.T) {
	if _, err := Sources(filepath.Join(t.TempDir(), "missing"), nil); err == nil || !strings.Contains(err.Error(), "replay scenario folder") {
		t.Errorf("Sources(missing) = %v, want an error naming the folder", err)
	}
	var log bytes.Buffer
	srcs, err := Sources(t.TempDir(), &log)
	if err != nil || len(srcs) != 0 || !strings.Contains(log.String(), "no scenario files") {
		t.Errorf("Sources(empty) = %v, %v, log %q", srcs, err, log.String())
	}
}

func TestWindowsPath(t *testing.T) {
	tests := []struct {
		rel, want, wantErr string
	}{
		{rel: "C/k/kube-proxy.log", want: `C:\k\kube-proxy.log`},
		{rel: "d/data/x", want: `D:\data\x`},
		{rel: "C/x", want: `C:\x`},
		{rel: "C", wantErr: "no path on the drive"},
		{rel: "var/log/x", wantErr: "must be a drive letter"},
		{rel: "1/x", wantErr: "must be a drive letter"},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			got, err := WindowsPath(filepath.FromSlash(tt.rel))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("WindowsPath(%q) = %q, %v; want error %q", tt.rel, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("WindowsPath(%q) = %q, %v; want %q", tt.rel, got, err, tt.want)
			}
		})
	}
}

func TestTools(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		"tools/vfpctrl.txt":              []byte("Port name : 5A7C6B2E\r\nMAC address : 00-15-5D-D1-80-05\r\n"),
		"tools/vfpctrl.port-counter.txt": []byte("> vfpctrl.exe /port 5A7C6B2E /get-port-counter\nDropped : 0\n"),
		"tools/hnsdiag.txt":              utf16leBOM("Networks:\r\ncbr0\r\n"),
		"tools/notes.md":                 []byte("x"),
	})
	recs, log := replayDir(t, dir)
	var got []wire.ToolOutput
	sources := map[string]bool{}
	for _, r := range recs {
		if r.Type == wire.TypeError {
			t.Errorf("error record: %s", r.Error)
		}
		if r.Kind == wire.KindToolOutput {
			var to wire.ToolOutput
			if err := json.Unmarshal(r.Data, &to); err != nil {
				t.Fatal(err)
			}
			got = append(got, to)
			sources[r.Source] = true
		}
	}
	want := []wire.ToolOutput{
		{Tool: "hnsdiag", Output: "Networks:\r\ncbr0\r\n"},
		{Tool: "vfpctrl", Output: "Port name : 5A7C6B2E\r\nMAC address : 00-15-5D-D1-80-05\r\n"},
		{Tool: "vfpctrl", Args: []string{"/port", "5A7C6B2E", "/get-port-counter"}, Output: "Dropped : 0\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("tool records = %+v, want %+v", got, want)
	}
	// Sources run in parallel: order records by tool, keeping each tool's own order.
	sort.SliceStable(got, func(i, j int) bool { return got[i].Tool < got[j].Tool })
	for i := range want {
		if got[i].Tool != want[i].Tool || got[i].Output != want[i].Output || strings.Join(got[i].Args, " ") != strings.Join(want[i].Args, " ") {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !sources["tool:hnsdiag"] || !sources["tool:vfpctrl"] || len(sources) != 2 {
		t.Errorf("sources = %v, want one per tool, named like the Windows ones", sources)
	}
	if !strings.Contains(log, "skipping tools/notes.md") {
		t.Errorf("log does not report the stray file: %s", log)
	}
}
