package cluster

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// EnsureNamespace creates namespace name with labels, or adds the labels to it if it exists,
// and creates its "default" ServiceAccount. Without a controller-manager nobody else creates
// that ServiceAccount, and the API server then rejects every pod in the namespace with
// "error looking up service account <ns>/default".
func (c *Cluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	namespaces := c.client.CoreV1().Namespaces()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	_, err := namespaces.Create(ctx, ns, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		if err := c.labelNamespace(ctx, name, labels); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("creating namespace %q: %w", name, err)
	}

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := c.client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default service account of namespace %q: %w", name, err)
	}
	return nil
}

// labelNamespace adds labels to an existing namespace, refusing one that is being deleted: with
// no controller-manager it stays Terminating forever and accepts no new objects.
func (c *Cluster) labelNamespace(ctx context.Context, name string, labels map[string]string) error {
	namespaces := c.client.CoreV1().Namespaces()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ns.Status.Phase == corev1.NamespaceTerminating {
			return fmt.Errorf("namespace %q is being deleted and never finishes in the test cluster (it has no controller-manager); use a new namespace name", name)
		}
		if hasLabels(ns.Labels, labels) {
			return nil
		}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		maps.Copy(ns.Labels, labels)
		_, err = namespaces.Update(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("labelling existing namespace %q: %w", name, err)
	}
	return nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
