//go:build e2e

// End-to-end tests: the real kubectl binary runs kubectl-winnet (built with a Linux collector)
// against a real kube-apiserver and etcd, with simulated Windows and Linux nodes acting as
// kubelets for exec. Run with `make e2e` (or go test -tags e2e ./hack/e2e/...).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/hack/e2e/env"
	"github.com/kubectl-winnet/winnet/hack/e2e/simnode"
	"github.com/kubectl-winnet/winnet/pkg/collector/replay"
)

var (
	world      *env.Env
	pluginDir  string
	kubeconfig string
)

const (
	winNode     = "win-node-1"
	slowWinNode = "win-node-slow"
	linuxNode   = "linux-node-1"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	plugin, err := env.PluginBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	pluginDir = filepath.Dir(plugin)
	slow, err := slowScenario("healthy-l2bridge", "60s")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(slow)
	brief, err := slowScenario("healthy-l2bridge", "4s")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(brief)
	crashing, err := scenarioWith("kube-dns-lb-missing", replay.CrashFile, "1s")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(crashing)
	nodes := []simnode.NodeSpec{
		{Name: winNode, OS: "windows", Scenario: "kube-dns-lb-missing"},
		{Name: slowWinNode, OS: "windows", Scenario: slow},
		{Name: linuxNode, OS: "linux"},
		// The fault matrix's nodes (faults_e2e_test.go).
		{Name: downWinNode, OS: "windows", NotReady: true},
		{Name: noPullWinNode, OS: "windows", PodState: "ImagePullBackOff"},
		{Name: stuckWinNode, OS: "windows", PodState: stuckState},
		{Name: briefWinNode, OS: "windows", Scenario: brief},
		{Name: crashWinNode, OS: "windows", Scenario: crashing},
	}
	scenarios := []string{"kube-dns-lb-missing"}
	// The path cases each run on a node of their own, with their objects in a namespace of
	// their own (hack/scenarios/path-*).
	for _, c := range pathCases {
		nodes = append(nodes, simnode.NodeSpec{Name: c.node, OS: "windows", Scenario: c.scenario})
		scenarios = append(scenarios, c.scenario)
	}
	nodes = append(nodes, simnode.NodeSpec{Name: podExecNode, OS: "windows", Scenario: "path-pod-exec"})
	scenarios = append(scenarios, "path-pod-exec")
	start := time.Now()
	world, err = env.Up(ctx, env.Options{
		Nodes:     nodes,
		Scenarios: scenarios,
		Log:       os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: bringing up the test cluster:", err)
		return 1
	}
	defer world.Stop()
	fmt.Fprintf(os.Stderr, "e2e: cluster and nodes up in %s\n", time.Since(start).Round(time.Millisecond))
	kubeconfig = world.Cluster.AdminKubeconfig()
	return m.Run()
}

// slowScenario copies a scenario and makes its replay take delay, so a run can be interrupted
// while the collector is still working.
func slowScenario(name, delay string) (string, error) {
	return scenarioWith(name, replay.DelayFile, delay)
}

// scenarioWith copies a scenario and adds one replay knob file (replay.DelayFile, replay.CrashFile).
func scenarioWith(name, file, content string) (string, error) {
	dir, err := os.MkdirTemp("", "winnet-scenario-")
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dir, os.DirFS(env.ScenarioPath(name))); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644)
}

type result struct {
	stdout, stderr string
	code           int
}

// kubectl runs the real kubectl with the plugin on PATH.
func kubectl(t *testing.T, cfg string, args ...string) result {
	t.Helper()
	cmd := kubectlCmd(cfg, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running kubectl %v: %v", args, err)
	}
	t.Logf("kubectl %s -> exit %d\nstderr:\n%s", strings.Join(args, " "), code, errb.String())
	return result{out.String(), errb.String(), code}
}

func kubectlCmd(cfg string, args ...string) *exec.Cmd {
	// KUBECONFIG, not --kubeconfig: kubectl refuses flags placed before a plugin's name.
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cfg, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	return cmd
}

func debugPods(t *testing.T) []corev1.Pod {
	t.Helper()
	pods, err := world.Client.CoreV1().Pods(env.DebugNamespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=kubectl-winnet"})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func requireNoDebugPods(t *testing.T) {
	t.Helper()
	if pods := debugPods(t); len(pods) != 0 {
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		t.Fatalf("debug pods left behind: %v", names)
	}
}

func TestDiagnosePodRendersItsEndpoint(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "shop")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"pod shop/web-0 (10.244.1.5) on node " + winNode,
		"service-lb-missing",
		"kube-system/kube-dns",
		"kube-proxy-policy-errors",
		"LOAD BALANCERS",
		"RECENT HNS EVENTS",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	// The pod's own endpoint is marked.
	if !regexp.MustCompile(`(?m)^\*\s+10\.244\.1\.5\s+local`).MatchString(r.stdout) {
		t.Errorf("the pod's endpoint is not marked:\n%s", r.stdout)
	}
	requireNoDebugPods(t)
}

func TestDiagnoseJSON(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "svc/web", "-n", "shop", "-o", "json", "--fail-on", "error")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (error findings with --fail-on error); stderr:\n%s", r.code, r.stderr)
	}
	var rep struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Target     struct{ Pod, Node, PodIP, Note string }
		Findings   []struct{ ID, Severity string }
		Collected  struct {
			Endpoints []struct {
				IP     string `json:"ip"`
				Target bool   `json:"target"`
			}
		}
		DebugPod struct {
			RoundTrips  int   `json:"execRoundTrips"`
			UploadBytes int64 `json:"uploadBytes"`
		}
		Timings []struct {
			Phase      string
			DurationMS int64
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.APIVersion != "winnet.kubectl.dev/v1alpha1" || rep.Kind != "DiagnosisReport" {
		t.Errorf("apiVersion/kind = %s/%s", rep.APIVersion, rep.Kind)
	}
	if rep.Target.Node != winNode || rep.Target.Note == "" {
		t.Errorf("target = %+v, want node %s and a note saying which pod of svc/web was picked", rep.Target, winNode)
	}
	marked := 0
	for _, e := range rep.Collected.Endpoints {
		if e.Target {
			marked++
			if e.IP != rep.Target.PodIP {
				t.Errorf("endpoint %s marked as the target, pod IP is %s", e.IP, rep.Target.PodIP)
			}
		}
	}
	if marked != 1 {
		t.Errorf("%d endpoints marked as the target, want 1", marked)
	}
	ids := map[string]bool{}
	for _, f := range rep.Findings {
		ids[f.ID] = true
	}
	if !ids["service-lb-missing"] {
		t.Errorf("findings %v lack service-lb-missing", rep.Findings)
	}
	if rep.DebugPod.RoundTrips != 1 || rep.DebugPod.UploadBytes == 0 {
		t.Errorf("cold run: %d exec round trips, %d bytes uploaded; want 1 round trip carrying the upload", rep.DebugPod.RoundTrips, rep.DebugPod.UploadBytes)
	}
	t.Logf("cold run: %d exec round trips, %d bytes uploaded; timings %+v", rep.DebugPod.RoundTrips, rep.DebugPod.UploadBytes, rep.Timings)
	requireNoDebugPods(t)
}

func TestPodOnLinuxNodeIsRefused(t *testing.T) {
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "linux-app", Namespace: "shop"},
		Spec:       corev1.PodSpec{NodeName: linuxNode, Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	if _, err := world.Client.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, "shop", "linux-app")
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/linux-app", "-n", "shop")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, want := range []string{linuxNode, "linux"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	requireNoDebugPods(t)
}

func TestDebugNamespaceWithoutPrivilegedPodSecurity(t *testing.T) {
	ctx := context.Background()
	if err := world.Cluster.EnsureNamespace(ctx, "winnet-baseline", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); err != nil {
		t.Fatal(err)
	}
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "shop", "--debug-namespace", "winnet-baseline")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, want := range []string{
		`violates PodSecurity "baseline:latest"`, // the API server's own words, quoted
		"pod-security.kubernetes.io/enforce=privileged",
		"kubectl label namespace winnet-baseline",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	pods, err := world.Client.CoreV1().Pods("winnet-baseline").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Fatalf("pods in winnet-baseline: %v (err %v)", pods, err)
	}
}

// A user who may do everything winnet needs except create pods/exec.
func TestUserWithoutExecPermission(t *testing.T) {
	ctx := context.Background()
	c := world.Client
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "winnet-no-exec"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "nodes", "services"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list"}},
		},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "winnet-no-exec"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "winnet-no-exec"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "dev"}},
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := world.Cluster.UserKubeconfig("dev")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("pre-check names the permission", func(t *testing.T) {
		r := kubectl(t, cfg, "winnet", "diagnose", "pod/web-0", "-n", "shop")
		if r.code != 1 || !strings.Contains(r.stderr, "kubectl auth can-i create pods --subresource=exec") {
			t.Fatalf("exit %d; want an error naming create pods/exec:\n%s", r.code, r.stderr)
		}
		requireNoDebugPods(t)
	})
	t.Run("refusal by the API server is explained", func(t *testing.T) {
		r := kubectl(t, cfg, "winnet", "diagnose", "pod/web-0", "-n", "shop", "--skip-access-check")
		if r.code != 1 || !strings.Contains(r.stderr, `resource "pods/exec"`) || !strings.Contains(r.stderr, "`get` and `create` on pods/exec") {
			t.Fatalf("exit %d; want the API server's refusal and what to do:\n%s", r.code, r.stderr)
		}
		requireNoDebugPods(t)
	})
}

// createPodOn starts a Windows pod in namespace shop on node, with the IP the node reports.
func createPodOn(t *testing.T, name, node, ip string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: map[string]string{simnode.AnnotationPodIP: ip}},
		Spec: corev1.PodSpec{NodeName: node, OS: &corev1.PodOS{Name: corev1.Windows},
			Containers: []corev1.Container{{Name: "app", Image: "mcr.microsoft.com/windows/nanoserver:ltsc2022"}}},
	}
	if _, err := world.Client.CoreV1().Pods("shop").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, "shop", name)
}

func TestSIGINTDuringCollectionLeavesNothing(t *testing.T) {
	createPodOn(t, "slow-0", slowWinNode, "10.244.1.5")
	cmd := kubectlCmd(kubeconfig, "winnet", "diagnose", "pod/slow-0", "-n", "shop")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	// kubectl execs the plugin in place (syscall.Exec), so signalling kubectl's pid signals the plugin.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(errb.String(), "· collecting: ") { // a source has started on the node
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("collection never started:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(debugPods(t)); n != 1 {
		t.Fatalf("%d debug pods during collection, want 1", n)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() == 0 {
		t.Fatalf("want a non-zero exit after SIGINT, got %v\n%s", err, errb.String())
	}
	t.Logf("stderr after SIGINT:\n%s", errb.String())
	requireNoDebugPods(t)
}

// debugPodReport is the part of -o json that says what putting the collector on the node cost.
type debugPodReport struct {
	DebugPod struct {
		Name        string `json:"name"`
		Kept        bool   `json:"kept"`
		Reused      bool   `json:"reused"`
		RoundTrips  int    `json:"execRoundTrips"`
		Uploaded    bool   `json:"collectorUploaded"`
		UploadBytes int64  `json:"uploadBytes"`
	} `json:"debugPod"`
}

// nodeExecs are the execs the simulated node received for the debug pod name, after the first
// skip of them: the node's own account of round trips and bytes, not the plugin's.
func nodeExecs(pod string, skip int) (n int, stdin int64) {
	for _, e := range world.Sim.Execs()[skip:] {
		if e.Namespace == env.DebugNamespace && e.Pod == pod {
			n++
			stdin += e.StdinBytes
		}
	}
	return n, stdin
}

// embeddedUploadBytes is the size of the gzipped tar stream the e2e plugin carries: what a
// cold run must upload, no more.
func embeddedUploadBytes(t *testing.T) (gz, exe int64) {
	t.Helper()
	var meta struct {
		Collector struct {
			Size   int64 `json:"size"`
			GzSize int64 `json:"gzSize"`
		} `json:"collector"`
	}
	r := kubectl(t, kubeconfig, "winnet", "version", "-o", "json")
	if r.code != 0 {
		t.Fatalf("kubectl winnet version exit %d:\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &meta); err != nil || meta.Collector.GzSize == 0 {
		t.Fatalf("version -o json has no collector sizes (%v):\n%s", err, r.stdout)
	}
	return meta.Collector.GzSize, meta.Collector.Size
}

// TestKeepThenReuse: a cold run on a freshly created pod uploads, verifies and runs the
// collector in one exec; a warm run on the kept pod verifies and runs it in one exec, and
// uploads nothing.
func TestKeepThenReuse(t *testing.T) {
	gz, exe := embeddedUploadBytes(t)
	before := len(world.Sim.Execs())
	first := kubectl(t, kubeconfig, "winnet", "diagnose", "node/"+winNode, "--keep", "-o", "json")
	if first.code != 0 {
		t.Fatalf("first run exit %d:\n%s", first.code, first.stderr)
	}
	var a, b debugPodReport
	if err := json.Unmarshal([]byte(first.stdout), &a); err != nil {
		t.Fatal(err)
	}
	if len(debugPods(t)) != 1 {
		t.Fatalf("--keep left %d debug pods, want 1", len(debugPods(t)))
	}
	coldExecs, coldBytes := nodeExecs(a.DebugPod.Name, before)
	if a.DebugPod.Reused || a.DebugPod.RoundTrips != 1 || coldExecs != 1 {
		t.Errorf("cold run on a fresh pod: %d exec round trips reported, %d received by the node; want 1", a.DebugPod.RoundTrips, coldExecs)
	}
	if !a.DebugPod.Uploaded || a.DebugPod.UploadBytes != gz || coldBytes != gz {
		t.Errorf("cold run uploaded %v: %d bytes reported, %d received by the node; want the %d-byte gzipped tar stream", a.DebugPod.Uploaded, a.DebugPod.UploadBytes, coldBytes, gz)
	}
	if gz >= exe {
		t.Errorf("the upload is %d bytes, the collector %d: it is not compressed", gz, exe)
	}

	before = len(world.Sim.Execs())
	second := kubectl(t, kubeconfig, "winnet", "diagnose", "node/"+winNode, "-o", "json")
	if second.code != 0 {
		t.Fatalf("second run exit %d:\n%s", second.code, second.stderr)
	}
	if err := json.Unmarshal([]byte(second.stdout), &b); err != nil {
		t.Fatal(err)
	}
	if !b.DebugPod.Reused || b.DebugPod.Name != a.DebugPod.Name {
		t.Fatalf("second run did not reuse the kept pod: first %+v, second %+v", a.DebugPod, b.DebugPod)
	}
	warmExecs, warmBytes := nodeExecs(b.DebugPod.Name, before)
	if b.DebugPod.RoundTrips != 1 || warmExecs != 1 {
		t.Errorf("warm run: %d exec round trips reported, %d received by the node; want 1", b.DebugPod.RoundTrips, warmExecs)
	}
	if b.DebugPod.Uploaded || b.DebugPod.UploadBytes != 0 || warmBytes != 0 {
		t.Errorf("warm run uploaded %v: %d bytes reported, %d received by the node; want none", b.DebugPod.Uploaded, b.DebugPod.UploadBytes, warmBytes)
	}
	t.Logf("exec round trips: cold %d, warm %d; upload bytes: cold %d (collector %d bytes uncompressed), warm %d",
		a.DebugPod.RoundTrips, b.DebugPod.RoundTrips, coldBytes, exe, warmBytes)
	clean := kubectl(t, kubeconfig, "winnet", "cleanup")
	if clean.code != 0 || !strings.Contains(clean.stdout, a.DebugPod.Name) {
		t.Fatalf("cleanup exit %d, stdout %q", clean.code, clean.stdout)
	}
	requireNoDebugPods(t)
}

func waitRunning(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		p, err := world.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s never ran", ns, name)
}

// kubectl (>= 1.26) completes plugin arguments through kubectl_complete-winnet on PATH.
func TestCompletionThroughKubectl(t *testing.T) {
	r := kubectl(t, kubeconfig, "__complete", "winnet", "diagnose", "-n", "shop", "pod/we")
	if r.code != 0 || !strings.Contains(r.stdout, "pod/web-0") || !strings.Contains(r.stdout, "pod/web-1") {
		t.Fatalf("exit %d, completions:\n%s", r.code, r.stdout)
	}
	r = kubectl(t, kubeconfig, "__complete", "winnet", "diagnose", "no")
	if !strings.Contains(r.stdout, "node/") {
		t.Fatalf("type completions:\n%s", r.stdout)
	}
}

// pathCases are the --to scenarios: each breaks one hop of the path from pod web-0 to its
// namespace's Service web (hack/scenarios/path-*/README.md).
var pathCases = []struct {
	scenario, node, namespace string
	headline                  string // the first failing hop; "" when none fails
}{
	{"path-healthy", "win-path-ok", "path-ok", ""},
	{"path-dns-mismatch", "win-path-dns", "path-dns", "pod DNS servers"},
	{"path-lb-missing", "win-path-lb", "path-lb", "VIP load balancer"},
	{"path-stale-backend", "win-path-stale", "path-stale", "load balancer backends"},
	{"path-policy-deny", "win-path-deny", "path-deny", "NetworkPolicy"},
}

func TestDiagnosePathToService(t *testing.T) {
	for _, c := range pathCases {
		t.Run(c.scenario, func(t *testing.T) {
			r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", c.namespace, "--to", "svc/web:80", "-o", "json")
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			var rep struct {
				Target struct{ Node string }
				Path   *struct {
					From, To string
					Headline *struct{ Name, Verdict, Evidence string }
					Hops     []struct{ Name, Verdict, Evidence string }
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if rep.Target.Node != c.node {
				t.Fatalf("diagnosed on node %q, want %q", rep.Target.Node, c.node)
			}
			if rep.Path == nil {
				t.Fatalf("the report has no path:\n%s", r.stdout)
			}
			var hops []string
			for _, h := range rep.Path.Hops {
				hops = append(hops, h.Name+": "+h.Verdict+": "+h.Evidence)
			}
			got := ""
			if rep.Path.Headline != nil {
				got = rep.Path.Headline.Name
			}
			if got != c.headline {
				t.Errorf("first failing hop = %q, want %q; hops:\n%s", got, c.headline, strings.Join(hops, "\n"))
			}
			if rep.Path.From != "pod "+c.namespace+"/web-0" || rep.Path.To != "svc/web:80" {
				t.Errorf("path from %q to %q", rep.Path.From, rep.Path.To)
			}
			// The probes ran (were answered by the replay), none was left without an answer.
			for _, h := range rep.Path.Hops {
				if h.Name == "connection" && h.Verdict == "skipped" {
					t.Errorf("the connection probe was not answered: %s", h.Evidence)
				}
			}
			requireNoDebugPods(t)
		})
	}
}

// -o html draws the live walk: a box per hop between the two ends, the first failing hop
// marked, as the JSON report of the same run names it.
func TestDiagnosePathHTML(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "path-lb", "--to", "svc/web:80", "-o", "html")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	doc, err := html.Parse(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("stdout is not HTML: %v", err)
	}
	var boxes []string
	headline := ""
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "g" {
			for _, a := range n.Attr {
				if a.Key == "class" && strings.HasPrefix(a.Val, "box ") {
					boxes = append(boxes, a.Val)
				}
				if a.Key == "data-headline" {
					headline = textOf(n)
				}
			}
		}
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "link" || n.Data == "img") {
			t.Errorf("the page has a <%s>", n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(boxes) < 4 || !strings.Contains(boxes[0], "end") || !strings.Contains(boxes[len(boxes)-1], "end") {
		t.Errorf("the diagram's boxes: %q", boxes)
	}
	if !strings.Contains(headline, "VIP load balancer") || !strings.Contains(headline, "FAIL") {
		t.Errorf("the marked hop reads %q, want the VIP load balancer failing", headline)
	}
	requireNoDebugPods(t)
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

func TestDiagnosePathTable(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "path-dns", "--to", "svc/web")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"POD NETWORK (from the HNS endpoint)",
		"PATH from pod path-dns/web-0 to svc/web (first failing hop: pod DNS servers)",
		"HOP", "VERDICT", "EVIDENCE",
		"fix first:",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+DNS servers:\s+10\.0\.0\.2$`).MatchString(r.stdout) {
		t.Errorf("the pod's DNS servers are not shown:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^pod DNS servers\s+FAIL\s+pod asks 10\.0\.0\.2`).MatchString(r.stdout) {
		t.Errorf("the hop table does not fail the pod's DNS servers:\n%s", r.stdout)
	}
	requireNoDebugPods(t)
}

func TestDiagnoseToUnknownServiceFailsEarly(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "path-ok", "--to", "svc/nope:80")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, want := range []string{"no Service path-ok/nope was found", "kubectl get services -n path-ok"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	requireNoDebugPods(t)
}

// podExecNode runs hack/scenarios/path-pod-exec: the collector cannot enter pod web-0's network
// compartment, and web-0's image has nslookup.exe only.
const podExecNode = "win-path-exec"

func TestDiagnoseFallsBackToExecIntoThePod(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "path-exec", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var rep struct {
		Target struct{ Node string }
		Path   *struct {
			Notes []string
			Hops  []struct{ Name, Verdict, Evidence string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Target.Node != podExecNode || rep.Path == nil {
		t.Fatalf("diagnosed on node %q, path %v:\n%s", rep.Target.Node, rep.Path, r.stdout)
	}
	evidence := map[string]string{}
	var all []string
	for _, h := range rep.Path.Hops {
		evidence[h.Name] = h.Verdict + ": " + h.Evidence
		all = append(all, h.Name+": "+h.Verdict+": "+h.Evidence)
	}
	for hop, want := range map[string]string{
		// Answered inside the pod by its own nslookup.exe, with the simulated image's answer.
		"cluster DNS (kube-dns VIP, UDP)": "ok: dns:kubernetes.default.svc.cluster.local@10.96.0.10:53: ok (exec:nslookup) -> 10.96.0.1",
		// The image has no PowerShell: its curl.exe opens the TCP connection.
		"API server VIP": "ok (exec:curl)",
	} {
		if got, ok := evidence[hop]; !ok || !strings.Contains(got, want) {
			t.Errorf("hop %q = %q, want it to contain %q; hops:\n%s", hop, got, want, strings.Join(all, "\n"))
		}
	}
	if !strings.Contains(strings.Join(rep.Path.Notes, "\n"), "ran inside container web instead (exec:nslookup, exec:curl)") {
		t.Errorf("the path notes do not say the fallback ran: %q", rep.Path.Notes)
	}
	// The exec went to the target pod itself, with the detection first.
	var execs []string
	for _, e := range world.Sim.Execs() {
		if e.Namespace == "path-exec" && e.Pod == "web-0" {
			execs = append(execs, e.Argv[0])
		}
	}
	if len(execs) == 0 || execs[0] != "cmd.exe" || !slices.Contains(execs, "nslookup.exe") || !slices.Contains(execs, "curl.exe") || slices.Contains(execs, "powershell.exe") {
		t.Errorf("execs into path-exec/web-0: %q; want the tool detection, then nslookup.exe and curl.exe only", execs)
	}
	// The table says which method answered, and the progress which one ran.
	r = kubectl(t, kubeconfig, "winnet", "diagnose", "pod/web-0", "-n", "path-exec")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^cluster DNS \(kube-dns VIP, UDP\)\s+OK\s+.*\(exec:nslookup\)`).MatchString(r.stdout) {
		t.Errorf("the hop table does not show the DNS probe answered by exec:nslookup:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "4 of 4 probes answered with exec:nslookup, exec:curl from container web") {
		t.Errorf("the progress does not say how the probes were answered:\n%s", r.stderr)
	}
	requireNoDebugPods(t)
}

// With the roles manifests/rbac.yaml ships, exec is allowed in winnet's namespace but not in the
// target's: the fallback is refused, and the run still succeeds with a note saying so.
func TestPodExecFallbackRefusedIsANote(t *testing.T) {
	setupCluster(t)
	cfg, err := world.Cluster.UserKubeconfig("ops", "winnet-users")
	if err != nil {
		t.Fatal(err)
	}
	r := kubectl(t, cfg, "winnet", "diagnose", "pod/web-0", "-n", "path-exec", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d; a refused fallback must not fail the run:\n%s", r.code, r.stderr)
	}
	var rep struct {
		Path *struct {
			Notes []string
			Hops  []struct{ Name, Verdict, Evidence string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Path == nil {
		t.Fatalf("no path in the report (%v):\n%s", err, r.stdout)
	}
	notes := strings.Join(rep.Path.Notes, "\n")
	for _, want := range []string{"pod-scoped probes stayed skipped", `resource "pods/exec"`, "grant `get` and `create` on pods/exec there"} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q:\n%s", want, notes)
		}
	}
	for _, h := range rep.Path.Hops {
		if h.Name == "cluster DNS (kube-dns VIP, UDP)" && (h.Verdict != "skipped" || !strings.Contains(h.Evidence, "(pod-compartment)")) {
			t.Errorf("hop %s = %s: %s; want it still skipped by the collector", h.Name, h.Verdict, h.Evidence)
		}
	}
	requireNoDebugPods(t)
}
