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
	"strings"

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
	Nodes           []NodeInfo                   `json:"nodes,omitempty"`   // every node, compact
	Pods            []corev1.Pod                 `json:"pods,omitempty"`    // pods bound to the node
	AllPods         []PodInfo                    `json:"allPods,omitempty"` // every pod, compact
	Services        []corev1.Service             `json:"services,omitempty"`
	EndpointSlices  []discoveryv1.EndpointSlice  `json:"endpointSlices,omitempty"`
	NetworkPolicies []networkingv1.NetworkPolicy `json:"networkPolicies,omitempty"`
	Namespaces      []NamespaceInfo              `json:"namespaces,omitempty"`
	ServiceCIDRs    []string                     `json:"serviceCIDRs,omitempty"` // from ServiceCIDR objects; empty when unknown
	KubeDNS         *corev1.Service              `json:"kubeDNS,omitempty"`
	Components      []Component                  `json:"components,omitempty"` // kube-proxy and CNI pods on the node
	Missing         map[string]string            `json:"missing,omitempty"`    // fact -> why it is missing
}

// NodeInfo is what the analyzer needs of a Node: its addresses and pod ranges.
type NodeInfo struct {
	Name        string   `json:"name"`
	InternalIPs []string `json:"internalIPs,omitempty"`
	PodCIDRs    []string `json:"podCIDRs,omitempty"`
	OS          string   `json:"os,omitempty"` // kubernetes.io/os label
}

// PodInfo is what the analyzer needs of any pod in the cluster: who owns an IP, and the
// labels NetworkPolicies select on.
type PodInfo struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Node        string            `json:"node,omitempty"`
	IPs         []string          `json:"ips,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	HostNetwork bool              `json:"hostNetwork,omitempty"`
	Phase       corev1.PodPhase   `json:"phase,omitempty"`
}

// NamespaceInfo is a namespace's labels (for NetworkPolicy namespaceSelectors).
type NamespaceInfo struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Component roles.
const (
	RoleKubeProxy = "kube-proxy"
	RoleCNI       = "cni"
	RoleNetPolicy = "network-policy"
)

// Component is a node agent running as a pod on the node (kube-proxy, the CNI daemon).
type Component struct {
	Role      string          `json:"role"` // kube-proxy | cni | network-policy
	Name      string          `json:"name"` // kube-proxy, flannel, calico, azure-cns, antrea, azure-npm
	Namespace string          `json:"namespace"`
	Pod       string          `json:"pod"`
	Phase     corev1.PodPhase `json:"phase,omitempty"`
	Ready     bool            `json:"ready"`
	Restarts  int32           `json:"restarts,omitempty"`
	Waiting   string          `json:"waiting,omitempty"` // a container's waiting reason, e.g. CrashLoopBackOff
}

// Gather reads the facts for node. Services, EndpointSlices and NetworkPolicies are read
// cluster-wide, because kube-proxy programs every Service on every node; when that is
// forbidden it falls back to namespace (the target's) and says so.
func Gather(ctx context.Context, c kubernetes.Interface, node, namespace string) *Cluster {
	missing := map[string]string{}
	var in Objects
	in.NodeName = node
	if n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
		in.Node = n
	} else {
		missing["node"] = reason(err)
	}
	if nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		in.Nodes = nodes.Items
	} else if in.Node != nil {
		in.Nodes = []corev1.Node{*in.Node}
		missing["nodes"] = reason(err) + "; only the target node is known, so other nodes' pod subnets and addresses are unknown"
	} else {
		missing["nodes"] = reason(err) + "; remote pod subnets and node addresses are unknown"
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil && namespace != "" {
		missing["pods"] = "cluster-wide: " + reason(err) + "; read namespace " + namespace + " only"
		pods, err = c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	}
	if err == nil {
		// Filter again: field selectors are not honoured by every server (or test fake).
		for _, p := range pods.Items {
			if p.Spec.NodeName == node {
				in.Pods = append(in.Pods, p)
			}
		}
	} else {
		missing["pods"] = reason(err)
	}
	if all, err := listAllPods(ctx, c); err == nil {
		in.AllPods = all
	} else {
		missing["all-pods"] = reason(err) + "; which pod owns a remote endpoint's IP is unknown"
	}

	readShared(ctx, c, namespace, &in, missing)
	return assembleWith(ctx, c, in, missing, nil)
}

// assembleWith assembles in and adds what gathering could not read. kubeDNS, when known,
// spares the get of kube-system/kube-dns that a Service list without it needs.
func assembleWith(ctx context.Context, c kubernetes.Interface, in Objects, missing map[string]string, kubeDNS *corev1.Service) *Cluster {
	out := Assemble(in)
	if out.KubeDNS == nil && kubeDNS != nil {
		out.KubeDNS = kubeDNS
		delete(out.Missing, "kube-dns")
	}
	if out.KubeDNS == nil && c != nil {
		if s, err := c.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, "kube-dns", metav1.GetOptions{}); err == nil {
			out.KubeDNS = s
			delete(out.Missing, "kube-dns")
		}
	}
	for k, v := range missing {
		if out.Missing == nil {
			out.Missing = map[string]string{}
		}
		out.Missing[k] = v
	}
	return out
}

// readShared reads what every node's facts share: the Services, EndpointSlices and
// NetworkPolicies (cluster-wide, else in namespace), the namespaces and the service ranges.
func readShared(ctx context.Context, c kubernetes.Interface, namespace string, in *Objects, missing map[string]string) {
	svcs, err := c.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	scope := metav1.NamespaceAll
	if err != nil && namespace != "" {
		missing["services"] = "cluster-wide: " + reason(err) + "; read namespace " + namespace + " only"
		scope = namespace
		svcs, err = c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	}
	if err == nil {
		in.Services = svcs.Items
	} else {
		missing["services"] = reason(err)
	}
	if slices, err := c.DiscoveryV1().EndpointSlices(scope).List(ctx, metav1.ListOptions{}); err == nil {
		in.EndpointSlices = slices.Items
	} else {
		missing["endpointslices"] = reason(err)
	}
	if pols, err := c.NetworkingV1().NetworkPolicies(scope).List(ctx, metav1.ListOptions{}); err == nil {
		in.NetworkPolicies = pols.Items
	} else {
		missing["networkpolicies"] = reason(err)
	}
	if nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		in.Namespaces = nss.Items
	} else {
		missing["namespaces"] = reason(err) + "; namespace labels other than kubernetes.io/metadata.name are unknown"
	}
	if cidrs, err := c.NetworkingV1().ServiceCIDRs().List(ctx, metav1.ListOptions{}); err == nil {
		for _, sc := range cidrs.Items {
			in.ServiceCIDRs = append(in.ServiceCIDRs, sc.Spec.CIDRs...)
		}
	} else {
		missing["servicecidrs"] = reason(err) + "; the service range is judged from the Services' ClusterIPs"
	}
}

// Objects are full Kubernetes objects about a node, however they were obtained (the API
// server, or a saved dump read by `kubectl winnet analyze`).
type Objects struct {
	NodeName        string
	Node            *corev1.Node
	Nodes           []corev1.Node
	Pods            []corev1.Pod // on the node; when empty they are picked from AllPods
	AllPods         []PodInfo    // when empty they are made from Pods
	Services        []corev1.Service
	EndpointSlices  []discoveryv1.EndpointSlice
	NetworkPolicies []networkingv1.NetworkPolicy
	Namespaces      []corev1.Namespace
	ServiceCIDRs    []string
}

// Assemble derives a Cluster from full objects: compact node and pod views, namespace labels,
// kube-dns, and the kube-proxy and CNI pods on the node. Missing notes what it could not
// derive.
func Assemble(in Objects) *Cluster {
	out := &Cluster{NodeName: in.NodeName, Node: in.Node, Pods: in.Pods, AllPods: in.AllPods, Services: in.Services,
		EndpointSlices: in.EndpointSlices, NetworkPolicies: in.NetworkPolicies, ServiceCIDRs: in.ServiceCIDRs,
		Missing: map[string]string{}}
	for i := range in.Nodes {
		out.Nodes = append(out.Nodes, NodeInfoFrom(&in.Nodes[i]))
		if out.Node == nil && in.Nodes[i].Name == in.NodeName {
			out.Node = &in.Nodes[i]
		}
	}
	if len(out.Nodes) == 0 && out.Node != nil {
		out.Nodes = []NodeInfo{NodeInfoFrom(out.Node)}
	}
	if len(out.AllPods) == 0 {
		for i := range in.Pods {
			out.AllPods = append(out.AllPods, PodInfoFrom(&in.Pods[i]))
		}
	}
	for i := range in.Namespaces {
		out.Namespaces = append(out.Namespaces, NamespaceInfo{Name: in.Namespaces[i].Name, Labels: in.Namespaces[i].Labels})
	}
	if len(out.Namespaces) == 0 {
		out.Namespaces = impliedNamespaces(out)
	}
	for i := range out.Services {
		s := &out.Services[i]
		if s.Namespace == metav1.NamespaceSystem && (s.Name == "kube-dns" || s.Labels["k8s-app"] == "kube-dns") {
			out.KubeDNS = s
			break
		}
	}
	if out.KubeDNS == nil {
		out.Missing["kube-dns"] = "no Service kube-system/kube-dns (or one labelled k8s-app=kube-dns) could be read"
	}
	out.Components = ComponentsOn(out.Pods)
	if len(out.Missing) == 0 {
		out.Missing = nil
	}
	return out
}

// impliedNamespaces lists the namespaces known from pods and services, with the one label the
// API server sets on every namespace.
func impliedNamespaces(c *Cluster) []NamespaceInfo {
	seen := map[string]bool{}
	var out []NamespaceInfo
	add := func(ns string) {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, NamespaceInfo{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}})
		}
	}
	for _, p := range c.AllPods {
		add(p.Namespace)
	}
	for _, s := range c.Services {
		add(s.Namespace)
	}
	return out
}

// NodeInfoFrom compacts a Node.
func NodeInfoFrom(n *corev1.Node) NodeInfo {
	ni := NodeInfo{Name: n.Name, OS: n.Labels["kubernetes.io/os"]}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ni.InternalIPs = append(ni.InternalIPs, a.Address)
		}
	}
	ni.PodCIDRs = append(ni.PodCIDRs, n.Spec.PodCIDRs...)
	if len(ni.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		ni.PodCIDRs = []string{n.Spec.PodCIDR}
	}
	return ni
}

// PodInfoFrom compacts a Pod.
func PodInfoFrom(p *corev1.Pod) PodInfo {
	pi := PodInfo{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, Labels: p.Labels,
		HostNetwork: p.Spec.HostNetwork, Phase: p.Status.Phase}
	for _, ip := range p.Status.PodIPs {
		pi.IPs = append(pi.IPs, ip.IP)
	}
	if len(pi.IPs) == 0 && p.Status.PodIP != "" {
		pi.IPs = []string{p.Status.PodIP}
	}
	return pi
}

// listAllPods pages through every pod and keeps only the compact view, so a large cluster's
// pod specs are never all held at once.
func listAllPods(ctx context.Context, c kubernetes.Interface) ([]PodInfo, error) {
	var out []PodInfo
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			out = append(out, PodInfoFrom(&list.Items[i]))
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// componentPatterns name node agents by pod name prefix or k8s-app/app label value.
var componentPatterns = []struct{ match, role, name string }{
	{"kube-proxy", RoleKubeProxy, "kube-proxy"},
	{"kube-flannel", RoleCNI, "flannel"},
	{"flannel", RoleCNI, "flannel"},
	{"calico-node", RoleCNI, "calico"},
	{"calico-windows", RoleCNI, "calico"},
	{"azure-cns", RoleCNI, "azure-cns"},
	{"antrea-agent", RoleCNI, "antrea"},
	{"azure-npm", RoleNetPolicy, "azure-npm"},
}

// ComponentsOn finds kube-proxy, CNI and policy agents among a node's pods.
func ComponentsOn(pods []corev1.Pod) []Component {
	var out []Component
	for i := range pods {
		p := &pods[i]
		id := strings.ToLower(p.Name + " " + p.Labels["k8s-app"] + " " + p.Labels["app"] + " " + p.Labels["app.kubernetes.io/name"])
		for _, pat := range componentPatterns {
			if !strings.Contains(id, pat.match) {
				continue
			}
			c := Component{Role: pat.role, Name: pat.name, Namespace: p.Namespace, Pod: p.Name, Phase: p.Status.Phase,
				Ready: p.Status.Phase == corev1.PodRunning}
			for _, cs := range p.Status.ContainerStatuses {
				c.Restarts += cs.RestartCount
				if !cs.Ready {
					c.Ready = false
				}
				if cs.State.Waiting != nil && c.Waiting == "" {
					c.Waiting = cs.State.Waiting.Reason
				}
			}
			out = append(out, c)
			break
		}
	}
	return out
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
