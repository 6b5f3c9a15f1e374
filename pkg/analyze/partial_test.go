package analyze

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// logsOnly is a snapshot holding nothing but log files (component -> content): what a user
// pastes from a thread, with no HNS state, no process list and no cluster objects.
func logsOnly(logs map[string]string) Input {
	b := snapshot.NewBuilder("")
	for comp, content := range logs {
		raw, _ := json.Marshal(wire.FileData{Path: comp + ".log", Role: wire.RoleLogPrefix + comp, Content: content})
		b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindFile, Data: raw})
	}
	return Input{Snapshot: b.Snapshot()}
}

func TestLevelOf(t *testing.T) {
	for _, c := range []struct {
		line string
		want lineLevel
	}{
		{`I1224 19:01:06.246467    1088 main.go:450] Searching for interface`, levelInfo},
		{`E0426 02:13:40.796100    6128 proxier.go:1053] Source Vip endpoint creation failed`, levelError},
		{`F0426 02:13:40.796100    6128 server.go:10] unable to create proxier`, levelFatal},
		{`FATA[2021-11-08T21:55:32-08:00] rpc error: code = Internal`, levelFatal},
		{`WARN[0001] retrying`, levelWarn},
		{`time="2021-01-22 13:38:26" level=error msg="x"`, levelError},
		{`{"level":"fatal","msg":"bye"}`, levelFatal},
		{`2024-02-07 19:29:43.390 [WARNING][9524] felix/endpoint_mgr.go 342: Failed`, levelWarn},
		{`panic: runtime error: invalid memory address or nil pointer dereference`, levelFatal},
		{"\t/go/src/k8s.io/kubernetes/pkg/proxy/winkernel/proxier.go:1124 +0x9dc", levelFatal},
		{`run.go:74] "command failed" err="failed complete: feature is locked"`, levelFatal},
		{`"Skipped creating Hns LoadBalancer for cluster ip resources" clusterIP="10.1.2.3"`, levelNone},
		{`2023-08-31T21:03:35.592633400Z`, levelNone},
		{`the level of service was fine`, levelNone},
	} {
		if got := levelOf(c.line); got != c.want {
			t.Errorf("levelOf(%q) = %d, want %d", c.line, got, c.want)
		}
	}
}

// A CNI daemon is judged from its own last words when nothing else says whether it runs.
func TestCNIDaemonFromItsLog(t *testing.T) {
	for _, c := range []struct {
		name, log string
		want      string // "" for no finding
	}{
		{"ends with a panic", "I1224 19:01:07.431408 1088 hostgw_windows.go:164] Waiting to get ManagementIP\npanic: runtime error: invalid memory address\n", SeverityError},
		{"crashed before and failing again", "FATA[2023-08-31T09:03:28-12:00] could not create IP forward entry\nI0831 09:03:31.629069 10044 main.go:518] Determining IP address\nE0831 09:03:33.330098 10044 main.go:204] Failed to find any valid interface\n2023-08-31T21:03:35Z\n", SeverityError},
		{"only an error last", "I0831 09:03:31.629069 10044 main.go:518] Determining IP address\nE0831 09:03:33.330098 10044 main.go:204] Failed to list subnets\n", SeverityWarning},
		{"recovered after a crash", "FATA[2023-08-31T09:03:28-12:00] could not create IP forward entry\nI0831 09:03:31.629069 10044 main.go:518] Determining IP address\nI0831 09:03:32.0 10044 vxlan_network_windows.go:50] watching for new subnet leases\n", ""},
		{"healthy", "I1224 19:01:06.246467 1088 main.go:450] Searching for interface\nI1224 19:01:07.399204 1088 kube.go:133] Node controller sync successful\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, _ := cniDaemonNotRunning(logsOnly(map[string]string{wire.LogFlanneld: c.log}))
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != c.want || !strings.Contains(fs[0].Title, "flannel") {
				t.Fatalf("want one flannel finding at %s, got %+v", c.want, fs)
			}
		})
	}
}

// The kubelet's word that the daemon's own pod cannot get a sandbox is decisive; a sandbox
// failure of another pod names the missing network instead.
func TestCNIDaemonPodAndNetworkFromKubeletEvents(t *testing.T) {
	flannelPod := `W FailedCreatePodSandBox pod/kube-flannel-ds-windows-amd64-hbv8t: Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox container for pod "kube-flannel-ds-windows-amd64-hbv8t": Error response from daemon: network host not found` + "\n"
	fs, _ := cniDaemonNotRunning(logsOnly(map[string]string{wire.LogKubelet: flannelPod}))
	if len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("daemon pod without a sandbox: %+v", fs)
	}
	otherPod := `W FailedCreatePodSandBox pod/web-0: (combined from similar events): Failed to create pod sandbox: networkPlugin cni failed to set up pod "web-0_default" network: error while GETHNSNewtorkByName(flannel.4096): Network flannel.4096 not found` + "\n"
	fs, _ = hnsNetworkMissing(logsOnly(map[string]string{wire.LogKubelet: otherPod}))
	if len(fs) != 1 || !strings.Contains(fs[0].Title, `"flannel.4096"`) || fs[0].Severity != SeverityError {
		t.Fatalf("repeated network complaint: %+v", fs)
	}
	once := `W FailedCreatePodSandBox pod/web-0: networkPlugin cni failed: error while GETHNSNewtorkByName(flannel.4096): Network flannel.4096 not found` + "\n"
	fs, _ = hnsNetworkMissing(logsOnly(map[string]string{wire.LogKubelet: once}))
	if len(fs) != 1 || fs[0].Severity != SeverityWarning {
		t.Fatalf("a single complaint is a warning: %+v", fs)
	}
	// The family is known from the network's name; the pod of another CNI daemon is not flannel's.
	if fam, _ := (logsOnly(map[string]string{wire.LogKubelet: otherPod})).ix().cniFamilyFromTraces(); fam != "flannel" {
		t.Fatalf("family from flannel.4096 = %q", fam)
	}
	// With the network list collected and the network there, the complaint is old news.
	in := logsOnly(map[string]string{wire.LogKubelet: otherPod})
	in.Snapshot.Networks = []snapshot.Network{{ID: "n1", Name: "flannel.4096", Type: "Overlay"}}
	in.Snapshot.Have[wire.KindHCNNetworks] = true
	in.Snapshot.Reindex()
	if fs, _ := hnsNetworkMissing(in); len(fs) != 0 {
		t.Fatalf("network present: %+v", fs)
	}
}

func TestKubeProxyJudgedFromItsLog(t *testing.T) {
	trace := "k8s.io/kubernetes/pkg/proxy/winkernel.(*Proxier).syncProxyRules(0xc000)\n\t/src/k8s.io/kubernetes/pkg/proxy/winkernel/proxier.go:1124 +0x9dc\n"
	fs, _ := kubeProxyNotRunning(logsOnly(map[string]string{wire.LogKubeProxy: trace}))
	if len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("crash trace: %+v", fs)
	}
	restarted := trace + "I0318 19:55:57.397147 3808 server_windows.go:99] \"Using Kernelspace Proxier.\"\nI0318 19:55:58.1 3808 proxier.go:700] \"Syncing Policies\"\n"
	if fs, missing := kubeProxyNotRunning(logsOnly(map[string]string{wire.LogKubeProxy: restarted})); len(fs) != 0 || missing == "" {
		t.Fatalf("restarted after the crash: %+v (missing %q)", fs, missing)
	}
}

// eventsOnly is a snapshot holding nothing but event-log entries, in the order given.
func eventsOnly(evs ...wire.Event) Input {
	b := snapshot.NewBuilder("")
	raw, _ := json.Marshal(evs)
	b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindEvents, Data: raw})
	return Input{Snapshot: b.Snapshot()}
}

// A service wrapper logs its child's output and its exit under the service's name; pasted
// Get-EventLog tables list the newest first and carry no year, so the record number orders them.
func TestKubeProxyJudgedFromItsWrapperEvents(t *testing.T) {
	ev := func(record int64, msg string) wire.Event {
		return wire.Event{Channel: "Application", Provider: "kube-proxy", Level: "Information", RecordID: record, Message: msg}
	}
	exited := []wire.Event{ev(525, "ChildProcess exited"), ev(524, "cmd/kube-proxy/app/server.go:758 +0xb8a"), ev(523, "panic: runtime error: invalid memory address")}
	fs, _ := kubeProxyNotRunning(eventsOnly(exited...))
	if len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("wrapper says the child exited last: %+v", fs)
	}
	if ev := fs[0].Evidence; len(ev) == 0 || ev[0].Artifact != wire.KindEvents || !strings.Contains(ev[0].Object, "record 52") {
		t.Errorf("evidence should name the event records: %+v", ev)
	}
	restarted := append([]wire.Event{ev(527, "I0306 11:16:02.100000 4100 proxier.go:700] \"Syncing Policies\""), ev(526, "ChildProcess started")}, exited...)
	if fs, _ := kubeProxyNotRunning(eventsOnly(restarted...)); len(fs) != 0 {
		t.Fatalf("restarted after the exit: %+v", fs)
	}
	other := []wire.Event{{Channel: "Application", Provider: "containerd", Level: "Information", RecordID: 9, Message: "ChildProcess exited"}}
	if fs, _ := kubeProxyNotRunning(eventsOnly(other...)); len(fs) != 0 {
		t.Fatalf("another service's wrapper exited: %+v", fs)
	}
}

func TestServiceLBSkippedAndHealthCheckFromLog(t *testing.T) {
	skipped := `"Skipped creating Hns LoadBalancer for cluster ip resources. Reason : all endpoints are terminating" clusterIP="10.114.142.98" nodeport=31336` + "\n"
	fs, _ := serviceLBMissing(logsOnly(map[string]string{wire.LogKubeProxy: skipped}))
	if len(fs) != 1 || fs[0].Severity != SeverityWarning || !strings.Contains(fs[0].Title, "10.114.142.98") {
		t.Fatalf("skipped VIP: %+v", fs)
	}
	if fs, _ := serviceLBMissing(logsOnly(map[string]string{wire.LogKubeProxy: "I0318 19:55:58.1 3808 proxier.go:700] \"Syncing Policies\"\n"})); len(fs) != 0 {
		t.Fatalf("nothing skipped: %+v", fs)
	}
	hc := `proxier.go: 1756] "Healthcheck loadbalancer policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013)"` + "\n"
	fs, _ = healthCheckPortConflict(logsOnly(map[string]string{wire.LogKubeProxy: hc}))
	if len(fs) != 1 || fs[0].ID != "healthcheck-port-conflict" {
		t.Fatalf("health-check refusal: %+v", fs)
	}
	other := `E0318 19:55:57.547539 3808 proxier.go:1188] Policy creation failed: hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013)` + "\n"
	if fs, _ := healthCheckPortConflict(logsOnly(map[string]string{wire.LogKubeProxy: other})); len(fs) != 0 {
		t.Fatalf("a Service load balancer's refusal is not a health-check conflict: %+v", fs)
	}
}

// With only a pasted pod list, a remote endpoint inside the pods' range that no pod has is
// stale; one outside it (a Service VIP in an overlay) or one a node name gives away is not judged.
func TestStaleRemoteEndpointFromThePodListAlone(t *testing.T) {
	b := snapshot.NewBuilder("")
	b.Snapshot().Have[wire.KindHCNEndpoints] = true
	s := b.Snapshot()
	s.Endpoints = []snapshot.Endpoint{
		remoteEP("ep-stale", "192.168.7.110"), remoteEP("ep-pod", "192.168.7.61"),
		remoteEP("ep-node", "192.168.7.56"), remoteEP("ep-vip", "10.100.0.10"),
	}
	s.Reindex()
	c := &facts.Cluster{AllPods: []facts.PodInfo{
		{Namespace: "default", Name: "a", Node: "ip-192-168-7-56.us-west-1.compute.internal", IPs: []string{"192.168.7.61"}},
		{Namespace: "default", Name: "b", Node: "ip-192-168-7-47.us-west-1.compute.internal", IPs: []string{"192.168.7.62"}},
	}, Missing: map[string]string{"nodes": "not in the dump", "services": "not in the dump"}}
	fs, missing := staleRemoteEndpoint(Input{Snapshot: s, Cluster: c})
	if missing != "" || len(fs) != 1 || fs[0].SeverityReason == "" {
		t.Fatalf("findings %+v, missing %q", fs, missing)
	}
	if len(fs[0].Evidence) != 1 || !strings.Contains(fs[0].Evidence[0].Detail, "192.168.7.110") {
		t.Fatalf("only the stale endpoint is evidence: %+v", fs[0].Evidence)
	}
	c.AllPods = append(c.AllPods, facts.PodInfo{Namespace: "x", Name: "c", IPs: []string{"192.168.7.110"}})
	if fs, _ := staleRemoteEndpoint(Input{Snapshot: s, Cluster: c}); len(fs) != 0 {
		t.Fatalf("every pod-range IP owned: %+v", fs)
	}
}

func TestPodEndpointMissingFromTheCNILog(t *testing.T) {
	felix := `2024-02-07 19:29:43.390 [INFO][9524] felix/endpoint_mgr.go 507: Could not resolve hns endpoint id ip="10.244.31.79/32"` + "\n" +
		`2024-02-07 19:29:43.390 [WARNING][9524] felix/endpoint_mgr.go 342: Failed to look up HNS endpoint for workload id=proto.WorkloadEndpointID{OrchestratorId:"k8s", WorkloadId:"api01/api01", EndpointId:"eth0"}` + "\n"
	in := logsOnly(map[string]string{wire.LogCalico: felix})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "api01", Name: "api01"}, Status: corev1.PodStatus{PodIP: "10.244.31.79"}}
	in.Pod = pod
	fs, _ := podEndpointMissing(in)
	if len(fs) != 1 || fs[0].Severity != SeverityWarning || len(fs[0].Evidence) != 2 {
		t.Fatalf("findings %+v", fs)
	}
	in.Pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "api01", Name: "api0"}, Status: corev1.PodStatus{PodIP: "10.244.31.7"}}
	if fs, _ := podEndpointMissing(in); len(fs) != 0 {
		t.Fatalf("another pod (a prefix of the IP and the name): %+v", fs)
	}
}

func TestCNIConfigPlaceholdersSeenOnEndpoints(t *testing.T) {
	mk := func(exception string) Input {
		b := snapshot.NewBuilder("")
		s := b.Snapshot()
		s.Have[wire.KindHCNEndpoints] = true
		ep := localEP("ep1", "100.244.206.68", "")
		ep.OutBoundNAT = []snapshot.OutBoundNAT{{Exceptions: []string{exception, "100.244.0.0/16"}}}
		s.Endpoints = []snapshot.Endpoint{ep}
		s.Reindex()
		return Input{Snapshot: s}
	}
	if fs, _ := cniConfigInvalid(mk("<your service cidr>")); len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("placeholder: %+v", fs)
	}
	if fs, _ := cniConfigInvalid(mk("10.96.0.0/12")); len(fs) != 0 {
		t.Fatalf("a real CIDR: %+v", fs)
	}
}

func TestNamespaceSuffixOfAPodKnownOnlyByIP(t *testing.T) {
	have := map[string]bool{"default.svc.cluster.local": true, "svc.cluster.local": true, "cluster.local": true}
	if !hasNamespaceSuffix(have, "", "cluster.local") {
		t.Error("an unknown namespace accepts the namespace entry the CNI wrote")
	}
	if hasNamespaceSuffix(have, "shop", "cluster.local") {
		t.Error("a known namespace needs its own suffix")
	}
	if hasNamespaceSuffix(map[string]bool{"svc.cluster.local": true}, "", "cluster.local") {
		t.Error("svc.<domain> is not a namespace suffix")
	}
}

func TestRuntimeIncompatibleFromSandboxErrors(t *testing.T) {
	line := `time="2020-09-20T18:51:43Z" level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web} failed" error="failed to setup network for sandbox \"628103c72ff1a984dc9b0a3fa4b423bd356dc14f8e0db3e1232e310f9d8fa08d\": failed to find HNSEndpoint 628103c72ff1a984dc9b0a3fa4b423bd356dc14f8e0db3e1232e310f9d8fa08d_flannel.4096: Endpoint 628103c72ff1a984dc9b0a3fa4b423bd356dc14f8e0db3e1232e310f9d8fa08d_flannel.4096 not found"` + "\n"
	fs, _ := cniRuntimeIncompatible(logsOnly(map[string]string{wire.LogContainerd: line}))
	if len(fs) != 1 || fs[0].Severity != SeverityWarning || !strings.Contains(fs[0].Title, "flannel") {
		t.Fatalf("findings %+v", fs)
	}
	// Without any sign of containerd the same words prove nothing about the runtime.
	if fs, _ := cniRuntimeIncompatible(logsOnly(map[string]string{wire.LogKubelet: line})); len(fs) != 0 {
		t.Fatalf("runtime unknown: %+v", fs)
	}
}

func TestSourceVIPAllocationError(t *testing.T) {
	mk := func(path, content string) Input {
		b := snapshot.NewBuilder("")
		raw, _ := json.Marshal(wire.FileData{Path: path, Role: wire.RoleCNIResult, Content: content})
		b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindFile, Data: raw})
		return Input{Snapshot: b.Snapshot()}
	}
	fs, _ := sourceVIPMissing(mk(`.\sourceVip.json`, `{"code": 100, "msg": "error reading network config: invalid character"}`))
	if len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("error result: %+v", fs)
	}
	if fs, _ := sourceVIPMissing(mk(`.\sourceVip.json`, `{"cniVersion": "0.2.0", "ip4": {"ip": "10.244.5.2/24"}}`)); len(fs) != 0 {
		t.Fatalf("an allocated VIP: %+v", fs)
	}
	if fs, _ := sourceVIPMissing(mk(`pod.json`, `{"code": 100, "msg": "x"}`)); len(fs) != 0 {
		t.Fatalf("another CNI call's error: %+v", fs)
	}
}

func TestEndpointOnItsOwnGatewayWithoutTheNetwork(t *testing.T) {
	s := snapshot.NewBuilder("").Snapshot()
	s.Have[wire.KindHCNEndpoints] = true
	ep := localEP("ep1", "10.244.1.2", "")
	ep.NetworkID, ep.Gateway = "unknown", "10.244.1.2"
	s.Endpoints = []snapshot.Endpoint{ep}
	s.Reindex()
	if fs, _ := duplicateEndpointIP(Input{Snapshot: s}); len(fs) != 1 || fs[0].Severity != SeverityError {
		t.Fatalf("gateway on the pod: %+v", fs)
	}
	s.Endpoints[0].Gateway = "10.244.1.1"
	s.Reindex()
	if fs, _ := duplicateEndpointIP(Input{Snapshot: s}); len(fs) != 0 {
		t.Fatalf("a normal gateway: %+v", fs)
	}
}

func TestSourceVIPFlagNotSetWithoutTheNetworks(t *testing.T) {
	log := "F0525 05:30:53.023140    9052 server.go:475] unable to create proxier: source-vip flag not set\n"
	if fs, _ := sourceVIPMissing(logsOnly(map[string]string{wire.LogKubeProxy: log})); len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	if fs, _ := sourceVIPMissing(logsOnly(map[string]string{wire.LogKubeProxy: "I0525 05:30:53.0 9052 server.go:475] Using Kernelspace Proxier.\n"})); len(fs) != 0 {
		t.Fatalf("healthy start: %+v", fs)
	}
}

// Endpoints known by IP alone (a Group-Object count, a subset of the list) prove a duplicate,
// at warning: whether the pair is local and remote, or two local ones, is not shown. Rules
// that read absence do not run on a subset.
func TestDuplicateIPFromEndpointCounts(t *testing.T) {
	b := snapshot.NewBuilder("")
	raw := []byte(`[{"IPAddress":"10.1.5.23"},{"IPAddress":"10.1.5.23"},{"IPAddress":"10.1.8.11"}]`)
	b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindHCNEndpoints, Data: raw, Partial: true})
	in := Input{Snapshot: b.Snapshot()}
	fs, missing := duplicateEndpointIP(in)
	if len(fs) != 1 || fs[0].Severity != SeverityWarning || !strings.Contains(fs[0].Title, "10.1.5.23") || fs[0].SeverityReason == "" {
		t.Fatalf("duplicate from counts: %+v (missing %q)", fs, missing)
	}
	if fs, _ := staleLocalEndpoint(in); len(fs) != 0 {
		t.Errorf("stale-local-endpoint judged a subset: %+v", fs)
	}
}
