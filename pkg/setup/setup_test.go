package setup

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-winnet/winnet/manifests"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

func names(objs []Object) []string {
	var n []string
	for _, o := range objs {
		n = append(n, o.String())
	}
	return n
}

func TestPlan(t *testing.T) {
	base := []string{
		"namespace/winnet-system",
		"clusterrole/winnet-reader",
		"role/winnet-debugger in namespace winnet-system",
		"validatingadmissionpolicy/winnet-debug-pods",
		"validatingadmissionpolicybinding/winnet-debug-pods",
	}
	objs, err := Plan(manifests.Files, manifests.Order, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(objs); !slices.Equal(got, base) {
		t.Errorf("without subjects: %q, want %q (the example bindings left out)", got, base)
	}
	objs, err = Plan(manifests.Files, manifests.Order, Options{Groups: []string{"net-ops"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(base)+2 {
		t.Fatalf("with a group: %q, want the two bindings too", names(objs))
	}
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	objs, err := Plan(manifests.Files, manifests.Order, Options{Groups: []string{"net-ops"}, Users: []string{"ana"}})
	if err != nil {
		t.Fatal(err)
	}

	c := fake.NewClientset()
	var applied []string
	if err := Apply(ctx, c, objs, Options{DryRun: debugpod.DryRunClient}, func(o Object) { applied = append(applied, o.String()) }); err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(objs) {
		t.Errorf("client dry run named %d of %d objects", len(applied), len(objs))
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "winnet-system", metav1.GetOptions{}); err == nil {
		t.Error("a client dry run created the namespace")
	}

	if err := Apply(ctx, c, objs, Options{}, func(Object) {}); err != nil {
		t.Fatal(err)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, "winnet-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace labels %v", ns.Labels)
	}
	rb, err := c.RbacV1().RoleBindings("winnet-system").Get(ctx, "winnet-debugger", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Subjects) != 2 || rb.Subjects[0].Name != "net-ops" || rb.Subjects[0].Kind != "Group" || rb.Subjects[1].Name != "ana" || rb.Subjects[1].Kind != "User" {
		t.Errorf("binding subjects %+v, want group net-ops and user ana (not the example)", rb.Subjects)
	}
	if _, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, "winnet-debug-pods", metav1.GetOptions{}); err != nil {
		t.Errorf("policy not applied: %v", err)
	}
	// Applying again is a no-op, not an error.
	if err := Apply(ctx, c, objs, Options{}, func(Object) {}); err != nil {
		t.Errorf("second apply: %v", err)
	}
}
