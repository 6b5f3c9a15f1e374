package access

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// authorizer answers SelfSubjectAccessReviews from a set of Check.String() values it denies.
func authorizer(deny ...string) *fake.Clientset {
	denied := map[string]bool{}
	for _, d := range deny {
		denied[d] = true
	}
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		ch := Check{Verb: ra.Verb, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace, Group: ra.Group}
		r.Status.Allowed = !denied[ch.String()]
		r.Status.Denied = denied[ch.String()]
		return true, r, nil
	})
	return c
}

func TestRequired(t *testing.T) {
	t.Run("separate namespaces", func(t *testing.T) {
		got := Required("winnet-system", "shop")
		var essential, optional []string
		for _, c := range got {
			if c.Why == "" {
				t.Errorf("%s has no reason", c)
			}
			if c.Optional {
				optional = append(optional, c.String())
			} else {
				essential = append(essential, c.String())
			}
		}
		wantEssential := []string{
			"create pods in namespace winnet-system",
			"get pods in namespace winnet-system",
			"list pods in namespace winnet-system",
			"watch pods in namespace winnet-system",
			"delete pods in namespace winnet-system",
			"create pods/exec in namespace winnet-system",
			"get pods/exec in namespace winnet-system",
			"get pods in namespace shop",
			"get nodes",
		}
		wantOptional := []string{
			"get services in namespace shop",
			"list services in namespace shop",
			"get endpointslices.discovery.k8s.io in namespace shop",
			"list endpointslices.discovery.k8s.io in namespace shop",
			"get networkpolicies.networking.k8s.io in namespace shop",
			"list networkpolicies.networking.k8s.io in namespace shop",
			"list pods in all namespaces",
			"list nodes",
			"list namespaces",
			"list servicecidrs.networking.k8s.io",
		}
		if !reflect.DeepEqual(essential, wantEssential) {
			t.Errorf("essential checks\nwant %q\n got %q", wantEssential, essential)
		}
		if !reflect.DeepEqual(optional, wantOptional) {
			t.Errorf("optional checks\nwant %q\n got %q", wantOptional, optional)
		}
	})

	t.Run("same namespace asks once", func(t *testing.T) {
		got := Required("ops", "ops")
		seen := map[string]bool{}
		for _, c := range got {
			if seen[c.String()] {
				t.Errorf("%s asked twice", c)
			}
			seen[c.String()] = true
		}
		if len(got) != len(Required("ops", "other"))-1 {
			t.Errorf("got %d checks, want one fewer than with two namespaces", len(got))
		}
	})

	t.Run("no target namespace means all namespaces", func(t *testing.T) {
		for _, c := range Required("winnet-system", "") {
			if c.Resource == "services" && c.Namespace != "" {
				t.Errorf("%s: want all namespaces", c)
			}
		}
	})
}

func TestCanI(t *testing.T) {
	tests := []struct {
		check Check
		want  string
	}{
		{Check{Verb: "create", Resource: "pods", Namespace: "winnet-system"}, "kubectl auth can-i create pods -n winnet-system"},
		{Check{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "winnet-system"}, "kubectl auth can-i create pods --subresource=exec -n winnet-system"},
		{Check{Verb: "get", Resource: "nodes"}, "kubectl auth can-i get nodes"},
		{Check{Verb: "list", Resource: "endpointslices", Group: "discovery.k8s.io", Namespace: "shop"}, "kubectl auth can-i list endpointslices.discovery.k8s.io -n shop"},
		{Check{Verb: "list", Resource: "services"}, "kubectl auth can-i list services --all-namespaces"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.check.CanI(); got != tt.want {
				t.Errorf("CanI() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name         string
		deny         []string
		wantMissing  []string // CanI lines in the error, in order
		wantWarnings []string // substrings, one per warning
	}{
		{name: "everything allowed"},
		{
			name:         "only optional denied: warnings, no error",
			deny:         []string{"list endpointslices.discovery.k8s.io in namespace shop", "get networkpolicies.networking.k8s.io in namespace shop"},
			wantWarnings: []string{"you cannot list endpointslices.discovery.k8s.io in namespace shop, so Service backends cannot be checked (check with: kubectl auth can-i list endpointslices.discovery.k8s.io -n shop)", "get networkpolicies.networking.k8s.io"},
		},
		{
			name:         "essential denied: every one named",
			deny:         []string{"create pods/exec in namespace winnet-system", "get nodes", "delete pods in namespace winnet-system", "list services in namespace shop"},
			wantMissing:  []string{"kubectl auth can-i delete pods -n winnet-system", "kubectl auth can-i create pods --subresource=exec -n winnet-system", "kubectl auth can-i get nodes"},
			wantWarnings: []string{"list services in namespace shop"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := authorizer(tt.deny...)
			warnings, err := Verify(context.Background(), c, Required("winnet-system", "shop"))

			if len(warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.wantWarnings))
			}
			for i, sub := range tt.wantWarnings {
				if !strings.Contains(warnings[i], sub) {
					t.Errorf("warning %q does not contain %q", warnings[i], sub)
				}
			}
			if tt.wantMissing == nil {
				if err != nil {
					t.Fatalf("Verify() error = %v", err)
				}
				return
			}
			var denied *DeniedError
			if !errors.Is(err, ErrMissingPermissions) || !errors.As(err, &denied) {
				t.Fatalf("Verify() error = %v, want a DeniedError", err)
			}
			var got []string
			for _, m := range denied.Missing {
				got = append(got, m.CanI())
				if !strings.Contains(err.Error(), "\n  "+m.CanI()+"    # "+m.Why) {
					t.Errorf("error does not list %q with its reason:\n%s", m.CanI(), err)
				}
			}
			if !reflect.DeepEqual(got, tt.wantMissing) {
				t.Errorf("missing\nwant %q\n got %q", tt.wantMissing, got)
			}
			if !strings.Contains(err.Error(), "manifests/rbac.yaml") {
				t.Errorf("error does not point at the manifest:\n%s", err)
			}
		})
	}
}

func TestVerifyEvaluationError(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		r.Status.Allowed = r.Spec.ResourceAttributes.Resource != "networkpolicies"
		if !r.Status.Allowed {
			r.Status.EvaluationError = "webhook authorizer timed out"
		}
		return true, r, nil
	})
	warnings, err := Verify(context.Background(), c, Required("winnet-system", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.HasSuffix(warnings[0], ": the authorizer reported: webhook authorizer timed out") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestVerifyCannotAsk(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("apiserver is shutting down")
	})
	_, err := Verify(context.Background(), c, Required("winnet-system", "shop"))
	if !errors.Is(err, ErrCannotVerify) || !apierrors.IsServiceUnavailable(err) || errors.Is(err, ErrMissingPermissions) {
		t.Fatalf("Verify() error = %v, want ErrCannotVerify wrapping the API error", err)
	}
	if !strings.Contains(err.Error(), "checking whether you may ") {
		t.Errorf("error %q does not say what was being checked", err)
	}
}
