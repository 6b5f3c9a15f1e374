package analyze

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func snap(t *testing.T, artifacts map[string]any) *snapshot.Snapshot {
	t.Helper()
	b := snapshot.NewBuilder("win-1")
	for kind, data := range artifacts {
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: kind, Data: raw})
	}
	return b.Snapshot()
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func pod(ip string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"}, Status: corev1.PodStatus{PodIP: ip}}
}

func endpoint(ip string, remote bool) map[string]any {
	flags := 0
	if remote {
		flags = 1
	}
	return map[string]any{"ID": ip, "IpConfigurations": []map[string]any{{"IpAddress": ip}}, "Flags": flags}
}

func TestPodEndpointMissing(t *testing.T) {
	tests := []struct {
		name        string
		endpoints   []map[string]any
		pod         *corev1.Pod
		wantFinding bool
	}{
		{"local endpoint present", []map[string]any{endpoint("10.244.1.5", false)}, pod("10.244.1.5"), false},
		{"no endpoint", []map[string]any{endpoint("10.244.1.6", false)}, pod("10.244.1.5"), true},
		{"only a remote endpoint with the IP", []map[string]any{endpoint("10.244.1.5", true)}, pod("10.244.1.5"), true},
		{"node target", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, missing := podEndpointMissing(Input{Snapshot: snap(t, map[string]any{wire.KindHCNEndpoints: tt.endpoints}), Pod: tt.pod})
			if missing != "" {
				t.Fatalf("missing = %q", missing)
			}
			if got := len(fs) == 1 && fs[0].ID == "pod-endpoint-missing"; got != tt.wantFinding {
				t.Fatalf("findings = %v, want finding %v", ids(fs), tt.wantFinding)
			}
		})
	}
	t.Run("no endpoints collected is not checked", func(t *testing.T) {
		_, missing := podEndpointMissing(Input{Snapshot: snap(t, nil), Pod: pod("10.244.1.5")})
		if missing == "" {
			t.Fatal("want a reason the check could not run")
		}
	})
}

func lb(vip string, proto, port int) map[string]any {
	return map[string]any{"ID": vip, "FrontendVIPs": []string{vip}, "PortMappings": []map[string]any{{"Protocol": proto, "ExternalPort": port, "InternalPort": port}}}
}

func service(ns, name, ip string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func slice(ns, svc string, ready bool, ips ...string) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		Endpoints:  []discoveryv1.Endpoint{{Addresses: ips, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
}

func TestServiceLBMissing(t *testing.T) {
	dns := service("kube-system", "kube-dns", "10.96.0.10",
		corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP}, corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolTCP})
	cluster := &facts.Cluster{Services: []corev1.Service{dns}, EndpointSlices: []discoveryv1.EndpointSlice{slice("kube-system", "kube-dns", true, "10.244.2.7")}, KubeDNS: &dns}
	tests := []struct {
		name    string
		lbs     []map[string]any
		cluster *facts.Cluster
		want    int
	}{
		{"both protocols present", []map[string]any{lb("10.96.0.10", 17, 53), lb("10.96.0.10", 6, 53)}, cluster, 0},
		{"UDP missing", []map[string]any{lb("10.96.0.10", 6, 53)}, cluster, 1},
		{"all missing", nil, cluster, 2},
		{"no ready endpoints: kube-proxy creates none, so none expected", nil,
			&facts.Cluster{Services: []corev1.Service{dns}, EndpointSlices: []discoveryv1.EndpointSlice{slice("kube-system", "kube-dns", false, "10.244.2.7")}}, 0},
		{"headless service ignored", nil, &facts.Cluster{Services: []corev1.Service{service("a", "h", "None", corev1.ServicePort{Port: 80})}, EndpointSlices: []discoveryv1.EndpointSlice{}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, missing := serviceLBMissing(Input{Snapshot: snap(t, map[string]any{wire.KindHCNLoadBalancers: tt.lbs}), Cluster: tt.cluster})
			if missing != "" {
				t.Fatalf("missing = %q", missing)
			}
			if len(fs) != tt.want {
				t.Fatalf("got %d findings (%v), want %d", len(fs), fs, tt.want)
			}
			for _, f := range fs {
				if f.ID != "service-lb-missing" || !strings.Contains(f.Remediation, "kube-dns VIP") {
					t.Errorf("finding %+v: want service-lb-missing naming the kube-dns VIP", f)
				}
			}
		})
	}
	t.Run("without cluster facts it is not checked", func(t *testing.T) {
		_, missing := serviceLBMissing(Input{Snapshot: snap(t, map[string]any{wire.KindHCNLoadBalancers: []any{}})})
		if missing == "" {
			t.Fatal("want a reason")
		}
	})
}

func TestHNSErrors(t *testing.T) {
	ev := func(channel, level string) wire.Event {
		return wire.Event{Channel: channel, Level: level, ID: 1, Time: time.Unix(0, 0).UTC(), Message: "x"}
	}
	fs, _ := hnsErrors(Input{Snapshot: snap(t, map[string]any{wire.KindEvents: []wire.Event{
		ev("Microsoft-Windows-Host-Network-Service-Admin", "Error"),
		ev("Microsoft-Windows-Host-Network-Service-Operational", "Information"),
		ev("System", "Error"),
	}})})
	if len(fs) != 1 || fs[0].ID != "hns-errors" || len(fs[0].Evidence) != 1 {
		t.Fatalf("findings = %+v, want one hns-errors with one evidence item", fs)
	}
	fs, _ = hnsErrors(Input{Snapshot: snap(t, map[string]any{wire.KindEvents: []wire.Event{ev("Microsoft-Windows-Host-Network-Service-Admin", "Warning")}})})
	if len(fs) != 0 {
		t.Fatalf("warnings alone gave %v", ids(fs))
	}
}

func TestKubeProxyPolicyErrors(t *testing.T) {
	file := func(content string) map[string]any {
		return map[string]any{wire.KindFile: wire.FileData{Path: `C:\k\kube-proxy.log`, Content: content}}
	}
	bad := `I1126 01:02:03.000000    4242 proxier.go:100] "Syncing"` + "\n" +
		`E1126 01:02:03.456789    4242 proxier.go:1234] "Policy creation failed" err="hnsCall failed in Win32: The specified port already exists. (0x803b0013)"`
	fs, missing := kubeProxyPolicyErrors(Input{Snapshot: snap(t, file(bad))})
	if missing != "" || len(fs) != 1 {
		t.Fatalf("findings %v missing %q", ids(fs), missing)
	}
	if ev := fs[0].Evidence[0]; !strings.Contains(ev.Detail, "0x803b0013 = port already exists") || !strings.Contains(ev.Object, "line 2") {
		t.Fatalf("evidence = %+v, want the decoded code and line 2", ev)
	}
	fs, _ = kubeProxyPolicyErrors(Input{Snapshot: snap(t, file(`I1126 01:02:03.000000 1 proxier.go:1] "hns ok"`))})
	if len(fs) != 0 {
		t.Fatalf("healthy log gave %v", ids(fs))
	}
	if _, missing := kubeProxyPolicyErrors(Input{Snapshot: snap(t, nil)}); missing == "" {
		t.Fatal("no log: want a reason the check could not run")
	}
}

func TestRunSortsBySeverityAndListsNotChecked(t *testing.T) {
	res := Run(Input{Snapshot: snap(t, map[string]any{
		wire.KindEvents:       []wire.Event{{Channel: "Microsoft-Windows-Host-Network-Service-Admin", Level: "Error"}},
		wire.KindHCNEndpoints: []any{},
	}), Pod: pod("10.244.1.5")})
	if got := ids(res.Findings); len(got) != 2 || got[0] != "pod-endpoint-missing" || got[1] != "hns-errors" {
		t.Fatalf("findings = %v, want the error before the warning", got)
	}
	if len(res.NotChecked) != 2 {
		t.Fatalf("not checked = %+v, want load balancers and kube-proxy log", res.NotChecked)
	}
}
