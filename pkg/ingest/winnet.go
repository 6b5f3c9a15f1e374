package ingest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

var wireTypes = map[string]bool{wire.TypeHello: true, wire.TypeArtifact: true, wire.TypeProbe: true, wire.TypeProgress: true, wire.TypeError: true, wire.TypeDone: true}

// recogniseWinnetRecords reads winnet's own NDJSON records (a bundle's records.ndjson, or the
// collector's output saved with `winnet-collector collect > out.ndjson`). They are kept
// verbatim, sources included.
func recogniseWinnetRecords(d *Doc) *Output {
	t := strings.TrimSpace(d.Text)
	firstLine, _, _ := strings.Cut(t, "\n")
	var probe struct {
		V    *int   `json:"v"`
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(firstLine), &probe) != nil || probe.V == nil || !wireTypes[probe.Type] {
		return nil
	}
	recs, err := bundle.DecodeRecords([]byte(t))
	if err != nil {
		return &Output{Format: "winnet-records", Unused: true, Notes: []string{err.Error()}}
	}
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Type]++
	}
	return &Output{Format: "winnet-records", Detail: kindCounts(counts), Records: recs, verbatim: true}
}

// recogniseWinnetMeta reads a bundle's report.json, versions.json and README.txt. The report is
// not re-used (the findings are recomputed from the records by this plugin's rules) but its
// target says which pod the diagnosis was about.
func recogniseWinnetMeta(d *Doc) *Output {
	if strings.HasPrefix(strings.TrimSpace(d.Text), bundle.ReadmeFirstLine) {
		return &Output{Format: "winnet-bundle-readme", Detail: "what the bundle holds"}
	}
	objs := d.Objects()
	if len(objs) != 1 || !strings.HasPrefix(objs[0].str("apiversion"), "winnet.kubectl.dev/") {
		return nil
	}
	switch objs[0].str("kind") {
	case report.Kind:
		var r report.Report
		if json.Unmarshal(objs[0].raw, &r) != nil {
			return nil
		}
		out := &Output{Format: "winnet-report", Target: &r.Target, Path: r.Path,
			Detail: fmt.Sprintf("%d findings by plugin %s", len(r.Findings), r.Plugin.Version),
			Notes:  []string{"a previous report: its target is used, its findings are recomputed from the records"}}
		if r.Path != nil {
			out.Notes = append(out.Notes, "its path walk (probes run live) is shown as that run judged it")
		}
		return out
	case bundle.VersionsKind:
		var v bundle.Versions
		if json.Unmarshal(objs[0].raw, &v) != nil {
			return nil
		}
		out := &Output{Format: "winnet-bundle-versions", Detail: fmt.Sprintf("bundle format %d, plugin %s, collector %s", v.BundleFormat, v.Plugin, v.CollectorVersion)}
		if v.BundleFormat > bundle.Format {
			out.Notes = append(out.Notes, fmt.Sprintf("bundle format %d is newer than this plugin knows (%d); some of it may be ignored: use a newer kubectl-winnet", v.BundleFormat, bundle.Format))
		}
		return out
	}
	return nil
}

// recogniseWinnetCluster reads a bundle's cluster.json (facts.Cluster).
func recogniseWinnetCluster(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) != 1 || !objs[0].has("nodename") || objs[0].has("apiversion") || objs[0].has("kind") {
		return nil
	}
	cl, err := bundle.DecodeCluster(objs[0].raw)
	if err != nil || cl == nil {
		return nil
	}
	return &Output{Format: "winnet-cluster-facts", Cluster: cl,
		Detail: fmt.Sprintf("node %s: %d pods, %d services, %d endpoint slices, %d network policies", cl.NodeName, len(cl.Pods), len(cl.Services), len(cl.EndpointSlices), len(cl.NetworkPolicies))}
}
