package ingest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Log line shapes. klog lines may sit behind a prefix (an event log export, a service
// wrapper), so the klog pattern is not anchored.
var (
	klogRe    = regexp.MustCompile(`\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{3,}\s+\d+ [\w./-]+:\d+\]`)
	logrusRe  = regexp.MustCompile(`^time="?[0-9T:.\-+Z ]+"? level=\w+`)
	calicoRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \[(?:INFO|WARNING|ERROR|DEBUG|PANIC|FATAL)\]\[\d+\] `)
	golangRe  = regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? `)
	isoLogRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+(?:\[?(?:INFO|WARN|WARNING|ERROR|DEBUG|info|warn|error|debug)\]?)`)
	klogFlags = regexp.MustCompile(`FLAG: (--[\w-]+)="(.*)"$`)
)

func isLogLine(l string) bool {
	switch {
	case klogRe.MatchString(l), logrusRe.MatchString(l), calicoRe.MatchString(l), golangRe.MatchString(l), isoLogRe.MatchString(l):
		return true
	case strings.HasPrefix(l, "{") && strings.HasSuffix(l, "}"):
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) != nil {
			return false
		}
		_, lvl := m["level"]
		_, msg := m["msg"]
		_, msg2 := m["message"]
		return lvl && (msg || msg2)
	}
	return false
}

// logSignals are content clues per component, with weights. A component wins by the highest
// total; the file name is never consulted.
var logSignals = map[string][]struct {
	s string
	w int
}{
	wire.LogKubeProxy: {{"proxier.go", 5}, {"winkernel", 5}, {"Kernelspace Proxier", 5}, {"hnsV2.go", 4}, {"hns.go:", 2}, {"Policy creation failed", 4},
		{"Hns Endpoint resource", 4}, {"--proxy-mode", 4}, {"--source-vip", 3}, {"Syncing Policies", 3}, {"kube-proxy", 2}, {"syncProxyRules", 3},
		{"server_windows.go", 2}, {"Unable to find HNS Network", 4}, {"loadbalancer.go", 2}, {"HNS LoadBalancer", 3}},
	wire.LogKubelet: {{"kubelet.go", 4}, {"kuberuntime_", 4}, {"pod_workers.go", 4}, {"kubelet_node_status.go", 5}, {"docker_sandbox.go", 3},
		{"remote_runtime.go", 3}, {"eviction_manager.go", 4}, {"--pod-infra-container-image", 4}, {"cpu_manager", 3}, {"Kubelet", 1},
		{"RunPodSandbox", 1}, {"volume_manager", 3}, {"FailedCreatePodSandBox", 1}},
	wire.LogFlanneld: {{"flannel", 2}, {"subnet.env", 4}, {"vxlan_windows.go", 5}, {"vxlan_network_windows.go", 5}, {"hostgw_windows.go", 5},
		{"CLI flags config", 4}, {"etcdPrefix", 4}, {"subnet manager", 3}, {"FLANNEL_", 3}, {"kube.go", 1}},
	wire.LogCalico: {{"felix/", 5}, {"calico", 2}, {"confd", 2}, {"[INFO][", 2}, {"Felix", 3}, {"calico-node", 3}, {"bird", 1}},
	wire.LogContainerd: {{"containerd", 3}, {"io.containerd", 4}, {"runtime.v1.CRIService", 4}, {"RunPodSandbox for", 3}, {"shim", 1},
		{"level=info msg=", 1}, {"snapshotter", 2}},
	wire.LogAzureVnet: {{"[cni-net]", 5}, {"[cni-ipam]", 5}, {"azure-vnet", 4}, {"[azure-cns]", 4}, {"[net]", 2}, {"[cni]", 2}},
	wire.LogCSIProxy:  {{"csi-proxy", 5}, {"csi.proxy", 3}},
}

// recogniseLog reads component logs: klog ("I1126 10:00:00.000000 1234 proxier.go:123]"),
// logrus ("time=... level=... msg=..."), calico's "[INFO][pid]" lines, Go's log package and
// JSON lines. The component is decided from the content (proxier.go/winkernel is kube-proxy,
// felix/ is calico, [cni-net] is azure-vnet, ...).
func recogniseLog(d *Doc) *Output {
	ls := d.Lines()
	total, matched := 0, 0
	for _, l := range ls {
		if strings.TrimSpace(l) == "" {
			continue
		}
		total++
		if isLogLine(l) {
			matched++
		}
		if total >= 400 {
			break
		}
	}
	if matched == 0 || (total >= 3 && matched < 3) || matched*10 < total*3 {
		return nil
	}
	scores := map[string]int{}
	sample := head(d.Text, 512<<10)
	for comp, sigs := range logSignals {
		for _, s := range sigs {
			if strings.Contains(sample, s.s) {
				scores[comp] += s.w
			}
		}
	}
	comp, best := "", 0
	comps := make([]string, 0, len(scores))
	for c := range scores {
		comps = append(comps, c)
	}
	sort.Strings(comps) // a deterministic winner on ties
	for _, c := range comps {
		if scores[c] > best {
			comp, best = c, scores[c]
		}
	}
	out := &Output{}
	role := wire.RoleLogPrefix + "unknown"
	if best >= 3 {
		role = wire.RoleLogPrefix + comp
		out.Format = "log:" + comp
	} else {
		out.Format = "log"
		out.Notes = append(out.Notes, "a log, but nothing in it says which component wrote it; it is kept under role log:unknown")
	}
	out.Records = append(out.Records, fileRecord(role, d.Text))
	out.Detail = fmt.Sprintf("%d lines", len(ls))
	// kube-proxy and kubelet print their flags at start (FLAG: --x="y"): the command line the
	// analyzer would otherwise need from the service definition.
	if comp == wire.LogKubeProxy || comp == wire.LogKubelet {
		var args []string
		for _, l := range ls {
			if m := klogFlags.FindStringSubmatch(l); m != nil && m[2] != "" {
				args = append(args, m[1]+"="+m[2])
			}
		}
		if len(args) > 0 {
			argRole := wire.RoleKubeProxyArgs
			if comp == wire.LogKubelet {
				argRole = wire.RoleKubeletArgs
			}
			out.Records = append(out.Records, fileRecord(argRole, comp+" "+strings.Join(args, " ")))
			out.Notes = append(out.Notes, fmt.Sprintf("%d flags read from the log's FLAG lines (%s)", len(args), argRole))
		}
	}
	return out
}
