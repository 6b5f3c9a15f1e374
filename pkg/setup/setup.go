// Package setup applies winnet's admin manifests (manifests/) to a cluster with server-side
// apply, as `kubectl winnet setup` does: field manager kubectl-winnet, so a later
// `kubectl apply --server-side` of the same files, or another setup, takes the fields over
// cleanly.
package setup

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	admissionv1 "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	corev1 "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1 "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

// FieldManager owns the fields setup applies.
const FieldManager = "kubectl-winnet"

// Options says what to apply and how.
type Options struct {
	// Groups and Users are bound to both roles. Empty: the roles are applied, the example
	// bindings in rbac.yaml are not (their subject is a placeholder), and the admin binds the
	// roles their own way.
	Groups, Users []string
	// DryRun client applies nothing and only names the objects; server asks the API server
	// to admit every apply without persisting it.
	DryRun debugpod.DryRun
}

// Object is one manifest object, named as kubectl names it (kind.group/name).
type Object struct {
	Kind, Name, Namespace string
	apply                 func(context.Context, kubernetes.Interface, metav1.ApplyOptions) error
}

func (o Object) String() string {
	ref := strings.ToLower(o.Kind) + "/" + o.Name
	if o.Namespace != "" {
		return ref + " in namespace " + o.Namespace
	}
	return ref
}

// Plan reads the manifests in order and returns the objects to apply. A binding with the
// placeholder subject is left out unless Options names subjects, which replace it.
func Plan(files fs.FS, order []string, o Options) ([]Object, error) {
	var objs []Object
	for _, name := range order {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("reading the embedded manifest %s: %w", name, err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			obj, skip, err := decode([]byte(doc), o)
			if err != nil {
				return nil, fmt.Errorf("manifest %s, document %d: %w", name, i+1, err)
			}
			if !skip {
				objs = append(objs, obj)
			}
		}
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decode turns one YAML document into an apply configuration of its kind.
func decode(doc []byte, o Options) (obj Object, skip bool, err error) {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return Object{}, false, err
	}
	ns := head.Metadata.Namespace
	obj = Object{Kind: head.Kind, Name: head.Metadata.Name, Namespace: ns}
	switch head.Kind {
	case "Namespace":
		obj.apply, _, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *corev1.NamespaceApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.CoreV1().Namespaces().Apply(ctx, a, opts)
			return err
		})
	case "ClusterRole":
		obj.apply, _, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *rbacv1.ClusterRoleApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.RbacV1().ClusterRoles().Apply(ctx, a, opts)
			return err
		})
	case "Role":
		obj.apply, _, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *rbacv1.RoleApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.RbacV1().Roles(ns).Apply(ctx, a, opts)
			return err
		})
	case "ClusterRoleBinding":
		var a *rbacv1.ClusterRoleBindingApplyConfiguration
		obj.apply, a, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *rbacv1.ClusterRoleBindingApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.RbacV1().ClusterRoleBindings().Apply(ctx, a, opts)
			return err
		})
		if err == nil {
			a.Subjects, skip = subjects(o)
		}
	case "RoleBinding":
		var a *rbacv1.RoleBindingApplyConfiguration
		obj.apply, a, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *rbacv1.RoleBindingApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.RbacV1().RoleBindings(ns).Apply(ctx, a, opts)
			return err
		})
		if err == nil {
			a.Subjects, skip = subjects(o)
		}
	case "ValidatingAdmissionPolicy":
		obj.apply, _, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *admissionv1.ValidatingAdmissionPolicyApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Apply(ctx, a, opts)
			return err
		})
	case "ValidatingAdmissionPolicyBinding":
		obj.apply, _, err = applier(doc, func(ctx context.Context, c kubernetes.Interface, a *admissionv1.ValidatingAdmissionPolicyBindingApplyConfiguration, opts metav1.ApplyOptions) error {
			_, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Apply(ctx, a, opts)
			return err
		})
	default:
		return Object{}, false, fmt.Errorf("kind %q is not one setup knows how to apply", head.Kind)
	}
	return obj, skip, err
}

// applier decodes doc strictly into T's apply configuration and binds it to apply; the
// configuration is returned too, for changes before the apply.
func applier[T any](doc []byte, apply func(context.Context, kubernetes.Interface, *T, metav1.ApplyOptions) error) (func(context.Context, kubernetes.Interface, metav1.ApplyOptions) error, *T, error) {
	a := new(T)
	if err := yaml.UnmarshalStrict(doc, a); err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, c kubernetes.Interface, opts metav1.ApplyOptions) error {
		return apply(ctx, c, a, opts)
	}, a, nil
}

// subjects are the bindings' subjects from Options; skip when none are named, since the
// manifest's own subject is an example.
func subjects(o Options) (s []rbacv1.SubjectApplyConfiguration, skip bool) {
	for _, g := range o.Groups {
		s = append(s, *rbacv1.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Group").WithName(g))
	}
	for _, u := range o.Users {
		s = append(s, *rbacv1.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind("User").WithName(u))
	}
	return s, len(s) == 0
}

// Apply applies objs in order and calls done after each; it stops at the first failure, which
// names the object and what to check.
func Apply(ctx context.Context, c kubernetes.Interface, objs []Object, o Options, done func(Object)) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if o.DryRun == debugpod.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, obj := range objs {
		if o.DryRun != debugpod.DryRunClient {
			if err := obj.apply(ctx, c, opts); err != nil {
				return fmt.Errorf("applying %s: %w\nsetup is for cluster admins: it creates a namespace, cluster roles and an admission policy (check with `kubectl auth can-i create validatingadmissionpolicies`); "+
					"an API server older than 1.30 lacks ValidatingAdmissionPolicy: apply manifests/namespace.yaml and rbac.yaml by hand then", obj, err)
			}
		}
		done(obj)
	}
	return nil
}
