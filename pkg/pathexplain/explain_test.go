package pathexplain

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const (
	vipSpec     = "dns:kubernetes.default.svc.cluster.local@10.96.0.10:53"
	vipTCPSpec  = "dns:kubernetes.default.svc.cluster.local@10.96.0.10:53/tcp"
	corednsSpec = "dns:kubernetes.default.svc.cluster.local@10.244.2.7:53"
	apiSpec     = "tcp:10.96.0.1:443"
	webDNSSpec  = "dns:web.shop.svc.cluster.local@10.96.0.10:53"
	webSpec     = "tcp:10.96.12.34:80"
)

// world is one healthy node and cluster: pod shop/client (10.244.1.5) on win-1 reaches
// Service shop/web (10.96.12.34:80 -> 8080) backed by web-1 (10.244.1.6, local) and web-2
// (10.244.2.9, remote); every probe answers.
type world struct {
	snap *snapshot.Snapshot
	cl   *facts.Cluster
	pod  *corev1.Pod
}

func healthy() *world {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	http, p8080, p53 := "http", int32(8080), int32(53)
	yes := true
	kubeDNS := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: udp}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "client", Labels: map[string]string{"app": "client"}},
		Spec: corev1.PodSpec{NodeName: "win-1"}, Status: corev1.PodStatus{PodIP: "10.244.1.5"}}
	ok := func(spec string, answers ...string) wire.ProbeData {
		proto, target, _ := strings.Cut(spec, ":")
		p := wire.ProbeData{Protocol: proto, Target: target, Verdict: "ok", Method: "pod-compartment"}
		if proto == "dns" {
			p.Detail = map[string]any{"server": strings.TrimSuffix(strings.SplitN(target, "@", 2)[1], "/tcp"), "rcode": "NOERROR", "answers": answers}
		}
		return p
	}
	return &world{
		pod: pod,
		cl: &facts.Cluster{
			NodeName: "win-1",
			KubeDNS:  &kubeDNS,
			Pods:     []corev1.Pod{*pod},
			Services: []corev1.Service{kubeDNS,
				{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: tcp}}}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.12.34", Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: tcp}}}},
			},
			EndpointSlices: []discoveryv1.EndpointSlice{
				{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns-a", Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}},
					Ports:     []discoveryv1.EndpointPort{{Port: &p53, Protocol: &udp}},
					Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.2.7"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "kube-system", Name: "coredns-a"}}}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-a", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
					Ports: []discoveryv1.EndpointPort{{Name: &http, Port: &p8080, Protocol: &tcp}},
					Endpoints: []discoveryv1.Endpoint{
						{Addresses: []string{"10.244.1.6"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1"}},
						{Addresses: []string{"10.244.2.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-2"}},
					}},
			},
			AllPods: []facts.PodInfo{
				{Namespace: "shop", Name: "client", Node: "win-1", IPs: []string{"10.244.1.5"}, Labels: map[string]string{"app": "client"}},
				{Namespace: "shop", Name: "web-1", Node: "win-1", IPs: []string{"10.244.1.6"}, Labels: map[string]string{"app": "web"}},
				{Namespace: "shop", Name: "web-2", Node: "linux-1", IPs: []string{"10.244.2.9"}, Labels: map[string]string{"app": "web"}},
			},
			Namespaces: []facts.NamespaceInfo{{Name: "shop", Labels: map[string]string{"kubernetes.io/metadata.name": "shop"}}},
			Components: []facts.Component{{Role: facts.RoleCNI, Name: "calico", Namespace: "calico-system", Pod: "calico-node-win"}},
		},
		snap: &snapshot.Snapshot{
			Node:     "win-1",
			Have:     map[string]bool{wire.KindHCNEndpoints: true, wire.KindHCNLoadBalancers: true},
			Networks: []snapshot.Network{{ID: "net", Name: "cbr0", Type: "L2Bridge"}},
			Endpoints: []snapshot.Endpoint{
				{ID: "e-client", IP: "10.244.1.5", NetworkID: "net", DNSServers: []string{"10.96.0.10"}, DNSSearch: []string{"shop.svc.cluster.local", "svc.cluster.local"}},
				{ID: "e-web1", IP: "10.244.1.6", NetworkID: "net"},
				{ID: "e-web2", IP: "10.244.2.9", NetworkID: "net", Remote: true},
			},
			LoadBalancers: []snapshot.LoadBalancer{{ID: "lb-web", FrontendVIPs: []string{"10.96.12.34"}, EndpointIDs: []string{"e-web1", "e-web2"},
				Ports: []snapshot.PortMapping{{Protocol: "TCP", ExternalPort: 80, InternalPort: 8080}}},
				// kube-dns, over UDP and TCP, as kube-proxy programs it (backends elsewhere).
				{ID: "lb-dns-udp", FrontendVIPs: []string{"10.96.0.10"}, Ports: []snapshot.PortMapping{{Protocol: "UDP", ExternalPort: 53, InternalPort: 53}}},
				{ID: "lb-dns-tcp", FrontendVIPs: []string{"10.96.0.10"}, Ports: []snapshot.PortMapping{{Protocol: "TCP", ExternalPort: 53, InternalPort: 53}}}},
			Probes: []wire.ProbeData{ok(vipSpec, "10.96.0.1"), ok(vipTCPSpec, "10.96.0.1"), ok(corednsSpec, "10.96.0.1"), ok(apiSpec),
				ok(webDNSSpec, "10.96.12.34"), ok(webSpec)},
		},
	}
}

func (w *world) setProbe(spec, verdict, errText string) {
	for i := range w.snap.Probes {
		p := &w.snap.Probes[i]
		if p.Protocol+":"+p.Target == spec {
			p.Verdict, p.Error, p.Detail = verdict, errText, nil
		}
	}
}

func denyIngressToWeb() networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
}

func TestExplainServicePath(t *testing.T) {
	tests := []struct {
		name     string
		change   func(w *world)
		headline string // "" when no hop fails
		verdicts map[string]string
		evidence map[string]string // hop -> a substring of its evidence or detail
	}{
		{
			name: "healthy",
			verdicts: map[string]string{HopPodDNS: OK, HopLookup: OK, HopLoadBalancer: OK, HopBackends: OK, HopReach: OK, HopPolicy: OK, HopConnect: OK,
				HopClusterDNS: OK, HopClusterDNSTCP: OK, "CoreDNS pod kube-system/coredns-a": OK, HopAPIServer: OK},
			evidence: map[string]string{
				HopLookup:       "web.shop.svc.cluster.local -> 10.96.12.34 (answered by 10.96.0.10:53)",
				HopReach:        "10.244.1.6 local, 10.244.2.9 remote (routed)",
				HopLoadBalancer: "10.96.12.34:80/TCP: lb-web 80->8080/TCP, 2 backends",
			},
		},
		{
			name: "pod DNS server is not kube-dns",
			change: func(w *world) {
				w.snap.Endpoints[0].DNSServers = []string{"10.0.0.53"}
			},
			headline: HopPodDNS,
			evidence: map[string]string{HopPodDNS: "pod asks 10.0.0.53 (from the HNS endpoint); kube-dns is 10.96.0.10"},
		},
		{
			name: "the compartment's view wins over the endpoint's",
			change: func(w *world) {
				w.snap.Pod = &snapshot.PodNetwork{DNS: &wire.DNSClient{Servers: []string{"10.0.0.53", "10.96.0.10"}}}
			},
			verdicts: map[string]string{HopPodDNS: Warn},
			evidence: map[string]string{HopPodDNS: "from the pod compartment"},
		},
		{
			name:     "no load balancer for the VIP",
			change:   func(w *world) { w.snap.LoadBalancers[0].Ports[0].ExternalPort = 8081 },
			headline: HopLoadBalancer,
			verdicts: map[string]string{HopBackends: Skipped, HopReach: Skipped},
			evidence: map[string]string{HopLoadBalancer: "no HNS load balancer for 10.96.12.34:80/TCP on node win-1; the VIP has load balancers only for 8081/TCP"},
		},
		{
			name: "stale backend",
			change: func(w *world) {
				w.snap.Endpoints = append(w.snap.Endpoints, snapshot.Endpoint{ID: "e-old", IP: "10.244.2.99", Remote: true})
				w.snap.LoadBalancers[0].EndpointIDs = append(w.snap.LoadBalancers[0].EndpointIDs, "e-old")
			},
			headline: HopBackends,
			evidence: map[string]string{HopBackends: "stale backend 10.244.2.99 (not a ready endpoint)"},
		},
		{
			name: "ready endpoint missing from the load balancer warns",
			change: func(w *world) {
				w.snap.LoadBalancers[0].EndpointIDs = []string{"e-web1"}
			},
			verdicts: map[string]string{HopBackends: Warn},
			evidence: map[string]string{HopBackends: "ready endpoint 10.244.2.9 has no backend here"},
		},
		{
			name:     "policy denies and Calico enforces it",
			change:   func(w *world) { w.cl.NetworkPolicies = []networkingv1.NetworkPolicy{denyIngressToWeb()} },
			headline: HopPolicy,
			evidence: map[string]string{HopPolicy: "10.244.1.6 (shop/web-1):8080 denied"},
		},
		{
			name: "policy denies but flannel does not enforce it",
			change: func(w *world) {
				w.cl.NetworkPolicies = []networkingv1.NetworkPolicy{denyIngressToWeb()}
				w.cl.Components = []facts.Component{{Role: facts.RoleCNI, Name: "flannel"}}
			},
			verdicts: map[string]string{HopPolicy: Warn},
			evidence: map[string]string{HopPolicy: "not enforced: flannel does not enforce NetworkPolicy on Windows"},
		},
		{
			name: "the lookup answers another address",
			change: func(w *world) {
				w.snap.Probes[4].Detail = map[string]any{"rcode": "NOERROR", "answers": []string{"10.96.99.99"}}
			},
			headline: HopLookup,
			evidence: map[string]string{HopLookup: "but the Service's ClusterIP is 10.96.12.34"},
		},
		{
			name:     "the connection times out on a path that looks right",
			change:   func(w *world) { w.setProbe(webSpec, "timeout", "no answer in 3s") },
			headline: HopConnect,
			evidence: map[string]string{HopConnect: "tcp:10.96.12.34:80: timeout (pod-compartment): no answer in 3s"},
		},
		{
			name: "skipped probes are not failures",
			change: func(w *world) {
				for _, s := range []string{vipSpec, vipTCPSpec, corednsSpec, apiSpec, webDNSSpec, webSpec} {
					w.setProbe(s, "skipped", "the scenario scripts no answer for this probe")
				}
			},
			verdicts: map[string]string{HopLookup: Skipped, HopConnect: Skipped, HopClusterDNS: Skipped, HopAPIServer: Skipped},
		},
		{
			name:     "kube-dns VIP fails while CoreDNS answers directly",
			change:   func(w *world) { w.setProbe(vipSpec, "timeout", "no answer") },
			headline: HopClusterDNS,
			evidence: map[string]string{HopClusterDNS: "CoreDNS works and the kube-dns VIP is broken"},
		},
		{
			name: "kube-dns VIP fails and the node has no load balancer for it",
			change: func(w *world) {
				w.setProbe(vipSpec, "timeout", "no answer")
				w.setProbe(corednsSpec, "skipped", "the scenario scripts no answer for this probe")
				var keep []snapshot.LoadBalancer
				for _, lb := range w.snap.LoadBalancers {
					if !slices.Contains(lb.FrontendVIPs, "10.96.0.10") {
						keep = append(keep, lb)
					}
				}
				w.snap.LoadBalancers = keep
			},
			headline: HopClusterDNS,
			evidence: map[string]string{HopClusterDNS: "the kube-dns VIP has no HNS load balancer on this node"},
		},
		{
			name: "CoreDNS does not answer either",
			change: func(w *world) {
				w.setProbe(vipSpec, "timeout", "no answer")
				w.setProbe(corednsSpec, "timeout", "no answer")
			},
			headline: HopClusterDNS,
			evidence: map[string]string{HopClusterDNS: "no CoreDNS pod answers when asked directly either"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := healthy()
			if tt.change != nil {
				tt.change(w)
			}
			w.snap.Reindex()
			to, err := pathplan.ParseTarget("svc/web:80")
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pathplan.Build(pathplan.Input{Cluster: w.cl, Namespace: "shop", Defaults: true, To: &to})
			if err != nil {
				t.Fatal(err)
			}
			p := Explain(Input{Pod: w.pod, Node: "win-1", Plan: plan, Snapshot: w.snap, Cluster: w.cl})
			got := ""
			if p.Headline != nil {
				got = p.Headline.Name
			}
			if got != tt.headline {
				t.Errorf("headline = %q, want %q; hops:\n%s", got, tt.headline, dump(p))
			}
			byName := map[string]Hop{}
			for _, h := range p.Hops {
				byName[h.Name] = h
			}
			for name, v := range tt.verdicts {
				if byName[name].Verdict != v {
					t.Errorf("hop %q verdict = %q, want %q; hops:\n%s", name, byName[name].Verdict, v, dump(p))
				}
			}
			for name, s := range tt.evidence {
				h := byName[name]
				if !strings.Contains(h.Evidence+" "+h.Detail, s) {
					t.Errorf("hop %q = %q / %q, want it to say %q", name, h.Evidence, h.Detail, s)
				}
			}
			if p.From != "pod shop/client" || p.To != "svc/web:80" {
				t.Errorf("from %q to %q", p.From, p.To)
			}
		})
	}
}

func TestExplainOtherTargets(t *testing.T) {
	tests := []struct {
		name     string
		to       string
		noPod    bool
		change   func(w *world)
		want     []string // hop: verdict, in order
		headline string
	}{
		{name: "pod on this node", to: "pod/web-1:8080", want: []string{"pod DNS servers: ok", "backend reachability: ok", "NetworkPolicy: ok", "connection: unknown"}},
		{name: "pod on this node without its endpoint", to: "pod/web-1:8080",
			change: func(w *world) { w.snap.Endpoints = w.snap.Endpoints[:1] },
			want:   []string{"pod DNS servers: ok", "backend reachability: fail", "NetworkPolicy: ok", "connection: unknown"}, headline: HopReach},
		{name: "host name: lookup only", to: "example.com:443", want: []string{"pod DNS servers: ok", "name lookup: unknown", "connection: skipped"}},
		{name: "address from the node", to: "10.0.0.4:6443", noPod: true, want: []string{"NetworkPolicy: skipped", "connection: unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := healthy()
			if tt.change != nil {
				tt.change(w)
			}
			w.snap.Reindex()
			to, err := pathplan.ParseTarget(tt.to)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pathplan.Build(pathplan.Input{Cluster: w.cl, Namespace: "shop", To: &to})
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Pod: w.pod, Node: "win-1", Plan: plan, Snapshot: w.snap, Cluster: w.cl}
			if tt.noPod {
				in.Pod = nil
			}
			p := Explain(in)
			var got []string
			for _, h := range p.Hops {
				got = append(got, h.Name+": "+h.Verdict)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("hops:\n%s\nwant:\n%s", dump(p), strings.Join(tt.want, "\n"))
			}
			head := ""
			if p.Headline != nil {
				head = p.Headline.Name
			}
			if head != tt.headline {
				t.Errorf("headline = %q, want %q", head, tt.headline)
			}
		})
	}
}

func TestPolicyEnforcement(t *testing.T) {
	cfg := func(plugins ...string) *snapshot.Snapshot {
		return &snapshot.Snapshot{CNIConfigs: []snapshot.CNIConfig{{Plugins: plugins}}}
	}
	tests := []struct {
		name     string
		snap     *snapshot.Snapshot
		cl       *facts.Cluster
		enforced bool
		who      string
		known    bool
	}{
		{"Azure NPM on the node", cfg("azure-vnet"), &facts.Cluster{Components: []facts.Component{{Role: facts.RoleNetPolicy, Name: "azure-npm"}}}, true, "azure-npm", true},
		{"flannel delegating to win-bridge", cfg("flannel", "win-bridge"), nil, false, "flannel", true},
		{"calico config", cfg("calico"), nil, true, "calico", true},
		{"plain sdnoverlay", cfg("sdnoverlay"), nil, false, "sdnoverlay", true},
		{"only a CNI pod", nil, &facts.Cluster{Components: []facts.Component{{Role: facts.RoleCNI, Name: "flannel"}}}, false, "flannel", true},
		{"nothing known", nil, nil, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, who, known := policyEnforcement(tt.snap, tt.cl)
			if e != tt.enforced || who != tt.who || known != tt.known {
				t.Errorf("got (%v, %q, %v), want (%v, %q, %v)", e, who, known, tt.enforced, tt.who, tt.known)
			}
		})
	}
}

func dump(p *Path) string {
	var b strings.Builder
	for _, h := range p.Hops {
		b.WriteString("  " + h.Name + ": " + h.Verdict + ": " + h.Evidence + " | " + h.Detail + "\n")
	}
	return b.String()
}

func TestExplainNotesAnotherClusterDomain(t *testing.T) {
	tests := []struct {
		domain string
		note   bool
	}{{"cluster.local", false}, {"cluster.local.", false}, {"corp.example", true}}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			w := healthy()
			w.snap.Kubelet = &snapshot.KubeletConfig{ClusterDomain: tt.domain}
			plan, err := pathplan.Build(pathplan.Input{Cluster: w.cl, Namespace: "shop", Defaults: true})
			if err != nil {
				t.Fatal(err)
			}
			p := Explain(Input{Pod: w.pod, Node: "win-1", Plan: plan, Snapshot: w.snap, Cluster: w.cl})
			got := strings.Contains(strings.Join(p.Notes, "\n"), "cluster domain is "+tt.domain)
			if got != tt.note {
				t.Errorf("notes %q: note about the domain = %v, want %v", p.Notes, got, tt.note)
			}
		})
	}
}

// The collector's DNS detail counts aliases; a reply with a CNAME must still decode.
func TestDecodeDNSWithAliases(t *testing.T) {
	d, ok := decodeDNS(wire.ProbeData{Detail: map[string]any{"name": "web.shop.svc.cluster.local", "server": "10.96.0.10:53",
		"answers": []any{"10.96.12.34"}, "aliases": 1, "rcode": "NOERROR"}})
	if !ok || len(d.Answers) != 1 || d.Aliases != 1 {
		t.Fatalf("decoded %+v, ok %v", d, ok)
	}
}
