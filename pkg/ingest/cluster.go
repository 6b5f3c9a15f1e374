package ingest

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// notInFiles is the Missing reason for cluster facts the files did not hold.
const notInFiles = "not in the files given to analyze (add `kubectl get %s -A -o yaml` output)"

// kubeObjects gathers every Kubernetes object, a bundle's cluster facts included.
func (c *Collection) kubeObjects() []KubeObject {
	var out []KubeObject
	for _, s := range c.outs {
		out = append(out, s.out.Kube...)
		if cl := s.out.Cluster; cl != nil {
			if cl.Node != nil {
				out = append(out, KubeObject{Object: cl.Node, Full: true})
			}
			for i := range cl.Pods {
				out = append(out, KubeObject{Object: &cl.Pods[i], Full: true})
			}
			for i := range cl.Services {
				out = append(out, KubeObject{Object: &cl.Services[i], Full: true})
			}
			if cl.KubeDNS != nil {
				out = append(out, KubeObject{Object: cl.KubeDNS, Full: true})
			}
			for i := range cl.EndpointSlices {
				out = append(out, KubeObject{Object: &cl.EndpointSlices[i], Full: true})
			}
			for i := range cl.NetworkPolicies {
				out = append(out, KubeObject{Object: &cl.NetworkPolicies[i], Full: true})
			}
		}
	}
	return out
}

// objects holds deduplicated Kubernetes objects by kind.
type objects struct {
	pods      []*corev1.Pod
	services  []*corev1.Service
	slices    []*discoveryv1.EndpointSlice
	endpoints []*corev1.Endpoints
	policies  []*networkingv1.NetworkPolicy
	nodes     []*corev1.Node
}

func dedupe(in []KubeObject) objects {
	type entry struct {
		obj  runtime.Object
		full bool
	}
	var order []string
	byKey := map[string]*entry{}
	for _, k := range in {
		m, ok := k.Object.(metav1.Object)
		if !ok {
			continue
		}
		key := fmt.Sprintf("%T/%s/%s", k.Object, m.GetNamespace(), m.GetName())
		if e, ok := byKey[key]; ok {
			if !e.full && k.Full {
				e.obj, e.full = k.Object, true
			}
			continue
		}
		byKey[key] = &entry{obj: k.Object, full: k.Full}
		order = append(order, key)
	}
	var o objects
	for _, key := range order {
		switch v := byKey[key].obj.(type) {
		case *corev1.Pod:
			o.pods = append(o.pods, v)
		case *corev1.Service:
			o.services = append(o.services, v)
		case *discoveryv1.EndpointSlice:
			o.slices = append(o.slices, v)
		case *corev1.Endpoints:
			o.endpoints = append(o.endpoints, v)
		case *networkingv1.NetworkPolicy:
			o.policies = append(o.policies, v)
		case *corev1.Node:
			o.nodes = append(o.nodes, v)
		}
	}
	return o
}

// decide picks the node and the target pod and builds the cluster facts.
func (res *Result) decide(opts Options, kube []KubeObject, h hints, recs []wire.Record) error {
	o := dedupe(kube)

	// The target pod first: it may name the node.
	pod, note, err := findTarget(opts, o.pods, h)
	if err != nil {
		return err
	}

	res.Node, res.NodeFrom = decideNode(opts, o, h, pod)
	if pod == nil && opts.Pod == "" && opts.PodIP == "" && h.target == nil {
		pod, note = inferTarget(o.pods, res.Node, h)
	}
	if pod != nil {
		res.Target = pod
	}
	res.TargetNote = note

	if len(kube) == 0 && len(h.clusters) == 0 {
		return nil // no cluster objects: the analyzer runs the checks that need none
	}
	in := facts.Objects{NodeName: res.Node}
	for _, n := range o.nodes {
		in.Nodes = append(in.Nodes, *n)
		if strings.EqualFold(n.Name, res.Node) {
			in.Node = n
		}
	}
	var all []corev1.Pod
	for _, p := range o.pods {
		all = append(all, *p)
		if res.Node == "" || strings.EqualFold(p.Spec.NodeName, res.Node) {
			in.Pods = append(in.Pods, *p)
		}
	}
	for i := range all {
		in.AllPods = append(in.AllPods, facts.PodInfoFrom(&all[i]))
	}
	for _, s := range o.services {
		in.Services = append(in.Services, *s)
	}
	for _, s := range o.slices {
		in.EndpointSlices = append(in.EndpointSlices, *s)
	}
	in.EndpointSlices = append(in.EndpointSlices, slicesFromEndpoints(o.endpoints, o.slices)...)
	for _, p := range o.policies {
		in.NetworkPolicies = append(in.NetworkPolicies, *p)
	}
	// Assemble derives what the analyzer reads (compact node and pod views, kube-dns, the
	// node's kube-proxy and CNI pods) exactly as a live diagnosis does.
	cl := facts.Assemble(in)
	cl.Missing = map[string]string{}
	for _, bc := range h.clusters {
		// A bundle's cluster.json carries views that are not Kubernetes objects (compact
		// views of every node and pod, namespace labels, service CIDRs): keep them.
		if len(bc.Nodes) > len(cl.Nodes) {
			cl.Nodes = bc.Nodes
		}
		if len(bc.AllPods) > len(cl.AllPods) {
			cl.AllPods = bc.AllPods
		}
		if len(cl.Namespaces) == 0 {
			cl.Namespaces = bc.Namespaces
		}
		if len(cl.ServiceCIDRs) == 0 {
			cl.ServiceCIDRs = bc.ServiceCIDRs
		}
		if len(cl.Components) == 0 {
			cl.Components = bc.Components
		}
	}
	for _, bc := range h.clusters {
		if cl.KubeDNS == nil && bc.KubeDNS != nil {
			cl.KubeDNS = bc.KubeDNS
		}
		for k, v := range bc.Missing {
			cl.Missing[k] = v
		}
	}
	missing := func(what string, absent bool) {
		if absent && cl.Missing[what] == "" {
			resource := what
			if what == "node" {
				resource = "nodes"
			}
			if what == "kube-dns" {
				resource = "services"
			}
			cl.Missing[what] = fmt.Sprintf(notInFiles, resource)
		}
	}
	missing("node", cl.Node == nil)
	missing("pods", len(o.pods) == 0)
	missing("services", cl.Services == nil)
	missing("endpointslices", cl.EndpointSlices == nil)
	missing("networkpolicies", cl.NetworkPolicies == nil)
	missing("kube-dns", cl.KubeDNS == nil)
	if len(cl.Missing) == 0 {
		cl.Missing = nil
	}
	res.Cluster = cl
	return nil
}

// findTarget resolves --pod and --pod-ip, or a bundle report's target.
func findTarget(opts Options, pods []*corev1.Pod, h hints) (*corev1.Pod, string, error) {
	ns, name := "", opts.Pod
	if a, b, ok := strings.Cut(opts.Pod, "/"); ok {
		ns, name = a, b
	}
	ip := opts.PodIP
	if opts.PodIP != "" {
		if _, err := netip.ParseAddr(opts.PodIP); err != nil {
			return nil, "", fmt.Errorf("--pod-ip %q is not an IP address", opts.PodIP)
		}
	}
	from := "--pod"
	if opts.Pod == "" && opts.PodIP == "" && h.target != nil && (h.target.Pod != "" || h.target.PodIP != "") {
		ns, name, ip, from = h.target.Namespace, h.target.Pod, h.target.PodIP, "the bundle's report"
	}
	if name == "" && ip == "" {
		return nil, "", nil
	}
	var match []*corev1.Pod
	for _, p := range pods {
		switch {
		case name != "" && p.Name == name && (ns == "" || p.Namespace == ns):
			match = append(match, p)
		case name == "" && ip != "" && podHasIP(p, ip):
			match = append(match, p)
		}
	}
	if len(match) > 1 {
		var names []string
		for _, p := range match {
			names = append(names, p.Namespace+"/"+p.Name)
		}
		return nil, "", fmt.Errorf("%s matches %d pods in the files (%s); say which with --pod NAMESPACE/NAME", from, len(match), strings.Join(names, ", "))
	}
	if len(match) == 1 {
		p := match[0].DeepCopy()
		if ip != "" && p.Status.PodIP == "" {
			p.Status.PodIP = ip
		}
		return p, "target from " + from, nil
	}
	if ip == "" && len(pods) == 0 {
		// No pod at all in the files, so nothing to have mistyped: the name alone still finds
		// the pod in logs and events (sandbox errors name it).
		p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return p, fmt.Sprintf("target from %s: no pod objects in the files, so only its name is known (add its YAML or --pod-ip for the endpoint checks)", from), nil
	}
	if ip == "" {
		return nil, "", fmt.Errorf("pod %s is not in the files given: add its YAML (kubectl get pod %s -n %s -o yaml) or pass --pod-ip so its endpoint can be checked",
			strings.TrimPrefix(ns+"/"+name, "/"), name, firstOf(ns, "NAMESPACE"))
	}
	// Only an IP is known: a stand-in pod lets the endpoint checks run.
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: firstOf(name, "pod-"+ip)}}
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	return p, fmt.Sprintf("target from %s: no pod object with IP %s in the files, so only its IP is known", from, ip), nil
}

func podHasIP(p *corev1.Pod, ip string) bool {
	if p.Status.PodIP == ip {
		return true
	}
	for _, x := range p.Status.PodIPs {
		if x.IP == ip {
			return true
		}
	}
	return false
}

// decideNode picks the node the files describe, saying how.
func decideNode(opts Options, o objects, h hints, pod *corev1.Pod) (string, string) {
	if opts.Node != "" {
		return opts.Node, "--node"
	}
	for _, c := range h.clusters {
		if c.NodeName != "" {
			return c.NodeName, "the bundle's cluster facts"
		}
	}
	if h.target != nil && h.target.Node != "" {
		return h.target.Node, "the bundle's report"
	}
	if pod != nil && pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, "the target pod's node"
	}
	known := map[string]string{} // lower -> as Kubernetes spells it
	for _, n := range o.nodes {
		known[strings.ToLower(n.Name)] = n.Name
	}
	for _, p := range o.pods {
		if p.Spec.NodeName != "" {
			known[strings.ToLower(p.Spec.NodeName)] = p.Spec.NodeName
		}
	}
	if h.hostname != "" {
		if n, ok := known[strings.ToLower(h.hostname)]; ok {
			return n, "the host name in the node's dumps"
		}
		if len(known) == 0 {
			return strings.ToLower(h.hostname), "the host name in the node's dumps"
		}
	}
	var windows []string
	for _, n := range o.nodes {
		if n.Labels[corev1.LabelOSStable] == "windows" || strings.Contains(strings.ToLower(n.Status.NodeInfo.OSImage), "windows") {
			windows = append(windows, n.Name)
		}
	}
	if len(windows) == 1 {
		return windows[0], "the only Windows node in the files"
	}
	if len(o.nodes) == 1 {
		return o.nodes[0].Name, "the only node in the files"
	}
	nodes := map[string]bool{}
	for _, p := range o.pods {
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
		}
	}
	if len(nodes) == 1 {
		for n := range nodes {
			return n, "the node of every pod in the files"
		}
	}
	return "", "unknown: pass --node NAME"
}

// inferTarget picks a target pod when none was named: the pod an in-pod ipconfig names, or
// the only pod on the node.
func inferTarget(pods []*corev1.Pod, node string, h hints) (*corev1.Pod, string) {
	for _, pn := range h.podNets {
		for _, p := range pods {
			if pn.Hostname != "" && strings.EqualFold(p.Name, pn.Hostname) {
				return p.DeepCopy(), "target inferred: the pod whose ipconfig /all is in the files"
			}
		}
	}
	var on []*corev1.Pod
	for _, p := range pods {
		if p.Spec.HostNetwork {
			continue
		}
		if node == "" || strings.EqualFold(p.Spec.NodeName, node) || p.Spec.NodeName == "" {
			on = append(on, p)
		}
	}
	switch len(on) {
	case 0:
		return nil, "node analysis: no pod in the files"
	case 1:
		return on[0].DeepCopy(), "target inferred: the only pod in the files"
	}
	var names []string
	for _, p := range on {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	return nil, fmt.Sprintf("node analysis: %d pods in the files (%s); pass --pod NAMESPACE/NAME to check one", len(on), strings.Join(names, ", "))
}

// slicesFromEndpoints turns Endpoints (kubectl get endpoints, older dumps) into EndpointSlices
// for Services no slice covers, so the analyzer sees their ready backends.
func slicesFromEndpoints(eps []*corev1.Endpoints, slices []*discoveryv1.EndpointSlice) []discoveryv1.EndpointSlice {
	covered := map[string]bool{}
	for _, s := range slices {
		covered[s.Namespace+"/"+s.Labels[discoveryv1.LabelServiceName]] = true
	}
	var out []discoveryv1.EndpointSlice
	for _, e := range eps {
		if covered[e.Namespace+"/"+e.Name] {
			continue
		}
		s := discoveryv1.EndpointSlice{
			TypeMeta:    metav1.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"},
			ObjectMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name + "-from-endpoints", Labels: map[string]string{discoveryv1.LabelServiceName: e.Name}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for _, sub := range e.Subsets {
			for _, a := range sub.Addresses {
				s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a.IP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}, NodeName: a.NodeName})
			}
			for _, a := range sub.NotReadyAddresses {
				s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a.IP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}, NodeName: a.NodeName})
			}
			for _, p := range sub.Ports {
				s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.Port), Protocol: ptr.To(p.Protocol)})
			}
		}
		out = append(out, s)
	}
	return out
}
