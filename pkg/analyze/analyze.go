// Package analyze judges a node snapshot against the cluster's facts. Every rule is a pure
// function of its Input returning findings; ids are the stable contract listed in FINDINGS.md.
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
}

// Result is the analyzer's output.
type Result struct {
	Findings   []Finding    `json:"findings"`
	NotChecked []NotChecked `json:"notChecked,omitempty"`
}

// rule is one check. It returns findings, or a non-empty "missing" when its evidence is absent.
type rule struct {
	name  string
	check func(in Input) (findings []Finding, missing string)
}

var rules = []rule{
	{"pod endpoint present", podEndpointMissing},
	{"service load balancers present", serviceLBMissing},
	{"HNS event log errors", hnsErrors},
	{"kube-proxy HNS programming errors", kubeProxyPolicyErrors},
}

// Run applies every rule and sorts findings by severity then id.
func Run(in Input) Result {
	res := Result{Findings: []Finding{}}
	for _, r := range rules {
		fs, missing := r.check(in)
		if missing != "" {
			res.NotChecked = append(res.NotChecked, NotChecked{Check: r.name, Missing: missing})
			continue
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
