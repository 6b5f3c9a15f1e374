//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/hack/e2e/env"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

// manifests/admission.yaml against the real API server: the pod kubectl winnet builds is
// admitted (and a diagnosis runs end to end), every other shape of privileged pod in the debug
// namespace is refused with the policy's message, and a refused plugin run says what to do.
func TestAdmissionPolicy(t *testing.T) {
	ctx := context.Background()
	applyAdmissionPolicy(t)

	node, err := world.Client.CoreV1().Nodes().Get(ctx, winNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ours := func() *corev1.Pod { return debugpod.Spec(debugpod.Options{Node: node}) }
	foreignImage := "mcr.microsoft.com/windows/servercore:ltsc2022"
	rows := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   string // "" = admitted
	}{
		{name: "the pod kubectl winnet builds", mutate: func(*corev1.Pod) {}},
		{name: "a HostProcess pod with another image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = foreignImage },
			want: foreignImage + " is not one of"},
		{name: "without winnet's label", mutate: func(p *corev1.Pod) { delete(p.Labels, debugpod.LabelManagedBy) },
			want: "lacks the label app.kubernetes.io/managed-by=kubectl-winnet"},
		{name: "a privileged Linux pod", mutate: func(p *corev1.Pod) {
			yes := true
			p.Spec.OS = &corev1.PodOS{Name: corev1.Linux}
			p.Spec.SecurityContext = nil
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}, want: "a Windows HostProcess pod"},
		{name: "an extra init container", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "first", Image: debugpod.DefaultImage}}
		}, want: "exactly one container"},
		{name: "a second container", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "more", Image: debugpod.DefaultImage})
		}, want: "exactly one container"},
		{name: "no activeDeadlineSeconds", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want: "activeDeadlineSeconds must be between 60 and 14400"},
		{name: "a day-long deadline", mutate: func(p *corev1.Pod) { day := int64(86400); p.Spec.ActiveDeadlineSeconds = &day },
			want: "activeDeadlineSeconds must be between 60 and 14400"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			p := ours()
			row.mutate(p)
			// Server-side dry run: admission runs in full, nothing is stored.
			_, err := world.Client.CoreV1().Pods(env.DebugNamespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if row.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("admitted, want refused with %q", row.want)
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+debugpod.AdmissionPolicyName+"'") || !strings.Contains(err.Error(), row.want) {
				t.Fatalf("refused with %v, want Forbidden by %s saying %q", err, debugpod.AdmissionPolicyName, row.want)
			}
		})
	}

	t.Run("a diagnosis runs under the policy", func(t *testing.T) {
		r := kubectl(t, kubeconfig, "winnet", "diagnose", "node/"+winNode)
		if r.code != 0 || !strings.Contains(r.stdout, "service-lb-missing") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		requireNoDebugPods(t)
	})
	t.Run("--image the policy does not list", func(t *testing.T) {
		r := kubectl(t, kubeconfig, "winnet", "diagnose", "node/"+winNode, "--image", foreignImage)
		t.Logf("exit %d, stderr:\n%s", r.code, r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, "winnet's own admission policy refused the debug pod") || !strings.Contains(r.stderr, "drop --image") {
			t.Fatalf("exit %d, want 1 and the policy named with what to do", r.code)
		}
		requireNoDebugPods(t)
	})
	t.Run("--debug-pod-deadline beyond the policy's bound", func(t *testing.T) {
		r := kubectl(t, kubeconfig, "winnet", "diagnose", "node/"+winNode, "--debug-pod-deadline", "5h")
		if r.code != 1 || !strings.Contains(r.stderr, "use at most 4h") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
}

// applyAdmissionPolicy creates manifests/admission.yaml's objects and waits until the API
// server enforces them; on cleanup it deletes them and waits until it no longer does, so the
// tests after this one run without the policy.
func applyAdmissionPolicy(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join(env.RepoRoot(), "manifests", "admission.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	var policy admissionv1.ValidatingAdmissionPolicy
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &policy); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &binding); err != nil {
		t.Fatal(err)
	}
	api := world.Client.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, &policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the policy: %v", err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the binding: %v", err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = api.ValidatingAdmissionPolicies().Delete(ctx, policy.Name, metav1.DeleteOptions{})
		waitPolicy(t, false)
	})
	waitPolicy(t, true)
	got, err := api.ValidatingAdmissionPolicies().Get(ctx, policy.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The API server type-checks every expression against the Pod schema.
	if tc := got.Status.TypeChecking; tc != nil && len(tc.ExpressionWarnings) > 0 {
		t.Errorf("the policy's expressions have type warnings: %+v", tc.ExpressionWarnings)
	}
}

// waitPolicy waits until a pod without winnet's label is refused (enforced) or admitted (not).
func waitPolicy(t *testing.T, enforced bool) {
	t.Helper()
	probe := debugpod.Spec(debugpod.Options{Node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: winNode}}})
	delete(probe.Labels, debugpod.LabelManagedBy)
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := world.Client.CoreV1().Pods(env.DebugNamespace).Create(context.Background(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		refused := err != nil && strings.Contains(err.Error(), debugpod.AdmissionPolicyName)
		if refused == enforced {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the policy is still enforced=%v after a minute (last answer: %v)", !enforced, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// setupCluster runs `kubectl winnet setup --bind-group winnet-users` as the admin: the roles
// bound to that group and the admission policy, enforced from here on (applying again is a
// no-op, so any test may call it).
func setupCluster(t *testing.T) {
	t.Helper()
	r := kubectl(t, kubeconfig, "winnet", "setup", "--bind-group", "winnet-users")
	if r.code != 0 {
		t.Fatalf("setup: exit %d\n%s", r.code, r.stderr)
	}
	waitPolicy(t, true)
}

// `kubectl winnet setup` against the real API server: a server dry run stores nothing; the real
// run creates what a user in the bound group needs to diagnose end to end, under the policy.
func TestSetup(t *testing.T) {
	ctx := context.Background()
	dry := kubectl(t, kubeconfig, "winnet", "setup", "--dry-run=server", "--bind-group", "winnet-users")
	if dry.code != 0 || !strings.Contains(dry.stdout, "validatingadmissionpolicy/winnet-debug-pods serverside-applied (server dry run)") {
		t.Fatalf("setup --dry-run=server: exit %d\nstdout:\n%s\nstderr:\n%s", dry.code, dry.stdout, dry.stderr)
	}
	if _, err := world.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, debugpod.AdmissionPolicyName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after a server dry run the policy exists (get: %v)", err)
	}

	setupCluster(t)
	reader, err := world.Client.RbacV1().ClusterRoles().Get(ctx, "winnet-reader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	debugger, err := world.Client.RbacV1().Roles(env.DebugNamespace).Get(ctx, "winnet-debugger", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []metav1.Object{reader, debugger} {
		managed := false
		for _, m := range o.GetManagedFields() {
			managed = managed || m.Manager == "kubectl-winnet"
		}
		if !managed {
			t.Errorf("%s is not managed by field manager kubectl-winnet: %+v", o.GetName(), o.GetManagedFields())
		}
	}
	// Only the bound group's roles, nothing more: the documented least privilege runs a diagnosis.
	cfg, err := world.Cluster.UserKubeconfig("setup-user", "winnet-users")
	if err != nil {
		t.Fatal(err)
	}
	r := kubectl(t, cfg, "winnet", "diagnose", "node/"+winNode)
	if r.code != 0 || !strings.Contains(r.stdout, "service-lb-missing") {
		t.Fatalf("a user bound by setup: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireNoDebugPods(t)
	// Again: nothing changes, nothing fails.
	setupCluster(t)
}
