package winsrc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestHNSV1Output(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "list", in: `{"Success":true,"Error":"","Output":[{"ID":"A","IsRemoteEndpoint":true,"State":1}]}`, want: `[{"ID":"A","IsRemoteEndpoint":true,"State":1}]`},
		{name: "null output", in: `{"Success":true,"Output":null}`, want: `[]`},
		{name: "no output", in: `{"Success":true}`, want: `[]`},
		{name: "one object", in: `{"Success":true,"Output":{"ID":"A"}}`, want: `[{"ID":"A"}]`},
		{name: "refused", in: `{"Success":false,"Error":"Element not found."}`, wantErr: "HNS refused GET /endpoints/: Element not found."},
		{name: "refused without reason", in: `{"Success":false}`, wantErr: "no reason given"},
		{name: "not json", in: `<html>`, wantErr: "is not JSON"},
		{name: "scalar", in: `{"Success":true,"Output":"x"}`, wantErr: "where a list is expected"},
		{name: "too large", in: `{"Success":true,"Output":[` + strings.Repeat(" ", maxHNSV1Bytes) + `]}`, wantErr: "over the 24 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hnsV1Output("/endpoints/", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("hnsV1Output = %s, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("hnsV1Output = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	err := hnsV1Unavailable(dllMissing("vmcompute.dll", errors.New("The specified module could not be found.")), "/endpoints/")
	if !errors.Is(err, ErrHNSUnavailable) || !strings.HasPrefix(err.Error(), "HNS/HCN is not available on this host: vmcompute.dll not found") ||
		!strings.Contains(err.Error(), "the HNS v1 API (HNSCall GET /endpoints/) is not available") {
		t.Errorf("unavailable wording: %v", err)
	}
	if len(hnsV1Lists) != 2 || hnsV1Lists[0].kind != wire.KindHNSEndpointsV1 || hnsV1Lists[1].kind != wire.KindHNSPolicyLists {
		t.Errorf("v1 lists = %+v", hnsV1Lists)
	}
}

const vfpList = "ITEM LIST\r\n===========\r\n\r\n" +
	"  Port name          : 5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C\r\n" +
	"  Port Friendly name : Container NIC 5a7c6b2e\r\n" +
	"  Switch name        : 6513270E-269E-4D37-B2A7-4DE452E6B438\r\n" +
	"  MAC address        : 00-15-5D-D1-80-05\r\n\r\n" +
	"  Port name          : 11111111-2222-3333-4444-555555555555\r\n" +
	"  Port Friendly name : Host vNIC\r\n" +
	"  MAC address        : 00-15-5d-d1-80-01\r\n" +
	"Command list-vmswitch-port succeeded!\r\n"

func TestVFPPorts(t *testing.T) {
	ports := parseVFPPorts(vfpList)
	if len(ports) != 2 || ports[0].Name != "5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C" || ports[0].FriendlyName != "Container NIC 5a7c6b2e" || ports[1].MAC != "00-15-5d-d1-80-01" {
		t.Fatalf("parseVFPPorts = %+v", ports)
	}
	for _, tt := range []struct {
		mac, want string
	}{
		{"00-15-5D-D1-80-05", "5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C"},
		{"00:15:5d:d1:80:01", "11111111-2222-3333-4444-555555555555"},
		{"00155DD18001", "11111111-2222-3333-4444-555555555555"},
		{"00-15-5D-00-00-00", ""},
		{"", ""},
	} {
		p, ok := findVFPPort(ports, tt.mac)
		if p.Name != tt.want || ok != (tt.want != "") {
			t.Errorf("findVFPPort(%q) = %+v, %v; want %q", tt.mac, p, ok, tt.want)
		}
	}
	if got := parseVFPPorts("MAC address : 00-11\nno colon here\n"); len(got) != 0 {
		t.Errorf("fields before any port name make no port: %+v", got)
	}
}

func TestEndpointMAC(t *testing.T) {
	list := []byte(`[{"IPAddress":"10.244.2.7","MacAddress":"02-11-0a-f4-02-07","IsRemoteEndpoint":true},` +
		`{"IPAddress":"10.244.1.5","MacAddress":"00-15-5D-D1-80-05","IsRemoteEndpoint":false,"State":3}]`)
	if mac, err := endpointMAC(list, "10.244.1.5"); err != nil || mac != "00-15-5D-D1-80-05" {
		t.Errorf("local endpoint: %q, %v", mac, err)
	}
	if _, err := endpointMAC(list, "10.244.2.7"); err == nil || !strings.Contains(err.Error(), "no local HNS endpoint has IP 10.244.2.7") {
		t.Errorf("a remote endpoint is not the pod's: %v", err)
	}
	if _, err := endpointMAC([]byte(`{`), "x"); err == nil {
		t.Errorf("bad JSON accepted")
	}
}

// The test binary doubles as a fake inbox tool: WINSRC_FAKE_TOOL says how to behave.
func TestMain(m *testing.M) {
	switch os.Getenv("WINSRC_FAKE_TOOL") {
	case "":
		os.Exit(m.Run())
	case "echo":
		fmt.Printf("args: %s\n", strings.Join(os.Args[1:], " "))
		if len(os.Args) > 2 && os.Args[1] == "/port" {
			fmt.Println("Blocked : FALSE")
		} else {
			fmt.Print(vfpList)
		}
		fmt.Fprintln(os.Stderr, "password=Plant3dToolSecret")
		os.Exit(0)
	case "fail":
		fmt.Println("HNS is not running")
		os.Exit(3)
	case "flood":
		b := bytes.Repeat([]byte("x"), 64<<10)
		for range nodefiles.MaxToolOutputBytes/len(b) + 4 {
			os.Stdout.Write(b) //nolint:errcheck
		}
		os.Exit(0)
	case "hang":
		time.Sleep(time.Minute)
		os.Exit(0)
	case "partial-hang":
		fmt.Println("partial")
		time.Sleep(time.Minute)
		os.Exit(0)
	case "argv":
		for _, a := range os.Args[1:] {
			fmt.Printf("%q\n", a)
		}
		os.Exit(0)
	case "stdin":
		n, err := io.Copy(io.Discard, os.Stdin)
		if err != nil {
			fmt.Println("stdin:", err)
			os.Exit(2)
		}
		fmt.Printf("stdin: %d bytes\n", n)
		os.Exit(0)
	case "orphan":
		// Leave a process behind that holds our output open, then exit.
		os.Setenv("WINSRC_FAKE_TOOL", "hang") //nolint:errcheck
		p, err := os.StartProcess(os.Args[0], os.Args[:1], &os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr}})
		if err != nil {
			fmt.Println("cannot start the orphan:", err)
			os.Exit(2)
		}
		fmt.Printf("orphan pid %d\n", p.Pid)
		os.Exit(0)
	}
	os.Exit(2)
}

// fakeRunner finds every tool at the test binary, or none.
func fakeRunner(t *testing.T, mode string, present bool) toolRunner {
	t.Helper()
	t.Setenv("WINSRC_FAKE_TOOL", mode)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return toolRunner{
		lookPath: func(string) (string, bool) { return self, present },
		exists:   func(string) bool { return false },
		timeout:  5 * time.Second,
	}
}

func TestToolRunner(t *testing.T) {
	ctx := context.Background()
	t.Run("output, args and redaction", func(t *testing.T) {
		r := fakeRunner(t, "echo", true)
		path, _ := r.find(hnsdiagTool)
		rec, err := r.run(ctx, hnsdiagTool, path, "list", "all", "-d")
		if err != nil || rec.Tool != "hnsdiag" || rec.ExitCode != 0 || rec.TimedOut || strings.Join(rec.Args, " ") != "list all -d" ||
			!strings.Contains(rec.Output, "args: list all -d") || !strings.Contains(rec.Output, "password=[REDACTED:secret]") || strings.Contains(rec.Output, "Plant3d") {
			t.Errorf("run = %+v, %v", rec, err)
		}
	})
	t.Run("non-zero exit is a record", func(t *testing.T) {
		r := fakeRunner(t, "fail", true)
		rec, err := r.run(ctx, hnsdiagTool, "ignored-by-lookpath-not-used", "list")
		if err == nil {
			t.Fatalf("a missing executable ran: %+v", rec)
		}
		path, _ := r.find(hnsdiagTool)
		rec, err = r.run(ctx, hnsdiagTool, path, "list")
		if err != nil || rec.ExitCode != 3 || !strings.Contains(rec.Output, "HNS is not running") {
			t.Errorf("run = %+v, %v", rec, err)
		}
	})
	t.Run("output is capped", func(t *testing.T) {
		r := fakeRunner(t, "flood", true)
		path, _ := r.find(hnsdiagTool)
		rec, err := r.run(ctx, hnsdiagTool, path)
		if err != nil || len(rec.Output) > nodefiles.MaxToolOutputBytes+200 || !strings.Contains(rec.Output, "[winnet: output cut at") {
			t.Errorf("run = %d bytes, %v", len(rec.Output), err)
		}
	})
	t.Run("a hung tool is stopped", func(t *testing.T) {
		r := fakeRunner(t, "hang", true)
		r.timeout = 200 * time.Millisecond
		path, _ := r.find(hnsdiagTool)
		rec, err := r.run(ctx, hnsdiagTool, path)
		if err != nil || !rec.TimedOut || !strings.Contains(rec.Output, "was stopped after 200ms") {
			t.Errorf("run = %+v, %v", rec, err)
		}
	})
	t.Run("known path when not on PATH", func(t *testing.T) {
		r := toolRunner{lookPath: func(string) (string, bool) { return "", false }, exists: func(p string) bool { return p == `C:\Windows\System32\vfpctrl.exe` }}
		if p, ok := r.find(vfpctrlTool); !ok || p != `C:\Windows\System32\vfpctrl.exe` {
			t.Errorf("find = %s, %v", p, ok)
		}
		if _, ok := r.find(hnsdiagTool); ok {
			t.Errorf("found a tool that is nowhere")
		}
	})
}

// runSources runs sources through the real runtime and returns the records and the log.
func runSources(t *testing.T, sources ...collector.Source) ([]wire.Record, string) {
	t.Helper()
	var out, log bytes.Buffer
	if _, err := collector.Run(context.Background(), &out, collector.Config{Backend: collector.BackendWindows, Log: &log}, sources); err != nil {
		t.Fatal(err)
	}
	var recs []wire.Record
	dec := wire.NewDecoder(&out)
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return recs, log.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
}

func toolRecords(t *testing.T, recs []wire.Record) []wire.ToolOutput {
	t.Helper()
	var out []wire.ToolOutput
	for _, r := range recs {
		if r.Type == wire.TypeError {
			t.Errorf("error record: %s", r.Error)
		}
		if r.Kind == wire.KindToolOutput {
			var to wire.ToolOutput
			if err := json.Unmarshal(r.Data, &to); err != nil {
				t.Fatal(err)
			}
			out = append(out, to)
		}
	}
	return out
}

func TestToolSources(t *testing.T) {
	mac := func(_ context.Context, ip string) (string, error) {
		if ip == "10.244.1.5" {
			return "00-15-5D-D1-80-05", nil
		}
		return "", errors.New("no local HNS endpoint has IP " + ip)
	}
	tests := []struct {
		name     string
		present  bool
		podIP    string
		wantArgs []string
		wantLog  string
	}{
		{name: "absent tools: no record, a log line", present: false, wantLog: "vfpctrl.exe is not on this node"},
		{name: "no pod: listings only", present: true, wantArgs: []string{"list all -d", "/list-vmswitch-port"}},
		{name: "pod port found", present: true, podIP: "10.244.1.5", wantArgs: []string{"list all -d", "/list-vmswitch-port",
			"/port 5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C /get-port-state", "/port 5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C /get-port-counter"}},
		{name: "pod without endpoint", present: true, podIP: "10.244.1.9", wantArgs: []string{"list all -d", "/list-vmswitch-port"}, wantLog: "no local HNS endpoint has IP 10.244.1.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeRunner(t, "echo", tt.present)
			recs, log := runSources(t, hnsdiagSource{runner: r}, vfpctrlSource{runner: r, podIP: tt.podIP, podMAC: mac})
			var args []string
			for _, to := range toolRecords(t, recs) {
				args = append(args, strings.Join(to.Args, " "))
			}
			// The two sources run in parallel: compare as sets, keeping vfpctrl's own order.
			got := strings.Join(args, "|")
			for _, w := range tt.wantArgs {
				if !strings.Contains(got, w) {
					t.Errorf("records %v lack %q", args, w)
				}
			}
			if len(args) != len(tt.wantArgs) {
				t.Errorf("records %v, want %v", args, tt.wantArgs)
			}
			if !strings.Contains(log, tt.wantLog) {
				t.Errorf("log %q lacks %q", log, tt.wantLog)
			}
		})
	}
}

func TestFilesSource(t *testing.T) {
	dir := t.TempDir()
	p := nodefiles.FolderRoot(dir)(`C:\k\kube-proxy.log`)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("E1126 \"Policy creation failed\" --token=abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, _ := runSources(t, filesSource{root: nodefiles.FolderRoot(dir)})
	var files []wire.FileData
	for _, r := range recs {
		if r.Kind == wire.KindFile {
			var fd wire.FileData
			if err := json.Unmarshal(r.Data, &fd); err != nil {
				t.Fatal(err)
			}
			files = append(files, fd)
			if r.Source != "files" {
				t.Errorf("source %q, want files (as replay names it)", r.Source)
			}
		}
	}
	if len(files) != 1 || files[0].Path != `C:\k\kube-proxy.log` || files[0].Role != "log:kube-proxy" || files[0].Redacted != 1 {
		t.Errorf("files = %+v", files)
	}
}
