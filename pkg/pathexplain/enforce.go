package pathexplain

import (
	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// policyEnforcement says whether the node enforces NetworkPolicy on its Windows pods, which
// component decides it, and whether that is known at all. The analyzer's judgement, so the
// path and the networkpolicy-not-enforced finding never disagree.
func policyEnforcement(snap *snapshot.Snapshot, cl *facts.Cluster) (enforced bool, who string, known bool) {
	return analyze.PolicyEnforced(snap, cl)
}
