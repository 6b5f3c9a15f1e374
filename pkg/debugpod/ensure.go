package debugpod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// reuseMinRemaining is the least lifetime a kept pod must have left to be reused: a run on a
// pod whose activeDeadlineSeconds strikes midway would lose its results.
const reuseMinRemaining = 5 * time.Minute

// Watch re-establishment backs off between these bounds when a watch keeps closing at once.
const (
	rewatchMinDelay = 100 * time.Millisecond
	rewatchMaxDelay = 2 * time.Second
)

// Handle is a debug pod ready to take an exec.
type Handle struct {
	// Pod as last seen running.
	Pod *corev1.Pod
	// Reused is true when the pod was kept by an earlier run and reused as is.
	Reused bool
	// Kept is true when Cleanup leaves the pod in place: it was created with Keep, or reused.
	Kept bool

	// Pinned at creation, so nothing that changes later (Pod, the user's kubeconfig context)
	// can redirect the delete.
	namespace, name string
	uid             string
}

// Namespace and Name of the debug pod, for exec.
func (h *Handle) Namespace() string { return h.namespace }

// Name of the debug pod.
func (h *Handle) Name() string { return h.name }

// Ensure returns a running debug pod on o.Node: a kept pod from an earlier run when one is live
// with the same image, or else a new one, once it is running. When the new pod fails to start,
// Ensure deletes it (unless o.Keep) and returns an error wrapping one of the sentinels.
func Ensure(ctx context.Context, c kubernetes.Interface, o Options) (*Handle, error) {
	o = o.withDefaults()
	if o.Node == nil || o.Node.Name == "" {
		return nil, errors.New("choosing a node for the debug pod: no node given (this is a bug in kubectl winnet)")
	}
	if o.Deadline < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("debug pod deadline %s and timeout %s must not be negative", o.Deadline, o.Timeout)
	}

	if pod, err := findReusable(ctx, c, o); err != nil {
		return nil, err
	} else if pod != nil {
		o.Progress(fmt.Sprintf("reusing kept debug pod %s/%s on node %s (remove it with `kubectl winnet cleanup`)", pod.Namespace, pod.Name, o.Node.Name))
		return &Handle{Pod: pod, Reused: true, Kept: true, namespace: pod.Namespace, name: pod.Name, uid: string(pod.UID)}, nil
	}

	spec := Spec(o)
	spec.Annotations[AnnotationCreatedAt] = time.Now().UTC().Format(time.RFC3339)
	o.Progress(fmt.Sprintf("creating a debug pod in namespace %s on node %s", o.Namespace, o.Node.Name))
	// The create is not cancelled by ctx: a create cancelled in flight may still be carried out
	// by the server, leaving a pod whose generated name the client never learnt. It finishes,
	// and a cancellation that came meanwhile removes the pod at once.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	created, err := c.CoreV1().Pods(o.Namespace).Create(cctx, spec, metav1.CreateOptions{})
	cancel()
	if err != nil {
		return nil, createError(o, err)
	}
	h := &Handle{Pod: created, Kept: o.Keep, namespace: created.Namespace, name: created.Name, uid: string(created.UID)}
	if h.namespace == "" {
		// Some fakes and proxies echo the object without its namespace.
		h.namespace = o.Namespace
	}
	if err := ctx.Err(); err != nil {
		h.Kept = false // a pod that never ran is not kept, even with --keep
		return nil, errors.Join(fmt.Errorf("stopped while creating the debug pod: %w", err), h.Cleanup(ctx, c))
	}

	w := &waiter{o: o, ns: h.namespace, name: h.name}
	running, err := w.wait(ctx, c)
	if err != nil {
		if o.Keep {
			return nil, err
		}
		if cerr := h.Cleanup(ctx, c); cerr != nil {
			return nil, errors.Join(err, cerr)
		}
		return nil, err
	}
	h.Pod = running
	return h, nil
}

// findReusable returns the kept debug pod for o.Node that is live, ready, runs o.Image and has
// enough lifetime left, preferring the most recently started; nil when there is none. Pods not
// marked keep are never reused: they belong to a run that will delete them.
func findReusable(ctx context.Context, c kubernetes.Interface, o Options) (*corev1.Pod, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedByValue, LabelNode: NodeLabelValue(o.Node.Name)})
	list, err := c.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apiError(fmt.Sprintf("looking for a kept debug pod in namespace %s", o.Namespace), "list", o.Namespace, err)
	}
	now := time.Now()
	var best *corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if !reusable(p, o, now) {
			continue
		}
		if best == nil || startTime(p).After(startTime(best)) {
			best = p
		}
	}
	return best, nil
}

func reusable(p *corev1.Pod, o Options, now time.Time) bool {
	if p.Annotations[AnnotationKeep] != "true" || p.Spec.NodeName != o.Node.Name || p.DeletionTimestamp != nil {
		return false
	}
	if p.Status.Phase != corev1.PodRunning || !containerReady(p) {
		return false
	}
	ctr := container(p)
	if ctr == nil || ctr.Image != o.Image {
		return false
	}
	if p.Spec.ActiveDeadlineSeconds != nil && p.Status.StartTime != nil {
		end := p.Status.StartTime.Add(time.Duration(*p.Spec.ActiveDeadlineSeconds) * time.Second)
		if end.Sub(now) < reuseMinRemaining {
			return false
		}
	}
	return true
}

func startTime(p *corev1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return p.CreationTimestamp.Time
}

func container(p *corev1.Pod) *corev1.Container {
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == ContainerName {
			return &p.Spec.Containers[i]
		}
	}
	return nil
}

func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == ContainerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func containerReady(p *corev1.Pod) bool {
	st := containerStatus(p)
	return st != nil && st.Ready && st.State.Running != nil
}

// waiter follows one pod until it is running or cannot be.
type waiter struct {
	o        Options
	ns, name string

	lastState    string // for the timeout message
	lastProgress string // to report each state once
	pullMessage  string // the kubelet's last ErrImagePull message: ImagePullBackOff hides it
}

func (w *waiter) progress(msg string) {
	if msg != "" && msg != w.lastProgress {
		w.lastProgress = msg
		w.o.Progress(msg)
	}
}

// wait lists the pod, then watches it from the list's resourceVersion; a watch that closes or
// reports an error is re-established after a fresh list, so nothing is missed in between.
func (w *waiter) wait(ctx context.Context, c kubernetes.Interface) (*corev1.Pod, error) {
	wctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	pods := c.CoreV1().Pods(w.ns)
	byName := fields.OneTermEqualSelector("metadata.name", w.name).String()
	w.lastState = "not yet seen by the API server"
	delay := rewatchMinDelay

	for {
		list, err := pods.List(wctx, metav1.ListOptions{FieldSelector: byName})
		if transient(err) && wctx.Err() == nil {
			// The API server is restarting or overloaded: the pod may still start, keep
			// waiting until Timeout.
			w.progress("the API server is not answering; retrying until --timeout")
			if !sleepCtx(wctx, retryInterval) {
				return nil, w.stopped(ctx)
			}
			continue
		}
		if err != nil {
			if wctx.Err() != nil {
				return nil, w.stopped(ctx)
			}
			return nil, apiError(fmt.Sprintf("checking the debug pod %s/%s", w.ns, w.name), "list", w.ns, err)
		}
		var pod *corev1.Pod
		for i := range list.Items { // a fake client ignores the field selector
			if list.Items[i].Name == w.name {
				pod = &list.Items[i]
			}
		}
		if pod == nil {
			return nil, w.deleted()
		}
		if done, err := w.judge(pod); done || err != nil {
			return pod, err
		}

		watcher, err := pods.Watch(wctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: list.ResourceVersion})
		if transient(err) && wctx.Err() == nil {
			if !sleepCtx(wctx, retryInterval) {
				return nil, w.stopped(ctx)
			}
			continue
		}
		if err != nil {
			if wctx.Err() != nil {
				return nil, w.stopped(ctx)
			}
			return nil, apiError(fmt.Sprintf("watching the debug pod %s/%s", w.ns, w.name), "watch", w.ns, err)
		}
		pod, done, err := w.follow(wctx, watcher)
		watcher.Stop()
		if done || err != nil {
			return pod, err
		}
		if wctx.Err() != nil {
			return nil, w.stopped(ctx)
		}
		if pod != nil {
			delay = rewatchMinDelay // the watch was useful: re-establish it quickly
		}
		if !sleepCtx(wctx, delay) {
			return nil, w.stopped(ctx)
		}
		delay = min(2*delay, rewatchMaxDelay)
	}
}

// follow consumes one watch until the pod is decided, the watch ends, or wctx is done. It
// returns the last pod seen (nil if none) and whether the wait is over.
func (w *waiter) follow(wctx context.Context, watcher watch.Interface) (*corev1.Pod, bool, error) {
	var last *corev1.Pod
	for {
		select {
		case <-wctx.Done():
			return last, false, nil
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return last, false, nil
			}
			switch ev.Type {
			case watch.Error:
				// Typically 410 Gone (the resourceVersion is too old): relist.
				return last, false, nil
			case watch.Bookmark:
				continue
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || pod.Name != w.name {
				continue
			}
			last = pod
			if ev.Type == watch.Deleted {
				return pod, true, w.deleted()
			}
			if done, err := w.judge(pod); done || err != nil {
				return pod, true, err
			}
		}
	}
}

// stopped explains why the wait ended without a verdict: the caller's context, or Timeout.
func (w *waiter) stopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for the debug pod %s/%s to start: %w", w.ns, w.name, err)
	}
	inspect := fmt.Sprintf("rerun with --keep and inspect it with `kubectl describe pod -n %s -l %s=%s`",
		w.ns, LabelNode, NodeLabelValue(w.o.Node.Name))
	if w.o.Keep {
		inspect = fmt.Sprintf("inspect it with `kubectl describe pod -n %s %s` (it was kept)", w.ns, w.name)
	}
	return newError(ErrTimeout, context.DeadlineExceeded,
		"the debug pod %s/%s is still not running after %s; last state: %s; rerun with a longer --timeout, or %s",
		w.ns, w.name, shortDuration(w.o.Timeout), w.lastState, inspect)
}

func (w *waiter) deleted() error {
	return newError(ErrPodDeleted, nil,
		"the debug pod %s/%s was deleted by someone else (perhaps `kubectl winnet cleanup` in another terminal) before it started; run the command again",
		w.ns, w.name)
}

// Waiting reasons the kubelet reports while pulling, and those after which it gives up or
// only backs off. ErrImagePull alone is often transient: the kubelet retries it.
var (
	pullFatal      = map[string]bool{"ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}
	containerFatal = map[string]bool{"CreateContainerError": true, "CreateContainerConfigError": true, "RunContainerError": true}
)

// judge decides from one observation of the pod: running (done), a terminal error, or keep
// waiting (and say what the pod is doing).
func (w *waiter) judge(pod *corev1.Pod) (bool, error) {
	node := w.o.Node.Name
	if pod.DeletionTimestamp != nil {
		return true, w.deleted()
	}
	switch pod.Status.Phase {
	case corev1.PodFailed:
		return true, w.failed(pod)
	case corev1.PodSucceeded:
		return true, newError(ErrPodFailed, nil,
			"the debug pod %s/%s exited before it was ready (its container ran to completion); run the command again",
			w.ns, w.name)
	case corev1.PodRunning:
		if containerReady(pod) {
			w.progress(fmt.Sprintf("debug pod %s/%s is running on node %s", w.ns, w.name, node))
			return true, nil
		}
		w.lastState = "Running, but container " + ContainerName + " is not ready yet"
		return false, nil
	}

	// Pending (or a phase this version does not know): look at the container.
	st := containerStatus(pod)
	if st == nil || (st.State.Waiting == nil && st.State.Terminated == nil) {
		w.lastState = fmt.Sprintf("Pending, not yet started by the kubelet on node %s (is the node Ready? kubectl get node %s)", node, node)
		w.progress(fmt.Sprintf("waiting for the kubelet on node %s to start the debug pod", node))
		return false, nil
	}
	if t := st.State.Terminated; t != nil {
		w.lastState = "Pending: container " + ContainerName + " " + terminatedText(t)
		return false, nil
	}
	reason, message := st.State.Waiting.Reason, st.State.Waiting.Message
	w.lastState = "Pending: " + joinNonEmpty(": ", reason, message)
	image := w.o.Image
	switch {
	case reason == "ContainerCreating" || reason == "PodInitializing" || reason == "":
		w.progress("creating the debug pod's container")
	case reason == "ErrImagePull":
		w.pullMessage = message
		w.progress(fmt.Sprintf("node %s could not pull image %s, the kubelet will retry: %s", node, image, message))
	case pullFatal[reason]:
		if w.pullMessage != "" {
			message = w.pullMessage // "Back-off pulling image" hides why the pull failed
		}
		return true, newError(ErrImagePull, nil,
			"node %s cannot pull image %s (%s); check --image and the node's registry access (kubectl describe node %s, and the node's containerd log)",
			node, image, joinNonEmpty(": ", reason, message), node)
	case containerFatal[reason]:
		return true, newError(ErrContainerStart, nil,
			"node %s could not start the debug container (%s); HostProcess containers need containerd 1.6 or newer%s",
			node, joinNonEmpty(": ", reason, message), runtimeNote(w.o.Node))
	default:
		w.progress(fmt.Sprintf("debug pod container is waiting: %s", reason))
	}
	return false, nil
}

func (w *waiter) failed(pod *corev1.Pod) error {
	what := joinNonEmpty(": ", pod.Status.Reason, pod.Status.Message)
	if st := containerStatus(pod); st != nil && st.State.Terminated != nil {
		what = joinNonEmpty("; ", what, "container "+ContainerName+" "+terminatedText(st.State.Terminated))
	}
	if what == "" {
		what = "no reason given"
	}
	if pod.Status.Reason == "DeadlineExceeded" {
		return newError(ErrPodFailed, nil,
			"the debug pod %s/%s reached its activeDeadlineSeconds before it was ready (%s); run the command again",
			w.ns, w.name, what)
	}
	return newError(ErrPodFailed, nil,
		"the debug pod %s/%s failed on node %s before it was ready (%s); the kubelet may have refused it: see `kubectl describe node %s`",
		w.ns, w.name, w.o.Node.Name, what, w.o.Node.Name)
}

func terminatedText(t *corev1.ContainerStateTerminated) string {
	return joinNonEmpty(": ", fmt.Sprintf("exited with code %d", t.ExitCode), joinNonEmpty(": ", t.Reason, t.Message))
}

// runtimeNote names the node's runtime, which is usually the answer for HostProcess failures.
func runtimeNote(node *corev1.Node) string {
	if v := node.Status.NodeInfo.ContainerRuntimeVersion; v != "" {
		return fmt.Sprintf(" (node %s runs %s)", node.Name, v)
	}
	return fmt.Sprintf(" (see the CONTAINER-RUNTIME column of `kubectl get node %s -o wide`)", node.Name)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// shortDuration prints 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// isGone reports whether err means the pod no longer exists.
func isGone(err error) bool { return apierrors.IsNotFound(err) }

// isConflict reports a failed precondition: the name now belongs to another pod.
func isConflict(err error) bool { return apierrors.IsConflict(err) }

// sleepCtx waits d, or less when ctx ends first; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
