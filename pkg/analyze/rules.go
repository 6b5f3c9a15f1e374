package analyze

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func podEndpointMissing(in Input) ([]Finding, string) {
	if in.Pod == nil {
		return nil, "" // node target: nothing to check, nothing missing
	}
	if !in.Snapshot.Have[wire.KindHCNEndpoints] {
		return nil, "HNS endpoints (" + wire.KindHCNEndpoints + ") were not collected"
	}
	ip := in.Pod.Status.PodIP
	if ip == "" || in.Pod.Spec.HostNetwork {
		return nil, ""
	}
	for _, e := range in.Snapshot.EndpointsByIP(ip) {
		if !e.Remote {
			return nil, ""
		}
	}
	return []Finding{{
		ID: "pod-endpoint-missing", Severity: SeverityError,
		Title:    fmt.Sprintf("no local HNS endpoint carries pod %s/%s's IP %s", in.Pod.Namespace, in.Pod.Name, ip),
		Evidence: []Evidence{{Artifact: wire.KindHCNEndpoints, Detail: fmt.Sprintf("%d endpoints, none local with IP %s", len(in.Snapshot.Endpoints), ip)}},
		Remediation: "The CNI did not create (or lost) the pod's endpoint, so the pod has no network. Check the CNI's log " +
			"on the node, then delete the pod so it is recreated with a fresh endpoint.",
		Objects: []ObjectRef{{Kind: "Pod", Namespace: in.Pod.Namespace, Name: in.Pod.Name}},
	}}, ""
}

// serviceLBMissing expects one HNS load balancer per ClusterIP Service port that has ready
// endpoints, as kube-proxy's winkernel proxier creates them (frontend VIP = ClusterIP,
// external port = Service port, same protocol).
func serviceLBMissing(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindHCNLoadBalancers] && !in.Snapshot.Have[wire.KindHNSPolicyLists] {
		return nil, "HNS load balancers (" + wire.KindHCNLoadBalancers + ") were not collected"
	}
	if in.Cluster == nil || in.Cluster.Services == nil {
		return nil, "the cluster's Services were not read"
	}
	type key struct {
		vip, proto string
		port       int
	}
	have := map[key]bool{}
	for _, lb := range in.Snapshot.LoadBalancers {
		for _, vip := range lb.FrontendVIPs {
			for _, p := range lb.Ports {
				have[key{vip, p.Protocol, p.ExternalPort}] = true
			}
		}
	}
	ready := readyEndpointsByService(in.Cluster.EndpointSlices)
	var out []Finding
	for _, svc := range in.Cluster.Services {
		if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		if ready[name] == 0 && in.Cluster.EndpointSlices != nil {
			continue // kube-proxy creates no load balancer without ready endpoints
		}
		if svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal {
			continue // narrowed to local endpoints; judged by traffic-policy-local-no-endpoints
		}
		for _, p := range svc.Spec.Ports {
			proto := string(p.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			if have[key{svc.Spec.ClusterIP, proto, int(p.Port)}] {
				continue
			}
			sev, why := SeverityError, ""
			if isKubeDNS(in, &svc) {
				why = " Pods on this node cannot resolve names: the kube-dns VIP has no load balancer."
			}
			out = append(out, Finding{
				ID: "service-lb-missing", Severity: sev,
				Title: fmt.Sprintf("Service %s port %d/%s (ClusterIP %s) has no HNS load balancer on node %s", name, p.Port, proto, svc.Spec.ClusterIP, in.Snapshot.Node),
				Evidence: []Evidence{
					{Artifact: wire.KindHCNLoadBalancers, Detail: fmt.Sprintf("%d load balancers, none with frontend %s:%d/%s", len(in.Snapshot.LoadBalancers), svc.Spec.ClusterIP, p.Port, proto)},
					{Artifact: "EndpointSlice", Object: name, Detail: fmt.Sprintf("%d ready endpoints", ready[name])},
				},
				Remediation: "kube-proxy did not program this Service." + why + " Look for HNS errors in kube-proxy's log on the node; " +
					"restarting kube-proxy on the node re-creates every load balancer.",
				Objects: []ObjectRef{{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}},
			})
		}
	}
	return out, ""
}

func isKubeDNS(in Input, svc *corev1.Service) bool {
	k := in.Cluster.KubeDNS
	return k != nil && k.Namespace == svc.Namespace && k.Name == svc.Name
}

func readyEndpointsByService(slices []discoveryv1.EndpointSlice) map[string]int {
	out := map[string]int{}
	for _, s := range slices {
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				out[s.Namespace+"/"+svc] += len(e.Addresses)
			}
		}
	}
	return out
}

// hnsErrors reports Error/Critical events in the Host-Network-Service channels.
func hnsErrors(in Input) ([]Finding, string) {
	if !in.Snapshot.Have[wire.KindEvents] {
		return nil, "Windows event logs (" + wire.KindEvents + ") were not collected"
	}
	var ev []Evidence
	for _, e := range in.Snapshot.Events {
		if !strings.Contains(e.Channel, "Host-Network-Service") {
			continue
		}
		if e.Level != "Error" && e.Level != "Critical" {
			continue
		}
		ev = append(ev, Evidence{Artifact: wire.KindEvents, Object: fmt.Sprintf("%s event %d at %s", e.Channel, e.ID, e.Time.Format("2006-01-02T15:04:05Z07:00")), Detail: oneLine(e.Message)})
	}
	if len(ev) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "hns-errors", Severity: SeverityWarning,
		Title:       fmt.Sprintf("%d error event(s) in the Host Network Service logs", len(ev)),
		Evidence:    ev,
		Remediation: "Read the events' messages: they name the network, endpoint or policy HNS failed on. Persistent errors usually need the HNS state cleaned (restart kube-proxy, then the CNI) or a node reboot.",
	}}, ""
}

// hresult finds HNS/Win32 error codes in log text, e.g. "(0x803b0013)".
var hresult = regexp.MustCompile(`0x[0-9a-fA-F]{2,8}\b`)

// hnsErrorWords decodes the HNS error codes kube-proxy logs most often (HNS-FACTS.md §3.3).
var hnsErrorWords = map[string]string{
	"0x803b0001": "network not found",
	"0x803b0002": "endpoint not found",
	"0x803b0006": "adapter not found",
	"0x803b0007": "switch port not found",
	"0x803b000d": "invalid policy",
	"0x803b0012": "policy already exists",
	"0x803b0013": "port already exists",
	"0x803b0015": "request unsupported",
	"0x803b0017": "degraded operation",
	"0x803b0020": "HNS manager stopped",
	"0x803b002f": "address invalid or reserved",
	"0x490":      "element not found",
	"0xb7":       "already exists",
}

// DecodeHNSError names a known HNS or Win32 error code ("" when unknown).
func DecodeHNSError(code string) string { return hnsErrorWords[strings.ToLower(code)] }

func kubeProxyPolicyErrors(in Input) ([]Finding, string) {
	var logs []wire.FileData
	for _, f := range in.Snapshot.Files {
		if isKubeProxyLog(f) {
			logs = append(logs, f)
		}
	}
	if len(logs) == 0 {
		return nil, "no kube-proxy log was collected"
	}
	var ev []Evidence
	for _, f := range logs {
		for i, line := range strings.Split(f.Content, "\n") {
			if !looksLikeHNSFailure(line) {
				continue
			}
			detail := oneLine(line)
			var words []string
			for _, code := range hresult.FindAllString(line, -1) {
				if w := DecodeHNSError(code); w != "" {
					words = append(words, strings.ToLower(code)+" = "+w)
				}
			}
			if len(words) > 0 {
				detail += " [" + strings.Join(words, "; ") + "]"
			}
			ev = append(ev, Evidence{Artifact: wire.KindFile, Object: fmt.Sprintf("%s line %d", f.Path, i+1), Detail: detail})
			if len(ev) >= 20 {
				break
			}
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	return []Finding{{
		ID: "kube-proxy-policy-errors", Severity: SeverityError,
		Title:       fmt.Sprintf("kube-proxy failed to program HNS (%d log line(s))", len(ev)),
		Evidence:    ev,
		Remediation: "Services whose load balancers failed are unreachable from this node. The decoded codes say why; \"port already exists\" usually means stale HNS policies: restart kube-proxy (it deletes and re-creates all load balancers at start).",
	}}, ""
}

func isKubeProxyLog(f wire.FileData) bool {
	if f.Role == wire.RoleLogPrefix+wire.LogKubeProxy {
		return true
	}
	p := strings.ToLower(f.Path)
	return strings.Contains(p, "kube-proxy") && (strings.HasSuffix(p, ".log") || strings.Contains(p, ".log."))
}

func looksLikeHNSFailure(line string) bool {
	l := strings.ToLower(line)
	if !(strings.HasPrefix(l, "e") || strings.Contains(l, "level=error") || strings.Contains(l, "error")) {
		return false
	}
	return strings.Contains(l, "hnscall failed") || strings.Contains(l, "policy creation failed") ||
		strings.Contains(l, "failed to create loadbalancer") || strings.Contains(l, "0x803b")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
