package access_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/access"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

// The manifests admins apply and the checks the plugin makes must not drift apart: these
// tests read manifests/ into typed objects and compare them with access.Required.

const manifestDir = "../../manifests"

// documents splits a multi-document YAML file and decodes each document strictly (an unknown
// or misspelt field fails) into the typed object its kind names.
func documents(t *testing.T, file string) []any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(manifestDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	var cur []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.TrimRight(line, " \r") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	docs = append(docs, strings.Join(cur, "\n"))

	var out []any
	for i, doc := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%s document %d: %v", file, i, err)
		}
		if tm.Kind == "" {
			continue // only comments
		}
		var obj any
		switch tm.Kind {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "Role":
			obj = &rbacv1.Role{}
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		case "RoleBinding":
			obj = &rbacv1.RoleBinding{}
		default:
			t.Fatalf("%s document %d: unexpected kind %q", file, i, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", file, i, tm.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

func only[T any](t *testing.T, objs []any) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

// grants expands rules into "verb group resource[/sub]" strings. Wildcards fail the test: a
// least-privilege role names what it grants.
func grants(t *testing.T, rules []rbacv1.PolicyRule) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v: resourceNames and nonResourceURLs are not expected", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if g == "*" || res == "*" || v == "*" {
						t.Errorf("rule %+v uses a wildcard", r)
					}
					out[fmt.Sprintf("%s %s %s", v, g, res)] = true
				}
			}
		}
	}
	return out
}

func grantOf(c access.Check) string {
	res := c.Resource
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	return fmt.Sprintf("%s %s %s", c.Verb, c.Group, res)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestNamespaceManifest(t *testing.T) {
	ns := only[*corev1.Namespace](t, documents(t, "namespace.yaml"))
	if ns.Name != debugpod.DefaultNamespace {
		t.Errorf("namespace %q, want %q (debugpod.DefaultNamespace)", ns.Name, debugpod.DefaultNamespace)
	}
	want := map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged",
		debugpod.LabelManagedBy:              debugpod.ManagedByValue,
	}
	for k, v := range want {
		if ns.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, ns.Labels[k], v)
		}
	}
}

func TestRBACManifestMatchesRequired(t *testing.T) {
	objs := documents(t, "rbac.yaml")
	role := only[*rbacv1.Role](t, objs)
	reader := only[*rbacv1.ClusterRole](t, objs)
	const target = "shop" // any namespace other than the debug one

	if role.Name != "winnet-debugger" || role.Namespace != debugpod.DefaultNamespace {
		t.Errorf("Role %s/%s, want %s/winnet-debugger", role.Namespace, role.Name, debugpod.DefaultNamespace)
	}
	if reader.Name != "winnet-reader" {
		t.Errorf("ClusterRole %s, want winnet-reader", reader.Name)
	}

	// The Role grants exactly what is required in the debug namespace: nothing missing, and
	// nothing more, since it is node-admin power.
	wantRole := map[string]bool{}
	var elsewhere []access.Check
	for _, c := range access.Required(debugpod.DefaultNamespace, target) {
		if c.Namespace == debugpod.DefaultNamespace {
			wantRole[grantOf(c)] = true
		} else {
			elsewhere = append(elsewhere, c)
		}
	}
	if got := grants(t, role.Rules); !reflect.DeepEqual(got, wantRole) {
		t.Errorf("Role winnet-debugger grants\n%q\nwant exactly\n%q", keys(got), keys(wantRole))
	}

	// The ClusterRole covers every other check, optional ones included, and only reads.
	readerGrants := grants(t, reader.Rules)
	for _, c := range elsewhere {
		if !readerGrants[grantOf(c)] {
			t.Errorf("ClusterRole winnet-reader does not grant %q (needed to %s)", grantOf(c), c)
		}
	}
	for g := range readerGrants {
		if v, _, _ := strings.Cut(g, " "); v != "get" && v != "list" && v != "watch" {
			t.Errorf("ClusterRole winnet-reader grants %q: it must only read", g)
		}
	}
}

func TestRBACManifestBindings(t *testing.T) {
	objs := documents(t, "rbac.yaml")
	rb := only[*rbacv1.RoleBinding](t, objs)
	crb := only[*rbacv1.ClusterRoleBinding](t, objs)

	if rb.Namespace != debugpod.DefaultNamespace || rb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "winnet-debugger"}) {
		t.Errorf("RoleBinding %s/%s refers to %+v", rb.Namespace, rb.Name, rb.RoleRef)
	}
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "winnet-reader"}) {
		t.Errorf("ClusterRoleBinding %s refers to %+v", crb.Name, crb.RoleRef)
	}
	wantSubjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "winnet-users"}}
	for name, got := range map[string][]rbacv1.Subject{"RoleBinding": rb.Subjects, "ClusterRoleBinding": crb.Subjects} {
		if !reflect.DeepEqual(got, wantSubjects) {
			t.Errorf("%s subjects %+v, want the example group %+v", name, got, wantSubjects)
		}
	}
}
