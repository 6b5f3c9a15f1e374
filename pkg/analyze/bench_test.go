package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// addr returns the n-th address after base.
func addr(base string, n int) string {
	a := netip.MustParseAddr(base).As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// bigNode builds, at scale k, a healthy L2Bridge node with 10,000·k Services (20,000·k HNS load
// balancers), 5,000·k endpoints (200·k local pods), 2,000·k NetworkPolicies over 100·k
// namespaces, 24·k+1 nodes and a 5,000·k-line kube-proxy log. Everything agrees, so the rules
// do their full comparison work and report (almost) nothing.
func bigNode(k int) Input {
	const node = "win-0"
	nServices, nLocal, nRemote, nPolicies, nNS := 10000*k, 200*k, 4800*k, 2000*k, 100*k
	exc := []string{"10.128.0.0/9", "10.96.0.0/12", "172.16.0.0/16"}
	s := &snapshot.Snapshot{Node: node, Have: map[string]bool{},
		Networks: []snapshot.Network{{ID: "net", Name: "cbr0", Type: "L2Bridge", ManagementIP: "172.16.0.1",
			Subnets: []snapshot.Subnet{{Prefix: "10.200.0.0/16", Gateway: "10.200.0.1"}}}},
		HNSVersion: "13.2", OS: &wire.OSInfo{Build: "20348", UBR: 2849},
		KubeProxy: &snapshot.KubeProxyConfig{NetworkName: "cbr0", ClusterCIDR: "10.128.0.0/9", Version: "v1.37.2", Sources: []string{"config"}},
		CNIConfigs: []snapshot.CNIConfig{{Path: "10-flannel.conf", Name: "cbr0", Type: "flannel", Plugins: []string{"flannel", "sdnbridge"},
			HasOutBoundNAT: true, OutBoundNATExceptions: exc, DNSCapability: true}},
		Kubelet:        &snapshot.KubeletConfig{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"},
		Services:       []wire.ServiceState{{Name: "kubeproxy", State: "Running"}, {Name: "flanneld", State: "Running"}},
		Processes:      []wire.ProcessInfo{{Name: "kube-proxy.exe"}, {Name: "flanneld.exe"}},
		PortRanges:     &wire.PortRanges{Dynamic: map[string]wire.PortRange{"tcp": {Start: 49152, End: 65535}}, Excluded: map[string][]wire.PortRange{"tcp": {{Start: 50000, End: 50059}}}},
		TCPConnections: &wire.TCPConnections{Total: 500, ByState: map[string]int{"LISTEN": 50}},
		Firewall:       &wire.Firewall{Profiles: []wire.FirewallProfile{{Name: "Domain", Enabled: true, DefaultInbound: "Allow"}}},
		Adapters:       []wire.Adapter{{Name: "vEthernet (Ethernet)", Compartment: 1, MTU: 1500, Addresses: []wire.IPAddress{{Address: "172.16.0.1"}}}},
	}
	for _, kind := range allKinds {
		s.Have[kind] = true
	}
	var log strings.Builder
	log.WriteString(`I1126 00:58:10.101234    4242 server_windows.go:62] "Using winkernel proxier"` + "\n")
	for i := 0; i < 5000*k; i++ {
		fmt.Fprintf(&log, "I1126 01:%02d:%02d.000000    4242 proxier.go:1712] \"Syncing proxy rules complete\" elapsed=\"12ms\"\n", i/60%60, i%60)
	}
	s.Files = []wire.FileData{{Path: `C:\k\kube-proxy.log`, Role: wire.RoleLogPrefix + wire.LogKubeProxy, Content: log.String()}}
	for i := 0; i < 1000; i++ {
		s.Events = append(s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Operational", Level: "Information", Message: "ok"})
	}

	objs := facts.Objects{NodeName: node}
	objs.Nodes = append(objs.Nodes, k8sNode(node, "172.16.0.1", "10.200.0.0/16", "windows"))
	nNodes := 24*k + 1
	for i := 1; i < nNodes; i++ {
		objs.Nodes = append(objs.Nodes, k8sNode(fmt.Sprintf("linux-%d", i), addr("172.16.0.1", i), addr("10.128.0.0", i*256)+"/24", "linux"))
	}
	for i := 0; i < nNS; i++ {
		objs.Namespaces = append(objs.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns%d", i),
			Labels: map[string]string{"kubernetes.io/metadata.name": fmt.Sprintf("ns%d", i), "team": fmt.Sprintf("t%d", i%10)}}})
	}
	// Endpoints: local pods on this node, remote pods spread over the other nodes (200 each).
	type backend struct{ ip, node, id string }
	var backends []backend
	for i := 0; i < nLocal; i++ {
		ip, id := addr("10.200.0.10", i), fmt.Sprintf("local-%d", i)
		ns := fmt.Sprintf("ns%d", i%nNS)
		e := localEP(id, ip, "")
		e.OutBoundNAT = []snapshot.OutBoundNAT{{Exceptions: exc}}
		e.DNSSearch = []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
		e.SDNRoutes = nil
		s.Endpoints = append(s.Endpoints, e)
		p := k8sPod(ns, fmt.Sprintf("local-%d", i), node, ip, map[string]string{"app": fmt.Sprintf("a%d", i%50)})
		objs.Pods = append(objs.Pods, p)
		objs.AllPods = append(objs.AllPods, facts.PodInfoFrom(&p))
		backends = append(backends, backend{ip, node, id})
	}
	for i := 0; i < nRemote; i++ {
		n := 1 + i/200
		ip, id := addr("10.128.0.10", n*256+i%200-256+256), fmt.Sprintf("remote-%d", i)
		s.Endpoints = append(s.Endpoints, remoteEP(id, ip))
		p := k8sPod(fmt.Sprintf("ns%d", i%nNS), fmt.Sprintf("remote-%d", i), fmt.Sprintf("linux-%d", n), ip, map[string]string{"app": fmt.Sprintf("a%d", i%50)})
		objs.AllPods = append(objs.AllPods, facts.PodInfoFrom(&p))
		backends = append(backends, backend{ip, fmt.Sprintf("linux-%d", n), id})
	}
	// Services: two ports each (or one port plus its NodePort), two backends each, and the
	// load balancers kube-proxy would have made for them.
	for i := 0; i < nServices; i++ {
		ns := fmt.Sprintf("ns%d", i%nNS)
		name := fmt.Sprintf("svc-%d", i)
		ip := addr("10.96.1.0", i)
		ports := []corev1.ServicePort{svcPort("http", corev1.ProtocolTCP, 80, 8080), svcPort("https", corev1.ProtocolTCP, 443, 8443)}
		nodePort := i%20 == 0
		if nodePort {
			ports = ports[:1]
			ports[0].NodePort = int32(30000 + i/20%2700)
		}
		svc := k8sService(ns, name, ip, ports...)
		b1, b2 := backends[(2*i)%len(backends)], backends[(2*i+1)%len(backends)]
		sl := k8sSlice(ns, name, ports, sliceEP{b1.ip, b1.node, true}, sliceEP{b2.ip, b2.node, true})
		objs.Services = append(objs.Services, svc)
		objs.EndpointSlices = append(objs.EndpointSlices, sl)
		for _, p := range ports {
			s.LoadBalancers = append(s.LoadBalancers, hnsLB(fmt.Sprintf("lb-%d-%d", i, p.Port), ip, "TCP", int(p.Port), p.TargetPort.IntValue(), b1.id, b2.id))
			if p.NodePort > 0 {
				s.LoadBalancers = append(s.LoadBalancers, hnsLB(fmt.Sprintf("lb-%d-np", i), "", "TCP", int(p.NodePort), p.TargetPort.IntValue(), b1.id, b2.id))
			}
		}
	}
	dns := k8sService("kube-system", "kube-dns", "10.96.0.10", svcPort("dns", corev1.ProtocolUDP, 53, 53))
	objs.Services = append(objs.Services, dns)
	objs.EndpointSlices = append(objs.EndpointSlices, k8sSlice("kube-system", "kube-dns", dns.Spec.Ports, sliceEP{backends[len(backends)-1].ip, backends[len(backends)-1].node, true}))
	s.LoadBalancers = append(s.LoadBalancers, hnsLB("lb-dns", "10.96.0.10", "UDP", 53, 53, backends[len(backends)-1].id))
	// NetworkPolicies: selecting remote apps only, so flannel's non-enforcement is not reported.
	for i := 0; i < nPolicies; i++ {
		ns := fmt.Sprintf("ns%d", i%nNS)
		objs.NetworkPolicies = append(objs.NetworkPolicies, networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("np-%d", i)},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("b%d", i%50)}},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
					{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", i%10)}},
						PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("a%d", i%50)}}}}}},
			}})
	}
	_ = discoveryv1.AddressTypeIPv4
	c := facts.Assemble(objs)
	c.ServiceCIDRs = []string{"10.96.0.0/12"}
	return Input{Snapshot: s, Cluster: c}
}

// TestBigNodeIsHealthy: the benchmark's input is consistent, so it measures the comparison
// work on a healthy node rather than the cost of building thousands of findings.
func TestBigNodeIsHealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-Service node")
	}
	in := bigNode(1)
	res := Run(in)
	for _, f := range res.Findings {
		t.Errorf("%s %s: %s", f.Severity, f.ID, f.Title)
	}
	if len(in.Snapshot.LoadBalancers) < 20000 || len(in.Snapshot.Endpoints) != 5000 || len(in.Cluster.NetworkPolicies) != 2000 {
		t.Fatalf("size: %d load balancers, %d endpoints, %d policies", len(in.Snapshot.LoadBalancers), len(in.Snapshot.Endpoints), len(in.Cluster.NetworkPolicies))
	}
}

// BenchmarkRun: the target is < 100 ms and < 100 MB per run at 1x, and linear growth at 4x
// and 16x (compare ns/op and B/op across the three).
func BenchmarkRun(b *testing.B) {
	for _, k := range []int{1, 4, 16} {
		in := bigNode(k)
		b.Run(fmt.Sprintf("%dx", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in.Snapshot.Reindex() // the snapshot's lookups are part of the work
				Run(in)
			}
		})
	}
}

// BenchmarkBaselineMap is the yardstick for BenchmarkRun's scaling: filling and reading a Go
// map with as many front-end keys as the node has load balancers at 1x, 4x and 16x. Even this
// primitive grows faster than linearly in wall time once the map outgrows the CPU caches, so
// BenchmarkRun's growth should be compared with it rather than with a straight line.
func BenchmarkBaselineMap(b *testing.B) {
	for _, k := range []int{1, 4, 16} {
		n := 20000 * k
		keys := make([]snapshot.Frontend, n)
		for i := range keys {
			keys[i] = snapshot.Frontend{VIP: addr("10.96.0.0", i), Protocol: "TCP", Port: 80}
		}
		b.Run(fmt.Sprintf("%dx", k), func(b *testing.B) {
			for b.Loop() {
				m := make(map[snapshot.Frontend]int32, n)
				for i, key := range keys {
					m[key] = int32(i)
				}
				for _, key := range keys {
					_ = m[key]
				}
			}
		})
	}
}
