package analyze

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// ruleCase breaks (or deliberately does not break) one thing in a healthy world and says
// whether the id must be reported.
type ruleCase struct {
	id      string
	name    string
	overlay bool // start from the flannel VXLAN world
	node    bool // node target instead of pod shop/web-0
	mutate  func(w *world)
	want    bool
	sev     string // expected severity of the first finding with id, when want
}

func endpointByID(w *world, id string) *snapshot.Endpoint {
	for i := range w.s.Endpoints {
		if w.s.Endpoints[i].ID == id {
			return &w.s.Endpoints[i]
		}
	}
	panic("no endpoint " + id)
}

func lbByID(w *world, id string) *snapshot.LoadBalancer {
	for i := range w.s.LoadBalancers {
		if w.s.LoadBalancers[i].ID == id {
			return &w.s.LoadBalancers[i]
		}
	}
	panic("no load balancer " + id)
}

func removeEndpoint(w *world, id string) {
	var out []snapshot.Endpoint
	for _, e := range w.s.Endpoints {
		if e.ID != id {
			out = append(out, e)
		}
	}
	w.s.Endpoints = out
}

func removeLB(w *world, id string) {
	var out []snapshot.LoadBalancer
	for _, lb := range w.s.LoadBalancers {
		if lb.ID != id {
			out = append(out, lb)
		}
	}
	w.s.LoadBalancers = out
}

func service(w *world, ns, name string) *corev1.Service {
	for i := range w.objs.Services {
		if s := &w.objs.Services[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	panic("no service " + ns + "/" + name)
}

func nodePod(w *world, name string) *corev1.Pod {
	for i := range w.objs.Pods {
		if w.objs.Pods[i].Name == name {
			return &w.objs.Pods[i]
		}
	}
	panic("no pod " + name)
}

func setExceptions(w *world, exc ...string) {
	for i := range w.s.Endpoints {
		if e := &w.s.Endpoints[i]; !e.Remote && len(e.OutBoundNAT) > 0 {
			e.OutBoundNAT = []snapshot.OutBoundNAT{{Exceptions: exc}}
		}
	}
}

func useCalico(w *world) {
	w.s.CNIConfigs[0] = snapshot.CNIConfig{Path: `C:\etc\cni\net.d\10-calico.conf`, Name: "cbr0", Type: "calico", Plugins: []string{"calico"},
		HasOutBoundNAT: true, OutBoundNATExceptions: []string{"10.96.0.0/12"}, DNSCapability: true}
	w.s.Processes = append(w.s.Processes, wire.ProcessInfo{Name: "calico-node.exe"})
}

var ruleCases = []ruleCase{
	// pod-endpoint-missing
	{id: "pod-endpoint-missing", name: "the pod's endpoint is gone", mutate: func(w *world) { removeEndpoint(w, "ep-web0") }, want: true, sev: SeverityError},
	{id: "pod-endpoint-missing", name: "only a remote endpoint has the pod's IP", mutate: func(w *world) {
		e := endpointByID(w, "ep-web0")
		e.Remote = true
	}, want: true},
	{id: "pod-endpoint-missing", name: "node target: another pod's endpoint is gone", node: true, mutate: func(w *world) { removeEndpoint(w, "ep-web1") }, want: true},
	{id: "pod-endpoint-missing", name: "healthy", want: false},
	{id: "pod-endpoint-missing", name: "host-network pod has no endpoint by design", mutate: func(w *world) {
		w.pod = nodePod(w, "kube-proxy-windows-7xk2p")
	}, want: false},
	// pod-endpoint-unhealthy
	{id: "pod-endpoint-unhealthy", name: "endpoint degraded", mutate: func(w *world) { endpointByID(w, "ep-web0").State = snapshot.StateDegraded }, want: true, sev: SeverityError},
	{id: "pod-endpoint-unhealthy", name: "endpoint on the NAT network", mutate: func(w *world) {
		w.s.Networks = append(w.s.Networks, snapshot.Network{ID: "nat1", Name: "nat", Type: "NAT"})
		endpointByID(w, "ep-web0").NetworkID = "nat1"
	}, want: true, sev: SeverityError},
	{id: "pod-endpoint-unhealthy", name: "its namespace is gone", mutate: func(w *world) { w.s.Namespaces = w.s.Namespaces[1:] }, want: true, sev: SeverityWarning},
	{id: "pod-endpoint-unhealthy", name: "healthy (Attached under containerd)", want: false},
	{id: "pod-endpoint-unhealthy", name: "AttachedSharing is healthy too", mutate: func(w *world) { endpointByID(w, "ep-web0").State = snapshot.StateAttachedSharing }, want: false},
	// duplicate-endpoint-ip
	{id: "duplicate-endpoint-ip", name: "stale remote endpoint with a local pod's IP", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, remoteEP("ep-old", "10.244.1.5"))
	}, want: true, sev: SeverityError},
	{id: "duplicate-endpoint-ip", name: "two remote endpoints for one IP", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, remoteEP("ep-dns2", "10.244.2.7"))
	}, want: true, sev: SeverityWarning},
	{id: "duplicate-endpoint-ip", name: "an endpoint on the gateway address", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, localEP("ep-gw", "10.244.1.1", ""))
	}, want: true, sev: SeverityError},
	{id: "duplicate-endpoint-ip", name: "healthy", want: false},
	// stale-local-endpoint
	{id: "stale-local-endpoint", name: "leaked endpoint", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, localEP("ep-leak", "10.244.1.50", "ns9"))
	}, want: true, sev: SeverityWarning},
	{id: "stale-local-endpoint", name: "a pod is still starting: lowered", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, localEP("ep-leak", "10.244.1.50", "ns9"))
		p := k8sPod("shop", "web-2", "win-1", "10.244.1.7", nil)
		p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodPending, "", nil
		w.objs.Pods = append(w.objs.Pods, p)
	}, want: true, sev: SeverityInfo},
	{id: "stale-local-endpoint", name: "healthy", want: false},
	{id: "stale-local-endpoint", name: "overlay source VIP endpoint is not a leak", overlay: true, want: false},
	// stale-remote-endpoint
	{id: "stale-remote-endpoint", name: "remote endpoint for a deleted pod", mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, remoteEP("ep-gone", "10.244.2.99"))
	}, want: true, sev: SeverityWarning},
	{id: "stale-remote-endpoint", name: "healthy", want: false},
	{id: "stale-remote-endpoint", name: "overlay ClusterIP endpoint is referenced by no LB by design", overlay: true, mutate: func(w *world) {
		w.s.Endpoints = append(w.s.Endpoints, remoteEP("ep-vip", "10.96.12.34"))
	}, want: false},
	// pod-ip-exhaustion
	{id: "pod-ip-exhaustion", name: "IPAM log says the pool is empty", mutate: func(w *world) {
		w.s.Files = append(w.s.Files, wire.FileData{Path: `C:\k\containerd.log`, Role: wire.RoleLogPrefix + wire.LogContainerd,
			Content: `time="2025-11-26T01:00:00Z" level=error msg="failed to setup network for sandbox: plugin type=\"sdnbridge\" failed (add): no IP addresses available in range set: 10.244.1.2-10.244.1.254"`})
	}, want: true, sev: SeverityError},
	{id: "pod-ip-exhaustion", name: "IPAM state nearly full", mutate: func(w *world) {
		w.s.IPAMPools = []snapshot.IPAMPool{{Source: `C:\k\azure-vnet-ipam.json`, Prefix: "10.240.0.0/24", Total: 30, InUse: 28}}
	}, want: true, sev: SeverityWarning},
	{id: "pod-ip-exhaustion", name: "small pod subnet full of endpoints", mutate: func(w *world) {
		w.objs.Nodes[0].Spec.PodCIDRs = []string{"10.244.1.0/29"}
		for _, ip := range []string{"10.244.1.2", "10.244.1.3", "10.244.1.4"} {
			w.s.Endpoints = append(w.s.Endpoints, localEP("ep-"+ip, ip, ""))
		}
	}, want: true, sev: SeverityError},
	{id: "pod-ip-exhaustion", name: "healthy", want: false},
	// dns-server-mismatch
	{id: "dns-server-mismatch", name: "endpoint uses the VNET resolver", mutate: func(w *world) {
		endpointByID(w, "ep-web0").DNSServers = []string{"168.63.129.16"}
	}, want: true, sev: SeverityError},
	{id: "dns-server-mismatch", name: "cluster DNS second", mutate: func(w *world) {
		endpointByID(w, "ep-web0").DNSServers = []string{"168.63.129.16", "10.96.0.10"}
	}, want: true, sev: SeverityWarning},
	{id: "dns-server-mismatch", name: "kubelet clusterDNS differs from kube-dns", mutate: func(w *world) {
		w.s.Kubelet.ClusterDNS = []string{"10.0.0.10"}
	}, want: true, sev: SeverityError},
	{id: "dns-server-mismatch", name: "healthy", want: false},
	{id: "dns-server-mismatch", name: "dnsPolicy Default uses the node's resolver", mutate: func(w *world) {
		nodePod(w, "web-0").Spec.DNSPolicy = corev1.DNSDefault
		endpointByID(w, "ep-web0").DNSServers = []string{"168.63.129.16"}
	}, want: false},
	// dns-suffix-incomplete
	{id: "dns-suffix-incomplete", name: "no namespace suffix", mutate: func(w *world) {
		endpointByID(w, "ep-web0").DNSSearch = []string{"svc.cluster.local"}
	}, want: true, sev: SeverityError},
	{id: "dns-suffix-incomplete", name: "only the bare domain missing", mutate: func(w *world) {
		endpointByID(w, "ep-web0").DNSSearch = []string{"shop.svc.cluster.local", "svc.cluster.local"}
	}, want: true, sev: SeverityWarning},
	{id: "dns-suffix-incomplete", name: "healthy", want: false},
	// dns-dotted-name-semantics
	{id: "dns-dotted-name-semantics", name: "probe of a partial dotted name failed", mutate: func(w *world) {
		w.s.Probes = append(w.s.Probes, wire.ProbeData{Target: "10.96.0.10:53", Protocol: "udp", Verdict: "fail", Method: "dns", Error: "name not found",
			Detail: map[string]any{"query": "db.data"}})
	}, want: true, sev: SeverityWarning},
	{id: "dns-dotted-name-semantics", name: "pod env refers to svc.namespace", mutate: func(w *world) {
		nodePod(w, "web-0").Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_URL", Value: "postgres://db.data:5432/app"}}
	}, want: true},
	{id: "dns-dotted-name-semantics", name: "healthy: fully qualified names", mutate: func(w *world) {
		nodePod(w, "web-0").Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_URL", Value: "postgres://db.data.svc.cluster.local:5432/app"}}
	}, want: false},
	// dns-resolution-failed
	{id: "dns-resolution-failed", name: "DNS probe timed out", mutate: func(w *world) {
		w.s.Probes[0].Verdict, w.s.Probes[0].Error = "timeout", "no answer within 2s"
	}, want: true, sev: SeverityError},
	{id: "dns-resolution-failed", name: "healthy", want: false},
	// service-lb-missing
	{id: "service-lb-missing", name: "kube-dns UDP load balancer missing", mutate: func(w *world) { removeLB(w, "lb-dns-udp") }, want: true, sev: SeverityError},
	{id: "service-lb-missing", name: "NodePort load balancer missing", mutate: func(w *world) { removeLB(w, "lb-web-np") }, want: true},
	{id: "service-lb-missing", name: "external IP load balancer missing", mutate: func(w *world) {
		service(w, "shop", "web").Spec.ExternalIPs = []string{"192.0.2.10"}
	}, want: true},
	{id: "service-lb-missing", name: "healthy", want: false},
	{id: "service-lb-missing", name: "no ready endpoints: kube-proxy creates none", mutate: func(w *world) {
		removeLB(w, "lb-dns-udp")
		removeLB(w, "lb-dns-tcp")
		w.objs.EndpointSlices[1].Endpoints[0].Conditions.Ready = ptr(false)
	}, want: false},
	{id: "service-lb-missing", name: "ITP Local without local endpoints: none expected", mutate: func(w *world) {
		removeLB(w, "lb-dns-udp")
		removeLB(w, "lb-dns-tcp")
		service(w, "kube-system", "kube-dns").Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
	}, want: false},
	// service-lb-stale
	{id: "service-lb-stale", name: "load balancer for a deleted Service", mutate: func(w *world) {
		w.s.LoadBalancers = append(w.s.LoadBalancers, hnsLB("lb-old", "10.96.99.99", "TCP", 80, 80, "ep-web0"))
	}, want: true, sev: SeverityWarning},
	{id: "service-lb-stale", name: "load balancer points at a deleted endpoint", mutate: func(w *world) {
		lbByID(w, "lb-db").EndpointIDs = []string{"ep-deleted"}
	}, want: true, sev: SeverityError},
	{id: "service-lb-stale", name: "healthy", want: false},
	// service-lb-backends-mismatch
	{id: "service-lb-backends-mismatch", name: "a ready endpoint is missing", mutate: func(w *world) {
		lbByID(w, "lb-web").EndpointIDs = []string{"ep-web0"}
	}, want: true, sev: SeverityWarning},
	{id: "service-lb-backends-mismatch", name: "a backend is no longer ready", mutate: func(w *world) {
		w.objs.EndpointSlices[2].Endpoints[1].Conditions.Ready = ptr(false)
	}, want: true, sev: SeverityError},
	{id: "service-lb-backends-mismatch", name: "wrong target port", mutate: func(w *world) {
		lbByID(w, "lb-dns-udp").Ports[0].InternalPort = 5353
	}, want: true, sev: SeverityError},
	{id: "service-lb-backends-mismatch", name: "healthy", want: false},
	// traffic-policy-local-no-endpoints
	{id: "traffic-policy-local-no-endpoints", name: "kube-dns internalTrafficPolicy Local", mutate: func(w *world) {
		removeLB(w, "lb-dns-udp")
		removeLB(w, "lb-dns-tcp")
		service(w, "kube-system", "kube-dns").Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
	}, want: true, sev: SeverityWarning},
	{id: "traffic-policy-local-no-endpoints", name: "externalTrafficPolicy Local NodePort without local endpoints", mutate: func(w *world) {
		s := service(w, "data", "db")
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 31432
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}, want: true, sev: SeverityWarning},
	{id: "traffic-policy-local-no-endpoints", name: "healthy", want: false},
	{id: "traffic-policy-local-no-endpoints", name: "ITP Local with local endpoints", mutate: func(w *world) {
		service(w, "shop", "web").Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
	}, want: false},
	// kube-proxy-not-running
	{id: "kube-proxy-not-running", name: "service stopped, no process, pod crash-looping", mutate: func(w *world) {
		w.s.Services[1].State = "Stopped"
		w.s.Processes = w.s.Processes[1:]
		kp := nodePod(w, "kube-proxy-windows-7xk2p")
		kp.Status.ContainerStatuses[0].Ready = false
		kp.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		w.s.Files[0].Content += `E1126 01:10:00.000000    4242 server.go:500] "Error running ProxyServer" err="unable to create proxier: source-vip flag not set"` + "\n"
	}, want: true, sev: SeverityError},
	{id: "kube-proxy-not-running", name: "healthy", want: false},
	{id: "kube-proxy-not-running", name: "runs as a process only (rke2)", mutate: func(w *world) {
		w.s.Services = nil
		w.objs.Pods = w.objs.Pods[:2]
	}, want: false},
	// kube-proxy-policy-errors
	{id: "kube-proxy-policy-errors", name: "port already exists", mutate: func(w *world) {
		w.s.Files[0].Content += `E1126 01:02:03.456789    4242 proxier.go:1234] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {\"Success\":false,\"ErrorCode\":2151350291}"` + "\n"
	}, want: true, sev: SeverityError},
	{id: "kube-proxy-policy-errors", name: "errors before a restart: lowered", mutate: func(w *world) {
		w.s.Files[0].Content = `E1126 00:50:00.000000    4242 proxier.go:1234] "Policy creation failed" err="hnsCall failed in Win32: The switch-port was not found. (0x803b0007)"` + "\n" + w.s.Files[0].Content
	}, want: true, sev: SeverityWarning},
	{id: "kube-proxy-policy-errors", name: "healthy", want: false},
	// source-vip-missing
	{id: "source-vip-missing", name: "overlay without the source VIP endpoint", overlay: true, mutate: func(w *world) { removeEndpoint(w, "ep-sourcevip") }, want: true, sev: SeverityError},
	{id: "source-vip-missing", name: "overlay and kube-proxy has no --source-vip", overlay: true, mutate: func(w *world) {
		w.s.KubeProxy.SourceVIP = ""
		for i := range w.s.LoadBalancers {
			w.s.LoadBalancers[i].SourceVIP = "10.0.0.5"
		}
	}, want: true},
	{id: "source-vip-missing", name: "overlay healthy", overlay: true, want: false},
	{id: "source-vip-missing", name: "L2Bridge needs none", want: false},
	// source-vip-invalid
	{id: "source-vip-invalid", name: "source VIP outside the pod subnet", overlay: true, mutate: func(w *world) {
		w.s.KubeProxy.SourceVIP = "10.244.9.2"
	}, want: true, sev: SeverityError},
	{id: "source-vip-invalid", name: "source VIP is a pod's IP", overlay: true, mutate: func(w *world) {
		w.s.KubeProxy.SourceVIP = "10.244.1.6"
	}, want: true},
	{id: "source-vip-invalid", name: "source VIP is the gateway", overlay: true, mutate: func(w *world) {
		w.s.KubeProxy.SourceVIP = "10.244.1.1"
	}, want: true},
	{id: "source-vip-invalid", name: "overlay healthy", overlay: true, want: false},
	// dsr-unsupported
	{id: "dsr-unsupported", name: "DSR on HNS without DSR", mutate: func(w *world) {
		w.s.KubeProxy.EnableDSR = ptr(true)
		w.s.HNSVersion = "9.1"
		for i := range w.s.LoadBalancers {
			w.s.LoadBalancers[i].DSR = true
		}
	}, want: true, sev: SeverityError},
	{id: "dsr-unsupported", name: "old kube-proxy without the WinDSR gate", mutate: func(w *world) {
		w.s.KubeProxy.EnableDSR = ptr(true)
		w.s.KubeProxy.Version = "v1.30.4"
		for i := range w.s.LoadBalancers {
			w.s.LoadBalancers[i].DSR = true
		}
	}, want: true},
	{id: "dsr-unsupported", name: "HNS reports DSR policy failures", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Admin", ID: 1, Level: "Error", Time: t0, Message: "ElbDsrPolicy-Update-Failure for VIP 10.96.0.10"})
	}, want: true},
	{id: "dsr-unsupported", name: "healthy: DSR off", want: false},
	{id: "dsr-unsupported", name: "DSR on and supported", mutate: func(w *world) {
		w.s.KubeProxy.EnableDSR = ptr(true)
		for i := range w.s.LoadBalancers {
			w.s.LoadBalancers[i].DSR = true
		}
	}, want: false},
	// healthcheck-port-conflict
	{id: "healthcheck-port-conflict", name: "kube-proxy healthz port excluded", mutate: func(w *world) {
		w.s.PortRanges.Excluded["tcp"] = append(w.s.PortRanges.Excluded["tcp"], wire.PortRange{Start: 10255, End: 10354})
	}, want: true, sev: SeverityError},
	{id: "healthcheck-port-conflict", name: "healthCheckNodePort in the dynamic range", mutate: func(w *world) {
		s := service(w, "shop", "web")
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 50100
	}, want: true, sev: SeverityWarning},
	{id: "healthcheck-port-conflict", name: "healthy", want: false},
	// hns-network-missing
	{id: "hns-network-missing", name: "kube-proxy names a network that does not exist", mutate: func(w *world) { w.s.KubeProxy.NetworkName = "l2bridge" }, want: true, sev: SeverityError},
	{id: "hns-network-missing", name: "no HNS network at all", mutate: func(w *world) { w.s.Networks = nil }, want: true},
	{id: "hns-network-missing", name: "healthy", want: false},
	// hns-network-unhealthy
	{id: "hns-network-unhealthy", name: "APIPA management IP", mutate: func(w *world) { w.s.Networks[0].ManagementIP = "169.254.23.4" }, want: true, sev: SeverityError},
	{id: "hns-network-unhealthy", name: "healthy", want: false},
	// overlay-remote-subnet-missing
	{id: "overlay-remote-subnet-missing", name: "no route to linux-1's pods", overlay: true, mutate: func(w *world) {
		w.s.Networks[0].RemoteSubnets = w.s.Networks[0].RemoteSubnets[1:]
	}, want: true, sev: SeverityError},
	{id: "overlay-remote-subnet-missing", name: "route to an old node address", overlay: true, mutate: func(w *world) {
		w.s.Networks[0].RemoteSubnets[0].ProviderAddress = "10.0.0.40"
	}, want: true},
	{id: "overlay-remote-subnet-missing", name: "overlay healthy", overlay: true, want: false},
	{id: "overlay-remote-subnet-missing", name: "L2Bridge has no remote subnets", want: false},
	// cni-config-invalid
	{id: "cni-config-invalid", name: "unrendered template", mutate: func(w *world) {
		w.s.CNIConfigs[0] = snapshot.ParseCNIConfig(`C:\etc\cni\net.d\10-calico.conf`, `{"name":"Calico","type":"calico","vxlan_vni": __VNI__, "ipam":{"type":"calico-ipam","subnet":"usePodCidr"}}`)
	}, want: true, sev: SeverityError},
	{id: "cni-config-invalid", name: "a range that is not a CIDR", mutate: func(w *world) {
		w.s.CNIConfigs[0] = snapshot.ParseCNIConfig(`C:\etc\cni\net.d\10-bridge.conf`, `{"name":"cbr0","type":"win-bridge","ipam":{"subnet":"10.244.1.0"}}`)
	}, want: true},
	{id: "cni-config-invalid", name: "healthy", want: false},
	// cni-config-drift
	{id: "cni-config-drift", name: "config gained an exception the pods lack", mutate: func(w *world) {
		w.s.CNIConfigs[0].OutBoundNATExceptions = append(append([]string(nil), podExceptions...), "10.240.0.0/16")
	}, want: true, sev: SeverityWarning},
	{id: "cni-config-drift", name: "healthy", want: false},
	{id: "cni-config-drift", name: "Calico adds its pool to the exceptions at run time", mutate: func(w *world) {
		useCalico(w)
	}, want: false},
	// cni-daemon-not-running
	{id: "cni-daemon-not-running", name: "flanneld stopped", mutate: func(w *world) {
		w.s.Services[2].State = "Stopped"
		w.s.Processes = append(w.s.Processes[:1], w.s.Processes[2:]...)
		nodePod(w, "kube-flannel-ds-windows-amd64-q2m9x").Status.ContainerStatuses[0].Ready = false
	}, want: true, sev: SeverityError},
	{id: "cni-daemon-not-running", name: "healthy", want: false},
	// cni-runtime-incompatible
	{id: "cni-runtime-incompatible", name: "win-bridge on the HNS v1 API under containerd", mutate: func(w *world) {
		w.s.CNIConfigs[0].Plugins = []string{"flannel", "win-bridge"}
		w.s.CNIConfigs[0].DelegateType = "win-bridge"
	}, want: true, sev: SeverityError},
	{id: "cni-runtime-incompatible", name: "win-bridge with apiVersion 2", mutate: func(w *world) {
		w.s.CNIConfigs[0].Plugins = []string{"flannel", "win-bridge"}
		w.s.CNIConfigs[0].APIVersion = 2
	}, want: false},
	{id: "cni-runtime-incompatible", name: "healthy", want: false},
	// outboundnat-exceptions-mismatch
	{id: "outboundnat-exceptions-mismatch", name: "pod range not excepted", mutate: func(w *world) {
		setExceptions(w, "10.96.0.0/12", "10.0.0.0/16")
	}, want: true, sev: SeverityError},
	{id: "outboundnat-exceptions-mismatch", name: "VNET range missing (L2Bridge)", mutate: func(w *world) {
		setExceptions(w, "10.244.0.0/16", "10.96.0.0/12")
	}, want: true, sev: SeverityWarning},
	{id: "outboundnat-exceptions-mismatch", name: "everything excepted", mutate: func(w *world) {
		setExceptions(w, "0.0.0.0/0")
	}, want: true, sev: SeverityError},
	{id: "outboundnat-exceptions-mismatch", name: "cloud VNet range from az network vnet show not excepted", mutate: func(w *world) {
		w.s.CloudAddressSpaces = []wire.CloudAddressSpace{{Provider: "azure", Name: "aks-vnet", Prefixes: []string{"10.224.0.0/12"}}}
	}, want: true, sev: SeverityWarning},
	{id: "outboundnat-exceptions-mismatch", name: "cloud VNet range covered by the exceptions", mutate: func(w *world) {
		w.s.CloudAddressSpaces = []wire.CloudAddressSpace{{Provider: "azure", Name: "aks-vnet", Prefixes: []string{"10.0.0.0/16"}}}
	}, want: false},
	{id: "outboundnat-exceptions-mismatch", name: "healthy", want: false},
	{id: "outboundnat-exceptions-mismatch", name: "overlay needs no node range", overlay: true, want: false},
	{id: "outboundnat-exceptions-mismatch", name: "a loopback node address is not a VNET range", mutate: func(w *world) {
		w.objs.Nodes[1].Status.Addresses[0].Address = "127.0.0.1"
	}, want: false},
	// networkpolicy-snat-conflict
	{id: "networkpolicy-snat-conflict", name: "policy allows shop by namespace but web's traffic is NATed", mutate: func(w *world) {
		setExceptions(w, "10.244.1.0/24", "10.96.0.0/12", "10.0.0.0/16")
	}, want: true, sev: SeverityError},
	{id: "networkpolicy-snat-conflict", name: "healthy", want: false},
	// networkpolicy-not-enforced
	{id: "networkpolicy-not-enforced", name: "flannel and a policy selecting web", mutate: func(w *world) {
		w.objs.NetworkPolicies = append(w.objs.NetworkPolicies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-deny"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}})
	}, want: true, sev: SeverityWarning},
	{id: "networkpolicy-not-enforced", name: "healthy: no policy selects the node's pods", want: false},
	{id: "networkpolicy-not-enforced", name: "Calico enforces", mutate: func(w *world) {
		useCalico(w)
		w.objs.NetworkPolicies = append(w.objs.NetworkPolicies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-deny"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}})
	}, want: false},
	// networkpolicy-denies
	{id: "networkpolicy-denies", name: "egress deny-all blocks the probed Service", mutate: func(w *world) {
		useCalico(w)
		w.objs.NetworkPolicies = append(w.objs.NetworkPolicies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-egress"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}})
		w.s.Probes = append(w.s.Probes, wire.ProbeData{Target: "10.96.50.1:5432", Protocol: "tcp", Verdict: "timeout", Method: "dial"})
	}, want: true, sev: SeverityError},
	{id: "networkpolicy-denies", name: "ingress policy on the destination does not match the source", mutate: func(w *world) {
		useCalico(w)
		w.objs.NetworkPolicies[0].Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels = map[string]string{"kubernetes.io/metadata.name": "other"}
		w.s.Probes = append(w.s.Probes, wire.ProbeData{Target: "10.96.50.1:5432", Protocol: "tcp", Verdict: "timeout", Method: "dial"})
	}, want: true},
	{id: "networkpolicy-denies", name: "the destination's policy allows the source", mutate: func(w *world) {
		useCalico(w)
		w.s.Probes = append(w.s.Probes, wire.ProbeData{Target: "10.96.50.1:5432", Protocol: "tcp", Verdict: "timeout", Method: "dial"})
	}, want: false},
	{id: "networkpolicy-denies", name: "healthy", want: false},
	// overlay-mtu-mismatch
	{id: "overlay-mtu-mismatch", name: "pods at 1500 on a 1500 underlay", overlay: true, mutate: func(w *world) {
		w.s.Flannel.MTU = 1500
		w.s.Adapters[1].MTU = 1500
	}, want: true, sev: SeverityError},
	{id: "overlay-mtu-mismatch", name: "overlay healthy", overlay: true, want: false},
	{id: "overlay-mtu-mismatch", name: "L2Bridge does not encapsulate", mutate: func(w *world) {
		w.s.Adapters = append(w.s.Adapters, wire.Adapter{Name: "vEthernet (pod)", Compartment: 2, MTU: 1500})
	}, want: false},
	// hns-restarted
	{id: "hns-restarted", name: "HNS crashed after kube-proxy started", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "System", Provider: "Service Control Manager", ID: 7031, Level: "Error", Time: t0.Add(-10 * time.Minute),
			Message: "The Host Network Service service terminated unexpectedly.  It has done this 1 time(s)."})
	}, want: true, sev: SeverityError},
	{id: "hns-restarted", name: "HNS crashed before kube-proxy restarted", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "System", Provider: "Service Control Manager", ID: 7031, Level: "Error", Time: t0.Add(-3 * time.Hour),
			Message: "The Host Network Service service terminated unexpectedly."})
	}, want: true, sev: SeverityWarning},
	{id: "hns-restarted", name: "healthy", want: false},
	// hns-errors
	{id: "hns-errors", name: "HNS admin errors", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Admin", ID: 1002, Level: "Error", Time: t0, Message: "Failed to create endpoint: (0x803B0012)"})
	}, want: true, sev: SeverityWarning},
	{id: "hns-errors", name: "an error naming the pod's endpoint", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Admin", ID: 1003, Level: "Error", Time: t0, Message: "Port for endpoint ep-web0 could not be attached"})
	}, want: true, sev: SeverityError},
	{id: "hns-errors", name: "healthy (warnings are not errors)", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Admin", ID: 1002, Level: "Warning", Time: t0, Message: "slow"})
	}, want: false},
	// os-build-known-issue
	{id: "os-build-known-issue", name: "Server 2022 September 2024 build", mutate: func(w *world) { w.s.OS.UBR = 2700 }, want: true, sev: SeverityWarning},
	{id: "os-build-known-issue", name: "same build with Calico", mutate: func(w *world) { w.s.OS.UBR = 2582; useCalico(w) }, want: true, sev: SeverityError},
	{id: "os-build-known-issue", name: "fixed build", mutate: func(w *world) { w.s.OS.UBR = 2762 }, want: false},
	{id: "os-build-known-issue", name: "healthy", want: false},
	// port-exhaustion
	{id: "port-exhaustion", name: "dynamic range used up", mutate: func(w *world) {
		w.s.TCPConnections = &wire.TCPConnections{Total: 16200, ByState: map[string]int{"LISTEN": 40, "TIME_WAIT": 12000}}
	}, want: true, sev: SeverityError},
	{id: "port-exhaustion", name: "Tcpip 4231", mutate: func(w *world) {
		w.s.Events = append(w.s.Events, wire.Event{Channel: "System", Provider: "Tcpip", ID: 4231, Level: "Error", Time: t0,
			Message: "A request to allocate an ephemeral port number from the global TCP port space has failed due to all such ports being in use."})
	}, want: true, sev: SeverityError},
	{id: "port-exhaustion", name: "healthy", want: false},
	// port-reservation-conflict
	{id: "port-reservation-conflict", name: "excluded range over a NodePort", mutate: func(w *world) {
		w.s.PortRanges.Excluded["tcp"] = append(w.s.PortRanges.Excluded["tcp"], wire.PortRange{Start: 30000, End: 30099})
	}, want: true, sev: SeverityError},
	{id: "port-reservation-conflict", name: "dynamic range holds NodePorts", mutate: func(w *world) {
		w.s.PortRanges.Dynamic["tcp"] = wire.PortRange{Start: 1025, End: 65535}
	}, want: true, sev: SeverityWarning},
	{id: "port-reservation-conflict", name: "healthy", want: false},
	// firewall-blocking
	{id: "firewall-blocking", name: "block rule on kubelet's port", mutate: func(w *world) {
		w.s.Firewall.Rules = append(w.s.Firewall.Rules, wire.FirewallRule{Name: "hardening", Enabled: true, Direction: "In", Action: "Block", Protocol: "TCP", LocalPorts: "10000-11000"})
	}, want: true, sev: SeverityError},
	{id: "firewall-blocking", name: "default block without an allow rule", overlay: true, mutate: func(w *world) {
		w.s.Firewall.Rules = w.s.Firewall.Rules[:1]
	}, want: true, sev: SeverityWarning},
	{id: "firewall-blocking", name: "healthy", want: false},
}

func ruleFor(id string) rule {
	for _, r := range rules {
		for _, rid := range r.ids {
			if rid == id {
				return r
			}
		}
	}
	panic("no rule for " + id)
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			w := healthyL2Bridge()
			if tc.overlay {
				w = healthyOverlay()
			}
			if tc.mutate != nil {
				tc.mutate(w)
			}
			if tc.node {
				w.pod = nil
			}
			fs, missing := ruleFor(tc.id).check(w.input())
			var got *Finding
			for i := range fs {
				if fs[i].ID != tc.id {
					t.Errorf("rule for %s reported id %s", tc.id, fs[i].ID)
				}
				if got == nil {
					got = &fs[i]
				}
			}
			if tc.want {
				if got == nil {
					t.Fatalf("no %s finding (missing %q)", tc.id, missing)
				}
				if tc.sev != "" && got.Severity != tc.sev {
					t.Errorf("severity %s, want %s: %+v", got.Severity, tc.sev, *got)
				}
				checkFinding(t, got)
				return
			}
			if got != nil {
				t.Fatalf("unexpected %s finding: %s\n%+v", tc.id, got.Title, got.Evidence)
			}
			if missing != "" {
				t.Fatalf("the healthy world lacks evidence for %s: %s", tc.id, missing)
			}
		})
	}
}

// checkFinding holds every finding to the contract: a known id and severity, a title, evidence
// naming its artifact, and a remediation.
func checkFinding(t *testing.T, f *Finding) {
	t.Helper()
	if SeverityRank(f.Severity) == 0 || f.Title == "" || strings.TrimSpace(f.Remediation) == "" || len(f.Evidence) == 0 {
		t.Errorf("finding breaks the contract: %+v", *f)
	}
	for _, e := range f.Evidence {
		if e.Artifact == "" {
			t.Errorf("evidence without artifact in %s: %+v", f.ID, e)
		}
	}
}

// TestEveryIDHasPositiveAndNegativeCases is the acceptance criterion: every id has a rule, a
// positive and a negative test.
func TestEveryIDHasPositiveAndNegativeCases(t *testing.T) {
	pos, neg := map[string]int{}, map[string]int{}
	for _, tc := range ruleCases {
		if tc.want {
			pos[tc.id]++
		} else {
			neg[tc.id]++
		}
	}
	for _, id := range IDs {
		if pos[id] == 0 || neg[id] == 0 {
			t.Errorf("%s: %d positive and %d negative cases, want at least one of each", id, pos[id], neg[id])
		}
	}
}

func TestIDsAndRulesAgree(t *testing.T) {
	listed := map[string]bool{}
	for _, id := range IDs {
		if listed[id] {
			t.Errorf("id %s listed twice", id)
		}
		listed[id] = true
	}
	registered := map[string]bool{}
	for _, r := range rules {
		if r.name == "" || len(r.ids) == 0 || r.check == nil {
			t.Errorf("incomplete rule %+v", r)
		}
		for _, id := range r.ids {
			registered[id] = true
			if !listed[id] {
				t.Errorf("rule %q reports %s, which ids.go does not list", r.name, id)
			}
		}
	}
	for _, id := range IDs {
		if !registered[id] {
			t.Errorf("id %s has no registered rule", id)
		}
	}
	if CatalogIDs > len(IDs) {
		t.Fatalf("CatalogIDs %d > %d ids", CatalogIDs, len(IDs))
	}
}

func TestHealthyWorldsReportNothing(t *testing.T) {
	for name, mk := range map[string]func() *world{"l2bridge": healthyL2Bridge, "overlay": healthyOverlay} {
		for _, node := range []bool{false, true} {
			w := mk()
			if node {
				w.pod = nil
			}
			res := Run(w.input())
			for _, f := range res.Findings {
				t.Errorf("%s (node target %v): %s %s: %s", name, node, f.Severity, f.ID, f.Title)
			}
			for _, nc := range res.NotChecked {
				if nc.Check != "NetworkPolicy verdict for probed flows" && nc.Check != "dotted DNS names" {
					t.Errorf("%s (node target %v): not checked %q: %s", name, node, nc.Check, nc.Missing)
				}
			}
		}
	}
}

// TestNothingCollected: with no evidence at all no rule may report anything, and the report
// says what was not checked.
func TestNothingCollected(t *testing.T) {
	in := Input{Snapshot: &snapshot.Snapshot{Node: "win-1", Have: map[string]bool{}}}
	res := Run(in)
	if len(res.Findings) != 0 {
		t.Fatalf("findings without evidence: %+v", res.Findings)
	}
	if len(res.NotChecked) < len(rules)/2 {
		t.Fatalf("only %d of %d checks say what they miss: %+v", len(res.NotChecked), len(rules), res.NotChecked)
	}
	for _, nc := range res.NotChecked {
		if nc.Missing == "" || nc.Check == "" {
			t.Errorf("empty not-checked entry %+v", nc)
		}
	}
	if res := Run(Input{}); len(res.Findings) != 0 || len(res.NotChecked) != 1 {
		t.Fatalf("nil snapshot: %+v", res)
	}
}

func TestRunSortsBySeverityThenID(t *testing.T) {
	w := healthyL2Bridge()
	removeEndpoint(w, "ep-web0") // error: pod-endpoint-missing
	w.s.Events = append(w.s.Events, wire.Event{Channel: "Microsoft-Windows-Host-Network-Service-Admin", ID: 1, Level: "Error", Time: t0, Message: "x"})
	res := Run(w.input())
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Severity+" "+f.ID)
	}
	if !sort.SliceIsSorted(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if SeverityRank(a.Severity) != SeverityRank(b.Severity) {
			return SeverityRank(a.Severity) > SeverityRank(b.Severity)
		}
		return a.ID < b.ID
	}) {
		t.Fatalf("findings not sorted: %v", got)
	}
	if len(got) < 2 || !strings.HasPrefix(got[0], "error") || !strings.HasPrefix(got[len(got)-1], "warning") {
		t.Fatalf("findings = %v, want errors first then the hns-errors warning", got)
	}
}

// TestManyMissingServicesAreSummarised: when kube-proxy programmed nothing, the report stays
// readable: kube-dns first, 20 Services, then one summary.
func TestManyMissingServicesAreSummarised(t *testing.T) {
	w := healthyL2Bridge()
	for i := 0; i < 40; i++ {
		name := "svc" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		ip := "10.96.1." + itoa(i+1)
		w.objs.Services = append(w.objs.Services, k8sService("shop", name, ip, svcPort("http", corev1.ProtocolTCP, 80, 8080)))
		w.objs.EndpointSlices = append(w.objs.EndpointSlices, k8sSlice("shop", name, []corev1.ServicePort{svcPort("http", corev1.ProtocolTCP, 80, 8080)}, sliceEP{"10.244.1.5", "win-1", true}))
	}
	w.s.LoadBalancers = nil
	fs, _ := serviceLBMissing(w.input())
	if len(fs) != maxServiceFindings+1 {
		t.Fatalf("%d findings, want %d", len(fs), maxServiceFindings+1)
	}
	if fs[0].Objects[0].Name != "kube-dns" || !strings.Contains(fs[0].Remediation, "kube-dns VIP") {
		t.Errorf("first finding is %s, want kube-dns naming the DNS impact", fs[0].Title)
	}
	if last := fs[len(fs)-1]; !strings.Contains(last.Title, "more Services") {
		t.Errorf("last finding %q is not the summary", last.Title)
	}
}

// TestMissingEvidenceIsNamed: rules say what they lack instead of guessing.
func TestMissingEvidenceIsNamed(t *testing.T) {
	tests := []struct {
		id     string
		mutate func(w *world)
		want   string
	}{
		{"pod-endpoint-missing", func(w *world) { w.s.Have = map[string]bool{} }, wire.KindHCNEndpoints},
		{"service-lb-missing", func(w *world) { delete(w.s.Have, wire.KindHCNLoadBalancers) }, wire.KindHCNLoadBalancers},
		{"service-lb-stale", func(w *world) { w.objs.NodeName = "win-1" }, ""},
		{"kube-proxy-policy-errors", func(w *world) { w.s.Files = nil }, "kube-proxy log"},
		{"port-exhaustion", func(w *world) { w.s.PortRanges, w.s.TCPConnections = nil, nil; delete(w.s.Have, wire.KindEvents) }, "port ranges"},
		{"firewall-blocking", func(w *world) { w.s.Firewall = nil }, wire.KindFirewall},
		{"os-build-known-issue", func(w *world) { w.s.OS = nil }, wire.KindOSInfo},
		{"overlay-mtu-mismatch", func(w *world) {
			*w = *healthyOverlay()
			w.s.Adapters = nil
		}, wire.KindHostAdapters},
		{"dns-server-mismatch", func(w *world) {
			w.s.Kubelet = nil
			w.objs.Services = w.objs.Services[:1]
		}, "kube-dns"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			w := healthyL2Bridge()
			tt.mutate(w)
			fs, missing := ruleFor(tt.id).check(w.input())
			if tt.want == "" {
				if missing != "" || len(fs) != 0 {
					t.Fatalf("healthy: %v %q", fs, missing)
				}
				return
			}
			if len(fs) != 0 || !strings.Contains(missing, tt.want) {
				t.Fatalf("findings %v, missing %q: want a reason naming %q", fs, missing, tt.want)
			}
		})
	}
	// Cluster facts that could not be read make the cluster-side checks say so.
	w := healthyL2Bridge()
	in := w.input()
	in.Cluster.Missing = map[string]string{"endpointslices": "forbidden by RBAC"}
	if _, missing := serviceLBMissing(in); !strings.Contains(missing, "forbidden") {
		t.Fatalf("missing = %q, want the RBAC reason", missing)
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

var _ = facts.RoleCNI

func TestDecodeHNSError(t *testing.T) {
	for code, want := range map[string]string{
		"0x803b0013": "port already exists",
		"0x803B0007": "switch port not found",
		"0x803b002f": "address invalid or reserved",
		"0x80070057": "invalid parameter",
		"0x8007139f": "invalid state (the resource is not in the correct state)",
		"0x800706ba": "RPC server unavailable (HNS not answering)",
		"0x490":      "element not found",
		"0x80070490": "element not found",
		"0xb7":       "already exists",
		"2151350279": "switch port not found", // HNS's decimal ErrorCode for 0x803B0007
		"0x12345678": "",
		"nonsense":   "",
	} {
		if got := DecodeHNSError(code); got != want {
			t.Errorf("DecodeHNSError(%q) = %q, want %q", code, got, want)
		}
	}
	got := errorCodesIn(`err="hcnCreateLoadBalancer failed in Win32: The switch-port was not found. (0x803b0007) {\"ErrorCode\":2151350279}"`)
	if len(got) != 1 || got[0].Code != "0x803b0007" {
		t.Errorf("errorCodesIn = %+v, want the one code once", got)
	}
}

func TestPolicyErrorAdviceNamesTheCause(t *testing.T) {
	w := healthyL2Bridge()
	w.s.Files[0].Content += `E1126 01:02:03.456789    4242 proxier.go:1234] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: Cannot create a file when that file already exists. (0xb7)"` + "\n"
	fs, _ := kubeProxyPolicyErrors(w.input())
	if len(fs) != 1 || !strings.Contains(fs[0].Remediation, "kubernetes/kubernetes#139519") || !strings.Contains(fs[0].Title, "0xb7 already exists") {
		t.Fatalf("findings = %+v", fs)
	}
}

// A DNS probe sent straight to a CoreDNS pod (to tell a broken VIP from broken CoreDNS) that
// fails says the DNS pod did not answer, not that the pod queried the wrong server.
func TestDNSFailureToCoreDNSPodDirectly(t *testing.T) {
	w := healthyL2Bridge()
	w.s.Probes = []wire.ProbeData{{Target: "kubernetes.default.svc.cluster.local@10.244.2.7:53", Protocol: "dns", Verdict: "timeout",
		Method: wire.ProbeMethodPodCompartment, Detail: map[string]any{"name": "kubernetes.default.svc.cluster.local", "server": "10.244.2.7:53"}}}
	fs, missing := dnsResolutionFailed(w.input())
	if missing != "" || len(fs) != 1 {
		t.Fatalf("findings %+v, missing %q", fs, missing)
	}
	var details []string
	for _, e := range fs[0].Evidence {
		details = append(details, e.Detail)
	}
	all := strings.Join(details, " | ")
	if !strings.Contains(all, "kube-dns backend") || strings.Contains(all, "is not the cluster DNS") {
		t.Fatalf("evidence: %s", all)
	}
}

// Without HNS endpoints (a pasted in-pod `ipconfig /all`, or a live read of the pod's
// compartment), the DNS rules judge the pod's own resolver settings.
func TestDNSRulesFromThePodsOwnView(t *testing.T) {
	podView := func(servers []string, search ...string) *world {
		w := healthyL2Bridge()
		delete(w.s.Have, wire.KindHCNEndpoints)
		delete(w.s.Have, wire.KindHNSEndpointsV1)
		w.s.Pod = &snapshot.PodNetwork{DNS: &wire.DNSClient{Servers: servers, SearchList: search}}
		return w
	}
	full := []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	tests := []struct {
		name       string
		w          *world
		rule       func(Input) ([]Finding, string)
		wantID     string
		wantSev    string
		wantNoFind bool
	}{
		{"servers right", podView([]string{"10.96.0.10"}, full...), dnsServerMismatch, "", "", true},
		{"servers wrong", podView([]string{"168.63.129.16"}, full...), dnsServerMismatch, "dns-server-mismatch", SeverityError, false},
		{"cluster DNS second", podView([]string{"8.8.8.8", "10.96.0.10"}, full...), dnsServerMismatch, "dns-server-mismatch", SeverityWarning, false},
		{"search list complete", podView([]string{"10.96.0.10"}, full...), dnsSuffixIncomplete, "", "", true},
		{"namespace suffix missing", podView([]string{"10.96.0.10"}, "svc.cluster.local", "cluster.local"), dnsSuffixIncomplete, "dns-suffix-incomplete", SeverityError, false},
		{"only Windows' defaults", podView([]string{"fec0:0:0:ffff::1%1", "fec0:0:0:ffff::2%1", "fec0:0:0:ffff::3%1"}, full...), dnsServerMismatch, "dns-server-mismatch", SeverityError, false},
		{"only Windows' defaults, cluster DNS unknown", unknownDNS(podView([]string{"fec0:0:0:ffff::1%1", "fec0:0:0:ffff::2%1", "fec0:0:0:ffff::3%1"})), dnsServerMismatch, "dns-server-mismatch", SeverityError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, missing := tt.rule(tt.w.input())
			if missing != "" {
				t.Fatalf("not checked: %s", missing)
			}
			if tt.wantNoFind {
				if len(fs) != 0 {
					t.Fatalf("findings %+v, want none", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].ID != tt.wantID || fs[0].Severity != tt.wantSev {
				t.Fatalf("findings %+v, want one %s (%s)", fs, tt.wantID, tt.wantSev)
			}
		})
	}
	// Without the pod's view and without endpoints the checks say what is missing.
	w := podView(nil)
	w.s.Pod = nil
	if _, missing := dnsServerMismatch(w.input()); missing == "" {
		t.Fatal("want a reason the check could not run")
	}
	// Without the cluster DNS address, real servers cannot be judged: not checked, no finding.
	if fs, missing := dnsServerMismatch(unknownDNS(podView([]string{"10.0.0.10", "fec0:0:0:ffff::1"})).input()); len(fs) != 0 || missing == "" {
		t.Fatalf("servers beside a default, cluster DNS unknown: findings %+v, missing %q; want none and a reason", fs, missing)
	}
	fs, _ := dnsServerMismatch(unknownDNS(podView([]string{"fec0:0:0:ffff::3"})).input())
	if len(fs) != 1 || fs[0].SeverityReason == "" || !strings.Contains(fs[0].Title, "no DNS server") {
		t.Fatalf("a default alone: %+v; want a finding that says what it lacked", fs)
	}
}

// unknownDNS drops what names the cluster DNS address: kubelet's clusterDNS and the kube-dns Service.
func unknownDNS(w *world) *world {
	w.s.Kubelet = nil
	w.objs.Services = nil
	return w
}

// kube-proxy's start-up complaint is evidence enough when the network list was not collected,
// also for lines exported from the event log behind a prefix.
func TestNetworkMissingFromKubeProxyLogAlone(t *testing.T) {
	mk := func(log string) Input {
		b := snapshot.NewBuilder("")
		raw, _ := json.Marshal(wire.FileData{Path: `C:\k\kube-proxy.log`, Role: wire.RoleLogPrefix + wire.LogKubeProxy, Content: log})
		b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindFile, Data: raw})
		return Input{Snapshot: b.Snapshot()}
	}
	fs, missing := hnsNetworkMissing(mk("  173 May 09 18:41  Information kube-proxy  0 E0628 16:57:08.673912    1180 proxier.go:564] Unable to find HNS Network specified by cbr0. Please check network name and CNI deployment\n"))
	if missing != "" || len(fs) != 1 || !strings.Contains(fs[0].Title, `"cbr0"`) {
		t.Fatalf("findings %+v, missing %q", fs, missing)
	}
	if fs, missing := hnsNetworkMissing(mk("I0628 16:57:08.673912    1180 proxier.go:100] \"Using winkernel Proxier\"\n")); len(fs) != 0 || missing == "" {
		t.Fatalf("a healthy log without networks: findings %+v, missing %q", fs, missing)
	}
}

// TestFindingsSayWhatTheyWereJudgedOn: a finding names the evidence it had and the evidence it
// lacked, so one made from a partial dump says what to collect to be sure.
func TestFindingsSayWhatTheyWereJudgedOn(t *testing.T) {
	w := healthyL2Bridge()
	removeLB(w, "lb-dns-udp")
	w.s.Files = nil // no kube-proxy log
	delete(w.s.Have, wire.KindEvents)
	res := Run(w.input())
	var f *Finding
	for i := range res.Findings {
		if res.Findings[i].ID == "service-lb-missing" {
			f = &res.Findings[i]
		}
	}
	if f == nil {
		t.Fatalf("no service-lb-missing in %v", res.Findings)
	}
	for _, want := range []string{"Services", "EndpointSlices", "HNS load balancers"} {
		if !slices.Contains(f.JudgedOn, want) {
			t.Errorf("judgedOn %v lacks %q", f.JudgedOn, want)
		}
	}
	if !slices.Equal(f.Lacking, []string{"kube-proxy log", "Windows event log"}) {
		t.Errorf("lacking = %v, want the kube-proxy log and the event log", f.Lacking)
	}
}
