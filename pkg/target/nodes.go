package target

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// ErrNoWindowsNodes: a many-node selection matched no Windows node.
var ErrNoWindowsNodes = errors.New("no Windows nodes selected")

// NodeSelection says which nodes a many-node diagnosis covers: the nodes named (node/a
// node/b), or those matching Selector, or All of them. Selector and All pick Windows nodes
// only; a Linux node named in Names is an error.
type NodeSelection struct {
	Names    []string
	Selector string
	All      bool
}

// NodeChoice is one selected Windows node. Err is set when the node cannot be diagnosed (it is
// not Ready): a row in the report, not a reason to stop the others.
type NodeChoice struct {
	Node *corev1.Node
	Err  error
}

// ResolveNodes turns a selection into Windows nodes, sorted by name. Notes say what a
// selector or --all left out (Linux nodes). A named node that does not exist or is not
// Windows, a selector that does not parse, or a selection with no Windows node is an error:
// those are typing mistakes, and a run over the rest would hide them.
func ResolveNodes(ctx context.Context, c kubernetes.Interface, sel NodeSelection) (nodes []NodeChoice, notes []string, err error) {
	if c == nil {
		return nil, nil, errors.New("resolving nodes: no Kubernetes client was given; this is a bug in the caller")
	}
	if len(sel.Names) > 0 {
		if sel.Selector != "" || sel.All {
			return nil, nil, newErr(ErrInvalidTarget, nil, "name nodes (node/a node/b), or select them with -l or --all-nodes, not both")
		}
		return resolveNamed(ctx, c, sel.Names)
	}
	if sel.Selector != "" && sel.All {
		return nil, nil, newErr(ErrInvalidTarget, nil, "-l and --all-nodes both select nodes: use one (-l narrows, --all-nodes takes every Windows node)")
	}
	s := labels.Everything()
	if sel.Selector != "" {
		if s, err = labels.Parse(sel.Selector); err != nil {
			return nil, nil, newErr(ErrInvalidTarget, err, "the node selector %q does not parse (%v): write it as kubectl get nodes -l takes it, e.g. -l agentpool=win", sel.Selector, err)
		}
	}
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, nil, forbidden(err, "list", kindNode, "", "", "selecting nodes needs to list them: ")
		}
		return nil, nil, fmt.Errorf("listing the nodes: %w", err)
	}
	other := map[string][]string{} // OS -> names of the nodes skipped
	for i := range list.Items {
		n := &list.Items[i]
		// Filter again: a test fake (or an old server) may not honour the selector.
		if !s.Matches(labels.Set(n.Labels)) {
			continue
		}
		if os := nodeOS(n); !isWindows(os) {
			if os == "" {
				os = "unknown OS"
			}
			other[os] = append(other[os], n.Name)
			continue
		}
		nodes = append(nodes, choose(n))
	}
	for os, names := range other {
		sort.Strings(names)
		notes = append(notes, fmt.Sprintf("%s skipped (%s): %s", plural(len(names), os+" node"), os, listNames(names, 5)))
	}
	sort.Strings(notes)
	if len(nodes) == 0 {
		what := "no nodes"
		if sel.Selector != "" {
			what = fmt.Sprintf("no nodes match -l %q", sel.Selector)
		}
		if len(list.Items) > 0 && len(other) > 0 {
			what = fmt.Sprintf("the %s selected run other systems (%s)", plural(total(countOf(other)), "node"), strings.Join(notes, "; "))
		}
		return nil, notes, newErr(ErrNoWindowsNodes, nil,
			"%s: winnet works on Windows nodes only; list them with: kubectl get nodes -l kubernetes.io/os=windows", what)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Node.Name < nodes[j].Node.Name })
	return nodes, notes, nil
}

// resolveNamed gets each named node once, in name order.
func resolveNamed(ctx context.Context, c kubernetes.Interface, names []string) ([]NodeChoice, []string, error) {
	r := &resolver{c: c, nodes: map[string]nodeResult{}}
	seen := map[string]bool{}
	var out []NodeChoice
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		n, err := r.getNode(ctx, name)
		if err != nil {
			return nil, nil, r.getErr(err, kindNode, name)
		}
		if !isWindows(nodeOS(n)) {
			_, err := r.nodeTarget(ctx, Ref{kind: kindNode, Name: name})
			return nil, nil, err
		}
		out = append(out, choose(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node.Name < out[j].Node.Name })
	return out, nil, nil
}

// choose keeps a Windows node, with the reason it cannot be diagnosed when it is not Ready.
func choose(n *corev1.Node) NodeChoice {
	ch := NodeChoice{Node: n}
	if !nodeReady(n) {
		ch.Err = newErr(ErrNodeNotReady, nil,
			"node %q is not Ready (%s): a debug pod cannot start there; check its state with: kubectl describe node %s",
			n.Name, describeReady(n), n.Name)
	}
	return ch
}

// listNames shows up to max names, then how many more.
func listNames(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

func countOf(m map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}
