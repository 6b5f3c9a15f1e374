package report

import (
	"sort"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
)

// FleetKind is the kind of a many-node report.
const FleetKind = "FleetReport"

// Node statuses in a fleet report.
const (
	NodeOK         = "ok"         // diagnosed completely
	NodeIncomplete = "incomplete" // the collector stopped early; its report holds what arrived
	NodeFailed     = "failed"     // no diagnosis: the node was not Ready, the pod never started, ...
)

// Fleet is one diagnosis over many nodes: the findings grouped by id across nodes, the traits
// in which the nodes differ, and a row per node (with its full report in json and yaml).
type Fleet struct {
	APIVersion  string         `json:"apiVersion"`
	Kind        string         `json:"kind"`
	GeneratedAt time.Time      `json:"generatedAt"`
	Plugin      Versions       `json:"plugin"`
	Summary     FleetSummary   `json:"summary"`
	Groups      []FindingGroup `json:"findings"`
	Divergences []Divergence   `json:"divergences,omitempty"`
	Nodes       []FleetNode    `json:"nodes"`
}

// FleetSummary counts the nodes by outcome.
type FleetSummary struct {
	Selected int `json:"selected"` // Windows nodes the run was asked to diagnose
	// Diagnosed counts the nodes with a report (FindingGroup.Of), Incomplete those of them
	// whose collection stopped early; Failed the nodes without one.
	Diagnosed  int    `json:"diagnosed"`
	Incomplete int    `json:"incomplete"`
	Failed     int    `json:"failed"`
	Worst      string `json:"worst,omitempty"` // the highest finding severity on any node
	// Notes say what the selection left out and why, e.g. "2 Linux nodes skipped".
	Notes []string `json:"notes,omitempty"`
}

// FindingGroup is one finding (an id about the same objects) and the nodes it was made on.
type FindingGroup struct {
	ID          string              `json:"id"`
	Severity    string              `json:"severity"` // the highest on any node
	Title       string              `json:"title"`    // as worded on the first node (by name) with that severity
	Objects     []analyze.ObjectRef `json:"objects,omitempty"`
	Remediation string              `json:"remediation"`
	Nodes       []string            `json:"nodes"`
	// Of is how many nodes were judged (diagnosed, completely or not), so "Nodes of Of"
	// reads "on 7 of 40 nodes"; Everywhere says the finding was made on every one of them.
	Of         int  `json:"of"`
	Everywhere bool `json:"everywhere"`
}

// Divergence is a trait the judged nodes do not share, e.g. their Windows build: each variant
// with the nodes that have it, the most common first.
type Divergence struct {
	Trait    string    `json:"trait"`
	Variants []Variant `json:"variants"`
}

// Variant is one value of a divergent trait.
type Variant struct {
	Value string   `json:"value"`
	Nodes []string `json:"nodes"`
}

// FleetNode is one node's row; Report is its full report when it was diagnosed.
type FleetNode struct {
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	Error    string  `json:"error,omitempty"`
	Worst    string  `json:"worst,omitempty"`
	Findings int     `json:"findingCount"`
	Report   *Report `json:"report,omitempty"`
}

// NodeResult is what a many-node run learned about one node, for BuildFleet.
type NodeResult struct {
	Name   string
	Report *Report // nil when the node could not be diagnosed
	Err    error   // why not, or why the collection stopped early (Report set)
	// Traits are the node's values of the traits compared across nodes (trait -> value),
	// e.g. "Windows build" -> "20348.2849"; a trait the node did not report is absent.
	Traits map[string]string
}

// BuildFleet groups per-node results into one report. Nodes are listed by name.
func BuildFleet(results []NodeResult, plugin Versions, notes []string) *Fleet {
	rs := append([]NodeResult(nil), results...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	f := &Fleet{APIVersion: APIVersion, Kind: FleetKind, GeneratedAt: time.Now().UTC(), Plugin: plugin,
		Groups: []FindingGroup{}, Nodes: []FleetNode{}}
	f.Summary.Selected, f.Summary.Notes = len(rs), notes

	groups := map[string]*FindingGroup{}
	var order []string
	traits := map[string]map[string][]string{} // trait -> value -> nodes
	judged := 0
	for _, r := range rs {
		row := FleetNode{Name: r.Name, Status: NodeOK, Report: r.Report}
		switch {
		case r.Report == nil:
			row.Status = NodeFailed
			f.Summary.Failed++
		case r.Err != nil:
			row.Status = NodeIncomplete
			f.Summary.Incomplete++
			f.Summary.Diagnosed++
		default:
			f.Summary.Diagnosed++
		}
		if r.Err != nil {
			row.Error = r.Err.Error()
		} else if r.Report == nil {
			row.Error = "no diagnosis was made (no reason was recorded)"
		}
		if r.Report != nil {
			judged++
			row.Worst, row.Findings = r.Report.Worst(), len(r.Report.Findings)
			if analyze.SeverityRank(row.Worst) > analyze.SeverityRank(f.Summary.Worst) {
				f.Summary.Worst = row.Worst
			}
			seen := map[string]bool{} // a node counts once per group
			for _, fd := range r.Report.Findings {
				objs := othersThan(fd.Objects, r.Name)
				key := groupKey(fd.ID, objs)
				g := groups[key]
				if g == nil {
					g = &FindingGroup{ID: fd.ID, Severity: fd.Severity, Title: fd.Title, Objects: objs, Remediation: fd.Remediation}
					groups[key] = g
					order = append(order, key)
				}
				if analyze.SeverityRank(fd.Severity) > analyze.SeverityRank(g.Severity) {
					// The title and fix read as on a node where it is that bad.
					g.Severity, g.Title, g.Remediation = fd.Severity, fd.Title, fd.Remediation
				}
				if !seen[key] {
					seen[key] = true
					g.Nodes = append(g.Nodes, r.Name)
				}
			}
			for t, v := range r.Traits {
				if traits[t] == nil {
					traits[t] = map[string][]string{}
				}
				traits[t][v] = append(traits[t][v], r.Name)
			}
		}
		f.Nodes = append(f.Nodes, row)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := groups[order[i]], groups[order[j]]
		if ra, rb := analyze.SeverityRank(a.Severity), analyze.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if len(a.Nodes) != len(b.Nodes) {
			return len(a.Nodes) > len(b.Nodes)
		}
		return order[i] < order[j] // id, then the objects it is about
	})
	for _, key := range order {
		g := groups[key]
		g.Of, g.Everywhere = judged, len(g.Nodes) == judged
		f.Groups = append(f.Groups, *g)
	}
	f.Divergences = divergences(traits)
	return f
}

// groupKey is a finding's id and the objects it is about: "service-lb-missing" about Service
// shop/web and about Service shop/api are two groups, so each reads "on 7 of 40 nodes".
func groupKey(id string, objects []analyze.ObjectRef) string {
	var objs []string
	for _, o := range objects {
		objs = append(objs, o.Kind+"/"+o.Namespace+"/"+o.Name)
	}
	sort.Strings(objs)
	return id + "|" + strings.Join(objs, ",")
}

// othersThan drops the reporting node from a finding's objects: a finding about each node's
// own state (its build, its stale endpoints) is one finding made on many nodes, not one per
// node. Other nodes named (a route to another node's subnet) stay.
func othersThan(objects []analyze.ObjectRef, node string) []analyze.ObjectRef {
	var out []analyze.ObjectRef
	for _, o := range objects {
		if o.Kind == "Node" && o.Name == node {
			continue
		}
		out = append(out, o)
	}
	return out
}

// divergences lists the traits with more than one value, by trait name; within a trait, the
// value most nodes share comes first.
func divergences(traits map[string]map[string][]string) []Divergence {
	var out []Divergence
	for t, values := range traits {
		if len(values) < 2 {
			continue
		}
		d := Divergence{Trait: t}
		for v, nodes := range values {
			d.Variants = append(d.Variants, Variant{Value: v, Nodes: nodes})
		}
		sort.Slice(d.Variants, func(i, j int) bool {
			a, b := d.Variants[i], d.Variants[j]
			if len(a.Nodes) != len(b.Nodes) {
				return len(a.Nodes) > len(b.Nodes)
			}
			return a.Value < b.Value
		})
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Trait < out[j].Trait })
	return out
}

// Worst returns the highest severity on any node ("" when none).
func (f *Fleet) Worst() string { return f.Summary.Worst }
