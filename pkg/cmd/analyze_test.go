package cmd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/ingest"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/target"
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
	// A many-node run checks --bundle the same way, before any cluster work.
	for _, tt := range tests {
		t.Run("many nodes: "+tt.name, func(t *testing.T) {
			o := base
			o.target, o.nodes, o.maxConcurrency = "", &target.NodeSelection{Names: []string{"a", "b"}}, 1
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

const fleetScenario = "../../hack/scenarios/fleet-node"

// writeFleetBundle writes the many-node bundle of a run over four nodes of the fleet-node
// scenario: win-a and win-c healthy, win-b without kube-dns's load balancer and on an older
// Windows build, win-down not diagnosed (not Ready). Each node's data is what a live run
// keeps: the records the collector sent (here, read from its scenario copy), the cluster
// facts and the report.
func writeFleetBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var runs []bundle.NodeRun
	for _, n := range []struct {
		name      string
		lbMissing bool
	}{{"win-a", false}, {"win-b", true}, {"win-c", false}} {
		d := filepath.Join(dir, "scenarios", n.name)
		if err := os.CopyFS(d, os.DirFS(fleetScenario)); err != nil {
			t.Fatal(err)
		}
		editJSONFile(t, filepath.Join(d, "os.json"), func(v any) any {
			o := v.(map[string]any)
			o["hostname"] = n.name
			if n.lbMissing {
				o["ubr"] = 2700
			}
			return o
		})
		if n.lbMissing {
			editJSONFile(t, filepath.Join(d, "hns-loadbalancers.json"), func(v any) any {
				var keep []any
				for _, lb := range v.([]any) {
					if vips, _ := lb.(map[string]any)["FrontendVIPs"].([]any); len(vips) == 1 && vips[0] == "10.96.0.10" {
						continue
					}
					keep = append(keep, lb)
				}
				return keep
			})
		}
		res, err := ingest.Load([]string{d}, ingest.Options{Node: n.name})
		if err != nil {
			t.Fatal(err)
		}
		rep, snap := analyzeLoaded(res, "node/"+n.name)
		runs = append(runs, bundle.NodeRun{Name: n.name, Snapshot: snap, Cluster: res.Cluster, Report: rep})
	}
	runs = append(runs, bundle.NodeRun{Name: "win-down", Err: errors.New("node win-down is not Ready (kubelet stopped posting node status); check the node, then rerun")})
	var results []report.NodeResult
	for _, r := range runs {
		results = append(results, report.NodeResult{Name: r.Name, Report: r.Report, Err: r.Err})
	}
	fr := report.BuildFleet(results, report.Versions{Version: "v0.test"}, nil)
	p := filepath.Join(dir, "pool.tar.gz")
	if err := bundle.WriteFleet(p, bundle.FromFleet(runs, fr, "v0.test", time.Now()), false); err != nil {
		t.Fatal(err)
	}
	return p
}

func editJSONFile(t *testing.T, p string, edit func(any) any) {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(edit(v))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFleetReport checks what a many-node analysis of writeFleetBundle's bundle must find.
func checkFleetReport(t *testing.T, out string) {
	t.Helper()
	var f report.Fleet
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("stdout is not a fleet report: %v\n%s", err, out)
	}
	if f.Kind != report.FleetKind {
		t.Errorf("kind %q, want %s", f.Kind, report.FleetKind)
	}
	if s := f.Summary; s.Selected != 4 || s.Diagnosed != 3 || s.Failed != 1 || s.Incomplete != 0 || s.Worst != "error" {
		t.Errorf("summary %+v, want 4 selected, 3 diagnosed, 1 failed, worst error", s)
	}
	var lb *report.FindingGroup
	for i, g := range f.Groups {
		if g.ID == "service-lb-missing" {
			for _, o := range g.Objects {
				if o.Name == "kube-dns" {
					lb = &f.Groups[i]
				}
			}
		}
		// Nothing is wrong with the healthy nodes.
		if g.Severity == "error" && !slices.Equal(g.Nodes, []string{"win-b"}) {
			t.Errorf("error %s on %v; only win-b has a fault", g.ID, g.Nodes)
		}
	}
	if lb == nil || !slices.Equal(lb.Nodes, []string{"win-b"}) || lb.Of != 3 || lb.Everywhere {
		t.Errorf("kube-dns service-lb-missing group = %+v, want on win-b of 3 nodes", lb)
	}
	var build *report.Divergence
	for i, d := range f.Divergences {
		if d.Trait == "Windows build" {
			build = &f.Divergences[i]
		}
	}
	if build == nil || len(build.Variants) != 2 || !slices.Equal(build.Variants[0].Nodes, []string{"win-a", "win-c"}) ||
		!slices.Equal(build.Variants[1].Nodes, []string{"win-b"}) || build.Variants[1].Value != "20348.2700" {
		t.Errorf("Windows build divergence = %+v, want win-a and win-c apart from win-b on 20348.2700", build)
	}
	for _, n := range f.Nodes {
		switch {
		case n.Name == "win-down":
			if n.Status != report.NodeFailed || !strings.Contains(n.Error, "not Ready") || n.Report != nil {
				t.Errorf("win-down row: %s %q", n.Status, n.Error)
			}
		case n.Status != report.NodeOK || n.Report == nil || n.Report.Target.Node != n.Name:
			t.Errorf("row of %s: %s %q, report %v", n.Name, n.Status, n.Error, n.Report != nil)
		}
	}
}

// TestAnalyzeFleetBundle: a many-node bundle is re-analyzed node by node into a fleet report,
// as a .tar.gz and as the folder it is extracted into.
func TestAnalyzeFleetBundle(t *testing.T) {
	p := writeFleetBundle(t)
	out, stderr, err := runWinnet(t, "analyze", p, "-o", "json")
	if err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr)
	}
	checkFleetReport(t, out)
	if !strings.Contains(stderr, "many-node diagnosis bundle") || !strings.Contains(stderr, "1 could not be diagnosed when the bundle was made") {
		t.Errorf("stderr does not say what was read:\n%s", stderr)
	}

	extracted := filepath.Join(t.TempDir(), "pool")
	untarTree(t, p, extracted)
	out, _, err = runWinnet(t, "analyze", extracted, "-o", "json", "-q")
	if err != nil {
		t.Fatalf("analyze of the extracted folder: %v", err)
	}
	checkFleetReport(t, out)

	// A node's folder is a one-node bundle, analyzed as before.
	out, _, err = runWinnet(t, "analyze", filepath.Join(extracted, "nodes", "win-b"), "-o", "json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	var one analysisJSON
	if err := json.Unmarshal([]byte(out), &one); err != nil || one.Kind != report.Kind || one.Target.Node != "win-b" || !hasFinding(one, "service-lb-missing") {
		t.Errorf("one node's folder: %v %+v", err, one)
	}

	table, _, err := runWinnet(t, "analyze", p, "-o", "wide", "-q")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"service-lb-missing on 1 of 3 nodes", "win-down", "failed", "Windows build"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	yml, _, err := runWinnet(t, "analyze", p, "-o", "yaml", "-q")
	if err != nil || !strings.Contains(yml, "kind: FleetReport") {
		t.Errorf("-o yaml: %v\n%.300s", err, yml)
	}
}

func hasFinding(r analysisJSON, id string) bool {
	for _, f := range r.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

func TestAnalyzeFleetBundleFlags(t *testing.T) {
	p := writeFleetBundle(t)
	other := filepath.Join(t.TempDir(), "kube-proxy.log")
	if err := os.WriteFile(other, []byte("I1126 kube-proxy started\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		findings bool   // a *FindingsError (exit 3)
		errSays  string // "" for success
	}{
		{"fail-on error", []string{p, "--fail-on", "error"}, true, "error"},
		{"fail-on none", []string{p, "--fail-on", "none"}, false, ""},
		{"one node", []string{p, "--node", "win-b", "-o", "json"}, false, ""},
		{"one node, fail-on", []string{p, "--node", "win-b", "--fail-on", "error"}, true, "error"},
		{"a node not diagnosed", []string{p, "--node", "win-down"}, false, "could not be diagnosed when"},
		{"a node not in it", []string{p, "--node", "win-zzz"}, false, "win-a, win-b, win-c, win-down"},
		{"a pod without a node", []string{p, "--pod", "kube-system/coredns"}, false, "add --node"},
		{"with other files", []string{p, other}, false, "analyzed on its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runWinnet(t, append([]string{"analyze", "-q"}, tt.args...)...)
			var fe *FindingsError
			if errors.As(err, &fe) != tt.findings {
				t.Errorf("err = %v; want a findings error (exit 3): %v", err, tt.findings)
			}
			if tt.errSays == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.errSays != "" && (err == nil || !strings.Contains(err.Error(), tt.errSays)) {
				t.Fatalf("err = %v, want it to say %q", err, tt.errSays)
			}
			if tt.name == "one node" {
				var one analysisJSON
				if err := json.Unmarshal([]byte(out), &one); err != nil || one.Kind != report.Kind || one.Target.Node != "win-b" || !hasFinding(one, "service-lb-missing") || len(one.Input.Read) == 0 {
					t.Errorf("--node win-b: %v %+v", err, one)
				}
			}
		})
	}
}

// TestAnalyzeFleetBundleDamaged: a node whose records are damaged is a failed row and makes
// the run exit 1 after the report; the other nodes are analyzed.
func TestAnalyzeFleetBundleDamaged(t *testing.T) {
	p := writeFleetBundle(t)
	dir := filepath.Join(t.TempDir(), "pool")
	untarTree(t, p, dir)
	if err := os.WriteFile(filepath.Join(dir, "nodes", "win-c", "records.ndjson"), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "nodes", "win-a", "records.ndjson")); err != nil {
		t.Fatal(err)
	}
	out, _, err := runWinnet(t, "analyze", dir, "-o", "json", "-q")
	if err == nil || !strings.Contains(err.Error(), "2 of 4 nodes") || !strings.Contains(err.Error(), "copy the bundle again") {
		t.Fatalf("err = %v, want one saying 2 of 4 nodes could not be analyzed and what to do", err)
	}
	var f report.Fleet
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("no report before the error: %v\n%s", err, out)
	}
	rows := map[string]report.FleetNode{}
	for _, n := range f.Nodes {
		rows[n.Name] = n
	}
	if r := rows["win-c"]; r.Status != report.NodeFailed || !strings.Contains(r.Error, "records.ndjson could not be read") {
		t.Errorf("win-c row: %s %q", r.Status, r.Error)
	}
	if r := rows["win-a"]; r.Status != report.NodeFailed || !strings.Contains(r.Error, "has no records.ndjson") {
		t.Errorf("win-a row: %s %q", r.Status, r.Error)
	}
	if r := rows["win-b"]; r.Status != report.NodeOK || r.Worst != "error" {
		t.Errorf("win-b row: %s %q", r.Status, r.Worst)
	}

	// Cut short: a clear error, no report.
	whole, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tar.gz")
	if err := os.WriteFile(cut, whole[:len(whole)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runWinnet(t, "analyze", cut, "-q")
	if err == nil || !strings.Contains(err.Error(), "cut short") || out != "" {
		t.Errorf("a truncated bundle: err %v, stdout %q", err, out)
	}
}

// untarTree extracts src into dst keeping its folders.
func untarTree(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dst, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A bundle from `diagnose --to` holds the path its live probes walked. analyze cannot re-run
// those probes, so it shows the walk as that run judged it (also in -o html), for the bundle's
// own target only: a walk from another pod says nothing about the one asked for.
func TestAnalyzeKeepsTheBundlesPathWalk(t *testing.T) {
	res, err := ingest.Load([]string{collectlogsFixture}, ingest.Options{Pod: "shop/web-0"})
	if err != nil {
		t.Fatal(err)
	}
	rep, snap := analyzeLoaded(res, "pod/web-0")
	fail := pathexplain.Hop{Name: pathexplain.HopLoadBalancer, Verdict: pathexplain.Fail, Evidence: "no HNS load balancer for 10.96.0.10:53/UDP"}
	rep.Path = &pathexplain.Path{From: "pod shop/web-0", To: "svc/kube-system/kube-dns:53", Headline: &fail, Hops: []pathexplain.Hop{fail}}
	p := filepath.Join(t.TempDir(), "web-0.tar.gz")
	if err := bundle.Write(p, bundle.FromDiagnosis(snap, res.Cluster, rep, "v0.test", time.Now()), false); err != nil {
		t.Fatal(err)
	}

	out, _, err := runWinnet(t, "analyze", p, "-o", "json")
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	var got struct {
		Path *pathexplain.Path `json:"path"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Path == nil || got.Path.Headline == nil || got.Path.Headline.Name != pathexplain.HopLoadBalancer {
		t.Errorf("the bundle's path walk is not in the analysis: %+v", got.Path)
	}

	page, _, err := runWinnet(t, "analyze", p, "-o", "html")
	if err != nil {
		t.Fatalf("analyze -o html: %v", err)
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, `data-headline="true"`) || !strings.Contains(page, "Path from pod shop/web-0 to svc/kube-system/kube-dns:53") {
		t.Errorf("the html page does not draw the walked path:\n%.2000s", page)
	}

	other, _, err := runWinnet(t, "analyze", p, "--pod", "shop/web-1", "-o", "json")
	if err != nil {
		t.Fatalf("analyze --pod shop/web-1: %v", err)
	}
	got.Path = nil
	if err := json.Unmarshal([]byte(other), &got); err != nil {
		t.Fatal(err)
	}
	if got.Path != nil {
		t.Errorf("web-0's path walk is shown for web-1: %+v", got.Path)
	}
}
