package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// redactFixtures holds files with planted secrets (and a list of them in planted.txt) and, in
// keep/, node evidence that holds none.
var redactFixtures = filepath.Join("..", "redact", "testdata")

// TestNoPlantedSecretLeaves lays the fixtures out as a node's files, tool output and events,
// runs the whole collector over them, and checks that no planted value appears anywhere in the
// NDJSON stream — in any record, raw or JSON-escaped — while the evidence arrives intact.
func TestNoPlantedSecretLeaves(t *testing.T) {
	placed := map[string]string{ // fixture -> where it lives in the scenario
		"kubeconfig":          "files/C/k/config",
		"calico-cni.conflist": "files/C/etc/cni/net.d/10-calico.conflist",
		"azure.json":          "files/C/k/azure.json", // not in the table: sent as a leftover
		"kubelet.log":         "files/C/k/kubelet.log",
		"kubeletstart.ps1":    "files/C/k/kubeletstart.ps1",
		"subnet-and-env.env":  "files/C/run/flannel/subnet.env",
		"secret-block.yaml":   "files/C/var/lib/kubelet/config.yaml",
	}
	evidence := map[string]string{ // keep/ fixture -> where it lives; must arrive unchanged
		"kube-proxy.log":      "files/C/k/kube-proxy.log",
		"10-flannel.conf":     "files/C/etc/cni/net.d/10-flannel.conf",
		"kubelet-config.yaml": "files/C/var/lib/kubelet/extra/config.yaml",
		"ipconfig.txt":        "tools/ipconfig.txt",
	}
	files := map[string][]byte{}
	for fixture, at := range placed {
		files[at] = readFixture(t, filepath.Join(redactFixtures, fixture))
	}
	for fixture, at := range evidence {
		files[at] = readFixture(t, filepath.Join(redactFixtures, "keep", fixture))
	}
	// A Calico kubeconfig read beside its config, tool output and event messages, each with
	// a planted secret of their own.
	files["files/C/CalicoWindows/calico-kube-config"] = []byte("users:\n- name: calico-node\n  user:\n    token: Plant3dCalicoKubeconfig\n")
	files["tools/hnsdiag.txt"] = []byte("> hnsdiag list all -d\nEndpoint 5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C\n  Authorization: Bearer Plant3dHnsdiagBearer00\n")
	files["events.json"] = []byte(`[{"channel":"Microsoft-Windows-Host-Network-Service-Admin","id":1000,"level":"Error","time":"2025-11-26T01:00:00Z","message":"plugin call with password=Plant3dEventPassword failed"}]`)
	planted := []string{"Plant3dCalicoKubeconfig", "Plant3dHnsdiagBearer00", "Plant3dEventPassword"}
	for _, vals := range readPlanted(t, filepath.Join(redactFixtures, "planted.txt")) {
		planted = append(planted, vals...)
	}
	dir := writeFiles(t, files)

	var out, log bytes.Buffer
	sources, err := Sources(dir, &log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collector.Run(context.Background(), &out, collector.Config{Backend: collector.BackendReplay, Log: &log}, sources); err != nil {
		t.Fatal(err)
	}
	stream := out.String()
	for _, s := range planted {
		esc, _ := json.Marshal(s)
		if strings.Contains(stream, s) || strings.Contains(stream, strings.Trim(string(esc), `"`)) {
			t.Errorf("planted value %q is in the collector's output", s)
		}
	}

	// Every placed file was sent (so the check above proves something), and redacted.
	recs := decodeAll(t, out.Bytes())
	sent := map[string]wire.FileData{}
	tools := map[string]wire.ToolOutput{}
	for _, r := range recs {
		switch {
		case r.Type == wire.TypeError:
			t.Errorf("error record from %s: %s", r.Source, r.Error)
		case r.Kind == wire.KindFile:
			var fd wire.FileData
			if err := json.Unmarshal(r.Data, &fd); err != nil {
				t.Fatal(err)
			}
			sent[fd.Path] = fd
		case r.Kind == wire.KindToolOutput:
			var to wire.ToolOutput
			if err := json.Unmarshal(r.Data, &to); err != nil {
				t.Fatal(err)
			}
			tools[to.Tool] = to
		}
	}
	for fixture, at := range placed {
		win, _ := WindowsPath(strings.TrimPrefix(at, "files/"))
		if fd, ok := sent[win]; !ok || fd.Redacted == 0 {
			t.Errorf("%s (as %s) was not sent redacted: %+v", fixture, win, fd)
		}
	}
	for fixture, at := range evidence {
		want := string(readFixture(t, filepath.Join(redactFixtures, "keep", fixture)))
		if strings.HasPrefix(at, "tools/") {
			if got := tools["ipconfig"]; got.Output != want {
				t.Errorf("tool output %s changed:\n%s", fixture, got.Output)
			}
			continue
		}
		win, _ := WindowsPath(strings.TrimPrefix(at, "files/"))
		if fd := sent[win]; fd.Content != want || fd.Redacted != 0 {
			t.Errorf("evidence %s (as %s) changed (%d redactions):\n%s", fixture, win, fd.Redacted, fd.Content)
		}
	}
	if got := tools["hnsdiag"]; strings.Join(got.Args, " ") != "list all -d" || !strings.Contains(got.Output, "5A7C6B2E-1D3F-4E5A-9B8C-7D6E5F4A3B2C") {
		t.Errorf("hnsdiag output = %+v", got)
	}
}

func readFixture(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPlanted(t *testing.T, p string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, p)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name, val, _ := strings.Cut(line, " ")
		out[name] = append(out[name], val)
	}
	if len(out) == 0 {
		t.Fatalf("%s plants nothing", p)
	}
	return out
}

func decodeAll(t *testing.T, b []byte) []wire.Record {
	t.Helper()
	var recs []wire.Record
	dec := wire.NewDecoder(bytes.NewReader(b))
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("decoding the stream: %v", err)
		}
		recs = append(recs, r)
	}
}
