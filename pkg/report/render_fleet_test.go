package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/ (go test ./pkg/report -run Fleet -update)")

var fleetTime = time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)

// nodeReport is a minimal diagnosed node's report.
func nodeReport(node string, findings ...analyze.Finding) *Report {
	return &Report{
		APIVersion: APIVersion, Kind: Kind, GeneratedAt: fleetTime,
		Plugin:   Versions{Version: "v1.2.3"},
		Target:   Target{Input: "node/" + node, Node: node},
		Node:     Node{Name: node, OS: "Windows Server 2022 Datacenter build 20348.2849", HNSVersion: "15.4"},
		Findings: append([]analyze.Finding{}, findings...),
		Collected: Collected{
			Networks: []snapshot.Network{}, Endpoints: []Endpoint{}, LoadBalancers: []snapshot.LoadBalancer{},
		},
	}
}

func lbMissing(ns, name string) analyze.Finding {
	return analyze.Finding{
		ID: "service-lb-missing", Severity: analyze.SeverityError,
		Title:       fmt.Sprintf("Service %s/%s has no HNS load balancer for its ClusterIP", ns, name),
		Objects:     []analyze.ObjectRef{{Kind: "Service", Namespace: ns, Name: name}},
		Remediation: "restart kube-proxy on the node (Restart-Service kube-proxy) and watch its log for HNS errors",
	}
}

func proxyRestarts() analyze.Finding {
	return analyze.Finding{
		ID: "kube-proxy-restarts", Severity: analyze.SeverityWarning,
		Title:       "kube-proxy restarted 4 times in the last hour",
		Remediation: "read the previous kube-proxy log (kubectl logs --previous) for the cause of the exits",
	}
}

func dnsOrder() analyze.Finding {
	return analyze.Finding{
		ID: "dns-server-order", Severity: analyze.SeverityInfo,
		Title:       "the cluster DNS server is second on the pod's list",
		Remediation: "put the cluster DNS server first in the CNI configuration",
	}
}

// mixedFleet has ten nodes: one failed, one incomplete, a finding everywhere, one on seven of
// the nine diagnosed nodes, the same id about another Service on one, an info on one, and a
// Windows build that differs.
func mixedFleet() *Fleet {
	var results []NodeResult
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("win-%03d", i)
		build := "10.0.20348.2849"
		if i == 1 || i == 8 {
			build = "10.0.20348.2700"
		}
		traits := map[string]string{"Windows build": build, "containerd": "1.7.20"}
		switch i {
		case 4:
			results = append(results, NodeResult{Name: name, Err: errors.New(`node "win-004" is not Ready: the kubelet stopped posting node status 14m ago (last heartbeat 2026-11-26T00:48:03Z), so no debug pod was started on it` +
				"\nnode conditions:\n  Ready=Unknown (NodeStatusUnknown)\n  MemoryPressure=Unknown")})
			continue
		case 9:
			r := nodeReport(name, proxyRestarts())
			r.Incomplete = "the collector on node win-009 exited with code 2\ncollector log (last lines):\npanic: runtime error"
			results = append(results, NodeResult{Name: name, Report: r, Err: errors.New(r.Incomplete), Traits: traits})
			continue
		}
		fs := []analyze.Finding{proxyRestarts()}
		if i != 8 {
			fs = append([]analyze.Finding{lbMissing("shop", "web")}, fs...)
		} else {
			fs = append([]analyze.Finding{lbMissing("shop", "api")}, fs...)
		}
		if i == 2 {
			fs = append(fs, dnsOrder())
		}
		results = append(results, NodeResult{Name: name, Report: nodeReport(name, fs...), Traits: traits})
	}
	f := BuildFleet(results, Versions{Version: "v1.2.3", CollectorSHA256: strings.Repeat("ab", 32)}, []string{"2 Linux nodes skipped", "1 unknown OS node skipped (unknown OS): win-odd"})
	f.GeneratedAt = fleetTime
	return f
}

// healthyFleet has three diagnosed nodes, no findings and no differences.
func healthyFleet() *Fleet {
	var results []NodeResult
	for _, name := range []string{"win-b", "win-a", "win-c"} {
		results = append(results, NodeResult{Name: name, Report: nodeReport(name), Traits: map[string]string{"Windows build": "10.0.20348.2849"}})
	}
	f := BuildFleet(results, Versions{Version: "v1.2.3"}, nil)
	f.GeneratedAt = fleetTime
	return f
}

func renderFleet(t *testing.T, f *Fleet, format string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderFleet(&buf, f, format); err != nil {
		t.Fatalf("RenderFleet(%s): %v", format, err)
	}
	return buf.String()
}

func TestFleetGolden(t *testing.T) {
	fleets := map[string]func() *Fleet{"mixed": mixedFleet, "healthy": healthyFleet}
	for name, build := range fleets {
		for _, format := range []string{"table", "wide", "json", "yaml"} {
			t.Run(name+"-"+format, func(t *testing.T) {
				got := renderFleet(t, build(), format)
				golden(t, filepath.Join("testdata", "fleet", name+"-"+format+".golden"), got)
			})
		}
	}
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/report -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("output differs from %s (-want +got; -update rewrites it):\n%s", path, d)
	}
}

// lineWith returns the first line of out containing s.
func lineWith(t *testing.T, out, s string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	t.Fatalf("no line contains %q:\n%s", s, out)
	return ""
}

func TestFleetTableCountsAndCaps(t *testing.T) {
	f := mixedFleet()
	table, wide := renderFleet(t, f, "table"), renderFleet(t, f, "wide")
	if def := renderFleet(t, f, ""); def != table {
		t.Errorf("the default format must be the table")
	}
	for _, want := range []string{
		"Nodes:      10 Windows nodes selected: 9 diagnosed (1 incomplete), 1 failed\n",
		"            2 Linux nodes skipped\n",
		"Versions:   plugin v1.2.3, collector sha256 abababababab…\n",
		"FINDINGS ACROSS NODES (4)\n(collection stopped early on win-009: a finding not made there was not ruled out)\n",
		"ERROR   service-lb-missing on 7 of 9 nodes: Service shop/web has no HNS load balancer",
		"ERROR   service-lb-missing on 1 of 9 nodes: Service shop/api",
		"WARNING kube-proxy-restarts on every diagnosed node (9): kube-proxy restarted",
		"INFO    dns-server-order on 1 of 9 nodes:",
		"        about: Service shop/web\n",
		"        fix: restart kube-proxy",
		"NODES THAT DIFFER\n",
		"NODES (10)\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "\x1b") || strings.Contains(wide, "\x1b") {
		t.Errorf("the tables must not hold terminal escapes")
	}
	if strings.Contains(table, "containerd") {
		t.Errorf("a trait every node shares is not a difference:\n%s", table)
	}

	// Seven nodes: the table names five and counts the rest, wide names all seven.
	sevenTable := lineWith(t, table, "nodes: win-000")
	if want := "        nodes: win-000, win-001, win-002, win-003, win-005 … and 2 more (-o wide lists all)"; sevenTable != want {
		t.Errorf("table node list = %q, want %q", sevenTable, want)
	}
	sevenWide := lineWith(t, wide, "nodes: win-000")
	if want := "        nodes: win-000, win-001, win-002, win-003, win-005, win-006, win-007"; sevenWide != want {
		t.Errorf("wide node list = %q, want %q", sevenWide, want)
	}
	if strings.Contains(wide, "more (-o wide") {
		t.Errorf("wide must not cap lists:\n%s", wide)
	}
	if build := lineWith(t, table, "Windows build"); !strings.Contains(build, "7: win-000, win-002, win-003, win-005, win-006 … and 2 more") {
		t.Errorf("divergence row = %q", build)
	}
	if build := lineWith(t, table, "10.0.20348.2700"); !strings.Contains(build, "2: win-001, win-008") {
		t.Errorf("second variant row = %q", build)
	}
	// A finding on every node needs no list.
	if strings.Contains(table, "win-000, win-001, win-002, win-003, win-005 … and 3 more") {
		t.Errorf("the finding made everywhere lists its nodes:\n%s", table)
	}

	// The failed node's row shows the first line of its error, shortened in the table.
	failed := lineWith(t, table, "win-004 ")
	if !strings.Contains(failed, "failed") || !strings.Contains(failed, `node "win-004" is not Ready`) || !strings.HasSuffix(failed, "…") {
		t.Errorf("failed row = %q", failed)
	}
	if strings.Contains(table, "node conditions") || strings.Contains(wide, "node conditions") {
		t.Errorf("tables must show only an error's first line")
	}
	failedWide := lineWith(t, wide, "win-004 ")
	if !strings.HasSuffix(failedWide, "so no debug pod was started on it") {
		t.Errorf("wide failed row = %q, want the whole first line", failedWide)
	}
	if inc := lineWith(t, table, "win-009 "); !strings.Contains(inc, "incomplete") || !strings.HasSuffix(inc, "exited with code 2") {
		t.Errorf("incomplete row = %q", inc)
	}

	// Wide adds the finding ids, each once.
	if h := lineWith(t, wide, "NODE "); !strings.Contains(h, "FINDING IDS") {
		t.Errorf("wide header = %q", h)
	}
	if h := lineWith(t, table, "NODE "); strings.Contains(h, "FINDING IDS") {
		t.Errorf("table header = %q", h)
	}
	if row := lineWith(t, wide, "win-002 "); !strings.Contains(row, "service-lb-missing,kube-proxy-restarts,dns-server-order") {
		t.Errorf("wide row = %q", row)
	}
	if row := strings.Fields(lineWith(t, wide, "win-004 ")); strings.Join(row[1:5], " ") != "failed - - -" {
		t.Errorf("wide failed row = %q, want no worst, count or ids", row)
	}
}

// At scale the counts read "on 7 of 100 nodes" and "on every node (100)".
func TestFleetTableHundredNodes(t *testing.T) {
	var results []NodeResult
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("win-%03d", i)
		fs := []analyze.Finding{proxyRestarts()}
		if i%14 == 3 {
			fs = append(fs, lbMissing("shop", "web"))
		}
		results = append(results, NodeResult{Name: name, Report: nodeReport(name, fs...)})
	}
	table := renderFleet(t, BuildFleet(results, Versions{Version: "v1.2.3"}, nil), "table")
	for _, want := range []string{
		"Nodes:      100 Windows nodes selected: 100 diagnosed\n",
		"ERROR   service-lb-missing on 7 of 100 nodes:",
		"nodes: win-003, win-017, win-031, win-045, win-059 … and 2 more (-o wide lists all)",
		"WARNING kube-proxy-restarts on every node (100):",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestFleetTableWithoutFindings(t *testing.T) {
	table := renderFleet(t, healthyFleet(), "table")
	if !strings.Contains(table, "FINDINGS ACROSS NODES: none of the checks that ran found a problem on any node.\n") {
		t.Errorf("healthy table:\n%s", table)
	}
	if strings.Contains(table, "NODES THAT DIFFER") {
		t.Errorf("no differences, no section:\n%s", table)
	}
	// Nodes are listed by name whatever order they were diagnosed in.
	if a, b := strings.Index(table, "win-a "), strings.Index(table, "win-b "); a < 0 || b < a {
		t.Errorf("nodes out of order:\n%s", table)
	}

	// When no node could be diagnosed, "no problem found" would be a lie.
	f := BuildFleet([]NodeResult{{Name: "win-1", Err: errors.New("node not Ready")}}, Versions{Version: "v1"}, nil)
	table = renderFleet(t, f, "table")
	if !strings.Contains(table, "FINDINGS ACROSS NODES: none, because no node could be diagnosed.") ||
		!strings.Contains(table, "1 Windows node selected: 0 diagnosed, 1 failed") {
		t.Errorf("all-failed table:\n%s", table)
	}
}

func TestFleetJSONAndYAMLRoundTrip(t *testing.T) {
	f := mixedFleet()
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			raw := []byte(renderFleet(t, f, format))
			if format == "json" && !bytes.HasPrefix(raw, []byte("{\n  \"apiVersion\"")) {
				t.Errorf("json is not indented by two spaces:\n%.80s", raw)
			}
			if format == "yaml" {
				var err error
				if raw, err = yaml.YAMLToJSON(raw); err != nil {
					t.Fatal(err)
				}
			}
			var got Fleet
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got.Kind != FleetKind || got.APIVersion != APIVersion {
				t.Errorf("apiVersion/kind = %q/%q", got.APIVersion, got.Kind)
			}
			if len(got.Nodes) != 10 || len(got.Groups) != len(f.Groups) {
				t.Fatalf("round trip has %d nodes and %d groups, want 10 and %d", len(got.Nodes), len(got.Groups), len(f.Groups))
			}
			if d := cmp.Diff(f, &got); d != "" {
				t.Errorf("round trip differs (-rendered +read back):\n%s", d)
			}
			if got.Nodes[0].Report == nil || got.Nodes[0].Report.Findings[0].ID != "service-lb-missing" {
				t.Errorf("the node's full report is missing: %+v", got.Nodes[0])
			}
		})
	}
}

func TestFleetUnknownFormat(t *testing.T) {
	err := RenderFleet(&bytes.Buffer{}, healthyFleet(), "xml")
	if err == nil || err.Error() != ValidateFormat("xml").Error() {
		t.Fatalf("err = %v", err)
	}
}

// groupIDs reads each group as "id objects: nodes (of N)".
func groupIDs(f *Fleet) []string {
	var out []string
	for _, g := range f.Groups {
		out = append(out, fmt.Sprintf("%s %s %s: %s (of %d, everywhere %v)", g.Severity, g.ID, fleetObjects(g.Objects), strings.Join(g.Nodes, ","), g.Of, g.Everywhere))
	}
	return out
}

func TestBuildFleetGroups(t *testing.T) {
	warnLB := lbMissing("shop", "web")
	warnLB.Severity = analyze.SeverityWarning
	warnLB.Title = "worded on b"
	results := []NodeResult{
		// Given out of order: the first node by name words the title.
		{Name: "c", Report: nodeReport("c", lbMissing("shop", "web"), proxyRestarts())},
		{Name: "b", Report: nodeReport("b", warnLB, lbMissing("shop", "api"), proxyRestarts())},
		// The same finding twice on one node counts that node once.
		{Name: "a", Report: nodeReport("a", proxyRestarts(), proxyRestarts(), dnsOrder(), lbMissing("shop", "api"))},
		{Name: "d", Err: errors.New("not Ready")},
		{Name: "e", Report: nodeReport("e", proxyRestarts(), lbMissing("shop", "api")), Err: errors.New("stopped early")},
	}
	f := BuildFleet(results, Versions{Version: "v1"}, []string{"note"})

	want := []string{
		// Error first; of the two errors, the one on more nodes; the warning about shop/web
		// on b is raised to the error on c.
		"error service-lb-missing Service shop/api: a,b,e (of 4, everywhere false)",
		"error service-lb-missing Service shop/web: b,c (of 4, everywhere false)",
		// The failed node d is not judged: four of four is everywhere.
		"warning kube-proxy-restarts : a,b,c,e (of 4, everywhere true)",
		"info dns-server-order : a (of 4, everywhere false)",
	}
	if d := cmp.Diff(want, groupIDs(f)); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
	// The group is an error (from c), so it reads as worded where it is one, not as on b.
	if f.Groups[1].Title != lbMissing("shop", "web").Title {
		t.Errorf("title = %q, want the wording of the node where it is an error", f.Groups[1].Title)
	}

	wantSummary := FleetSummary{Selected: 5, Diagnosed: 4, Incomplete: 1, Failed: 1, Worst: analyze.SeverityError, Notes: []string{"note"}}
	if d := cmp.Diff(wantSummary, f.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	var rows []string
	for _, n := range f.Nodes {
		rows = append(rows, fmt.Sprintf("%s %s %q %s %d", n.Name, n.Status, n.Error, dash(n.Worst), n.Findings))
	}
	wantRows := []string{
		`a ok "" error 4`,
		`b ok "" error 3`,
		`c ok "" error 2`,
		`d failed "not Ready" - 0`,
		`e incomplete "stopped early" error 2`,
	}
	if d := cmp.Diff(wantRows, rows); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if f.Worst() != analyze.SeverityError || f.Kind != FleetKind || f.Groups == nil {
		t.Errorf("worst %q, kind %q, groups %v", f.Worst(), f.Kind, f.Groups)
	}
}

// Equal severities and node counts fall back to the id.
func TestBuildFleetSortsByID(t *testing.T) {
	z, y := dnsOrder(), dnsOrder()
	z.ID, y.ID = "z-info", "y-info"
	f := BuildFleet([]NodeResult{{Name: "a", Report: nodeReport("a", z, y)}}, Versions{}, nil)
	if f.Groups[0].ID != "y-info" || f.Groups[1].ID != "z-info" {
		t.Errorf("groups = %v", groupIDs(f))
	}
	if empty := BuildFleet(nil, Versions{}, nil); empty.Groups == nil || empty.Nodes == nil || empty.Divergences != nil {
		t.Errorf("an empty fleet = %+v", empty)
	}
}

func TestBuildFleetDivergences(t *testing.T) {
	traits := func(build, proxy string) map[string]string {
		return map[string]string{"Windows build": build, "kube-proxy": proxy, "containerd": "1.7.20"}
	}
	results := []NodeResult{
		{Name: "n1", Report: nodeReport("n1"), Traits: traits("2700", "v1.31")},
		{Name: "n2", Report: nodeReport("n2"), Traits: traits("2849", "v1.31")},
		{Name: "n3", Report: nodeReport("n3"), Traits: traits("2849", "v1.30")},
		{Name: "n4", Report: nodeReport("n4"), Traits: traits("2849", "v1.31")},
		{Name: "n5", Report: nodeReport("n5"), Traits: traits("2600", "v1.31")},
		// A failed node's traits are not compared.
		{Name: "n6", Err: errors.New("not Ready"), Traits: traits("1000", "v0.1")},
	}
	got := BuildFleet(results, Versions{}, nil).Divergences
	want := []Divergence{
		// By trait name; the most common value first, ties by value. containerd has one value.
		{Trait: "Windows build", Variants: []Variant{{"2849", []string{"n2", "n3", "n4"}}, {"2600", []string{"n5"}}, {"2700", []string{"n1"}}}},
		{Trait: "kube-proxy", Variants: []Variant{{"v1.31", []string{"n1", "n2", "n4", "n5"}}, {"v1.30", []string{"n3"}}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("divergences (-want +got):\n%s", d)
	}
}

// A finding about each node's own state is one group across nodes; one about another node
// stays a group of its own.
func TestBuildFleetGroupsNodeOwnFindings(t *testing.T) {
	own := func(node string) analyze.Finding {
		return analyze.Finding{ID: "os-build-known-issue", Severity: analyze.SeverityWarning, Title: "node " + node + " runs a bad build",
			Objects: []analyze.ObjectRef{{Kind: "Node", Name: node}}}
	}
	route := analyze.Finding{ID: "remote-subnet-route-missing", Severity: analyze.SeverityError, Title: "no route to win-z",
		Objects: []analyze.ObjectRef{{Kind: "Node", Name: "win-z"}}}
	f := BuildFleet([]NodeResult{
		{Name: "win-a", Report: nodeReport("win-a", own("win-a"), route)},
		{Name: "win-b", Report: nodeReport("win-b", own("win-b"))},
	}, Versions{}, nil)
	want := []string{
		"error remote-subnet-route-missing Node win-z: win-a (of 2, everywhere false)",
		"warning os-build-known-issue : win-a,win-b (of 2, everywhere true)",
	}
	if d := cmp.Diff(want, groupIDs(f)); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
}
