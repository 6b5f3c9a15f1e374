// Package access checks, before anything is created, that the user may do what kubectl winnet
// is about to do, and names each missing permission as a `kubectl auth can-i` command.
//
// The checks use SelfSubjectAccessReview, which every authenticated user may create, so the
// answer comes from the cluster's own authorizers (RBAC, webhooks) rather than from reading
// roles, which the user usually cannot.
package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RBACManifest is where admins find the roles that grant every Required check.
const RBACManifest = "manifests/rbac.yaml"

// Check is one permission: may the user Verb Resource (in Group, with Subresource) in
// Namespace? An empty Namespace means cluster-scoped for cluster-scoped resources (nodes),
// and all namespaces for namespaced ones.
type Check struct {
	Verb        string
	Resource    string
	Subresource string
	Namespace   string
	Group       string

	// Optional checks only degrade the analysis when denied; Verify warns about them instead
	// of failing.
	Optional bool
	// Why says what the permission is for, or, for an optional one, what is lost without it.
	Why string
}

// clusterScoped lists the cluster-scoped resources Required asks about; can-i commands for
// them take no namespace flag.
var clusterScoped = map[string]bool{"nodes": true, "namespaces": true, "servicecidrs": true}

// String names the permission the way RBAC and kubectl do: "create pods/exec in namespace x".
func (c Check) String() string {
	res := c.Resource
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	if c.Group != "" {
		res += "." + c.Group
	}
	switch {
	case clusterScoped[c.Resource]:
		return c.Verb + " " + res
	case c.Namespace == "":
		return c.Verb + " " + res + " in all namespaces"
	}
	return c.Verb + " " + res + " in namespace " + c.Namespace
}

// CanI is the command with which the user can ask the cluster about this permission.
func (c Check) CanI() string {
	res := c.Resource
	if c.Group != "" {
		res += "." + c.Group
	}
	cmd := "kubectl auth can-i " + c.Verb + " " + res
	if c.Subresource != "" {
		// Not "pods/exec": can-i would read that as the pod named "exec".
		cmd += " --subresource=" + c.Subresource
	}
	switch {
	case clusterScoped[c.Resource]:
	case c.Namespace == "":
		cmd += " --all-namespaces"
	default:
		cmd += " -n " + c.Namespace
	}
	return cmd
}

// Required lists what diagnosing a pod in targetNamespace needs, with the debug pod in
// debugNamespace. An empty targetNamespace asks for the cluster facts in all namespaces (a
// node-wide diagnosis). A permission needed in both roles appears once, essential if either
// is.
func Required(debugNamespace, targetNamespace string) []Check {
	d, t := debugNamespace, targetNamespace
	const (
		discovery  = "discovery.k8s.io"
		networking = "networking.k8s.io"
	)
	checks := []Check{
		{Verb: "create", Resource: "pods", Namespace: d, Why: "to create the debug pod"},
		{Verb: "get", Resource: "pods", Namespace: d, Why: "to confirm the debug pod is gone after deleting it"},
		{Verb: "list", Resource: "pods", Namespace: d, Why: "to find kept debug pods and follow the debug pod"},
		{Verb: "watch", Resource: "pods", Namespace: d, Why: "to wait for the debug pod to start"},
		{Verb: "delete", Resource: "pods", Namespace: d, Why: "to delete the debug pod"},
		{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: d, Why: "to run the collector in the debug pod"},
		{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: d, Why: "to run the collector over a WebSocket exec (authorized as get)"},
		{Verb: "get", Resource: "pods", Namespace: t, Why: "to find the pod to diagnose and its node"},
		{Verb: "get", Resource: "nodes", Why: "to pin the debug pod to the node and tolerate its taints"},

		{Verb: "get", Resource: "services", Namespace: t, Optional: true, Why: "Services named with --to cannot be checked"},
		{Verb: "list", Resource: "services", Namespace: t, Optional: true, Why: "Services the pod talks to cannot be checked"},
		{Verb: "get", Resource: "endpointslices", Group: discovery, Namespace: t, Optional: true, Why: "Service backends cannot be checked"},
		{Verb: "list", Resource: "endpointslices", Group: discovery, Namespace: t, Optional: true, Why: "Service backends cannot be checked"},
		{Verb: "get", Resource: "networkpolicies", Group: networking, Namespace: t, Optional: true, Why: "NetworkPolicies cannot be checked"},
		{Verb: "list", Resource: "networkpolicies", Group: networking, Namespace: t, Optional: true, Why: "NetworkPolicies that select the pod cannot be checked"},
		{Verb: "list", Resource: "pods", Optional: true, Why: "IPs cannot be matched to pods in other namespaces (stale and duplicate endpoints)"},
		{Verb: "list", Resource: "nodes", Optional: true, Why: "other nodes' pod ranges cannot be checked (overlay routes, OutBoundNAT exceptions)"},
		{Verb: "list", Resource: "namespaces", Optional: true, Why: "NetworkPolicy namespace selectors can only match the namespace name"},
		{Verb: "list", Resource: "servicecidrs", Group: networking, Optional: true, Why: "the Service range is judged from the Services' ClusterIPs"},
	}
	type key struct{ verb, group, resource, sub, ns string }
	index := map[key]int{}
	var out []Check
	for _, c := range checks {
		k := key{c.Verb, c.Group, c.Resource, c.Subresource, c.Namespace}
		if i, dup := index[k]; dup {
			out[i].Optional = out[i].Optional && c.Optional
			continue
		}
		index[k] = len(out)
		out = append(out, c)
	}
	return out
}

// ErrMissingPermissions is wrapped by the error Verify returns when an essential check is
// denied.
var ErrMissingPermissions = errors.New("missing permissions")

// ErrCannotVerify is wrapped when the permission checks themselves could not run; a caller may
// go on and let the real calls fail with their own errors.
var ErrCannotVerify = errors.New("cannot verify permissions")

// DeniedError lists the essential permissions the user lacks.
type DeniedError struct {
	Missing []Check
}

func (e *DeniedError) Error() string {
	var b strings.Builder
	b.WriteString("missing permissions: kubectl winnet needs these, and the cluster says you do not have them (run each to check):")
	for _, c := range e.Missing {
		fmt.Fprintf(&b, "\n  %s    # %s", c.CanI(), c.Why)
	}
	fmt.Fprintf(&b, "\nask a cluster admin to grant them: %s has the ClusterRole winnet-reader, the Role winnet-debugger and example bindings", RBACManifest)
	return b.String()
}

func (e *DeniedError) Unwrap() error { return ErrMissingPermissions }

// maxParallel bounds concurrent reviews: enough to hide round trips to a distant API server,
// few enough not to trip client-side rate limits.
const maxParallel = 4

// Verify asks the API server about each check. It returns a *DeniedError (wrapping
// ErrMissingPermissions) naming every essential permission denied, and one warning sentence per
// optional permission denied, saying what the analysis loses. When the reviews cannot be made
// it returns an error wrapping ErrCannotVerify.
func Verify(ctx context.Context, c kubernetes.Interface, checks []Check) (warnings []string, err error) {
	allowed := make([]bool, len(checks))
	reasons := make([]string, len(checks))
	errs := make([]error, len(checks))

	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			allowed[i], reasons[i], errs[i] = review(ctx, c, ch)
		}()
	}
	wg.Wait()

	// One failure is enough to report: when reviews fail, they usually all fail the same way.
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCannotVerify, err)
		}
	}
	var denied []Check
	for i, ch := range checks {
		if allowed[i] {
			continue
		}
		if ch.Optional {
			w := fmt.Sprintf("you cannot %s, so %s (check with: %s)", ch, ch.Why, ch.CanI())
			if reasons[i] != "" {
				w += ": " + reasons[i]
			}
			warnings = append(warnings, w)
			continue
		}
		denied = append(denied, ch)
	}
	if len(denied) > 0 {
		return warnings, &DeniedError{Missing: denied}
	}
	return warnings, nil
}

// review runs one SelfSubjectAccessReview. reason is the authorizer's evaluation error, if
// any: a denial caused by a failing webhook authorizer is worth telling apart.
func review(ctx context.Context, c kubernetes.Interface, ch Check) (allowed bool, reason string, err error) {
	ssar := &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace:   ch.Namespace,
				Verb:        ch.Verb,
				Group:       ch.Group,
				Resource:    ch.Resource,
				Subresource: ch.Subresource,
			},
		},
	}
	res, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, ssar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("checking whether you may %s: %w", ch, err)
	}
	if res.Status.EvaluationError != "" {
		reason = "the authorizer reported: " + res.Status.EvaluationError
	}
	return res.Status.Allowed, reason, nil
}
