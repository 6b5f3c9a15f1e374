// Package facts gathers the cluster's own view of what a node should hold: the pods on it, the
// Services and their EndpointSlices, NetworkPolicies, Nodes and kube-dns. The analyzer judges
// the node's HNS state against these.
//
// Gathering degrades instead of failing: what could not be read (RBAC, an old server) is
// recorded in Missing, and the analyzer lists the checks it therefore skipped.
package facts

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Cluster is what the API server says about one node and the Services it must serve.
type Cluster struct {
	NodeName        string                       `json:"nodeName"`
	Node            *corev1.Node                 `json:"node,omitempty"`
	Pods            []corev1.Pod                 `json:"pods,omitempty"` // pods bound to the node
	Services        []corev1.Service             `json:"services,omitempty"`
	EndpointSlices  []discoveryv1.EndpointSlice  `json:"endpointSlices,omitempty"`
	NetworkPolicies []networkingv1.NetworkPolicy `json:"networkPolicies,omitempty"`
	KubeDNS         *corev1.Service              `json:"kubeDNS,omitempty"`
	Missing         map[string]string            `json:"missing,omitempty"` // fact -> why it is missing
}

// Gather reads the facts for node. Services, EndpointSlices and NetworkPolicies are read
// cluster-wide, because kube-proxy programs every Service on every node; when that is
// forbidden it falls back to namespace (the target's) and says so.
func Gather(ctx context.Context, c kubernetes.Interface, node, namespace string) *Cluster {
	out := &Cluster{NodeName: node, Missing: map[string]string{}}
	if n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
		out.Node = n
	} else {
		out.Missing["node"] = reason(err)
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil && namespace != "" {
		out.Missing["pods"] = "cluster-wide: " + reason(err) + "; read namespace " + namespace + " only"
		pods, err = c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	}
	if err == nil {
		out.Pods = pods.Items
	} else {
		out.Missing["pods"] = reason(err)
	}

	svcs, err := c.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	scope := metav1.NamespaceAll
	if err != nil && namespace != "" {
		out.Missing["services"] = "cluster-wide: " + reason(err) + "; read namespace " + namespace + " only"
		scope = namespace
		svcs, err = c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	}
	if err == nil {
		out.Services = svcs.Items
	} else {
		out.Missing["services"] = reason(err)
	}
	if slices, err := c.DiscoveryV1().EndpointSlices(scope).List(ctx, metav1.ListOptions{}); err == nil {
		out.EndpointSlices = slices.Items
	} else {
		out.Missing["endpointslices"] = reason(err)
	}
	if pols, err := c.NetworkingV1().NetworkPolicies(scope).List(ctx, metav1.ListOptions{}); err == nil {
		out.NetworkPolicies = pols.Items
	} else {
		out.Missing["networkpolicies"] = reason(err)
	}
	out.KubeDNS = findKubeDNS(ctx, c, out.Services)
	if out.KubeDNS == nil {
		out.Missing["kube-dns"] = "no Service kube-system/kube-dns (or one labelled k8s-app=kube-dns) could be read"
	}
	if len(out.Missing) == 0 {
		out.Missing = nil
	}
	return out
}

func findKubeDNS(ctx context.Context, c kubernetes.Interface, known []corev1.Service) *corev1.Service {
	for i := range known {
		s := &known[i]
		if s.Namespace == metav1.NamespaceSystem && (s.Name == "kube-dns" || s.Labels["k8s-app"] == "kube-dns") {
			return s
		}
	}
	if s, err := c.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, "kube-dns", metav1.GetOptions{}); err == nil {
		return s
	}
	return nil
}

func reason(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("forbidden by RBAC (%v)", err)
	case apierrors.IsNotFound(err):
		return "not found"
	}
	return err.Error()
}
