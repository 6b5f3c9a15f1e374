package pathexplain

import (
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// enforcers is which CNIs (or policy engines) enforce NetworkPolicy for Windows pods. Calico
// and Antrea do, and Azure NPM and Cilium where they run; flannel and the plain win-bridge,
// win-overlay, sdnbridge and sdnoverlay plugins (and host-gw routing) program no policy at all.
var enforcers = map[string]bool{
	"calico": true, "antrea": true, "azure-npm": true, "cilium": true,
	"flannel": false, "win-bridge": false, "win-overlay": false, "sdnbridge": false, "sdnoverlay": false,
	"host-gw": false, "azure-vnet": false, "azure-cns": false,
}

// policyEnforcement says whether the node enforces NetworkPolicy on its Windows pods, which
// component decides it, and whether that is known at all.
func policyEnforcement(snap *snapshot.Snapshot, cl *facts.Cluster) (enforced bool, who string, known bool) {
	if cl != nil {
		// A policy engine on the node (Azure NPM, Calico's felix in policy-only mode) enforces
		// whatever the CNI is.
		for _, c := range cl.Components {
			if c.Role == facts.RoleNetPolicy {
				return true, c.Name, true
			}
		}
		for _, c := range cl.Components {
			if e, ok := enforcers[strings.ToLower(c.Name)]; ok && c.Role == facts.RoleCNI && e {
				return true, c.Name, true
			}
		}
	}
	if snap != nil {
		if c := snap.ActiveCNI(); c != nil {
			// The most specific plugin decides: flannel delegating to win-bridge is flannel.
			for _, name := range []string{"calico", "antrea", "cilium", "flannel", "azure-vnet", "sdnoverlay", "sdnbridge", "win-overlay", "win-bridge"} {
				if c.HasPlugin(name) {
					return enforcers[name], name, true
				}
			}
		}
	}
	if cl != nil {
		for _, c := range cl.Components {
			if e, ok := enforcers[strings.ToLower(c.Name)]; ok && c.Role == facts.RoleCNI {
				return e, c.Name, true
			}
		}
	}
	return false, "", false
}
