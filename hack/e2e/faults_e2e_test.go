//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/hack/e2e/env"
)

// The fault matrix: each row drives the plugin into one failure (a node that cannot run the
// debug pod, a signal in a given phase, a killed plugin, two plugins at once) and asserts the
// exit code, what the user reads on stderr, and how many debug pods are left (none, or for a
// SIGKILL the one that its deadline and `kubectl winnet cleanup` remove). The table in
// README.md ("When things go wrong") lists the same rows.

// The fault matrix's nodes, each failing in its own way (added to the cluster in TestMain).
const (
	downWinNode   = "win-node-down"     // NotReady
	noPullWinNode = "win-node-nopull"   // its registry lacks the debug image
	stuckWinNode  = "win-node-creating" // the runtime never creates the container
	briefWinNode  = "win-node-brief"    // collection takes a few seconds, time to act mid-run
	crashWinNode  = "win-node-crash"    // the collector dies of a panic a second into the run
	stuckState    = "ContainerCreating"
)

// running is a plugin run in the background.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr *env.SyncBuffer
}

func startPlugin(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{cmd: kubectlCmd(kubeconfig, args...), stdout: &env.SyncBuffer{}, stderr: &env.SyncBuffer{}}
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	// kubectl execs the plugin in place (syscall.Exec), so signalling kubectl's pid signals the plugin.
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

// waitFor waits until stderr holds marker: the plugin has reached that phase.
func (r *running) waitFor(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(r.stderr.String(), marker) {
		if time.Now().After(deadline) {
			_ = r.cmd.Process.Kill()
			t.Fatalf("the plugin never printed %q:\n%s", marker, r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait returns the exit code (-1 when killed by a signal).
func (r *running) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("waiting for the plugin: %v", err)
	case <-time.After(2 * time.Minute):
		_ = r.cmd.Process.Kill()
		t.Fatalf("the plugin did not exit:\n%s", r.stderr.String())
	}
	return 0
}

func TestFaultMatrix(t *testing.T) {
	rows := []struct {
		name string
		args []string
		// phase is the stderr line that marks the phase to act in; signals go then.
		phase   string
		signals []syscall.Signal
		code    int
		stdout  []string
		stderr  []string
		left    int // debug pods left when the plugin has exited
		// mayLeave: the pod is left or not, by a race the user cannot see either (a second
		// Ctrl-C exits at once, whether or not the first one's delete has gone through).
		mayLeave bool
	}{
		{name: "node NotReady: refused before any pod is made", args: []string{"node/" + downWinNode},
			code: 1, stderr: []string{"is not Ready", "kubectl describe node " + downWinNode}},
		{name: "debug image cannot be pulled", args: []string{"node/" + noPullWinNode},
			code: 1, stderr: []string{"cannot pull image", "check --image"}},
		{name: "debug pod never starts: --timeout", args: []string{"node/" + stuckWinNode, "--timeout", "3s"},
			code: 1, stderr: []string{"is still not running after 3s", "last state: Pending: " + stuckState, "longer --timeout"}},
		{name: "SIGINT while waiting for the debug pod", args: []string{"node/" + stuckWinNode},
			phase: "creating the debug pod's container", signals: []syscall.Signal{syscall.SIGINT},
			code: 1, stderr: []string{"interrupt: stopping and removing the debug pod", "interrupted; the debug pod was removed"}},
		{name: "SIGTERM while waiting for the debug pod", args: []string{"node/" + stuckWinNode},
			phase: "creating the debug pod's container", signals: []syscall.Signal{syscall.SIGTERM},
			code: 1, stderr: []string{"terminated: stopping and removing the debug pod", "interrupted; the debug pod was removed"}},
		{name: "SIGINT during the collector's upload", args: []string{"node/" + slowWinNode},
			phase: "uploading the collector", signals: []syscall.Signal{syscall.SIGINT},
			code: 1, stderr: []string{"interrupt: stopping and removing the debug pod", "interrupted; the debug pod was removed"}},
		{name: "a collector source hangs: its deadline ends it, the rest is reported", args: []string{"node/" + slowWinNode},
			code: 0, stdout: []string{"COLLECTOR ERRORS", "replay.delay:", "timed out after 30s"}, stderr: []string{"1 source errors"}},
		{name: "SIGTERM during collection", args: []string{"node/" + slowWinNode},
			phase: "· collecting: ", signals: []syscall.Signal{syscall.SIGTERM},
			code: 1, stderr: []string{"terminated: stopping and removing the debug pod", "interrupted; the debug pod was removed"}},
		{name: "second Ctrl-C exits at once, the pod left to its deadline", args: []string{"node/" + slowWinNode},
			// SIGINT then SIGTERM (winnet treats both as Ctrl-C): two different signals never
			// merge, so the second is a second however loaded the machine is, where a
			// repeated SIGINT could reach the process as one, or only after the first
			// one's cleanup (milliseconds) had already ended the run.
			phase: "· collecting: ", signals: []syscall.Signal{syscall.SIGINT, syscall.SIGTERM},
			code: 130, stderr: []string{"exiting without cleanup", "kubectl winnet cleanup"}, mayLeave: true},
		{name: "collector crashes mid-stream: a partial report, the crash named", args: []string{"node/" + crashWinNode},
			code: 1, stdout: []string{"INCOMPLETE:", "service-lb-missing"},
			stderr: []string{"the diagnosis is incomplete", "exited with code 2", "panic: replay: simulated crash"}},
		{name: "SIGKILL during collection, the pod left to its deadline", args: []string{"node/" + slowWinNode},
			phase: "· collecting: ", signals: []syscall.Signal{syscall.SIGKILL},
			code: -1, left: 1},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			requireNoDebugPods(t)
			r := startPlugin(t, append([]string{"winnet", "diagnose"}, row.args...)...)
			if row.phase != "" {
				r.waitFor(t, row.phase)
				if n := len(debugPods(t)); n != 1 {
					t.Fatalf("%d debug pods at %q, want 1", n, row.phase)
				}
				for _, s := range row.signals {
					if err := r.cmd.Process.Signal(s); err != nil {
						t.Fatal(err)
					}
				}
			}
			code := r.wait(t)
			stderr := r.stderr.String()
			t.Logf("exit %d, stderr:\n%s", code, stderr)
			if code != row.code {
				t.Errorf("exit code %d, want %d", code, row.code)
			}
			for _, want := range row.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			for _, want := range row.stdout {
				if !strings.Contains(r.stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout.String())
				}
			}
			pods := debugPods(t)
			if row.mayLeave {
				// The first signal's delete may still be landing: whatever is left, cleanup
				// removes it, and nothing stays.
				if len(pods) > 1 {
					t.Fatalf("%d debug pods left, want at most 1", len(pods))
				}
				t.Logf("%d debug pods seen after exit (0 or 1 may be)", len(pods))
				if clean := kubectl(t, kubeconfig, "winnet", "cleanup"); clean.code != 0 {
					t.Fatalf("cleanup exit %d:\n%s", clean.code, clean.stderr)
				}
				requireNoDebugPods(t)
				return
			}
			if len(pods) != row.left {
				t.Fatalf("%d debug pods left, want %d", len(pods), row.left)
			}
			if row.left == 0 {
				return
			}
			// A pod the plugin could not remove carries its own deadline, and cleanup finds it.
			if d := pods[0].Spec.ActiveDeadlineSeconds; d == nil || *d <= 0 {
				t.Errorf("the left-behind pod %s has no activeDeadlineSeconds: nothing would remove it", pods[0].Name)
			}
			dry := kubectl(t, kubeconfig, "winnet", "cleanup", "--dry-run")
			if dry.code != 0 || !strings.Contains(dry.stdout, pods[0].Name) || !strings.Contains(dry.stdout, "(dry run)") {
				t.Fatalf("cleanup --dry-run exit %d, stdout %q", dry.code, dry.stdout)
			}
			if n := len(debugPods(t)); n != row.left {
				t.Fatalf("cleanup --dry-run deleted pods: %d left, want %d", n, row.left)
			}
			clean := kubectl(t, kubeconfig, "winnet", "cleanup")
			if clean.code != 0 || !strings.Contains(clean.stdout, "pod/"+pods[0].Name+" deleted from namespace "+env.DebugNamespace) {
				t.Fatalf("cleanup exit %d, stdout %q", clean.code, clean.stdout)
			}
			requireNoDebugPods(t)
		})
	}
}

// Two plugins diagnosing the same node at once each get their own debug pod and report, and
// both remove theirs.
func TestTwoPluginsOnOneNode(t *testing.T) {
	requireNoDebugPods(t)
	a := startPlugin(t, "winnet", "diagnose", "node/"+winNode, "-o", "json")
	b := startPlugin(t, "winnet", "diagnose", "node/"+winNode, "-o", "json")
	var names []string
	for _, r := range []*running{a, b} {
		if code := r.wait(t); code != 0 {
			t.Fatalf("exit %d:\n%s", code, r.stderr.String())
		}
		var rep struct {
			debugPodReport
			Findings []struct {
				ID string `json:"id"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.stdout.String()), &rep); err != nil {
			t.Fatalf("-o json: %v\n%s", err, r.stdout.String())
		}
		found := false
		for _, f := range rep.Findings {
			found = found || f.ID == "service-lb-missing"
		}
		if !found {
			t.Errorf("a concurrent run lost the node's finding: %+v", rep.Findings)
		}
		names = append(names, rep.DebugPod.Name)
	}
	if names[0] == "" || names[0] == names[1] {
		t.Errorf("debug pods %q: want one each", names)
	}
	requireNoDebugPods(t)
}

// The target pod deleted while its node is being read: the run still reports on the node.
func TestTargetPodDeletedMidRun(t *testing.T) {
	ctx := context.Background()
	createPodOn(t, "slow-gone", briefWinNode, "10.244.9.5")
	r := startPlugin(t, "winnet", "diagnose", "pod/slow-gone", "-n", "shop")
	r.waitFor(t, "· collecting: ")
	zero := int64(0)
	if err := world.Client.CoreV1().Pods("shop").Delete(ctx, "slow-gone", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t)
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	if code != 0 {
		t.Errorf("exit %d, want 0: the node was read", code)
	}
	if out := r.stdout.String(); !strings.Contains(out, "pod shop/slow-gone (10.244.9.5) on node "+briefWinNode) || !strings.Contains(out, "FINDINGS") {
		t.Errorf("no report on the node of the deleted pod:\n%s", out)
	}
	requireNoDebugPods(t)
}

// The API server dies mid-collection and comes back: the exec stream through it drops, what
// arrived is reported as INCOMPLETE, and the delete waits for the server instead of leaving
// the node-admin pod behind.
func TestAPIServerRestartMidRun(t *testing.T) {
	requireNoDebugPods(t)
	r := startPlugin(t, "winnet", "diagnose", "node/"+slowWinNode)
	r.waitFor(t, "· collecting: ")
	world.Cluster.CrashAPIServer()
	// Down long enough that the plugin's first delete attempts are refused.
	time.Sleep(3 * time.Second)
	if err := world.Cluster.RestartAPIServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t)
	stderr := r.stderr.String()
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"the diagnosis is incomplete", "the connection to the node dropped"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if !strings.Contains(r.stdout.String(), "INCOMPLETE:") {
		t.Errorf("stdout lacks the INCOMPLETE line")
	}
	requireNoDebugPods(t)
}

// The API server restarts while the plugin waits for its debug pod: the wait goes on over a
// new watch and ends as it would have (here at --timeout, the node never starting the pod).
func TestAPIServerRestartWhileWaiting(t *testing.T) {
	requireNoDebugPods(t)
	r := startPlugin(t, "winnet", "diagnose", "node/"+stuckWinNode, "--timeout", "15s")
	r.waitFor(t, "creating the debug pod's container")
	world.Cluster.CrashAPIServer()
	time.Sleep(2 * time.Second)
	if err := world.Cluster.RestartAPIServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t)
	stderr := r.stderr.String()
	t.Logf("exit %d\nstderr:\n%s", code, stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"is still not running after 15s", "last state: Pending: " + stuckState} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	requireNoDebugPods(t)
}
