package facts

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func node(name, ip, cidr string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/os": "windows"}},
		Spec:   corev1.NodeSpec{PodCIDR: cidr},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}}}
}

func pod(ns, name, nodeName, ip string, labels map[string]string, ready bool) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: ready, RestartCount: 3}}}}
}

func objects() []runtime.Object {
	return []runtime.Object{
		node("win-1", "10.0.0.5", "10.244.1.0/24"), node("linux-1", "10.0.0.4", "10.244.2.0/24"),
		pod("shop", "web-0", "win-1", "10.244.1.5", map[string]string{"app": "web"}, true),
		pod("kube-system", "kube-proxy-windows-abcde", "win-1", "10.0.0.5", map[string]string{"k8s-app": "kube-proxy"}, true),
		pod("kube-flannel", "kube-flannel-ds-windows-x", "win-1", "10.0.0.5", map[string]string{"app": "flannel"}, false),
		pod("kube-system", "coredns-1", "linux-1", "10.244.2.7", map[string]string{"k8s-app": "kube-dns"}, true),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "a"}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p"}},
		&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/12"}}},
	}
}

func TestGather(t *testing.T) {
	c := fake.NewClientset(objects()...)
	got := Gather(context.Background(), c, "win-1", "shop")
	if got.Node == nil || got.Node.Name != "win-1" {
		t.Fatalf("node = %v", got.Node)
	}
	if len(got.Pods) != 3 {
		t.Errorf("%d pods on the node, want 3", len(got.Pods))
	}
	if len(got.AllPods) != 4 {
		t.Errorf("%d pods in the cluster, want 4", len(got.AllPods))
	}
	wantNodes := []NodeInfo{{Name: "linux-1", InternalIPs: []string{"10.0.0.4"}, PodCIDRs: []string{"10.244.2.0/24"}, OS: "windows"},
		{Name: "win-1", InternalIPs: []string{"10.0.0.5"}, PodCIDRs: []string{"10.244.1.0/24"}, OS: "windows"}}
	if diff := cmp.Diff(wantNodes, got.Nodes); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	if got.KubeDNS == nil || got.KubeDNS.Spec.ClusterIP != "10.96.0.10" {
		t.Errorf("kube-dns = %v", got.KubeDNS)
	}
	if diff := cmp.Diff([]string{"10.96.0.0/12"}, got.ServiceCIDRs); diff != "" {
		t.Errorf("service CIDRs (-want +got):\n%s", diff)
	}
	wantComps := []Component{
		{Role: RoleKubeProxy, Name: "kube-proxy", Namespace: "kube-system", Pod: "kube-proxy-windows-abcde", Phase: corev1.PodRunning, Ready: true, Restarts: 3},
		{Role: RoleCNI, Name: "flannel", Namespace: "kube-flannel", Pod: "kube-flannel-ds-windows-x", Phase: corev1.PodRunning, Ready: false, Restarts: 3},
	}
	if diff := cmp.Diff(wantComps, got.Components, cmp.Transformer("sort", func(in []Component) map[string]Component {
		m := map[string]Component{}
		for _, c := range in {
			m[c.Pod] = c
		}
		return m
	})); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if len(got.Namespaces) != 1 || got.Namespaces[0].Labels["team"] != "a" {
		t.Errorf("namespaces = %+v", got.Namespaces)
	}
	if got.Missing != nil {
		t.Errorf("missing = %v, want nothing", got.Missing)
	}
}

// TestGatherDegrades: what RBAC forbids is recorded in Missing, with a fallback where one exists.
func TestGatherDegrades(t *testing.T) {
	c := fake.NewClientset(objects()...)
	forbid := func(resource string, clusterWideOnly bool) {
		c.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if clusterWideOnly && a.GetNamespace() != "" {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
		})
	}
	forbid("services", true)
	forbid("namespaces", false)
	forbid("servicecidrs", false)
	forbid("nodes", false)
	got := Gather(context.Background(), c, "win-1", "shop")
	for _, key := range []string{"services", "namespaces", "servicecidrs", "nodes"} {
		if !strings.Contains(got.Missing[key], "forbidden") {
			t.Errorf("missing[%s] = %q, want the RBAC reason", key, got.Missing[key])
		}
	}
	if !strings.Contains(got.Missing["services"], "namespace shop only") {
		t.Errorf("services fallback not reported: %q", got.Missing["services"])
	}
	// kube-dns is still found by a direct get; namespaces are implied from pods and services.
	if got.KubeDNS == nil {
		t.Error("kube-dns not found by the fallback get")
	}
	found := false
	for _, ns := range got.Namespaces {
		found = found || (ns.Name == "shop" && ns.Labels["kubernetes.io/metadata.name"] == "shop")
	}
	if !found {
		t.Errorf("implied namespaces = %+v", got.Namespaces)
	}
	// The node itself is still read with get, so its pod range is known.
	if len(got.Nodes) != 1 || got.Nodes[0].Name != "win-1" {
		t.Errorf("nodes = %+v, want the target node from get", got.Nodes)
	}
}

func TestComponentsOn(t *testing.T) {
	pods := []corev1.Pod{
		*pod("calico-system", "calico-node-windows-abc", "w", "", nil, true),
		*pod("kube-system", "azure-cns-win-x", "w", "", nil, true),
		*pod("kube-system", "azure-npm-win-y", "w", "", nil, false),
		*pod("shop", "web", "w", "", map[string]string{"app": "web"}, true),
	}
	var got []string
	for _, c := range ComponentsOn(pods) {
		got = append(got, c.Role+"/"+c.Name)
	}
	if diff := cmp.Diff([]string{"cni/calico", "cni/azure-cns", "network-policy/azure-npm"}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
