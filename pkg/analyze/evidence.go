package analyze

import (
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// A source is one kind of evidence a rule can judge on. Each rule lists the sources it reads;
// Run stamps every finding with the ones that were there (JudgedOn) and the ones that were not
// (Lacking), so a reader of a finding made from a partial dump knows how far to trust it and
// what to collect to be sure.
type source struct {
	name string
	have func(x *index) bool
}

func artifact(kinds ...string) func(x *index) bool {
	return func(x *index) bool {
		for _, k := range kinds {
			if x.s.Have[k] {
				return true
			}
		}
		return false
	}
}

func clusterFact(fact string) func(x *index) bool {
	return func(x *index) bool { return x.clusterMissing(fact) == "" }
}

func logOf(components ...string) func(x *index) bool {
	return func(x *index) bool {
		for _, c := range components {
			if len(x.s.Logs(c)) > 0 {
				return true
			}
		}
		return false
	}
}

var (
	srcNetworks      = source{"HNS networks", func(x *index) bool { return len(x.s.Networks) > 0 || x.s.Have[wire.KindHCNNetworks] }}
	srcEndpoints     = source{"HNS endpoints", artifact(wire.KindHCNEndpoints, wire.KindHNSEndpointsV1)}
	srcLBs           = source{"HNS load balancers", artifact(wire.KindHCNLoadBalancers, wire.KindHNSPolicyLists)}
	srcNamespaces    = source{"HNS namespaces", artifact(wire.KindHCNNamespaces)}
	srcHNSVersion    = source{"HNS version", func(x *index) bool { return x.s.HNSVersion != "" }}
	srcEvents        = source{"Windows event log", artifact(wire.KindEvents)}
	srcServices      = source{"Windows services", artifact(wire.KindServices)}
	srcProcesses     = source{"process list", artifact(wire.KindProcesses)}
	srcOS            = source{"OS build", func(x *index) bool { return x.s.OS != nil && x.s.OS.Build != "" }}
	srcHotfixes      = source{"installed hotfixes", artifact(wire.KindHotfixes)}
	srcAdapters      = source{"host adapters", artifact(wire.KindHostAdapters)}
	srcPortRanges    = source{"port ranges", func(x *index) bool { return x.s.PortRanges != nil }}
	srcTCP           = source{"TCP connections", func(x *index) bool { return x.s.TCPConnections != nil }}
	srcFirewall      = source{"Windows Firewall", func(x *index) bool { return x.s.Firewall != nil }}
	srcProbes        = source{"probes from the pod", func(x *index) bool { return len(x.s.Probes) > 0 }}
	srcPodDNS        = source{"the pod's DNS view", func(x *index) bool { return x.s.Pod != nil && x.s.Pod.DNS != nil }}
	srcCloud         = source{"cloud address spaces", func(x *index) bool { return len(x.s.CloudAddressSpaces) > 0 }}
	srcKubeProxyLog  = source{"kube-proxy log", logOf(wire.LogKubeProxy)}
	srcKubeProxyConf = source{"kube-proxy configuration", func(x *index) bool { return x.s.KubeProxy != nil }}
	srcKubeletConf   = source{"kubelet configuration", func(x *index) bool { return x.s.Kubelet != nil }}
	srcCNIConfig     = source{"CNI config", func(x *index) bool { return len(x.s.CNIConfigs) > 0 }}
	srcFlannelConf   = source{"flannel configuration", func(x *index) bool { return x.s.Flannel != nil }}
	srcIPAM          = source{"IPAM state", func(x *index) bool { return len(x.s.IPAMPools) > 0 }}
	srcCNILogs       = source{"CNI and runtime logs", logOf(wire.LogFlanneld, wire.LogCalico, wire.LogAzureVnet, wire.LogContainerd, wire.LogKubelet)}

	srcTargetPod   = source{"the target pod", func(x *index) bool { return x.in.Pod != nil }}
	srcPods        = source{"the node's pods", clusterFact("pods")}
	srcK8sServices = source{"Services", clusterFact("services")}
	srcSlices      = source{"EndpointSlices", clusterFact("endpointslices")}
	srcNodes       = source{"Nodes", clusterFact("node")}
	srcPolicies    = source{"NetworkPolicies", clusterFact("networkpolicies")}
	srcKubeDNS     = source{"the kube-dns Service", clusterFact("kube-dns")}
)

// stampSources records on each finding which of the rule's sources it was judged on and
// which were missing.
func stampSources(x *index, srcs []source, fs []Finding) {
	if len(srcs) == 0 || len(fs) == 0 {
		return
	}
	var on, lack []string
	for _, s := range srcs {
		if s.have(x) {
			on = append(on, s.name)
		} else {
			lack = append(lack, s.name)
		}
	}
	for i := range fs {
		fs[i].JudgedOn = on
		fs[i].Lacking = lack
	}
}
