package debugpod

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

const (
	// cleanupTimeout bounds Cleanup as a whole. It runs on a context detached from the
	// caller's, which is usually already cancelled by Ctrl-C when Cleanup is called.
	cleanupTimeout = 30 * time.Second
	// createTimeout bounds the debug pod's create, which Ctrl-C does not interrupt (see
	// Ensure): a create either lands, and is then deleted, or fails.
	createTimeout = 30 * time.Second
	// goneTimeout and goneInterval bound the wait for the deleted pod to disappear.
	goneTimeout  = 10 * time.Second
	goneInterval = 250 * time.Millisecond
	// retryInterval paces delete attempts while the API server is unreachable (restarting,
	// overloaded, a dropped connection); they go on until cleanupTimeout.
	retryInterval = 500 * time.Millisecond
)

// Cleanup deletes the debug pod unless it is kept (created with Keep, or reused), and waits
// briefly until it is gone. It works after the caller's context is cancelled: it uses the
// context's values but not its cancellation, under its own 30s timeout. A pod that is already
// gone is success. Cleanup on a nil Handle does nothing.
func (h *Handle) Cleanup(ctx context.Context, c kubernetes.Interface) error {
	if h == nil || h.name == "" || h.Kept {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := deletePod(ctx, c, h.namespace, h.name, h.uid); err != nil {
		return err
	}
	pods := c.CoreV1().Pods(h.namespace)
	err := wait.PollUntilContextTimeout(ctx, goneInterval, goneTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, h.name, metav1.GetOptions{})
		if isGone(err) {
			return true, nil
		}
		if transient(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// Same name, another pod: ours is gone.
		return h.uid != "" && string(p.UID) != h.uid, nil
	})
	if err != nil {
		return fmt.Errorf("the debug pod %s/%s was deleted but has not gone away yet (%w); its node removes it once it confirms, check with `kubectl get pod -n %s %s`",
			h.namespace, h.name, err, h.namespace, h.name)
	}
	return nil
}

// deletePod deletes at once (grace period 0): the pod only sleeps, so there is nothing to
// stop cleanly, and the kubelet kills the container on its next sync. The UID precondition
// keeps us from deleting a different pod that reused the name.
func deletePod(ctx context.Context, c kubernetes.Interface, ns, name, uid string) error {
	return deletePodOpts(ctx, c, ns, name, uid, false)
}

func deletePodOpts(ctx context.Context, c kubernetes.Interface, ns, name, uid string, serverDryRun bool) error {
	zero := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	if serverDryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if uid != "" {
		u := types.UID(uid)
		opts.Preconditions = &metav1.Preconditions{UID: &u}
	}
	var err error
	for {
		err = c.CoreV1().Pods(ns).Delete(ctx, name, opts)
		if !transient(err) {
			break
		}
		// The API server may be restarting: a pod left behind is node-admin power, so keep
		// trying while the caller's budget lasts.
		if !sleepCtx(ctx, retryInterval) {
			return apiError(fmt.Sprintf("deleting the debug pod %s/%s: the API server stayed unreachable for %s (remove the pod later with `kubectl winnet cleanup`; its activeDeadlineSeconds ends it meanwhile)", ns, name, cleanupTimeout), "delete", ns, err)
		}
	}
	if err == nil || isGone(err) || isConflict(err) {
		// Conflict: the UID precondition failed, so the pod under that name is not ours.
		return nil
	}
	return apiError(fmt.Sprintf("deleting the debug pod %s/%s (remove it later with `kubectl winnet cleanup`)", ns, name), "delete", ns, err)
}

// SweepOptions selects what CleanupAll removes.
type SweepOptions struct {
	// Namespace limits the sweep to one namespace. Empty sweeps every namespace the user may
	// list pods in: the whole cluster when allowed, else DefaultNamespace.
	Namespace string
	DryRun    DryRun
}

// DryRun is kubectl's --dry-run: none deletes; client names what would be deleted and asks
// nothing; server asks the API server to delete without persisting (RBAC and admission are
// checked).
type DryRun string

// ParseDryRun reads a --dry-run value.
func ParseDryRun(s string) (DryRun, error) {
	switch d := DryRun(s); d {
	case DryRunNone, DryRunClient, DryRunServer:
		return d, nil
	}
	return "", fmt.Errorf("--dry-run=%s: not a dry-run mode; use none, client or server", s)
}

const (
	DryRunNone   DryRun = "none"
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// PodRef names one debug pod a sweep found.
type PodRef struct{ Namespace, Name string }

func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// CleanupAll deletes every debug pod (those labelled managed-by kubectl-winnet), kept ones
// included, and returns those it deleted (or, dry run, would delete). Pods are all the plugin
// creates, so they are all it removes. note says when the sweep was narrowed because the user
// may not list pods cluster-wide. It is the `kubectl winnet cleanup` command; unlike Cleanup
// it honours ctx, so Ctrl-C stops it.
func CleanupAll(ctx context.Context, c kubernetes.Interface, o SweepOptions) (found []PodRef, note string, err error) {
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedByValue}).String()
	ns := o.Namespace
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil && ns == metav1.NamespaceAll && apierrors.IsForbidden(err) {
		// Cluster-wide list refused: the debug namespace is where our pods live by default.
		ns = DefaultNamespace
		note = fmt.Sprintf("you may not list pods in every namespace, so only namespace %s was swept; name another with --debug-namespace", ns)
		list, err = c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	}
	if err != nil {
		where := "namespace " + ns
		if ns == metav1.NamespaceAll {
			where = "every namespace"
		}
		return nil, note, apiError("listing debug pods in "+where, "list", ns, err)
	}
	var errs []error
	for _, p := range list.Items {
		if p.Labels[LabelManagedBy] != ManagedByValue { // a fake client may ignore the selector
			continue
		}
		ref := PodRef{Namespace: p.Namespace, Name: p.Name}
		if o.DryRun == DryRunClient {
			found = append(found, ref)
			continue
		}
		if err := deletePodOpts(ctx, c, p.Namespace, p.Name, string(p.UID), o.DryRun == DryRunServer); err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, ref)
	}
	return found, note, errors.Join(errs...)
}
