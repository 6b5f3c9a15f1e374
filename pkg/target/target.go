// Package target turns the TARGET argument of `kubectl winnet diagnose TARGET` into the pod
// and node to inspect, the way kubectl exec and logs resolve `deploy/x` or `svc/x` to one pod.
//
// It only reads the cluster (get and list) through kubernetes.Interface, so the whole package
// is tested against the client-go fake clientset. Every failure the user can fix is an
// exported sentinel (errors.Is) whose message says what happened, why, and what to do.
package target

import (
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-winnet/winnet/pkg/usererr"
)

// Kind says what the diagnosis is about: one pod (and its node) or a whole node.
type Kind string

// Target kinds.
const (
	KindPod  Kind = "pod"
	KindNode Kind = "node"
)

// Target is a resolved diagnose target.
type Target struct {
	// Pod is the pod to diagnose; nil for node targets.
	Pod *corev1.Pod
	// Node is the node the debug pod will be pinned to; always set. When the caller may
	// not read nodes (RBAC), a pod target still resolves if the pod itself declares that
	// it runs on Windows; Node then holds only the name and the kubernetes.io/os label
	// inferred from the pod, with an empty Status.
	Node *corev1.Node
	// From is what the user typed, normalised to TYPE/NAME with a short type, e.g. "svc/web".
	From string
	// Note explains a choice made for the user, e.g. which pod of a Service was picked.
	// Empty for direct pod and node targets.
	Note string
}

// Kind reports whether t is a pod or a node target.
func (t *Target) Kind() Kind {
	if t.Pod != nil {
		return KindPod
	}
	return KindNode
}

// Sentinel errors. Resolve wraps each with a full sentence; test with errors.Is.
var (
	// ErrInvalidTarget: the argument is not TYPE/NAME or NAME, names an unknown type, or
	// the name cannot be a Kubernetes object name.
	ErrInvalidTarget = errors.New("invalid target")
	// ErrNotFound: the named pod, node, workload or Service does not exist.
	ErrNotFound = errors.New("target not found")
	// ErrForbidden: the API server refused a get or list that resolution needs (RBAC).
	ErrForbidden = errors.New("not allowed by the API server")
	// ErrNoSelector: a Service or workload has no usable pod selector.
	ErrNoSelector = errors.New("target has no pod selector")
	// ErrNoWindowsPods: a workload or Service selects no pods, or none on a Windows node.
	ErrNoWindowsPods = errors.New("no Windows pods for target")
	// ErrPodNotScheduled: the pod has no node yet.
	ErrPodNotScheduled = errors.New("pod not scheduled")
	// ErrPodNotRunning: the pod has finished (Succeeded or Failed).
	ErrPodNotRunning = errors.New("pod not running")
	// ErrNotWindows: the pod or node is not on Windows.
	ErrNotWindows = errors.New("not a Windows node")
	// ErrNodeNotReady: the node is not Ready, so a debug pod cannot start there.
	ErrNodeNotReady = errors.New("node not ready")
	// ErrNodeGone: the pod is bound to a node that no longer exists.
	ErrNodeGone = errors.New("pod's node no longer exists")
)

func newErr(sentinel error, cause error, format string, args ...any) error {
	return usererr.New(sentinel, cause, format, args...)
}

// kindInfo describes one accepted target type.
type kindInfo struct {
	short  string   // normalised type in Target.From, e.g. "deploy"
	names  []string // accepted spellings, lower case, without API group
	group  string   // API group; "" for core
	noun   string   // singular, for messages
	plural string   // resource name, for kubectl commands and RBAC
}

// resource is the RBAC/kubectl spelling, e.g. "deployments.apps" or "pods".
func (k *kindInfo) resource() string {
	if k.group == "" {
		return k.plural
	}
	return k.plural + "." + k.group
}

func (k *kindInfo) namespaced() bool { return k.short != "node" }

var kinds = []*kindInfo{
	{short: "pod", names: []string{"pod", "pods", "po"}, noun: "pod", plural: "pods"},
	{short: "node", names: []string{"node", "nodes", "no"}, noun: "node", plural: "nodes"},
	{short: "deploy", names: []string{"deployment", "deployments", "deploy"}, group: "apps", noun: "deployment", plural: "deployments"},
	{short: "sts", names: []string{"statefulset", "statefulsets", "sts"}, group: "apps", noun: "statefulset", plural: "statefulsets"},
	{short: "ds", names: []string{"daemonset", "daemonsets", "ds"}, group: "apps", noun: "daemonset", plural: "daemonsets"},
	{short: "rs", names: []string{"replicaset", "replicasets", "rs"}, group: "apps", noun: "replicaset", plural: "replicasets"},
	{short: "job", names: []string{"job", "jobs"}, group: "batch", noun: "job", plural: "jobs"},
	{short: "svc", names: []string{"service", "services", "svc"}, noun: "service", plural: "services"},
}

// acceptedTypes is the list shown when the user names a type we do not know.
const acceptedTypes = "pod (po), node (no), deployment (deploy), statefulset (sts), daemonset (ds), " +
	"replicaset (rs), job, service (svc)"

// Ref is a parsed, not yet resolved, target argument.
type Ref struct {
	kind *kindInfo
	Name string
}

// Type is the normalised short type, e.g. "deploy".
func (r Ref) Type() string { return r.kind.short }

// String is the normalised form, e.g. "deploy/web".
func (r Ref) String() string { return r.kind.short + "/" + r.Name }

// Parse checks the syntax of a target argument without touching the cluster, so a command
// can reject a typo in its Validate step. Accepted: NAME (a pod) or TYPE/NAME, where TYPE
// is case-insensitive and may carry its API group ("deployments.apps", "jobs.v1.batch").
func Parse(arg string) (Ref, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return Ref{}, newErr(ErrInvalidTarget, nil,
			"no target given: name a pod, or TYPE/NAME with TYPE one of %s", acceptedTypes)
	}
	typ, name, hasSlash := strings.Cut(arg, "/")
	if !hasSlash {
		typ, name = "pod", arg
	}
	if strings.Contains(name, "/") {
		return Ref{}, newErr(ErrInvalidTarget, nil,
			"target %q has more than one \"/\": write it as TYPE/NAME, e.g. pod/web-0 or svc/web", arg)
	}
	k := lookupKind(typ)
	if k == nil {
		return Ref{}, newErr(ErrInvalidTarget, nil,
			"unknown target type %q in %q: use one of %s", typ, arg, acceptedTypes)
	}
	if name == "" {
		return Ref{}, newErr(ErrInvalidTarget, nil,
			"target %q has no name after the type: write it as %s/NAME", arg, k.short)
	}
	// Object names are lowercase DNS subdomains; saying so beats a puzzling "not found"
	// for "pod/Web" and keeps odd input out of API paths.
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return Ref{}, newErr(ErrInvalidTarget, nil,
			"%q in target %q is not a valid %s name (names are lowercase letters, digits, '-' and '.', "+
				"starting and ending with a letter or digit); check the spelling with: kubectl get %s",
			name, arg, k.noun, k.plural)
	}
	return Ref{kind: k, Name: name}, nil
}

// lookupKind matches a type spelling, optionally qualified as RESOURCE.GROUP or
// RESOURCE.VERSION.GROUP like kubectl accepts ("deployments.apps", "deployments.v1.apps").
func lookupKind(typ string) *kindInfo {
	typ = strings.ToLower(typ)
	res, qual, _ := strings.Cut(typ, ".")
	for _, k := range kinds {
		for _, n := range k.names {
			if n != res {
				continue
			}
			switch {
			case qual == "":
				return k
			case k.group == "" && qual == "v1":
				return k
			case k.group != "" && (qual == k.group || qual == "v1."+k.group):
				return k
			}
		}
	}
	return nil
}
