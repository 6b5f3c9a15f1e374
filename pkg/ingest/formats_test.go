package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// recognizeFile runs the registry on one fixture file.
func recognizeFile(t *testing.T, path string) Recognition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	r := Recognize(filepath.Base(path), b)
	if len(r.Errors) > 0 {
		t.Fatalf("recogniser errors: %v", r.Errors)
	}
	return r
}

func formats(r Recognition) []string {
	var out []string
	for _, o := range r.Outputs {
		out = append(out, o.Format)
	}
	return out
}

// records returns the records of kind (or of type probe when kind is "probe") in r.
func records(r Recognition, kind string) []wire.Record {
	var out []wire.Record
	for _, o := range r.Outputs {
		for _, rec := range o.Records {
			if rec.Kind == kind || (kind == wire.TypeProbe && rec.Type == wire.TypeProbe) {
				out = append(out, rec)
			}
		}
	}
	return out
}

// one decodes the single record of kind into v.
func one(t *testing.T, r Recognition, kind string, v any) {
	t.Helper()
	recs := records(r, kind)
	if len(recs) != 1 {
		t.Fatalf("want 1 %s record, got %d (formats %v)", kind, len(recs), formats(r))
	}
	if err := json.Unmarshal(recs[0].Data, v); err != nil {
		t.Fatalf("decoding %s: %v", kind, err)
	}
}

func fileOf(t *testing.T, r Recognition, role string) wire.FileData {
	t.Helper()
	for _, rec := range records(r, wire.KindFile) {
		var f wire.FileData
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			t.Fatal(err)
		}
		if f.Role == role {
			return f
		}
	}
	t.Fatalf("no file record with role %s (formats %v)", role, formats(r))
	return wire.FileData{}
}

func hnsOf(r Recognition, kind string) []HNSObject {
	var out []HNSObject
	for _, o := range r.Outputs {
		for _, h := range o.HNS {
			if h.Kind == kind {
				out = append(out, h)
			}
		}
	}
	return out
}

func probes(t *testing.T, r Recognition) []wire.ProbeData {
	t.Helper()
	var out []wire.ProbeData
	for _, rec := range records(r, wire.TypeProbe) {
		var p wire.ProbeData
		if err := json.Unmarshal(rec.Data, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func kubeOf[T any](r Recognition) []T {
	var out []T
	for _, o := range r.Outputs {
		for _, k := range o.Kube {
			if v, ok := k.Object.(T); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// TestFormats runs every recogniser on its fixture (real samples where they exist; each
// folder's SOURCE.md says where it comes from) and checks what it took from it.
func TestFormats(t *testing.T) {
	tests := []struct {
		file   string
		format string // the first output's format
		check  func(t *testing.T, r Recognition)
	}{
		{"hnsdiag-table/hnsdiag.txt", "hnsdiag-list", func(t *testing.T, r Recognition) {
			var l HNSDiagList
			one(t, r, KindHNSDiag, &l)
			if len(l.Networks) != 3 || l.Networks[2].Name != "vxlan0" || l.Networks[2].ID != "705b6b4d-e2f2-421a-b31b-e3c5e8831944" {
				t.Errorf("networks: %+v", l.Networks)
			}
			if len(l.Endpoints) != 4 || l.Endpoints[0].NetworkName != "vxlan0" {
				t.Errorf("endpoints: %+v", l.Endpoints)
			}
			want := []HNSDiagLoadBalancer{
				{ID: "326f84d7-35ec-4355-a60a-e82e2b05ec24", VIPs: []string{"10.96.0.1"}, EndpointIDs: []string{"ba06178e-11e9-4ba3-931d-7c2989b51dd7"}},
				{ID: "af826f8b-9f78-41ea-bc9e-6e433f8784df", VIPs: []string{"10.96.0.10"}, EndpointIDs: []string{"fc0bbb8f-52a6-486f-bff8-10ab92859006", "07f382ab-8884-40ba-8adf-efe4c92e8608"}},
				{ID: "8c35026b-3ee6-47f1-b254-ae0b5ba7144c", EndpointIDs: []string{"fc0bbb8f-52a6-486f-bff8-10ab92859006"}},
			}
			if d := cmp.Diff(want, l.LoadBalancers); d != "" {
				t.Errorf("load balancers (-want +got):\n%s", d)
			}
			if len(records(r, wire.KindToolOutput)) != 1 {
				t.Error("no raw tool output record")
			}
			// Networks are offered to the snapshot; endpoints without IPs and port-less load
			// balancers are not (they would look like missing ones).
			if n := len(hnsOf(r, wire.KindHCNNetworks)); n != 3 {
				t.Errorf("%d network objects, want 3", n)
			}
			if n := len(hnsOf(r, wire.KindHCNEndpoints)) + len(hnsOf(r, wire.KindHCNLoadBalancers)); n != 0 {
				t.Errorf("%d endpoint/load balancer objects from a table without IPs or ports", n)
			}
		}},
		{"hnsdiag-blocks/lbs.txt", "hnsdiag-list", func(t *testing.T, r Recognition) {
			var l HNSDiagList
			one(t, r, KindHNSDiag, &l)
			want := []HNSDiagLoadBalancer{
				{ID: "3599612c-54b4-4b9d-9258-4fc5e2100549", VIPs: []string{"172.30.0.1"}, EndpointIDs: []string{"78c19c4d-7edf-43bd-ab2a-5ccf97f214fe"}},
				{ID: "5f6c0a51-0e5b-4a47-9c1a-2d4f6d0b7e10", VIPs: []string{"172.30.0.10"}, EndpointIDs: []string{"0d1c4a5e-3c39-4ef4-9b3a-1f0d3a8d2c11", "6a9e2b7d-52f1-4b1e-8f5d-7c3e1a9b0d22"}},
			}
			if d := cmp.Diff(want, l.LoadBalancers); d != "" {
				t.Errorf("load balancers (-want +got):\n%s", d)
			}
		}},
		{"hns-v1-endpoints/endpoint.txt", "hns-v1-json", func(t *testing.T, r Recognition) {
			if r.Encoding != EncUTF16LE {
				t.Errorf("encoding %s, want utf-16le", r.Encoding)
			}
			eps := hnsOf(r, wire.KindHCNEndpoints)
			if len(eps) != 2 || eps[0].ID != "4fbc9996-706b-496b-9b75-23764b942b85" || eps[0].Schema != 1 {
				t.Fatalf("endpoints: %+v", eps)
			}
			var e hnsEndpointShape
			if err := json.Unmarshal(eps[0].Raw, &e); err != nil || !e.IsRemoteEndpoint || e.IPAddress != "10.240.0.12" {
				t.Errorf("first endpoint %+v (%v)", e, err)
			}
		}},
		{"hns-v1-networks/network.txt", "hns-v1-json", func(t *testing.T, r Recognition) {
			nets := hnsOf(r, wire.KindHCNNetworks)
			if len(nets) != 1 || nets[0].ID != "85d61148-49ef-40bb-a450-3bebe951d838" {
				t.Fatalf("networks: %+v", nets)
			}
			var n hnsNetworkShape
			if err := json.Unmarshal(nets[0].Raw, &n); err != nil || len(n.Subnets) != 1 || n.Subnets[0].AddressPrefix != "172.27.144.0/20" {
				t.Errorf("network %+v (%v)", n, err)
			}
		}},
		{"hns-v1-policylists/policy.txt", "hns-v1-json", func(t *testing.T, r Recognition) {
			if n := len(hnsOf(r, wire.KindHNSPolicyLists)); n != 2 {
				t.Errorf("%d policy lists, want 2", n)
			}
		}},
		{"hcn-v2/hcn.json", "hcn-v2-json", func(t *testing.T, r Recognition) {
			for _, kind := range []string{wire.KindHCNNetworks, wire.KindHCNEndpoints, wire.KindHCNLoadBalancers, wire.KindHCNNamespaces} {
				objs := hnsOf(r, kind)
				if len(objs) != 1 || objs[0].Schema != 2 {
					t.Errorf("%s: %+v", kind, objs)
				}
			}
		}},
		{"hns-format-list/get-hnsendpoint.txt", "hns-format-list", func(t *testing.T, r Recognition) {
			eps := hnsOf(r, wire.KindHCNEndpoints)
			if len(eps) != 2 {
				t.Fatalf("%d endpoints, want 2", len(eps))
			}
			var e hnsEndpointShape
			if err := json.Unmarshal(eps[0].Raw, &e); err != nil || !e.IsRemoteEndpoint || e.IPAddress != "10.244.0.4" || eps[0].Rank != rankText {
				t.Errorf("first endpoint %+v (%v)", e, err)
			}
			var e2 hnsEndpointShape
			if err := json.Unmarshal(eps[1].Raw, &e2); err != nil || e2.IsRemoteEndpoint || e2.IPAddress != "172.27.148.101" || e2.PrefixLength != 20 || e2.VirtualNetworkName != "nat" {
				t.Errorf("second endpoint %+v (%v)", e2, err)
			}
		}},
		{"log-kube-proxy/log.txt", "log:kube-proxy", func(t *testing.T, r Recognition) {
			if f := fileOf(t, r, wire.RoleLogPrefix+wire.LogKubeProxy); !strings.Contains(f.Content, "0x803b000d") {
				t.Error("log content lost")
			}
			args := fileOf(t, r, wire.RoleKubeProxyArgs)
			if !strings.Contains(args.Content, "--source-vip=10.244.3.2") || !strings.Contains(args.Content, "--network-name=flannel.4096") {
				t.Errorf("flags: %q", args.Content)
			}
		}},
		{"log-flanneld/flannel.log", "log:flanneld", nil},
		{"log-calico/felix.log", "log:calico", nil},
		{"log-containerd/containerd.log", "log:containerd", nil},
		{"log-azure-vnet/azure-vnet.log", "log:azure-vnet", nil},
		{"log-kubelet/kubelet.err.log", "log:kubelet", nil},
		{"log-unknown/app.log", "log", func(t *testing.T, r Recognition) { fileOf(t, r, "log:unknown") }},
		{"kube-objects-yaml/objects.yaml", "kubernetes-objects", func(t *testing.T, r Recognition) {
			pods := kubeOf[*corev1.Pod](r)
			if len(pods) != 1 || pods[0].Status.PodIP != "10.244.1.5" || pods[0].Spec.NodeName != "win-node-1" {
				t.Errorf("pods: %+v", pods)
			}
			if s := kubeOf[*corev1.Service](r); len(s) != 1 || s[0].Spec.ClusterIP != "10.96.0.10" || len(s[0].Spec.Ports) != 2 {
				t.Errorf("services: %+v", s)
			}
			if s := kubeOf[*discoveryv1.EndpointSlice](r); len(s) != 1 || s[0].Labels[discoveryv1.LabelServiceName] != "kube-dns" {
				t.Errorf("slices: %+v", s)
			}
			if n := kubeOf[*corev1.Node](r); len(n) != 1 {
				t.Errorf("nodes: %+v", n)
			}
			cfg := fileOf(t, r, wire.RoleKubeProxyConfig)
			if cfg.Path != "configmap/kube-system/kube-proxy-windows" || !strings.Contains(cfg.Content, "sourceVip: 10.244.1.2") {
				t.Errorf("kube-proxy config from the ConfigMap: %+v", cfg)
			}
		}},
		{"kube-objects-list/list.json", "kubernetes-objects", func(t *testing.T, r Recognition) {
			if n := len(kubeOf[*corev1.Endpoints](r)); n != 1 {
				t.Errorf("%d Endpoints", n)
			}
			var evs []KubeEvent
			one(t, r, KindKubeEvents, &evs)
			if len(evs) != 1 || evs[0].Reason != "FailedCreatePodSandBox" || evs[0].Object != "pod/iis-0" || evs[0].Count != 3 {
				t.Errorf("events: %+v", evs)
			}
		}},
		{"kubectl-get-text/kubectl.txt", "kubectl-get-text", func(t *testing.T, r Recognition) {
			pods := kubeOf[*corev1.Pod](r)
			if len(pods) != 1 || pods[0].Name != "nginx" || pods[0].Status.PodIP != "10.224.0.24" || pods[0].Spec.NodeName != "aks-nodepool1-59385832-vmss000000" {
				t.Errorf("pods: %+v", pods)
			}
			svcs := kubeOf[*corev1.Service](r)
			if len(svcs) != 3 || svcs[1].Namespace != "kube-system" || svcs[1].Spec.ClusterIP != "10.96.0.10" || len(svcs[1].Spec.Ports) != 3 {
				t.Fatalf("services: %+v", svcs)
			}
			if p := svcs[2].Spec.Ports[0]; p.Port != 80 || p.NodePort != 30080 || p.Protocol != corev1.ProtocolTCP {
				t.Errorf("node port service port %+v", p)
			}
			nodes := kubeOf[*corev1.Node](r)
			if len(nodes) != 2 || nodes[1].Labels[corev1.LabelOSStable] != "windows" {
				t.Errorf("nodes: %+v", nodes)
			}
			if eps := kubeOf[*corev1.Endpoints](r); len(eps) != 1 || len(eps[0].Subsets) != 0 {
				t.Errorf("a cut endpoints row (+ 3 more...) must not claim backends: %+v", eps)
			}
			var evs []KubeEvent
			one(t, r, KindKubeEvents, &evs)
			if len(evs) != 2 || !strings.Contains(evs[0].Message, "(0x57)") || evs[0].Type != "Warning" {
				t.Errorf("events: %+v", evs)
			}
		}},
		{"kubectl-describe-pod/describe.txt", "kubectl-describe-pod", func(t *testing.T, r Recognition) {
			pods := kubeOf[*corev1.Pod](r)
			if len(pods) != 1 || pods[0].Namespace != "default" || pods[0].Spec.NodeName != "3575k8s01000000" || pods[0].Labels["run"] == "" {
				t.Errorf("pods: %+v", pods)
			}
			var evs []KubeEvent
			one(t, r, KindKubeEvents, &evs)
			if len(evs) != 2 || evs[1].Reason != "FailedCreatePodSandBox" || !strings.Contains(evs[1].Message, "0x803b0010") {
				t.Errorf("events: %+v", evs)
			}
		}},
		{"ipconfig-pod/in-pod.txt", "ipconfig-all (inside a pod)", func(t *testing.T, r Recognition) {
			var pn PodNetwork
			one(t, r, KindPodNetwork, &pn)
			if pn.Hostname != "iis-1709-1" || len(pn.DNS.Servers) != 1 || pn.DNS.Servers[0] != "10.0.0.10" {
				t.Errorf("pod network: %+v", pn)
			}
			if len(records(r, wire.KindHostAdapters)) != 0 {
				t.Error("a pod's ipconfig must not describe the host")
			}
			ps := probes(t, r)
			if len(ps) != 1 || ps[0].Verdict != verdictTimeout || ps[0].Target != "10.0.0.10:53" || ps[0].Method != TranscriptMethod {
				t.Errorf("probes: %+v", ps)
			}
		}},
		{"ipconfig-host/ip.txt", "ipconfig-all", func(t *testing.T, r Recognition) {
			var as []wire.Adapter
			one(t, r, wire.KindHostAdapters, &as)
			if len(as) != 3 || as[0].Name != "vEthernet (Ethernet 2)" || as[0].Addresses[1] != (wire.IPAddress{Address: "10.240.0.4", PrefixLength: 12}) ||
				len(as[0].DNSServers) != 2 || as[2].Status != "Disconnected" {
				t.Errorf("adapters: %+v", as)
			}
			var dns wire.DNSClient
			one(t, r, wire.KindDNSClient, &dns)
			want := wire.DNSClient{Servers: []string{"168.63.129.16", "10.0.0.10"}, SearchList: []string{"abcd.xx.internal.cloudapp.net"}}
			if d := cmp.Diff(want, dns); d != "" {
				t.Errorf("dns (-want +got):\n%s", d)
			}
		}},
		{"route-print/routes.txt", "get-netroute", func(t *testing.T, r Recognition) {
			var rs []wire.Route
			one(t, r, wire.KindHostRoutes, &rs)
			want := []wire.Route{
				{Destination: "0.0.0.0/0", NextHop: "192.168.1.1", Metric: 281},
				{Destination: "10.0.0.0/8", NextHop: "10.80.129.1", Metric: 25},
				{Destination: "10.80.129.0/24", Metric: 281},
				{Destination: "10.80.129.17/32", Metric: 281},
				{Destination: "::1/128", IfIndex: 1, Metric: 331},
				{Destination: "172.28.48.0/20", IfIndex: 23, Metric: 256},
				{Destination: "0.0.0.0/0", NextHop: "10.0.0.1", IfIndex: 21},
			}
			if d := cmp.Diff(want, rs); d != "" {
				t.Errorf("routes (-want +got):\n%s", d)
			}
		}},
		{"netsh-ports/ports.txt", "netsh-portranges", func(t *testing.T, r Recognition) {
			var pr wire.PortRanges
			one(t, r, wire.KindPortRanges, &pr)
			if pr.Dynamic["tcp"] != (wire.PortRange{Start: 49152, End: 65535}) || len(pr.Excluded["tcp"]) != 5 || pr.Excluded["udp"][0] != (wire.PortRange{Start: 65330, End: 65330}) {
				t.Errorf("ranges: %+v", pr)
			}
		}},
		{"netsh-interfaces/mtu.txt", "netsh-interfaces", func(t *testing.T, r Recognition) {
			var as []wire.Adapter
			one(t, r, wire.KindHostAdapters, &as)
			if len(as) != 3 || as[2].MTU != 1450 || as[2].IfIndex != 12 || as[0].MTU != 0 {
				t.Errorf("adapters: %+v", as)
			}
		}},
		{"systeminfo/systeminfo.txt", "windows-version", func(t *testing.T, r Recognition) {
			var o wire.OSInfo
			one(t, r, wire.KindOSInfo, &o)
			if o != (wire.OSInfo{ProductName: "Windows Server 2019 Datacenter", Build: "17763", Hostname: "AKSWIN000001"}) {
				t.Errorf("os: %+v", o)
			}
			var h []wire.Hotfix
			one(t, r, wire.KindHotfixes, &h)
			if len(h) != 3 || h[2].ID != "KB5022286" {
				t.Errorf("hotfixes: %+v", h)
			}
		}},
		{"windows-ver/ver.txt", "windows-version", func(t *testing.T, r Recognition) {
			var o wire.OSInfo
			one(t, r, wire.KindOSInfo, &o)
			if o.Build != "19041" || o.UBR != 329 {
				t.Errorf("os: %+v", o)
			}
		}},
		{"get-hotfix/winver.txt", "windows-version", func(t *testing.T, r Recognition) {
			var h []wire.Hotfix
			one(t, r, wire.KindHotfixes, &h)
			if len(h) != 2 || h[1] != (wire.Hotfix{ID: "KB5022286", InstalledOn: "1/10/2023 12:00:00 AM"}) {
				t.Errorf("hotfixes: %+v", h)
			}
		}},
		{"wevtutil-xml/events.xml", "wevtutil-xml", func(t *testing.T, r Recognition) {
			var evs []wire.Event
			one(t, r, wire.KindEvents, &evs)
			if len(evs) != 3 {
				t.Fatalf("%d events", len(evs))
			}
			if evs[0].Message != "The Windows Event Log service entered the stopped state." || evs[0].Level != "Information" || evs[0].ID != 7036 {
				t.Errorf("first: %+v", evs[0])
			}
			if !strings.Contains(evs[1].Message, "The Host Network Service service terminated unexpectedly") || evs[1].Level != "Error" {
				t.Errorf("HNS crash rendered from its parameters: %+v", evs[1])
			}
			if evs[2].Channel != "Microsoft-Windows-Host-Network-Service-Admin" || !strings.Contains(evs[2].Message, "0x803B0013") || evs[2].Time.IsZero() {
				t.Errorf("HNS event: %+v", evs[2])
			}
		}},
		{"winevent-json/events.json", "windows-events-json", func(t *testing.T, r Recognition) {
			var evs []wire.Event
			one(t, r, wire.KindEvents, &evs)
			if len(evs) != 2 || evs[0].Time.Unix() != 1709374272 || evs[1].Time.IsZero() || evs[1].Channel != "Microsoft-Windows-Host-Network-Service-Admin" {
				t.Errorf("events: %+v", evs)
			}
		}},
		{"cni-conflist/cni.conf", "cni-config", func(t *testing.T, r Recognition) {
			if f := fileOf(t, r, wire.RoleCNIConfig); strings.HasPrefix(f.Content, "\uFEFF") || !strings.Contains(f.Content, "ExceptionList") {
				t.Errorf("content: %q", f.Content)
			}
		}},
		{"cni-invalid/10-flannel.conflist", "cni-config", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleCNIConfig) }},
		{"kube-proxy-config/config.conf", "kube-proxy-config", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleKubeProxyConfig) }},
		{"kube-proxy-cmdline/start.txt", "command-line", func(t *testing.T, r Recognition) {
			f := fileOf(t, r, wire.RoleKubeProxyArgs)
			if !strings.HasPrefix(f.Content, `C:\Users\azureuser\kubeadm\bin\kube-proxy.exe --hostname-override`) || !strings.HasSuffix(f.Content, "--source-vip=10.244.1.2") {
				t.Errorf("command line %q", f.Content)
			}
		}},
		{"transcripts/session.txt", "test-transcript", func(t *testing.T, r Recognition) {
			type pv struct{ Target, Protocol, Verdict string }
			var got []pv
			for _, p := range probes(t, r) {
				got = append(got, pv{p.Target, p.Protocol, p.Verdict})
				if p.Method != TranscriptMethod {
					t.Errorf("method %q", p.Method)
				}
			}
			want := []pv{
				{"10.0.0.10:53", "dns", "ok"},
				{"cdn.raygun.io", "icmp", "fail"},
				{"cdn.raygun.io", "http", "fail"},
				{"10.0.0.10:80", "tcp", "fail"},
				{"http://10.96.12.34:80/", "http", "timeout"},
				{"kubernetes.default.svc.cluster.local", "dns", "ok"},
				{"10.244.2.7", "icmp", "ok"},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("probes (-want +got):\n%s", d)
			}
		}},
		{"services-sc/scqueryex.txt", "sc-query", func(t *testing.T, r Recognition) {
			var ss []wire.ServiceState
			one(t, r, wire.KindServices, &ss)
			want := []wire.ServiceState{{Name: "hns", State: "Running", StartType: "Manual", PID: 1868}, {Name: "kubeproxy", State: "Stopped"}}
			if d := cmp.Diff(want, ss); d != "" {
				t.Errorf("services (-want +got):\n%s", d)
			}
		}},
		{"get-service/svc.txt", "get-service", func(t *testing.T, r Recognition) {
			var ss []wire.ServiceState
			one(t, r, wire.KindServices, &ss)
			if len(ss) != 4 || ss[3] != (wire.ServiceState{Name: "kubeproxy", State: "Stopped"}) {
				t.Errorf("services: %+v", ss)
			}
		}},
		{"tasklist/tasklist.txt", "tasklist", func(t *testing.T, r Recognition) {
			var ps []wire.ProcessInfo
			one(t, r, wire.KindProcesses, &ps)
			if len(ps) != 4 || ps[0].Name != "System Idle Process" || ps[2] != (wire.ProcessInfo{Name: "kubelet.exe", PID: 3880}) {
				t.Errorf("processes: %+v", ps)
			}
		}},
		{"get-process/ps.txt", "get-process", func(t *testing.T, r Recognition) {
			var ps []wire.ProcessInfo
			one(t, r, wire.KindProcesses, &ps)
			want := []wire.ProcessInfo{{Name: "kube-proxy.exe", PID: 3528}, {Name: "System", PID: 4}, {Name: "svchost.exe", PID: 1868}}
			if d := cmp.Diff(want, ps); d != "" {
				t.Errorf("processes (-want +got):\n%s", d)
			}
		}},
		{"netstat/netstat.txt", "netstat", func(t *testing.T, r Recognition) {
			var tc wire.TCPConnections
			one(t, r, wire.KindTCPConnections, &tc)
			if tc.Total != 3 || tc.ByState["TIME_WAIT"] != 1 || tc.ByState["LISTENING"] != 1 {
				t.Errorf("connections: %+v", tc)
			}
		}},
		{"azure-vnet-ipam/azure-vnet-ipam.json", "azure-vnet-ipam-state", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleIPAMState) }},
		{"flannel-subnet-env/subnet.env", "flannel-subnet-env", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleFlannelSubnetEnv) }},
		{"flannel-net-conf/net-conf.json", "flannel-net-conf", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleFlannelConfig) }},
		{"containerd-config/config.toml", "containerd-config", func(t *testing.T, r Recognition) { fileOf(t, r, wire.RoleContainerdConfig) }},
		{"cloud-azure/vnet.json", "cloud-network", func(t *testing.T, r Recognition) {
			var cs []CloudAddressSpace
			one(t, r, KindCloudAddressSpaces, &cs)
			want := []CloudAddressSpace{{Provider: "azure", Name: "aks-vnet-92427521", Prefixes: []string{"10.224.0.0/12"}, Subnets: []CloudSubnet{{Name: "aks-subnet", Prefix: "10.224.0.0/16"}}}}
			if d := cmp.Diff(want, cs); d != "" {
				t.Errorf("address spaces (-want +got):\n%s", d)
			}
		}},
		{"cloud-aws/vpcs.json", "cloud-network", func(t *testing.T, r Recognition) {
			var cs []CloudAddressSpace
			one(t, r, KindCloudAddressSpaces, &cs)
			if len(cs) != 1 || cs[0].Provider != "aws" || len(cs[0].Prefixes) != 2 || cs[0].Prefixes[1] != "100.64.0.0/16" {
				t.Errorf("address spaces: %+v", cs)
			}
		}},
		{"linux-files/resolv.conf", "resolv.conf", func(t *testing.T, r Recognition) { fileOf(t, r, RoleResolvConf) }},
		{"linux-files/ip-link.txt", "ip-link", func(t *testing.T, r Recognition) {
			if !r.Outputs[0].Unused {
				t.Error("ip link is noted, not analyzed")
			}
		}},
		{"docker-network-ls/docker.txt", "docker-network-ls", func(t *testing.T, r Recognition) {
			if !r.Outputs[0].Unused || r.Outputs[0].Detail != "nat (nat), none (null)" {
				t.Errorf("output %+v", r.Outputs[0])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := recognizeFile(t, tt.file)
			if len(r.Outputs) == 0 || r.Outputs[0].Format != tt.format {
				t.Fatalf("recognised as %v, want %s first", formats(r), tt.format)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestEveryFixtureHasASource keeps the rule that each fixture says where it comes from.
func TestEveryFixtureHasASource(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "fuzz" {
			continue
		}
		if _, err := os.Stat(filepath.Join("testdata", d.Name(), "SOURCE.md")); err != nil {
			t.Errorf("testdata/%s has no SOURCE.md", d.Name())
		}
	}
}

// An adapter named after the pod's own HNS endpoint ("<namespace>_<pod>", the pod being the
// host name) marks an ipconfig run inside the pod; a host's vNICs never match.
func TestPodEndpointAdapter(t *testing.T) {
	tests := []struct {
		adapter, host string
		want          bool
	}{
		{"vEthernet (default_web-6cbd744ddf-vf26b)", "web-6cbd744ddf-vf26b", true},
		{"vEthernet (shop_WEB-0)", "web-0", true},
		{"vEthernet (cbr0_ep)", "win-node-1", false},
		{"vEthernet (Ethernet)", "win-node-1", false},
		{"vEthernet (default_web-0)", "", false},
		{"vEthernet (_web-0)", "web-0", false},
		{"Ethernet (default_web-0)", "web-0", false},
	}
	for _, tt := range tests {
		if got := podEndpointAdapter(tt.adapter, tt.host); got != tt.want {
			t.Errorf("podEndpointAdapter(%q, %q) = %v, want %v", tt.adapter, tt.host, got, tt.want)
		}
	}
}
