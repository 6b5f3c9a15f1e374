package analyze

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// world is a healthy Windows node and its cluster, built as structs so each rule test can
// break exactly one thing. Names follow the e2e scenarios: node win-1 (10.0.0.5, pods
// 10.244.1.0/24), linux-1 (10.0.0.4, 10.244.2.0/24), win-2 (10.0.0.6, 10.244.3.0/24).
type world struct {
	s    *snapshot.Snapshot
	objs facts.Objects
	pod  *corev1.Pod // target; nil for a node target
}

func (w *world) input() Input {
	w.s.Reindex() // tests change the snapshot after building it
	c := facts.Assemble(w.objs)
	c.ServiceCIDRs = w.objs.ServiceCIDRs
	in := Input{Snapshot: w.s, Cluster: c}
	if w.pod != nil {
		for i := range c.Pods {
			if c.Pods[i].Name == w.pod.Name && c.Pods[i].Namespace == w.pod.Namespace {
				in.Pod = &c.Pods[i]
			}
		}
	}
	return in
}

var allKinds = []string{wire.KindHCNNetworks, wire.KindHCNEndpoints, wire.KindHNSEndpointsV1, wire.KindHCNLoadBalancers,
	wire.KindHCNNamespaces, wire.KindHNSVersion, wire.KindEvents, wire.KindServices, wire.KindProcesses, wire.KindFile,
	wire.KindOSInfo, wire.KindHostAdapters, wire.KindHostRoutes, wire.KindDNSClient, wire.KindTCPConnections,
	wire.KindPortRanges, wire.KindFirewall, wire.KindHotfixes}

func ptr[T any](v T) *T { return &v }

var (
	podExceptions = []string{"10.244.0.0/16", "10.96.0.0/12", "10.0.0.0/16"}
	podRoutes     = []snapshot.SDNRoute{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}, {DestinationPrefix: "10.0.0.5/32", NeedEncap: true}}
	t0            = time.Date(2025, 11, 26, 2, 0, 0, 0, time.UTC)
)

func localEP(id, ip, ns string) snapshot.Endpoint {
	return snapshot.Endpoint{ID: id, Name: id + "_cbr0", NetworkID: "net1", NetworkName: "cbr0", IP: ip, PrefixLength: 24,
		Gateway: "10.244.1.1", State: snapshot.StateAttached, Namespace: ns,
		DNSServers: []string{"10.96.0.10"}, DNSSearch: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"},
		OutBoundNAT: []snapshot.OutBoundNAT{{Exceptions: podExceptions}}, SDNRoutes: podRoutes}
}

func remoteEP(id, ip string) snapshot.Endpoint {
	return snapshot.Endpoint{ID: id, NetworkID: "net1", NetworkName: "cbr0", IP: ip, Remote: true, MAC: "02-11-00-00-00-00"}
}

func hnsLB(id, vip, proto string, ext, internal int, eps ...string) snapshot.LoadBalancer {
	lb := snapshot.LoadBalancer{ID: id, SourceVIP: "10.0.0.5", EndpointIDs: eps,
		Ports: []snapshot.PortMapping{{Protocol: proto, ExternalPort: ext, InternalPort: internal}}}
	if vip != "" {
		lb.FrontendVIPs = []string{vip}
	} else {
		lb.Ports[0].Flags = snapshot.PortFlagLocalRoutedVIP | snapshot.PortFlagVipExternalIP
	}
	return lb
}

func k8sNode(name, ip, cidr, os string) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/os": os}},
		Spec: corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.7.20"}}}
}

func k8sPod(ns, name, node, ip string, labels map[string]string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &metav1.Time{Time: t0.Add(-time.Hour)}}}
	if ip == "" {
		p.Spec.HostNetwork = true
		p.Status.PodIP, p.Status.PodIPs = "", nil
	}
	return p
}

func k8sService(ns, name, ip string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}, Ports: ports}}
}

func svcPort(name string, proto corev1.Protocol, port, target int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: port, TargetPort: intstr.FromInt32(target)}
}

type sliceEP struct {
	ip, node string
	ready    bool
}

func k8sSlice(ns, svc string, ports []corev1.ServicePort, eps ...sliceEP) discoveryv1.EndpointSlice {
	sl := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4}
	for _, p := range ports {
		sl.Ports = append(sl.Ports, discoveryv1.EndpointPort{Name: ptr(p.Name), Protocol: ptr(p.Protocol), Port: ptr(int32(p.TargetPort.IntValue()))})
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(e.ready)}}
		if e.node != "" {
			ep.NodeName = ptr(e.node)
		}
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}

// healthyL2Bridge is a flannel host-gw (L2Bridge) node where every check passes.
func healthyL2Bridge() *world {
	dnsPorts := []corev1.ServicePort{svcPort("dns", corev1.ProtocolUDP, 53, 53), svcPort("dns-tcp", corev1.ProtocolTCP, 53, 53)}
	apiPorts := []corev1.ServicePort{svcPort("https", corev1.ProtocolTCP, 443, 6443)}
	webPorts := []corev1.ServicePort{svcPort("http", corev1.ProtocolTCP, 80, 8080)}
	webPorts[0].NodePort = 30080
	web := k8sService("shop", "web", "10.96.12.34", webPorts...)
	web.Spec.Type = corev1.ServiceTypeNodePort
	dns := k8sService("kube-system", "kube-dns", "10.96.0.10", dnsPorts...)
	dns.Labels = map[string]string{"k8s-app": "kube-dns"}
	kp := k8sPod("kube-system", "kube-proxy-windows-7xk2p", "win-1", "", map[string]string{"k8s-app": "kube-proxy"})
	kp.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "kube-proxy", Ready: true}}
	fl := k8sPod("kube-flannel", "kube-flannel-ds-windows-amd64-q2m9x", "win-1", "", map[string]string{"app": "flannel"})
	fl.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "kube-flannel", Ready: true}}
	pods := []corev1.Pod{
		k8sPod("shop", "web-0", "win-1", "10.244.1.5", map[string]string{"app": "web"}),
		k8sPod("shop", "web-1", "win-1", "10.244.1.6", map[string]string{"app": "web"}),
		kp, fl,
	}
	coredns := k8sPod("kube-system", "coredns-1", "linux-1", "10.244.2.7", map[string]string{"k8s-app": "kube-dns"})
	db := k8sPod("data", "db-0", "win-2", "10.244.3.9", map[string]string{"app": "db"})
	var all []facts.PodInfo
	for _, p := range append(append([]corev1.Pod(nil), pods...), coredns, db) {
		all = append(all, facts.PodInfoFrom(&p))
	}
	other := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "db-ingress"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}}}}}}}}
	w := &world{objs: facts.Objects{
		NodeName: "win-1",
		Nodes: []corev1.Node{k8sNode("win-1", "10.0.0.5", "10.244.1.0/24", "windows"), k8sNode("linux-1", "10.0.0.4", "10.244.2.0/24", "linux"),
			k8sNode("win-2", "10.0.0.6", "10.244.3.0/24", "windows")},
		Pods:    pods,
		AllPods: all,
		Services: []corev1.Service{k8sService("default", "kubernetes", "10.96.0.1", apiPorts...), dns, web,
			k8sService("data", "db", "10.96.50.1", svcPort("pg", corev1.ProtocolTCP, 5432, 5432))},
		EndpointSlices: []discoveryv1.EndpointSlice{
			k8sSlice("default", "kubernetes", apiPorts, sliceEP{"10.0.0.4", "", true}),
			k8sSlice("kube-system", "kube-dns", dnsPorts, sliceEP{"10.244.2.7", "linux-1", true}),
			k8sSlice("shop", "web", webPorts, sliceEP{"10.244.1.5", "win-1", true}, sliceEP{"10.244.1.6", "win-1", true}),
			k8sSlice("data", "db", []corev1.ServicePort{svcPort("pg", corev1.ProtocolTCP, 5432, 5432)}, sliceEP{"10.244.3.9", "win-2", true}),
		},
		NetworkPolicies: []networkingv1.NetworkPolicy{other},
		Namespaces: []corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"kubernetes.io/metadata.name": "shop"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"kubernetes.io/metadata.name": "data"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", Labels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{"kubernetes.io/metadata.name": "default"}}},
		},
		ServiceCIDRs: []string{"10.96.0.0/12"},
	}}
	w.pod = &pods[0]
	s := &snapshot.Snapshot{
		Node: "win-1", Started: t0, Have: map[string]bool{},
		Networks: []snapshot.Network{{ID: "net1", Name: "cbr0", Type: "L2Bridge", ManagementIP: "10.0.0.5", AdapterName: "Ethernet",
			Subnets: []snapshot.Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}}}},
		Endpoints: []snapshot.Endpoint{
			localEP("ep-web0", "10.244.1.5", "ns1"), localEP("ep-web1", "10.244.1.6", "ns2"),
			remoteEP("ep-dns", "10.244.2.7"), remoteEP("ep-api", "10.0.0.4"), remoteEP("ep-db", "10.244.3.9"),
		},
		LoadBalancers: []snapshot.LoadBalancer{
			hnsLB("lb-dns-udp", "10.96.0.10", "UDP", 53, 53, "ep-dns"),
			hnsLB("lb-dns-tcp", "10.96.0.10", "TCP", 53, 53, "ep-dns"),
			hnsLB("lb-api", "10.96.0.1", "TCP", 443, 6443, "ep-api"),
			hnsLB("lb-web", "10.96.12.34", "TCP", 80, 8080, "ep-web0", "ep-web1"),
			hnsLB("lb-web-np", "", "TCP", 30080, 8080, "ep-web0", "ep-web1"),
			hnsLB("lb-db", "10.96.50.1", "TCP", 5432, 5432, "ep-db"),
		},
		Namespaces: []snapshot.Namespace{{ID: "ns1", Type: "Host", EndpointIDs: []string{"ep-web0"}}, {ID: "ns2", Type: "Host", EndpointIDs: []string{"ep-web1"}}},
		HNSVersion: "13.2",
		Events: []wire.Event{{Channel: "System", Provider: "Service Control Manager", ID: 7036, Level: "Information", Time: t0.Add(-2 * time.Hour),
			Message: "The kubeproxy service entered the running state."}},
		Services: []wire.ServiceState{{Name: "hns", State: "Running"}, {Name: "kubeproxy", State: "Running"}, {Name: "flanneld", State: "Running"},
			{Name: "containerd", State: "Running"}, {Name: "kubelet", State: "Running"}},
		Processes: []wire.ProcessInfo{{Name: "kube-proxy.exe", PID: 4242}, {Name: "flanneld.exe", PID: 4100}, {Name: "containerd.exe", PID: 2316}, {Name: "kubelet.exe", PID: 3880}},
		Files: []wire.FileData{
			{Path: `C:\k\kube-proxy.log`, Role: wire.RoleLogPrefix + wire.LogKubeProxy, Content: `I1126 00:58:10.101234    4242 server_windows.go:62] "Using winkernel proxier"` + "\n" +
				`I1126 00:58:11.315678    4242 proxier.go:1712] "Syncing proxy rules complete" elapsed="211.07ms"` + "\n"},
		},
		OS:             &wire.OSInfo{ProductName: "Windows Server 2022 Datacenter", Build: "20348", UBR: 2849},
		Probes:         []wire.ProbeData{{Target: "10.96.0.10:53", Protocol: "udp", Verdict: "ok", Method: "dns", Detail: map[string]any{"query": "kubernetes.default.svc.cluster.local"}}, {Target: "10.96.12.34:80", Protocol: "tcp", Verdict: "ok", Method: "dial"}},
		Adapters:       []wire.Adapter{{Name: "vEthernet (Ethernet)", Compartment: 1, MTU: 1500, Status: "Up", Addresses: []wire.IPAddress{{Address: "10.0.0.5", PrefixLength: 16}}}},
		TCPConnections: &wire.TCPConnections{Total: 300, ByState: map[string]int{"LISTEN": 40, "ESTABLISHED": 200, "TIME_WAIT": 60}},
		PortRanges: &wire.PortRanges{Dynamic: map[string]wire.PortRange{"tcp": {Start: 49152, End: 65535}, "udp": {Start: 49152, End: 65535}},
			Excluded: map[string][]wire.PortRange{"tcp": {{Start: 50000, End: 50059}}}},
		Firewall: &wire.Firewall{Profiles: []wire.FirewallProfile{{Name: "Domain", Enabled: true, DefaultInbound: "Block"}},
			Rules: []wire.FirewallRule{{Name: "kubelet", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", LocalPorts: "10250"},
				{Name: "vxlan", Enabled: true, Direction: "In", Action: "Allow", Protocol: "UDP", LocalPorts: "4789"}}},
		KubeProxy: &snapshot.KubeProxyConfig{Sources: []string{`C:\k\kube-proxy-config.yaml`}, NetworkName: "cbr0", ClusterCIDR: "10.244.0.0/16",
			Version: "v1.37.2", EnableDSR: ptr(false)},
		CNIConfigs: []snapshot.CNIConfig{{Path: `C:\etc\cni\net.d\10-flannel.conf`, Name: "cbr0", Type: "flannel", Plugins: []string{"flannel", "sdnbridge"},
			DelegateType: "sdnbridge", HasOutBoundNAT: true, OutBoundNATExceptions: podExceptions, Routes: podRoutes, DNSCapability: true}},
		Kubelet: &snapshot.KubeletConfig{Sources: []string{`C:\var\lib\kubelet\config.yaml`}, ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"},
	}
	for _, k := range allKinds {
		s.Have[k] = true
	}
	w.s = s
	return w
}

// healthyOverlay turns the L2Bridge world into flannel VXLAN (an Overlay network with a
// source VIP, remote subnet routes and pod MTU 1450).
func healthyOverlay() *world {
	w := healthyL2Bridge()
	s := w.s
	s.Networks[0] = snapshot.Network{ID: "net1", Name: "vxlan0", Type: "Overlay", ManagementIP: "10.0.0.5", DRMAC: "01-02-03-04-05-06", VxlanPort: 4789,
		Subnets: []snapshot.Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}},
		RemoteSubnets: []snapshot.RemoteSubnetRoute{{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "10.0.0.4"},
			{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "10.0.0.6"}}}
	for i := range s.Endpoints {
		s.Endpoints[i].NetworkName = "vxlan0"
		if !s.Endpoints[i].Remote {
			s.Endpoints[i].OutBoundNAT = []snapshot.OutBoundNAT{{Exceptions: []string{"10.244.0.0/16", "10.96.0.0/12"}}}
			s.Endpoints[i].EncapOverhead = 50
		} else {
			s.Endpoints[i].ProviderAddress = "10.0.0.4"
		}
	}
	sv := localEP("ep-sourcevip", "10.244.1.2", "")
	sv.Name, sv.OutBoundNAT, sv.SDNRoutes = "source_vip", nil, nil
	s.Endpoints = append(s.Endpoints, sv)
	for i := range s.LoadBalancers {
		s.LoadBalancers[i].SourceVIP = "10.244.1.2"
	}
	s.KubeProxy.NetworkName, s.KubeProxy.SourceVIP = "vxlan0", "10.244.1.2"
	s.KubeProxy.FeatureGates = map[string]bool{"WinOverlay": true}
	s.CNIConfigs[0] = snapshot.CNIConfig{Path: `C:\etc\cni\net.d\10-flannel.conf`, Name: "vxlan0", Type: "flannel", Plugins: []string{"flannel", "sdnoverlay"},
		DelegateType: "sdnoverlay", HasOutBoundNAT: true, OutBoundNATExceptions: []string{"10.244.0.0/16", "10.96.0.0/12"},
		Routes: []snapshot.SDNRoute{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}}, DNSCapability: true}
	for i := range s.Endpoints {
		if !s.Endpoints[i].Remote && s.Endpoints[i].Name != "source_vip" {
			s.Endpoints[i].SDNRoutes = []snapshot.SDNRoute{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}}
		}
	}
	s.Flannel = &snapshot.FlannelConfig{Network: "10.244.0.0/16", Backend: "vxlan", VNI: 4096, Port: 4789, Subnet: "10.244.1.1/24", MTU: 1450}
	s.Adapters = append(s.Adapters, wire.Adapter{Name: "vEthernet (web-0)", Compartment: 2, MTU: 1450, Addresses: []wire.IPAddress{{Address: "10.244.1.5", PrefixLength: 24}}})
	return w
}
