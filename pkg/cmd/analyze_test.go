package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const collectlogsFixture = "../ingest/testdata/collectlogs-dns"

func runWinnet(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// analysisJSON is the part of `analyze -o json` scripts rely on.
type analysisJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Findings   []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
	} `json:"findings"`
	Target struct {
		Namespace string `json:"namespace"`
		Pod       string `json:"pod"`
		PodIP     string `json:"podIP"`
		Node      string `json:"node"`
	} `json:"target"`
	Input struct {
		Read []struct {
			Path   string `json:"path"`
			Format string `json:"format"`
		} `json:"read"`
		Ignored []struct {
			Path   string `json:"path"`
			Reason string `json:"reason"`
		} `json:"ignored"`
	} `json:"input"`
}

func TestAnalyzeCommandJSON(t *testing.T) {
	out, _, err := runWinnet(t, "analyze", collectlogsFixture, "--pod", "shop/web-0", "-o", "json")
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	var rep analysisJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if rep.Kind != "DiagnosisReport" || rep.APIVersion == "" {
		t.Errorf("apiVersion/kind: %q %q", rep.APIVersion, rep.Kind)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.ID] = f.Severity
	}
	// kube-proxy failed to program kube-dns (its log says 0x803b0013), so the DNS VIP has no
	// policy list on the node.
	for id, sev := range map[string]string{"service-lb-missing": "error", "kube-proxy-policy-errors": "error"} {
		if got[id] != sev {
			t.Errorf("finding %s: severity %q, want %q (findings %v)", id, got[id], sev, got)
		}
	}
	if _, ok := got["pod-endpoint-missing"]; ok {
		t.Error("web-0's endpoint is in endpoint.txt; pod-endpoint-missing is wrong")
	}
	if rep.Target.Pod != "web-0" || rep.Target.PodIP != "10.244.1.5" || rep.Target.Node != "win-node-1" {
		t.Errorf("target %+v", rep.Target)
	}
	if len(rep.Input.Read) < 10 || len(rep.Input.Ignored) == 0 {
		t.Errorf("input lists %d read and %d ignored files", len(rep.Input.Read), len(rep.Input.Ignored))
	}
	evtx := false
	for _, f := range rep.Input.Ignored {
		if strings.HasSuffix(f.Path, "System.evtx") && strings.Contains(f.Reason, "wevtutil") {
			evtx = true
		}
	}
	if !evtx {
		t.Errorf("the .evtx file is not listed as ignored with a hint: %+v", rep.Input.Ignored)
	}
}

func TestAnalyzeCommandExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   bool
		findings  bool   // a *FindingsError (exit 3)
		errSays   string // the error names this
		stderrHas string
	}{
		{"fail-on error with error findings", []string{"--fail-on", "error"}, true, true, "error", ""},
		{"fail-on warning with error findings", []string{"--fail-on", "warning"}, true, true, "", ""},
		{"fail-on none", []string{"--fail-on", "none"}, false, false, "", "FILES READ"},
		{"table output lists the files on stderr", []string{"-o", "table"}, false, false, "", "FILES IGNORED"},
		{"quiet", []string{"-q"}, false, false, "", ""},
		{"bad --fail-on", []string{"--fail-on", "sometimes"}, true, false, "--fail-on", ""},
		{"bad -o", []string{"-o", "xml"}, true, false, "output format", ""},
		{"pod not in the files", []string{"--pod", "shop/nope"}, true, false, "not in the files", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"analyze", collectlogsFixture}, tt.args...)
			_, stderr, err := runWinnet(t, args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var fe *FindingsError
			if errors.As(err, &fe) != tt.findings {
				t.Errorf("err = %v; a findings error (exit 3): %v", err, tt.findings)
			}
			if tt.errSays != "" && !strings.Contains(err.Error(), tt.errSays) {
				t.Errorf("err = %q, want it to say %q", err, tt.errSays)
			}
			if tt.stderrHas != "" && !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, stderr)
			}
			if tt.name == "quiet" && stderr != "" {
				t.Errorf("-q printed on stderr:\n%s", stderr)
			}
		})
	}
}

func TestAnalyzeCommandNothingUsable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the pod cannot reach the database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runWinnet(t, "analyze", dir)
	if !errors.Is(err, errNothingUsable) {
		t.Fatalf("err = %v, want errNothingUsable", err)
	}
	if !strings.Contains(stderr, "notes.txt") {
		t.Errorf("the ignored file is not listed:\n%s", stderr)
	}
	if _, _, err := runWinnet(t, "analyze", filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing path: %v", err)
	}
	if _, _, err := runWinnet(t, "analyze"); err == nil {
		t.Error("analyze without a path succeeded")
	}
}

// TestDiagnoseBundleFlag: --bundle is checked before any cluster work, and --force is needed
// to replace a file.
func TestDiagnoseBundleFlag(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.tar.gz")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := diagnoseOptions{target: "pod/web-0", output: "table", failOn: "none", timeout: 1, deadline: 1 << 40, since: 1}
	tests := []struct {
		name    string
		bundle  string
		force   bool
		wantErr string
	}{
		{"new file", filepath.Join(dir, "new.tar.gz"), false, ""},
		{"existing file", existing, false, "--force"},
		{"existing file with --force", existing, true, ""},
		{"missing folder", filepath.Join(dir, "nope", "b.tar.gz"), false, "cannot be used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.bundle, o.force = tt.bundle, tt.force
			err := o.validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("validate = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
	cmd := newDiagnoseCmd(nil, genericiooptions.IOStreams{})
	for _, f := range []string{"bundle", "force"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("diagnose has no --%s", f)
		}
	}
}
