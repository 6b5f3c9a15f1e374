//go:build e2e

// Package fleet is the many-node end-to-end test: a real API server with 100 simulated
// Windows nodes of one pool (plus a NotReady one and a Linux one), each replaying its own copy
// of hack/scenarios/fleet-node, a fault planted on a subset. It has a cluster of its own, so
// the other e2e tests' nodes do not join its --all-nodes.
package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/hack/e2e/env"
	"github.com/kubectl-winnet/winnet/hack/e2e/simnode"
	"github.com/kubectl-winnet/winnet/pkg/report"
)

const (
	poolSize  = 100
	poolLabel = "winnet.dev/test-pool"
	poolValue = "fleet"
	downNode  = "win-fleet-down"
	linuxNode = "linux-node-1"
)

func nodeName(i int) string { return fmt.Sprintf("win-fleet-%03d", i) }

// The planted faults: kube-proxy did not program kube-dns on 7 nodes, and 3 nodes run an
// older Windows build than the rest of the pool.
var (
	dnsLBMissing = []int{3, 17, 31, 45, 59, 73, 87}
	olderBuild   = []int{10, 50, 90}
)

const olderUBR = 2700 // Server 2022's September 2024 update (a known-issue build, HNS-FACTS.md)

var (
	world      *env.Env
	kubeconfig string
	pluginDir  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	plugin, err := env.PluginBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e fleet:", err)
		return 1
	}
	pluginDir = filepath.Dir(plugin)
	scenarios, err := os.MkdirTemp("", "winnet-fleet-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e fleet:", err)
		return 1
	}
	defer os.RemoveAll(scenarios)
	nodes := []simnode.NodeSpec{{Name: linuxNode, OS: "linux"}, {Name: downNode, OS: "windows", NotReady: true}}
	for i := range poolSize {
		dir := filepath.Join(scenarios, nodeName(i))
		if err := nodeScenario(dir, i); err != nil {
			fmt.Fprintln(os.Stderr, "e2e fleet: preparing", nodeName(i), err)
			return 1
		}
		nodes = append(nodes, simnode.NodeSpec{Name: nodeName(i), OS: "windows", Scenario: dir,
			Labels: map[string]string{poolLabel: poolValue}})
	}
	start := time.Now()
	world, err = env.Up(ctx, env.Options{Nodes: nodes, Scenarios: []string{"fleet-node"}, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e fleet: bringing up the test cluster:", err)
		return 1
	}
	defer world.Stop()
	fmt.Fprintf(os.Stderr, "e2e fleet: cluster and %d nodes up in %s\n", len(nodes), time.Since(start).Round(time.Millisecond))
	kubeconfig = world.Cluster.AdminKubeconfig()
	return m.Run()
}

// nodeScenario copies fleet-node for node i: its own hostname, and the faults planted on it.
func nodeScenario(dir string, i int) error {
	if err := os.CopyFS(dir, os.DirFS(env.ScenarioPath("fleet-node"))); err != nil {
		return err
	}
	err := editJSON(filepath.Join(dir, "os.json"), func(v any) any {
		o := v.(map[string]any)
		o["hostname"] = nodeName(i)
		if slices.Contains(olderBuild, i) {
			o["ubr"] = olderUBR
		}
		return o
	})
	if err != nil || !slices.Contains(dnsLBMissing, i) {
		return err
	}
	return editJSON(filepath.Join(dir, "hns-loadbalancers.json"), func(v any) any {
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

func editJSON(path string, edit func(any) any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out, err := json.MarshalIndent(edit(v), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

type result struct {
	stdout, stderr string
	code           int
	maxRSSKB       int64
}

// plugin runs kubectl winnet ARGS through the real kubectl, as a user would.
func plugin(tb testing.TB, args ...string) result {
	tb.Helper()
	cmd := exec.Command("kubectl", append([]string{"winnet"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("running kubectl winnet %v: %v", args, err)
	}
	// kubectl execs the plugin in place (syscall.Exec): the process's peak is the plugin's,
	// or kubectl's own before the exec if that was higher (it is smaller).
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKB = ru.Maxrss
	}
	return r
}

func debugPodsLeft(tb testing.TB) int {
	tb.Helper()
	pods, err := world.Client.CoreV1().Pods(env.DebugNamespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=kubectl-winnet"})
	if err != nil {
		tb.Fatal(err)
	}
	return len(pods.Items)
}

func TestAllNodesGroupsThePlantedFault(t *testing.T) {
	r := plugin(t, "diagnose", "--all-nodes", "-o", "json")
	t.Logf("exit %d, peak RSS %d MB\nstderr (tail):\n%s", r.code, r.maxRSSKB/1024, tail(r.stderr, 20))
	// The NotReady node is a row, not an abort; it makes the run exit 1 after the report.
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 101 nodes could not be diagnosed completely") {
		t.Errorf("exit %d, want 1 with the count of nodes not diagnosed; failed nodes:\n%s\nstderr's tail:\n%s", r.code, failedLines(r.stderr), tail(r.stderr, 10))
	}
	if !strings.Contains(r.stderr, "1 linux node skipped (linux): "+linuxNode) {
		t.Errorf("stderr does not say the Linux node was skipped:\n%s", tail(r.stderr, 30))
	}
	var f report.Fleet
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("stdout is not a fleet report: %v\n%s", err, r.stdout[:min(len(r.stdout), 2000)])
	}
	if s := f.Summary; s.Selected != poolSize+1 || s.Diagnosed != poolSize || s.Failed != 1 || s.Incomplete != 0 {
		t.Errorf("summary = %+v, want %d selected, %d diagnosed, 1 failed", s, poolSize+1, poolSize)
	}
	var want []string
	for _, i := range dnsLBMissing {
		want = append(want, nodeName(i))
	}
	g := group(f, "service-lb-missing", "kube-dns")
	if g == nil {
		t.Fatalf("no service-lb-missing group about kube-dns; groups: %s", groupList(f))
	}
	if !slices.Equal(g.Nodes, want) || g.Of != poolSize || g.Everywhere || g.Severity != "error" {
		t.Errorf("kube-dns group: nodes %v of %d (everywhere %v, %s), want exactly %v of %d, error", g.Nodes, g.Of, g.Everywhere, g.Severity, want, poolSize)
	}
	var older []string
	for _, i := range olderBuild {
		older = append(older, nodeName(i))
	}
	// No error on a node without a planted fault.
	planted := map[string]bool{}
	for _, n := range want {
		planted[n] = true
	}
	for _, grp := range f.Groups {
		if grp.Severity != "error" {
			continue
		}
		for _, n := range grp.Nodes {
			if !planted[n] {
				t.Errorf("error %s (%s) on %s, which has no planted fault", grp.ID, grp.Title, n)
			}
		}
	}
	// A finding about each node's own state is one group, not one per node.
	var builds []report.FindingGroup
	for _, g := range f.Groups {
		if g.ID == "os-build-known-issue" {
			builds = append(builds, g)
		}
	}
	if len(builds) != 1 || !slices.Equal(builds[0].Nodes, older) {
		t.Errorf("os-build-known-issue groups = %+v, want one on %v", builds, older)
	}
	d := divergence(f, "Windows build")
	if d == nil || len(d.Variants) != 2 || len(d.Variants[0].Nodes) != poolSize-len(olderBuild) || !slices.Equal(d.Variants[1].Nodes, older) {
		t.Errorf("Windows build divergence = %+v, want %d nodes on one build and %v on %d", d, poolSize-len(olderBuild), older, olderUBR)
	}
	for _, n := range f.Nodes {
		if n.Name == downNode && (n.Status != report.NodeFailed || !strings.Contains(n.Error, "not Ready")) {
			t.Errorf("row of %s = %s %q, want failed, not Ready", n.Name, n.Status, n.Error)
		}
		if n.Status == report.NodeOK && (n.Report == nil || n.Report.Node.Name != n.Name) {
			t.Errorf("row of %s carries no report of its own", n.Name)
		}
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("%d debug pods left after the run", left)
	}
}

func TestSelectorTableReadsPerGroup(t *testing.T) {
	r := plugin(t, "diagnose", "nodes", "-l", poolLabel+"="+poolValue, "--max-concurrency", "20")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (every selected node diagnosed); failed nodes:\n%s\nstderr's tail:\n%s", r.code, failedLines(r.stderr), tail(r.stderr, 20))
	}
	t.Logf("the table's head:\n%s", strings.Join(strings.SplitN(r.stdout, "\n", 30)[:29], "\n"))
	for _, want := range []string{
		fmt.Sprintf("service-lb-missing on %d of %d nodes", len(dnsLBMissing), poolSize),
		nodeName(dnsLBMissing[0]),
		"Windows build",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout[:min(len(r.stdout), 3000)])
		}
	}
	if strings.Contains(r.stdout, downNode) {
		t.Errorf("the selector does not match %s, yet the table names it", downNode)
	}
	// Not a terminal: one plain line per node on stderr, no control characters.
	if n := strings.Count(r.stderr, "/100] win-fleet-"); n != poolSize || strings.Contains(r.stderr, "\r") {
		t.Errorf("stderr has %d per-node progress lines (want %d) or carriage returns:\n%s", n, poolSize, tail(r.stderr, 10))
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("%d debug pods left after the run", left)
	}
}

func TestNamedNodesWithALinuxNodeIsRefused(t *testing.T) {
	r := plugin(t, "diagnose", "node/"+nodeName(0), "node/"+linuxNode)
	if r.code != 1 || !strings.Contains(r.stderr, "is not a Windows node") {
		t.Errorf("exit %d, want 1 naming the Linux node; stderr:\n%s", r.code, r.stderr)
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("a refused run created %d debug pods", left)
	}
}

func TestNamedNodes(t *testing.T) {
	r := plugin(t, "diagnose", "node/"+nodeName(3), "node/"+nodeName(4), "node/"+downNode, "-o", "wide")
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (%s is not Ready)", r.code, downNode)
	}
	for _, want := range []string{"service-lb-missing on 1 of 2 nodes", nodeName(4), downNode, "failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("wide table lacks %q:\n%s", want, r.stdout)
		}
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("%d debug pods left after the run", left)
	}
}

// TestNamedNodesBundle: a many-node run writes one bundle holding every node, which analyze
// re-analyzes offline into the same fleet report; a second run does not overwrite it.
func TestNamedNodesBundle(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f.tar.gz")
	args := []string{"diagnose", "node/" + nodeName(3), "node/" + nodeName(4), "node/" + downNode, "--bundle", f}
	r := plugin(t, args...)
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (%s is not Ready); stderr:\n%s", r.code, downNode, tail(r.stderr, 10))
	}
	if want := "bundle written to " + f + " (re-analyze it with: kubectl winnet analyze " + f + ")"; !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, tail(r.stderr, 10))
	}
	st, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bundle of 3 nodes (2 diagnosed): %d bytes; diagnose peak RSS %d MB", st.Size(), r.maxRSSKB/1024)

	a := plugin(t, "analyze", f, "-o", "json")
	if a.code != 0 {
		t.Fatalf("analyze: exit %d, want 0; stderr:\n%s", a.code, tail(a.stderr, 10))
	}
	var fr report.Fleet
	if err := json.Unmarshal([]byte(a.stdout), &fr); err != nil {
		t.Fatalf("analyze's stdout is not a fleet report: %v\n%s", err, a.stdout[:min(len(a.stdout), 2000)])
	}
	if s := fr.Summary; s.Selected != 3 || s.Diagnosed != 2 || s.Failed != 1 {
		t.Errorf("summary = %+v, want 3 selected, 2 diagnosed, 1 failed", s)
	}
	g := group(fr, "service-lb-missing", "kube-dns")
	if g == nil || !slices.Equal(g.Nodes, []string{nodeName(3)}) || g.Of != 2 {
		t.Errorf("kube-dns service-lb-missing group = %+v, want on %s only, of 2; groups: %s", g, nodeName(3), groupList(fr))
	}
	for _, n := range fr.Nodes {
		if n.Name == downNode && (n.Status != report.NodeFailed || !strings.Contains(n.Error, "not Ready")) {
			t.Errorf("row of %s = %s %q, want failed, not Ready", n.Name, n.Status, n.Error)
		}
		if n.Name != downNode && (n.Status != report.NodeOK || n.Report == nil || n.Report.Node.Name != n.Name) {
			t.Errorf("row of %s = %s, report %v", n.Name, n.Status, n.Report != nil)
		}
	}

	// Again without --force: refused before any cluster work, the bundle untouched.
	before, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	again := plugin(t, args...)
	if again.code != 1 || !strings.Contains(again.stderr, "already exists") || !strings.Contains(again.stderr, "--force") {
		t.Errorf("second run: exit %d, want 1 saying the file exists and naming --force; stderr:\n%s", again.code, tail(again.stderr, 10))
	}
	if strings.Contains(again.stderr, "selecting nodes") {
		t.Errorf("the refused run started work on the cluster:\n%s", tail(again.stderr, 10))
	}
	if after, err := os.ReadFile(f); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the bundle was changed by the refused run (%v)", err)
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("%d debug pods left after the runs", left)
	}
}

func TestInterruptStopsTheFanOutAndLeavesNothing(t *testing.T) {
	cmd := exec.Command("kubectl", "winnet", "diagnose", "nodes", "-l", poolLabel+"="+poolValue, "--max-concurrency", "5")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	var errb env.SyncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errb.String(), "[5/100]") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the run never got going:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "interrupted; every debug pod this run created was removed") {
		t.Errorf("want exit 1 saying the pods were removed, got %v:\n%s", err, tail(errb.String(), 15))
	}
	if strings.Contains(errb.String(), "[100/100]") {
		t.Errorf("every node was diagnosed after the interrupt:\n%s", tail(errb.String(), 5))
	}
	if left := debugPodsLeft(t); left != 0 {
		t.Errorf("%d debug pods left after Ctrl-C", left)
	}
}

func group(f report.Fleet, id, object string) *report.FindingGroup {
	for i, g := range f.Groups {
		if g.ID != id {
			continue
		}
		for _, o := range g.Objects {
			if o.Name == object {
				return &f.Groups[i]
			}
		}
	}
	return nil
}

func divergence(f report.Fleet, trait string) *report.Divergence {
	for i, d := range f.Divergences {
		if d.Trait == trait {
			return &f.Divergences[i]
		}
	}
	return nil
}

func groupList(f report.Fleet) string {
	var out []string
	for _, g := range f.Groups {
		out = append(out, fmt.Sprintf("%s %v (%d nodes)", g.ID, g.Objects, len(g.Nodes)))
	}
	return strings.Join(out, "; ")
}

// failedLines is every progress line of a node that failed, so a CI log shows
// each failure's cause however long the run's stderr is.
func failedLines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "✗") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
