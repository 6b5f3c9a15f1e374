// Package analyze judges a node snapshot against the cluster's facts. Every rule is a pure
// function of its Input returning findings; ids are the stable contract listed in FINDINGS.md
// (the project's catalog) and in this package's FINDINGS.md (ids added here).
//
// Rules share one index (index.go) built once per Run, so a node with tens of thousands of
// Services and load balancers is judged in linear time.
package analyze

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// Severities, highest first.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Finding is one judged problem.
type Finding struct {
	ID          string      `json:"id"`
	Severity    string      `json:"severity"`
	Title       string      `json:"title"`
	Evidence    []Evidence  `json:"evidence,omitempty"`
	Remediation string      `json:"remediation"`
	Objects     []ObjectRef `json:"objects,omitempty"`
	// SeverityReason says why the severity differs from the id's default, when it does.
	SeverityReason string `json:"severityReason,omitempty"`
	// JudgedOn names the kinds of evidence the rule had, Lacking those it could have used but
	// were not collected: a finding made on a partial dump says how far it can be trusted.
	JudgedOn []string `json:"judgedOn,omitempty"`
	Lacking  []string `json:"lacking,omitempty"`
}

// Evidence points at what proves a finding: which artifact, and which object or line in it.
type Evidence struct {
	Artifact string `json:"artifact"`
	Object   string `json:"object,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// ObjectRef names a Kubernetes object a finding involves.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// NotChecked is a check that could not run, and the missing evidence that stopped it.
type NotChecked struct {
	Check   string `json:"check"`
	Missing string `json:"missing"`
}

// Input is everything a rule may look at.
type Input struct {
	Snapshot *snapshot.Snapshot
	Cluster  *facts.Cluster // may be nil (offline analysis without cluster objects)
	Pod      *corev1.Pod    // the target pod; nil for node targets

	x *index // shared lookups; built by Run, or on demand when a rule is called directly
}

// Result is the analyzer's output.
type Result struct {
	Findings   []Finding    `json:"findings"`
	NotChecked []NotChecked `json:"notChecked,omitempty"`
}

// rule is one check. It returns findings, or a non-empty "missing" when its evidence is
// absent. ids are the finding ids it may report.
type rule struct {
	name  string
	ids   []string
	check func(in Input) (findings []Finding, missing string)
	srcs  []source // the evidence it can judge on (evidence.go)
}

// rules is the registry: one pure function per finding id (a few ids share a function when
// they are two outcomes of one comparison).
var rules = []rule{
	// Pod and endpoint.
	{"pod endpoint present", []string{"pod-endpoint-missing"}, podEndpointMissing, []source{srcEndpoints, srcTargetPod, srcPods, srcCNILogs}},
	{"pod endpoint healthy", []string{"pod-endpoint-unhealthy"}, podEndpointUnhealthy, []source{srcEndpoints, srcNamespaces, srcNetworks, srcTargetPod}},
	{"no duplicate endpoint IPs", []string{"duplicate-endpoint-ip"}, duplicateEndpointIP, []source{srcEndpoints, srcNetworks}},
	{"no leaked local endpoints", []string{"stale-local-endpoint"}, staleLocalEndpoint, []source{srcEndpoints, srcPods}},
	{"no stale remote endpoints", []string{"stale-remote-endpoint"}, staleRemoteEndpoint, []source{srcEndpoints, srcPods, srcNodes, srcK8sServices, srcSlices, srcLBs}},
	{"pod address pool", []string{"pod-ip-exhaustion"}, podIPExhaustion, []source{srcCNILogs, srcIPAM, srcEndpoints, srcNodes}},
	// DNS.
	{"pod DNS servers", []string{"dns-server-mismatch"}, dnsServerMismatch, []source{srcEndpoints, srcPodDNS, srcTargetPod, srcKubeletConf, srcKubeDNS}},
	{"pod DNS search list", []string{"dns-suffix-incomplete"}, dnsSuffixIncomplete, []source{srcEndpoints, srcPodDNS, srcTargetPod, srcKubeletConf}},
	{"dotted DNS names", []string{"dns-dotted-name-semantics"}, dnsDottedNameSemantics, []source{srcProbes, srcTargetPod}},
	{"DNS probes", []string{"dns-resolution-failed"}, dnsResolutionFailed, []source{srcProbes, srcLBs, srcPodDNS, srcKubeDNS}},
	// Services and kube-proxy.
	{"service load balancers present", []string{"service-lb-missing"}, serviceLBMissing, []source{srcK8sServices, srcSlices, srcLBs, srcKubeProxyLog, srcEvents}},
	{"no stale load balancers", []string{"service-lb-stale"}, serviceLBStale, []source{srcLBs, srcK8sServices, srcSlices, srcEndpoints}},
	{"load balancer backends", []string{"service-lb-backends-mismatch"}, serviceLBBackendsMismatch, []source{srcLBs, srcEndpoints, srcK8sServices, srcSlices}},
	{"traffic policy Local", []string{"traffic-policy-local-no-endpoints"}, trafficPolicyLocalNoEndpoints, []source{srcK8sServices, srcSlices, srcPods}},
	{"kube-proxy running", []string{"kube-proxy-not-running"}, kubeProxyNotRunning, []source{srcServices, srcProcesses, srcPods, srcKubeProxyLog, srcEvents}},
	{"kube-proxy HNS programming errors", []string{"kube-proxy-policy-errors"}, kubeProxyPolicyErrors, []source{srcKubeProxyLog}},
	{"overlay source VIP present", []string{"source-vip-missing"}, sourceVIPMissing, []source{srcNetworks, srcKubeProxyConf, srcLBs, srcEndpoints, srcKubeProxyLog}},
	{"overlay source VIP valid", []string{"source-vip-invalid"}, sourceVIPInvalid, []source{srcNetworks, srcKubeProxyConf, srcLBs, srcEndpoints, srcKubeProxyLog, srcPods}},
	{"DSR support", []string{"dsr-unsupported"}, dsrUnsupported, []source{srcKubeProxyConf, srcHNSVersion, srcLBs, srcEvents}},
	{"health-check ports", []string{"healthcheck-port-conflict"}, healthCheckPortConflict, []source{srcK8sServices, srcPortRanges, srcKubeProxyLog}},
	// Network, CNI and node.
	{"HNS network present", []string{"hns-network-missing"}, hnsNetworkMissing, []source{srcNetworks, srcKubeProxyConf, srcCNIConfig, srcKubeProxyLog, srcCNILogs}},
	{"HNS network healthy", []string{"hns-network-unhealthy"}, hnsNetworkUnhealthy, []source{srcNetworks}},
	{"overlay remote subnets", []string{"overlay-remote-subnet-missing"}, overlayRemoteSubnetMissing, []source{srcNetworks, srcNodes}},
	{"CNI config valid", []string{"cni-config-invalid"}, cniConfigInvalid, []source{srcCNIConfig, srcEndpoints}},
	{"CNI config matches HNS", []string{"cni-config-drift"}, cniConfigDrift, []source{srcCNIConfig, srcEndpoints, srcNetworks}},
	{"CNI daemon running", []string{"cni-daemon-not-running"}, cniDaemonNotRunning, []source{srcCNIConfig, srcServices, srcProcesses, srcPods, srcCNILogs}},
	{"CNI and runtime compatible", []string{"cni-runtime-incompatible"}, cniRuntimeIncompatible, []source{srcCNIConfig, srcServices, srcNodes, srcCNILogs}},
	{"OutBoundNAT exceptions", []string{"outboundnat-exceptions-mismatch"}, outboundNATExceptionsMismatch, []source{srcEndpoints, srcCNIConfig, srcNodes, srcK8sServices, srcCloud}},
	{"NetworkPolicy and SNAT", []string{"networkpolicy-snat-conflict"}, networkPolicySNATConflict, []source{srcPolicies, srcEndpoints, srcPods}},
	{"NetworkPolicy enforcement", []string{"networkpolicy-not-enforced"}, networkPolicyNotEnforced, []source{srcPolicies, srcCNIConfig, srcPods}},
	{"NetworkPolicy verdict for probed flows", []string{"networkpolicy-denies"}, networkPolicyDenies, []source{srcProbes, srcPolicies, srcK8sServices, srcSlices}},
	{"overlay MTU", []string{"overlay-mtu-mismatch"}, overlayMTUMismatch, []source{srcNetworks, srcAdapters, srcCNIConfig, srcFlannelConf}},
	{"HNS restarts", []string{"hns-restarted"}, hnsRestarted, []source{srcEvents, srcKubeProxyLog}},
	{"HNS event log errors", []string{"hns-errors"}, hnsErrors, []source{srcEvents}},
	{"known OS build defects", []string{"os-build-known-issue"}, osBuildKnownIssue, []source{srcOS, srcHotfixes}},
	{"dynamic port pool", []string{"port-exhaustion"}, portExhaustion, []source{srcPortRanges, srcTCP, srcEvents}},
	{"excluded port ranges", []string{"port-reservation-conflict"}, portReservationConflict, []source{srcPortRanges, srcK8sServices, srcNetworks}},
	{"Windows Firewall", []string{"firewall-blocking"}, firewallBlocking, []source{srcFirewall, srcNetworks}},
}

// Run applies every rule and sorts findings by severity then id.
func Run(in Input) Result {
	res := Result{Findings: []Finding{}}
	if in.Snapshot == nil {
		res.NotChecked = append(res.NotChecked, NotChecked{Check: "all checks", Missing: "no node snapshot was collected"})
		return res
	}
	in.x = newIndex(in)
	for _, r := range rules {
		fs, missing := r.check(in)
		stampSources(in.x, r.srcs, fs)
		if missing != "" {
			res.NotChecked = append(res.NotChecked, NotChecked{Check: r.name, Missing: missing})
		}
		res.Findings = append(res.Findings, fs...)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if SeverityRank(a.Severity) != SeverityRank(b.Severity) {
			return SeverityRank(a.Severity) > SeverityRank(b.Severity)
		}
		return a.ID < b.ID
	})
	return res
}

// ix returns the shared index, building it when a rule is called on its own (tests).
func (in Input) ix() *index {
	if in.x != nil {
		return in.x
	}
	return newIndex(in)
}

// SeverityRank orders severities: error 3, warning 2, info 1, unknown 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}
