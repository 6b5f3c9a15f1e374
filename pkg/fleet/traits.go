package fleet

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// Traits compared across nodes. Nodes of one pool should agree on each; when they do not, the
// odd ones out are the first suspects for a fault seen on some nodes only.
const (
	TraitWindowsBuild   = "Windows build"
	TraitHNSVersion     = "HNS version"
	TraitKubeletVersion = "kubelet version"
	TraitCNIConfig      = "CNI config"
)

// Traits are node's values of the compared traits; a trait the node did not report is absent.
func Traits(snap *snapshot.Snapshot, node *corev1.Node) map[string]string {
	t := map[string]string{}
	if node != nil && node.Status.NodeInfo.KubeletVersion != "" {
		t[TraitKubeletVersion] = node.Status.NodeInfo.KubeletVersion
	}
	if snap == nil {
		return t
	}
	if snap.OS != nil && snap.OS.Build != "" {
		v := snap.OS.Build
		if snap.OS.UBR > 0 {
			v += fmt.Sprintf(".%d", snap.OS.UBR)
		}
		t[TraitWindowsBuild] = v
	}
	if snap.HNSVersion != "" {
		t[TraitHNSVersion] = snap.HNSVersion
	}
	if len(snap.CNIConfigs) > 0 {
		t[TraitCNIConfig] = cniDigest(snap.CNIConfigs[0], nodeIPs(node, snap))
	}
	return t
}

// cniDigest names the CNI config the runtime reads first, with a digest of what should be the
// same on every node of a pool. The pod subnet is left out and the node's own addresses (in
// the route and NAT-exception policies of L2Bridge configs) are masked: they are each node's own.
func cniDigest(c snapshot.CNIConfig, ips []string) string {
	c.Subnets = nil
	b, _ := json.Marshal(c)
	for _, ip := range ips {
		b = regexp.MustCompile(`\b`+regexp.QuoteMeta(ip)+`\b`).ReplaceAll(b, []byte("NODE-IP"))
	}
	sum := sha256.Sum256(b)
	kind := c.Type
	if c.DelegateType != "" {
		kind += "→" + c.DelegateType
	}
	return fmt.Sprintf("%s (%s, digest %x)", path.Base(strings.ReplaceAll(c.Path, `\`, "/")), kind, sum[:4])
}

// nodeIPs are the node's addresses as the cluster and the node itself report them.
func nodeIPs(node *corev1.Node, snap *snapshot.Snapshot) []string {
	var ips []string
	if node != nil {
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
				ips = append(ips, a.Address)
			}
		}
	}
	for _, n := range snap.Networks {
		if n.ManagementIP != "" {
			ips = append(ips, n.ManagementIP)
		}
	}
	return ips
}
