package target

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

const osWindows = "windows"

// listPageSize bounds each pods list response; big namespaces are read in pages.
const listPageSize = 500

// Resolve turns arg (see Parse) into the pod and node to diagnose. namespace is the one the
// user selected (-n or the kubeconfig context); "" means "default", as in kubectl.
//
// Workloads (deploy, sts, ds, rs, job) and Services resolve to one of their pods that is
// scheduled on a Windows node. The pick is deterministic: pods on Ready nodes first, then
// Ready pods, then phase Running, then pods not being deleted, then the newest, then by name.
// Pending pods on a node stay candidates because a pod stuck in ContainerCreating is a
// typical victim of a broken Windows network.
func Resolve(ctx context.Context, c kubernetes.Interface, namespace, arg string) (*Target, error) {
	ref, err := Parse(arg)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("resolving target: no Kubernetes client was given; this is a bug in the caller")
	}
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	r := &resolver{c: c, ns: namespace, nodes: map[string]nodeResult{}}
	switch ref.kind.short {
	case "node":
		return r.nodeTarget(ctx, ref)
	case "pod":
		pod, err := c.CoreV1().Pods(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, r.getErr(err, ref.kind, ref.Name)
		}
		return r.podTarget(ctx, pod, ref.String())
	default:
		sel, err := r.selector(ctx, ref)
		if err != nil {
			return nil, err
		}
		pods, err := r.listPods(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("finding the pods of %s: %w", ref, err)
		}
		return r.pick(ctx, ref, sel, pods)
	}
}

type nodeResult struct {
	node *corev1.Node
	err  error
}

type resolver struct {
	c     kubernetes.Interface
	ns    string
	nodes map[string]nodeResult // pods of one workload share nodes: get each once
}

var (
	kindPod  = kinds[0]
	kindNode = kinds[1]
)

func (r *resolver) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	if res, ok := r.nodes[name]; ok {
		return res.node, res.err
	}
	n, err := r.c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	r.nodes[name] = nodeResult{node: n, err: err}
	return n, err
}

func (r *resolver) nodeTarget(ctx context.Context, ref Ref) (*Target, error) {
	n, err := r.getNode(ctx, ref.Name)
	if err != nil {
		return nil, r.getErr(err, kindNode, ref.Name)
	}
	if !isWindows(nodeOS(n)) {
		return nil, newErr(ErrNotWindows, nil,
			"node %q is not a Windows node (its %s): winnet works on Windows nodes only; "+
				"for a Linux node use: kubectl debug node/%s -it --image=busybox",
			n.Name, describeNodeOS(n), n.Name)
	}
	if !nodeReady(n) {
		return nil, newErr(ErrNodeNotReady, nil,
			"node %q is not Ready (%s): a debug pod cannot start there; check its state with: kubectl describe node %s",
			n.Name, describeReady(n), n.Name)
	}
	return &Target{Node: n, From: ref.String()}, nil
}

// podTarget checks a pod named directly by the user.
func (r *resolver) podTarget(ctx context.Context, pod *corev1.Pod, from string) (*Target, error) {
	who := fmt.Sprintf("pod %q in namespace %q", pod.Name, pod.Namespace)
	if finished(pod) {
		next := "diagnose a running pod, or a node with node/NAME"
		if pod.Spec.NodeName != "" {
			next = "diagnose its node instead with: kubectl winnet diagnose node/" + pod.Spec.NodeName
		}
		return nil, newErr(ErrPodNotRunning, nil,
			"%s has finished (phase %s): its containers and network endpoint are gone, so there is nothing left to inspect; %s",
			who, phase(pod), next)
	}
	if pod.Spec.NodeName == "" {
		return nil, newErr(ErrPodNotScheduled, nil,
			"%s is not scheduled to a node yet (phase %s%s): there is no node to diagnose until it is; "+
				"wait for it, or see why with: kubectl describe pod %s -n %s",
			who, phase(pod), describeScheduled(pod), pod.Name, pod.Namespace)
	}
	pl, err := r.place(ctx, pod)
	if err != nil {
		return nil, err
	}
	if pl.gone {
		return nil, newErr(ErrNodeGone, nil,
			"%s is bound to node %q, which no longer exists: the pod is orphaned and has no network left to inspect; "+
				"delete it or diagnose another pod (see: kubectl get pods -n %s -o wide)",
			who, pod.Spec.NodeName, pod.Namespace)
	}
	if !isWindows(pl.os) {
		why := "whose " + describeNodeOS(pl.node)
		if pl.hint != "" {
			why = fmt.Sprintf("which winnet may not read, and the pod's %s is %q", pl.hint, pl.os)
		}
		return nil, newErr(ErrNotWindows, nil,
			"%s runs on node %q, %s: winnet works on Windows nodes only; "+
				"for a Linux pod use: kubectl debug -it %s -n %s --image=busybox",
			who, pod.Spec.NodeName, why, pod.Name, pod.Namespace)
	}
	if err := checkReady(who, pl); err != nil {
		return nil, err
	}
	return &Target{Pod: pod, Node: pl.node, From: from}, nil
}

func checkReady(who string, pl placement) error {
	// A stub node (nodes unreadable) has no status: let the debug pod creation tell.
	if pl.hint != "" || nodeReady(pl.node) {
		return nil
	}
	return newErr(ErrNodeNotReady, nil,
		"%s runs on node %q, which is not Ready (%s): a debug pod cannot start there; "+
			"check its state with: kubectl describe node %s",
		who, pl.node.Name, describeReady(pl.node), pl.node.Name)
}

// placement is what we know about the node a scheduled pod is bound to.
type placement struct {
	node *corev1.Node // nil when gone
	os   string       // node OS, lower case; "" if unknown
	gone bool         // the node no longer exists
	hint string       // set when the node could not be read and os came from the pod spec
}

func (r *resolver) place(ctx context.Context, pod *corev1.Pod) (placement, error) {
	name := pod.Spec.NodeName
	n, err := r.getNode(ctx, name)
	switch {
	case err == nil:
		return placement{node: n, os: nodeOS(n)}, nil
	case apierrors.IsNotFound(err):
		return placement{gone: true}, nil
	case apierrors.IsForbidden(err):
		// Many users may read pods but not nodes; the pod's own OS declaration is a
		// good enough proxy because the scheduler honours it.
		os, hint := podOSHint(pod)
		if os == "" {
			return placement{}, forbidden(err, "get", kindNode, "", name,
				fmt.Sprintf("pod %q does not declare its OS (spec.os.name or a kubernetes.io/os nodeSelector), so winnet must read its node to know it runs Windows; ", pod.Name))
		}
		stub := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: os}}}
		return placement{node: stub, os: os, hint: hint}, nil
	default:
		return placement{}, fmt.Errorf("getting node %q of pod %q in namespace %q: %w", name, pod.Name, pod.Namespace, err)
	}
}

// selector reads the pod selector of a workload or Service.
func (r *resolver) selector(ctx context.Context, ref Ref) (labels.Selector, error) {
	var (
		ls  *metav1.LabelSelector
		err error
	)
	opts := metav1.GetOptions{}
	switch ref.kind.short {
	case "svc":
		svc, err := r.c.CoreV1().Services(r.ns).Get(ctx, ref.Name, opts)
		if err != nil {
			return nil, r.getErr(err, ref.kind, ref.Name)
		}
		if len(svc.Spec.Selector) == 0 {
			return nil, newErr(ErrNoSelector, nil,
				"service %q in namespace %q has no pod selector (an ExternalName service, or one whose endpoints are managed by hand): "+
					"winnet cannot tell which pod to diagnose; name a pod directly with pod/NAME "+
					"(its backends: kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s)",
				ref.Name, r.ns, r.ns, ref.Name)
		}
		return labels.SelectorFromSet(svc.Spec.Selector), nil
	case "deploy":
		d, e := r.c.AppsV1().Deployments(r.ns).Get(ctx, ref.Name, opts)
		err = e
		if e == nil {
			ls = d.Spec.Selector
		}
	case "sts":
		s, e := r.c.AppsV1().StatefulSets(r.ns).Get(ctx, ref.Name, opts)
		err = e
		if e == nil {
			ls = s.Spec.Selector
		}
	case "ds":
		d, e := r.c.AppsV1().DaemonSets(r.ns).Get(ctx, ref.Name, opts)
		err = e
		if e == nil {
			ls = d.Spec.Selector
		}
	case "rs":
		s, e := r.c.AppsV1().ReplicaSets(r.ns).Get(ctx, ref.Name, opts)
		err = e
		if e == nil {
			ls = s.Spec.Selector
		}
	case "job":
		j, e := r.c.BatchV1().Jobs(r.ns).Get(ctx, ref.Name, opts)
		err = e
		if e == nil {
			ls = j.Spec.Selector
		}
	default:
		return nil, fmt.Errorf("resolving %s: type %q has no pod selector; this is a bug in winnet", ref, ref.kind.short)
	}
	if err != nil {
		return nil, r.getErr(err, ref.kind, ref.Name)
	}
	noSel := func(why string, cause error) error {
		return newErr(ErrNoSelector, cause,
			"%s %q in namespace %q %s: winnet cannot tell which pod to diagnose; name a pod directly with pod/NAME (list them with: kubectl get pods -n %s)",
			ref.kind.noun, ref.Name, r.ns, why, r.ns)
	}
	// An empty selector would match every pod in the namespace; the API rejects it for these
	// kinds, so meeting one means something odd, and guessing would diagnose the wrong pod.
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		return nil, noSel("has no pod selector", nil)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, noSel(fmt.Sprintf("has a pod selector winnet cannot use (%v)", err), err)
	}
	return sel, nil
}

func (r *resolver) listPods(ctx context.Context, sel labels.Selector) ([]corev1.Pod, error) {
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: listPageSize}
	var pods []corev1.Pod
	for {
		list, err := r.c.CoreV1().Pods(r.ns).List(ctx, opts)
		if err != nil {
			if apierrors.IsForbidden(err) {
				return nil, forbidden(err, "list", kindPod, r.ns, "", "")
			}
			return nil, fmt.Errorf("listing pods in namespace %q with selector %q: %w", r.ns, sel.String(), err)
		}
		pods = append(pods, list.Items...)
		if list.Continue == "" {
			return pods, nil
		}
		opts.Continue = list.Continue
	}
}

type candidate struct {
	pod       *corev1.Pod
	pl        placement
	nodeReady bool
}

// pick chooses one pod of a workload or Service; see Resolve for the order.
func (r *resolver) pick(ctx context.Context, ref Ref, sel labels.Selector, pods []corev1.Pod) (*Target, error) {
	listCmd := fmt.Sprintf("kubectl get pods -n %s -l '%s' -o wide", r.ns, sel.String())
	if len(pods) == 0 {
		return nil, newErr(ErrNoWindowsPods, nil,
			"%s in namespace %q selects no pods (selector %s): there is nothing to diagnose; "+
				"check that it is scaled up and its selector matches, with: %s",
			ref, r.ns, sel.String(), listCmd)
	}
	skipped := map[string]int{}
	var (
		cands        []candidate
		forbiddenErr error
	)
	for i := range pods {
		p := &pods[i]
		if finished(p) {
			skipped["finished"]++
			continue
		}
		if p.Spec.NodeName == "" {
			skipped["not scheduled yet"]++
			continue
		}
		pl, err := r.place(ctx, p)
		switch {
		case errors.Is(err, ErrForbidden):
			forbiddenErr = err
			skipped["on nodes winnet may not read"]++
			continue
		case err != nil:
			return nil, fmt.Errorf("choosing a pod of %s: %w", ref, err)
		case pl.gone:
			skipped["on deleted nodes"]++
			continue
		case !isWindows(pl.os):
			if pl.os == "" {
				skipped["on nodes without an OS label"]++
			} else {
				skipped["on "+pl.os+" nodes"]++
			}
			continue
		}
		cands = append(cands, candidate{pod: p, pl: pl, nodeReady: pl.hint != "" || nodeReady(pl.node)})
	}
	if len(cands) == 0 {
		if forbiddenErr != nil {
			return nil, fmt.Errorf("choosing a Windows pod of %s: %w", ref, forbiddenErr)
		}
		return nil, newErr(ErrNoWindowsPods, nil,
			"%s in namespace %q has %s but none is on a Windows node (%s): winnet works on Windows nodes only; "+
				"check that its pods select Windows nodes (nodeSelector kubernetes.io/os: windows) and are scheduled, with: %s",
			ref, r.ns, plural(len(pods), "pod"), summarize(skipped), listCmd)
	}

	slices.SortFunc(cands, func(a, b candidate) int {
		if c := preferTrue(a.nodeReady, b.nodeReady); c != 0 {
			return c
		}
		if c := preferTrue(podReady(a.pod), podReady(b.pod)); c != 0 {
			return c
		}
		if c := preferTrue(a.pod.Status.Phase == corev1.PodRunning, b.pod.Status.Phase == corev1.PodRunning); c != 0 {
			return c
		}
		if c := preferTrue(a.pod.DeletionTimestamp == nil, b.pod.DeletionTimestamp == nil); c != 0 {
			return c
		}
		if c := b.pod.CreationTimestamp.Compare(a.pod.CreationTimestamp.Time); c != 0 { // newest first
			return c
		}
		return cmp.Compare(a.pod.Name, b.pod.Name)
	})
	best := cands[0]
	who := fmt.Sprintf("pod %q in namespace %q", best.pod.Name, best.pod.Namespace)
	if len(cands) > 1 {
		who += fmt.Sprintf(" (best of %d Windows pods of %s, none of them on a Ready node)", len(cands), ref)
	}
	if err := checkReady(who, best.pl); err != nil {
		return nil, err
	}
	return &Target{Pod: best.pod, Node: best.pl.node, From: ref.String(), Note: pickNote(ref, best, cands, skipped)}, nil
}

func pickNote(ref Ref, best candidate, cands []candidate, skipped map[string]int) string {
	running := 0
	for _, c := range cands {
		if c.pod.Status.Phase == corev1.PodRunning {
			running++
		}
	}
	what := "Windows pod"
	if running == len(cands) {
		what = "running Windows pod"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "picked pod %s/%s (", best.pod.Namespace, best.pod.Name)
	if len(cands) == 1 {
		fmt.Fprintf(&b, "the only %s of %s", what, ref)
	} else {
		fmt.Fprintf(&b, "1 of %d %ss of %s", len(cands), what, ref)
		if running != len(cands) && running > 0 {
			fmt.Fprintf(&b, ", %d running", running)
		}
	}
	b.WriteString(")")
	if !podReady(best.pod) {
		fmt.Fprintf(&b, "; it is not Ready (phase %s)", phase(best.pod))
	}
	if n := total(skipped); n > 0 {
		fmt.Fprintf(&b, "; skipped %s: %s", plural(n, "other pod"), summarize(skipped))
	}
	return b.String()
}

// getErr turns an error from a get into a sentence for the user.
func (r *resolver) getErr(err error, k *kindInfo, name string) error {
	switch {
	case apierrors.IsNotFound(err):
		if !k.namespaced() {
			return newErr(ErrNotFound, err,
				"node %q not found: check the context (--context); list Windows nodes with: kubectl get nodes -l kubernetes.io/os=windows",
				name)
		}
		return newErr(ErrNotFound, err,
			"%s %q not found in namespace %q: check the namespace (-n) and the context (--context); list them with: kubectl get %s -n %s",
			k.noun, name, r.ns, k.plural, r.ns)
	case apierrors.IsForbidden(err):
		return forbidden(err, "get", k, r.ns, name, "")
	default:
		where := ""
		if k.namespaced() {
			where = fmt.Sprintf(" in namespace %q", r.ns)
		}
		return fmt.Errorf("getting %s %q%s: %w", k.noun, name, where, err)
	}
}

// forbidden says which verb on which resource RBAC refused, and how to check the fix.
func forbidden(err error, verb string, k *kindInfo, ns, name, why string) error {
	obj := k.resource()
	if name != "" {
		obj += fmt.Sprintf(" %q", name)
	}
	where, canI := "", fmt.Sprintf("kubectl auth can-i %s %s", verb, k.resource())
	if k.namespaced() {
		where = fmt.Sprintf(" in namespace %q", ns)
		canI += " -n " + ns
	}
	return newErr(ErrForbidden, err,
		"the API server refused to %s %s%s (%v): %sresolving the target needs RBAC permission to get and list %s; "+
			"ask your cluster admin for it, and check with: %s",
		verb, obj, where, err, why, k.resource(), canI)
}

func isWindows(os string) bool { return strings.EqualFold(os, osWindows) }

// nodeOS prefers the well-known label (set by the kubelet) and falls back to what the node
// reports about itself.
func nodeOS(n *corev1.Node) string {
	if v := n.Labels[corev1.LabelOSStable]; v != "" {
		return strings.ToLower(v)
	}
	return strings.ToLower(n.Status.NodeInfo.OperatingSystem)
}

func describeNodeOS(n *corev1.Node) string {
	if v, ok := n.Labels[corev1.LabelOSStable]; ok && v != "" {
		return fmt.Sprintf("%s label is %q", corev1.LabelOSStable, v)
	}
	if v := n.Status.NodeInfo.OperatingSystem; v != "" {
		return fmt.Sprintf("%s label is not set and it reports operating system %q", corev1.LabelOSStable, v)
	}
	return fmt.Sprintf("%s label is not set and it reports no operating system", corev1.LabelOSStable)
}

func podOSHint(p *corev1.Pod) (os, source string) {
	if p.Spec.OS != nil && p.Spec.OS.Name != "" {
		return strings.ToLower(string(p.Spec.OS.Name)), "spec.os.name"
	}
	if v := p.Spec.NodeSelector[corev1.LabelOSStable]; v != "" {
		return strings.ToLower(v), "nodeSelector " + corev1.LabelOSStable
	}
	return "", ""
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	c := readyCondition(n)
	return c != nil && c.Status == corev1.ConditionTrue
}

func describeReady(n *corev1.Node) string {
	c := readyCondition(n)
	if c == nil {
		return "it reports no Ready condition yet"
	}
	s := "Ready=" + string(c.Status)
	if c.Reason != "" {
		s += ", reason " + c.Reason
	}
	if c.Message != "" {
		s += fmt.Sprintf(": %q", c.Message)
	}
	return s
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describeScheduled(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		s := "; PodScheduled=" + string(c.Status)
		if c.Reason != "" {
			s += ", reason " + c.Reason
		}
		if c.Message != "" {
			s += fmt.Sprintf(": %q", c.Message)
		}
		return s
	}
	return ""
}

func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// phase names the pod phase; a pod without status yet is effectively Pending.
func phase(p *corev1.Pod) string {
	if p.Status.Phase == "" {
		return string(corev1.PodPending)
	}
	return string(p.Status.Phase)
}

// preferTrue orders true before false.
func preferTrue(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	default:
		return 1
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// summarize renders skip reasons in a stable order, e.g. "1 finished, 2 on linux nodes".
func summarize(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}
