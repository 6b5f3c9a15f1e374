package facts

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Shared are the cluster's objects read once for a diagnosis of many nodes, so that 100
// nodes cost the API server one list of each kind, not 100: every node's facts are the same
// Services, EndpointSlices, NetworkPolicies and Nodes, plus the pods bound to it.
type Shared struct {
	in         Objects
	podsByNode map[string][]corev1.Pod
	kubeDNS    *corev1.Service
	missing    map[string]string
}

// GatherShared reads the facts of nodes in one pass: one paged list of every pod (the full
// object is kept for the pods on nodes, the compact view for the rest), and one list of each
// other kind. namespace is the fallback scope when cluster-wide reads are forbidden.
func GatherShared(ctx context.Context, c kubernetes.Interface, nodes []string, namespace string) *Shared {
	s := &Shared{podsByNode: map[string][]corev1.Pod{}, missing: map[string]string{}}
	want := map[string]bool{}
	for _, n := range nodes {
		want[n] = true
	}
	if list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		s.in.Nodes = list.Items
	} else {
		s.missing["nodes"] = reason(err) + "; other nodes' pod subnets and addresses are unknown"
	}
	scope := metav1.NamespaceAll
	err := s.readPods(ctx, c, scope, want)
	if err != nil && namespace != "" {
		s.missing["pods"] = "cluster-wide: " + reason(err) + "; read namespace " + namespace + " only"
		scope = namespace
		err = s.readPods(ctx, c, scope, want)
	}
	if err != nil {
		s.missing["pods"] = reason(err)
		s.missing["all-pods"] = reason(err) + "; which pod owns a remote endpoint's IP is unknown"
	}
	readShared(ctx, c, namespace, &s.in, s.missing)
	if Assemble(Objects{Services: s.in.Services}).KubeDNS == nil {
		if svc, err := c.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, "kube-dns", metav1.GetOptions{}); err == nil {
			s.kubeDNS = svc
		}
	}
	return s
}

// readPods pages through the pods in scope.
func (s *Shared) readPods(ctx context.Context, c kubernetes.Interface, scope string, want map[string]bool) error {
	byNode := map[string][]corev1.Pod{}
	var all []PodInfo
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := c.CoreV1().Pods(scope).List(ctx, opts)
		if err != nil {
			return err
		}
		for i := range list.Items {
			p := &list.Items[i]
			all = append(all, PodInfoFrom(p))
			if want[p.Spec.NodeName] {
				byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], *p)
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	s.podsByNode, s.in.AllPods = byNode, all
	return nil
}

// For returns node's facts, as Gather would have read them.
func (s *Shared) For(node string) *Cluster {
	in := s.in
	in.NodeName = node
	in.Pods = s.podsByNode[node]
	missing := maps.Clone(s.missing)
	found := false
	for i := range in.Nodes {
		if in.Nodes[i].Name == node {
			found = true
		}
	}
	if !found && missing["nodes"] == "" {
		missing["node"] = "not found"
	}
	return assembleWith(context.Background(), nil, in, missing, s.kubeDNS)
}

// Missing says what could not be read (fact -> why), for every node alike.
func (s *Shared) Missing() map[string]string { return maps.Clone(s.missing) }
