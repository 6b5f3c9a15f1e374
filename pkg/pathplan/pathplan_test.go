package pathplan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "svc/web", want: Target{Kind: KindService, Name: "web"}},
		{in: "svc/web:80", want: Target{Kind: KindService, Name: "web", Port: "80"}},
		{in: "service/shop/web:http", want: Target{Kind: KindService, Namespace: "shop", Name: "web", Port: "http"}},
		{in: "pod/web-0:8080", want: Target{Kind: KindPod, Name: "web-0", PortNum: 8080}},
		{in: "pods/shop/web.0:53/udp", want: Target{Kind: KindPod, Namespace: "shop", Name: "web.0", PortNum: 53, UDP: true}},
		{in: "Example.COM:443", want: Target{Kind: KindHost, Name: "example.com", PortNum: 443}},
		{in: "10.0.0.4:6443", want: Target{Kind: KindIP, IP: mustAddr("10.0.0.4"), PortNum: 6443}},
		{in: "[fd00::10]:53/udp", want: Target{Kind: KindIP, IP: mustAddr("fd00::10"), PortNum: 53, UDP: true}},
		{in: "", wantErr: "empty"},
		{in: "deploy/web", wantErr: `"deploy" is not a kind`},
		{in: "pod/web-0", wantErr: "needs a port"},
		{in: "svc/web:0", wantErr: "out of range"},
		{in: "svc/web:HTTP", wantErr: "not a DNS label"},
		{in: "svc/web:80/udp", wantErr: "carries its own protocol"},
		{in: "svc/Web", wantErr: "not a Kubernetes object name"},
		{in: "example.com", wantErr: "no port"},
		{in: "example.com:https", wantErr: "not a number"},
		{in: "fd00::10:53", wantErr: "IPv6 address in brackets"},
		{in: "web:80:90", wantErr: "not an IP address"},
		{in: "[fd00::10:53", wantErr: "unbalanced"},
		{in: "10.0.0.4:80/sctp", wantErr: "not a protocol"},
		{in: "example.com:53/udp", wantErr: "DNS lookup only"},
		{in: "a&b:80", wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Raw = tt.in
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b Target) bool { return a == b })); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// String is canonical: parsing it again gives the same target.
			again, err := ParseTarget(got.String())
			if err != nil {
				t.Fatalf("re-parsing %q: %v", got.String(), err)
			}
			again.Raw = got.Raw
			if again != got {
				t.Fatalf("round trip %q gave %+v, want %+v", got.String(), again, got)
			}
		})
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// cluster is a small fake cluster: kube-dns with two CoreDNS pods (one not ready), the API
// server's Service, shop/web (80/TCP named http, 8125/UDP), a headless Service and a pod.
func cluster() *facts.Cluster {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	p53 := int32(53)
	yes, no := true, false
	kubeDNS := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: udp}, {Name: "dns-tcp", Port: 53, Protocol: tcp}}}}
	return &facts.Cluster{
		KubeDNS: kubeDNS,
		Services: []corev1.Service{
			*kubeDNS,
			{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: tcp}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.12.34", Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: tcp}, {Name: "stats", Port: 8125, Protocol: udp}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 5432}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "v6", Name: "api"}, Spec: corev1.ServiceSpec{ClusterIP: "fd00:96::20", Ports: []corev1.ServicePort{{Port: 443, Protocol: tcp}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "sctp"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.12.40", Ports: []corev1.ServicePort{{Port: 9, Protocol: corev1.ProtocolSCTP}}}},
		},
		EndpointSlices: []discoveryv1.EndpointSlice{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns-x", Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}},
			Ports:      []discoveryv1.EndpointPort{{Port: &p53, Protocol: &udp}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.2.7"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "kube-system", Name: "coredns-a"}},
				{Addresses: []string{"10.244.2.8"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
			},
		}},
		AllPods: []facts.PodInfo{{Namespace: "shop", Name: "web-1", IPs: []string{"10.244.1.6"}}, {Namespace: "shop", Name: "pending"}},
	}
}

var defaults = []Probe{
	{Spec: "dns:kubernetes.default.svc.cluster.local@10.96.0.10:53", Role: RoleClusterDNS, Detail: "kube-dns VIP over UDP"},
	{Spec: "dns:kubernetes.default.svc.cluster.local@10.96.0.10:53/tcp", Role: RoleClusterDNSTCP, Detail: "kube-dns VIP over TCP"},
	{Spec: "dns:kubernetes.default.svc.cluster.local@10.244.2.7:53", Role: RoleCoreDNSPod, Detail: "CoreDNS pod kube-system/coredns-a"},
	{Spec: "tcp:10.96.0.1:443", Role: RoleAPIServer, Detail: "default/kubernetes"},
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name      string
		to, ext   string
		domain    string
		noDefault bool
		want      []Probe
		wantTo    *Resolved
		notes     []string
		wantErr   string
	}{
		{name: "defaults only", want: defaults},
		{name: "another cluster domain", domain: "Corp.Example.", want: []Probe{
			{Spec: "dns:kubernetes.default.svc.corp.example@10.96.0.10:53", Role: RoleClusterDNS, Detail: "kube-dns VIP over UDP"},
			{Spec: "dns:kubernetes.default.svc.corp.example@10.96.0.10:53/tcp", Role: RoleClusterDNSTCP, Detail: "kube-dns VIP over TCP"},
			{Spec: "dns:kubernetes.default.svc.corp.example@10.244.2.7:53", Role: RoleCoreDNSPod, Detail: "CoreDNS pod kube-system/coredns-a"},
			{Spec: "tcp:10.96.0.1:443", Role: RoleAPIServer, Detail: "default/kubernetes"},
		}},
		{name: "service, first port", to: "svc/web", noDefault: true,
			want: []Probe{
				{Spec: "dns:web.shop.svc.cluster.local@10.96.0.10:53", Role: RoleTargetDNS, Detail: "web.shop.svc.cluster.local"},
				{Spec: "tcp:10.96.12.34:80", Role: RoleTarget, Detail: "svc/web"},
			},
			wantTo: &Resolved{Namespace: "shop", DNSName: "web.shop.svc.cluster.local", IP: "10.96.12.34", Port: 80, Protocol: "TCP", Probed: true}},
		{name: "service, UDP port by name, after the defaults", to: "svc/shop/web:stats",
			want: append(append([]Probe{}, defaults...),
				Probe{Spec: "dns:web.shop.svc.cluster.local@10.96.0.10:53", Role: RoleTargetDNS, Detail: "web.shop.svc.cluster.local"},
				Probe{Spec: "udp:10.96.12.34:8125", Role: RoleTarget, Detail: "svc/shop/web:stats"}),
			wantTo: &Resolved{Namespace: "shop", DNSName: "web.shop.svc.cluster.local", IP: "10.96.12.34", Port: 8125, Protocol: "UDP", Probed: true}},
		{name: "IPv6 service", to: "svc/v6/api:443", noDefault: true,
			want: []Probe{
				{Spec: "dns:api.v6.svc.cluster.local@10.96.0.10:53", Role: RoleTargetDNS, Detail: "api.v6.svc.cluster.local"},
				{Spec: "tcp:[fd00:96::20]:443", Role: RoleTarget, Detail: "svc/v6/api:443"},
			},
			wantTo: &Resolved{Namespace: "v6", DNSName: "api.v6.svc.cluster.local", IP: "fd00:96::20", Port: 443, Protocol: "TCP", Probed: true}},
		{name: "kube-dns itself is not asked twice", to: "svc/kube-system/kube-dns:dns-tcp",
			want: append(append([]Probe{}, defaults...),
				Probe{Spec: "dns:kube-dns.kube-system.svc.cluster.local@10.96.0.10:53", Role: RoleTargetDNS, Detail: "kube-dns.kube-system.svc.cluster.local"},
				Probe{Spec: "tcp:10.96.0.10:53", Role: RoleTarget, Detail: "svc/kube-system/kube-dns:dns-tcp"}),
			wantTo: &Resolved{Namespace: "kube-system", DNSName: "kube-dns.kube-system.svc.cluster.local", IP: "10.96.0.10", Port: 53, Protocol: "TCP", Probed: true}},
		{name: "SCTP is noted, not probed", to: "svc/sctp", noDefault: true,
			want:   []Probe{{Spec: "dns:sctp.shop.svc.cluster.local@10.96.0.10:53", Role: RoleTargetDNS, Detail: "sctp.shop.svc.cluster.local"}},
			wantTo: &Resolved{Namespace: "shop", DNSName: "sctp.shop.svc.cluster.local", IP: "10.96.12.40", Port: 9, Protocol: "SCTP"},
			notes:  []string{"svc/sctp: SCTP cannot be probed (only TCP and UDP can), so the connection was not tested"}},
		{name: "pod", to: "pod/web-1:8080", noDefault: true,
			want:   []Probe{{Spec: "tcp:10.244.1.6:8080", Role: RoleTarget, Detail: "pod/web-1:8080"}},
			wantTo: &Resolved{Namespace: "shop", IP: "10.244.1.6", Port: 8080, Protocol: "TCP", Probed: true}},
		{name: "host name: the lookup only", to: "example.com:443", noDefault: true,
			want:   []Probe{{Spec: "dns:example.com@10.96.0.10:53", Role: RoleTargetDNS, Detail: "example.com"}},
			wantTo: &Resolved{DNSName: "example.com", Port: 443, Protocol: "TCP"},
			notes:  []string{"example.com:443: the address is known only after the pod's lookup, so the connection to port 443 was not tested"}},
		{name: "address", to: "[fd00::10]:53/udp", noDefault: true,
			want:   []Probe{{Spec: "udp:[fd00::10]:53", Role: RoleTarget, Detail: "[fd00::10]:53/udp"}},
			wantTo: &Resolved{IP: "fd00::10", Port: 53, Protocol: "UDP", Probed: true}},
		{name: "external address", ext: "1.1.1.1:443", noDefault: true,
			want: []Probe{{Spec: "tcp:1.1.1.1:443", Role: RoleExternal, Detail: "1.1.1.1:443"}}},
		{name: "external name", ext: "example.com:443", noDefault: true,
			want:  []Probe{{Spec: "dns:example.com@10.96.0.10:53", Role: RoleExternal, Detail: "example.com:443"}},
			notes: []string{"--external example.com: only the name's lookup was tested; its address is known only after it, so the connection to port 443 was not"}},
		{name: "external must not be a Service", ext: "svc/web", noDefault: true, wantErr: "want IP:PORT or HOST:PORT"},
		{name: "missing Service", to: "svc/nope", wantErr: "no Service shop/nope was found"},
		{name: "headless Service", to: "svc/db", wantErr: "has no cluster IP"},
		{name: "no such port", to: "svc/web:443", wantErr: "has no port 443; it has http (80/TCP), stats (8125/UDP)"},
		{name: "missing pod", to: "pod/nope:80", wantErr: "no pod shop/nope was found"},
		{name: "pod without IP", to: "pod/pending:80", wantErr: "has no IP yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Cluster: cluster(), Namespace: "shop", Domain: tt.domain, Defaults: !tt.noDefault}
			if tt.to != "" {
				to, err := ParseTarget(tt.to)
				if err != nil {
					t.Fatal(err)
				}
				in.To = &to
			}
			if tt.ext != "" {
				ext, err := ParseTarget(tt.ext)
				if err != nil {
					t.Fatal(err)
				}
				in.External = &ext
			}
			p, err := Build(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Probes); diff != "" {
				t.Errorf("probes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notes, p.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if tt.wantTo != nil {
				got := *p.To
				got.Target, got.Service, got.ServicePort, got.Pod = Target{}, nil, nil, nil
				if diff := cmp.Diff(*tt.wantTo, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("resolved (-want +got):\n%s", diff)
				}
			}
			for _, spec := range p.Specs() {
				// Canonical, as the collector writes it back and a scenario's probes.json spells it.
				pt, err := probe.ParseTarget(spec)
				if err != nil {
					t.Errorf("spec %q does not parse: %v", spec, err)
				} else if pt.String() != spec {
					t.Errorf("spec %q is not canonical: %q", spec, pt.String())
				}
				if _, err := nodecmd.Run(strings.Repeat("a", 64), "--probe", spec); err != nil {
					t.Errorf("spec %q refused by nodecmd: %v", spec, err)
				}
			}
		})
	}
}

func TestBuildWithoutKubeDNS(t *testing.T) {
	cl := cluster()
	cl.KubeDNS, cl.Services, cl.EndpointSlices = nil, nil, nil
	to, _ := ParseTarget("10.0.0.4:6443")
	p, err := Build(Input{Cluster: cl, Namespace: "shop", Defaults: true, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tcp:10.0.0.4:6443"}, p.Specs()); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	if len(p.Notes) != 2 || !strings.Contains(p.Notes[0], "kube-dns") || !strings.Contains(p.Notes[1], "default/kubernetes") {
		t.Errorf("notes = %q, want why cluster DNS and the API server were not probed", p.Notes)
	}
}

func TestResolveAndReadyEndpoints(t *testing.T) {
	cl := cluster()
	p8080, p80 := int32(8080), int32(80)
	http, yes, no := "http", true, false
	cl.EndpointSlices = append(cl.EndpointSlices,
		discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-a", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			Ports:      []discoveryv1.EndpointPort{{Name: &http, Port: &p8080}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.1.6"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1"}},
				{Addresses: []string{"10.244.1.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
			},
		},
		// A second slice (pods whose named port is another number), one address repeated.
		discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-b", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			Ports:      []discoveryv1.EndpointPort{{Name: &http, Port: &p80}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.1.10", "10.244.1.6"}},
			},
		},
		// Another namespace's Service of the same name.
		discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "web-c", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{"10.244.9.9"}}},
		},
	)
	to, err := ParseTarget("svc/web:80")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(cl, to, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if r.IP != "10.96.12.34" || r.Port != 80 || r.ServicePort == nil || r.ServicePort.Name != "http" {
		t.Fatalf("resolved %+v", r)
	}
	got := ReadyEndpoints(cl, r)
	want := []Endpoint{{IP: "10.244.1.10", Port: 80}, {IP: "10.244.1.6", Port: 8080, Pod: &cl.AllPods[0]}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ready endpoints (-want +got):\n%s", diff)
	}
	// The UDP port has no slice port of its name: its addresses come with port 0.
	stats, _ := ParseTarget("svc/web:stats")
	if r, err = Resolve(cl, stats, "shop"); err != nil {
		t.Fatal(err)
	}
	if got := ReadyEndpoints(cl, r); len(got) != 2 || got[0].Port != 0 || got[1].Port != 0 {
		t.Errorf("endpoints of the stats port = %+v, want two with port 0", got)
	}
	if _, err := Resolve(nil, to, "shop"); err == nil || !strings.Contains(err.Error(), "no Service shop/web") {
		t.Errorf("resolving in an empty cluster: %v", err)
	}
	pod, _ := ParseTarget("pod/web-1:8080")
	if r, err = Resolve(cl, pod, "shop"); err != nil || r.IP != "10.244.1.6" || ReadyEndpoints(cl, r) != nil {
		t.Errorf("pod target: %+v, %v; want its IP and no endpoints", r, err)
	}
}
