package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

var fleetTime = time.Unix(1700000000, 0)

// fleetRuns are three nodes of a many-node run: one diagnosed, one whose collection stopped
// early (a report all the same), one that could not be diagnosed.
func fleetRuns(t testing.TB) ([]bundle.NodeRun, *report.Fleet) {
	t.Helper()
	snap, cl, rep := diagnosis(t)
	runs := []bundle.NodeRun{
		{Name: "win-node-3", Err: errors.New("node win-node-3 is not Ready (kubelet stopped posting node status)\nsecond line")},
		{Name: "win-node-1", Snapshot: snap, Cluster: cl, Report: rep},
		{Name: "win-node-2", Snapshot: snap, Cluster: cl, Report: rep, Err: errors.New("the exec stream dropped after 3 records")},
	}
	var results []report.NodeResult
	for _, r := range runs {
		results = append(results, report.NodeResult{Name: r.Name, Report: r.Report, Err: r.Err})
	}
	return runs, report.BuildFleet(results, report.Versions{Version: "v0.test", CollectorSHA256: "abc"}, []string{"1 linux node skipped (linux): linux-1"})
}

func writeFleet(t testing.TB) (string, bundle.FleetContents) {
	t.Helper()
	runs, rep := fleetRuns(t)
	c := bundle.FromFleet(runs, rep, "v0.test", fleetTime)
	p := filepath.Join(t.TempDir(), "fleet.tar.gz")
	if err := bundle.WriteFleet(p, c, false); err != nil {
		t.Fatal(err)
	}
	return p, c
}

func TestFleetRoundTrip(t *testing.T) {
	p, c := writeFleet(t)
	snap, _, rep := diagnosis(t)
	if !bundle.IsFleet(p) {
		t.Fatal("IsFleet does not recognise a many-node bundle")
	}
	wantV := bundle.FleetVersions{APIVersion: report.APIVersion, Kind: bundle.FleetVersionsKind, BundleFormat: bundle.FleetFormat,
		CreatedAt: fleetTime.UTC(), Plugin: "v0.test", CollectorVersion: "v0.test", CollectorSHA256: "abc", WireSchema: wire.SchemaVersion,
		Nodes: []bundle.FleetNode{
			{Name: "win-node-1", Status: report.NodeOK, Dir: "nodes/win-node-1"},
			{Name: "win-node-2", Status: report.NodeIncomplete, Error: "the exec stream dropped after 3 records", Dir: "nodes/win-node-2"},
			{Name: "win-node-3", Status: report.NodeFailed, Error: "node win-node-3 is not Ready (kubelet stopped posting node status)\nsecond line"},
		},
		Notes: []string{"1 linux node skipped (linux): linux-1"}}
	if d := cmp.Diff(wantV, c.Versions); d != "" {
		t.Errorf("versions written (-want +got):\n%s", d)
	}

	check := func(t *testing.T, fb *bundle.FleetBundle) {
		t.Helper()
		if d := cmp.Diff(wantV, fb.Versions); d != "" {
			t.Errorf("versions read (-want +got):\n%s", d)
		}
		if len(fb.Warnings) != 0 {
			t.Errorf("warnings: %v", fb.Warnings)
		}
		if fb.Report == nil || fb.Report.Kind != report.FleetKind || fb.Report.Summary.Failed != 1 || fb.Report.Summary.Incomplete != 1 || len(fb.Report.Nodes) != 3 {
			t.Errorf("fleet.json read back as %+v", fb.Report)
		}
		if len(fb.Nodes) != 3 {
			t.Fatalf("%d nodes read, want 3", len(fb.Nodes))
		}
		for i, n := range fb.Nodes[:2] {
			if n.Problem != "" {
				t.Errorf("node %s: %s", n.Name, n.Problem)
			}
			got, err := n.Contents()
			if err != nil {
				t.Fatalf("node %s: %v", n.Name, err)
			}
			if d := cmp.Diff(c.Nodes[i].Records, got.Records); d != "" {
				t.Errorf("node %s records (-want +got):\n%s", n.Name, d)
			}
			if got.Versions.Kind != bundle.VersionsKind || got.Versions.Node != n.Name || got.Versions.BundleFormat != bundle.Format {
				t.Errorf("node %s versions %+v", n.Name, got.Versions)
			}
			if got.Cluster == nil || got.Cluster.NodeName != "win-node-1" || len(got.Cluster.Services) != 2 {
				t.Errorf("node %s cluster %+v", n.Name, got.Cluster)
			}
			if got.Report == nil || len(got.Report.Findings) != len(rep.Findings) {
				t.Errorf("node %s report %+v", n.Name, got.Report)
			}
		}
		down := fb.Nodes[2]
		if down.Name != "win-node-3" || down.Files != nil || down.Problem != "" || down.Status != report.NodeFailed || !strings.Contains(down.Error, "not Ready") {
			t.Errorf("the failed node read back as %+v", down)
		}
		if _, err := down.Contents(); err == nil || !strings.Contains(err.Error(), "no folder") {
			t.Errorf("Contents of a node without a folder: %v", err)
		}
	}
	t.Run("archive", func(t *testing.T) {
		fb, err := bundle.ReadFleet(p)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fb)
	})

	// The layout: top-level README, versions.json and fleet.json, and a one-node bundle per
	// diagnosed node; no folder for the failed one.
	dir := filepath.Join(t.TempDir(), "x")
	names := untarTree(t, p, dir)
	want := []string{"README.txt", "versions.json", "fleet.json"}
	for _, n := range []string{"win-node-1", "win-node-2"} {
		for _, f := range []string{"README.txt", "versions.json", "report.json", "cluster.json", "records.ndjson"} {
			want = append(want, "nodes/"+n+"/"+f)
		}
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("archive members (-want +got):\n%s", d)
	}
	readme, err := os.ReadFile(filepath.Join(dir, bundle.FileReadme))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{bundle.FleetReadmeFirstLine, "3 nodes", "win-node-1", "nodes/win-node-2/", "win-node-3", "not Ready", "redacted on each node", "kubectl winnet analyze"} {
		if !strings.Contains(string(readme), w) {
			t.Errorf("README lacks %q:\n%s", w, readme)
		}
	}
	if strings.Contains(string(readme), "second line") {
		t.Errorf("README carries an error's later lines:\n%s", readme)
	}

	t.Run("extracted folder", func(t *testing.T) {
		if !bundle.IsFleet(dir) {
			t.Fatal("IsFleet does not recognise the extracted folder")
		}
		fb, err := bundle.ReadFleet(dir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fb)
		// Each node's folder is a one-node bundle of its own.
		one, err := bundle.Read(filepath.Join(dir, "nodes", "win-node-1"))
		if err != nil || len(one.Records) != len(snap.Raw) || one.Versions.Node != "win-node-1" {
			t.Errorf("a node's folder as a one-node bundle: %v", err)
		}
	})

	t.Run("re-packed in a folder", func(t *testing.T) {
		repacked := filepath.Join(t.TempDir(), "repacked.tar.gz")
		var files []tarFile
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, tarFile{"./bundle-from-customer/" + n, string(b)})
		}
		// Reversed: the node folders before the top-level files.
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
		if err := os.WriteFile(repacked, tarGz(files), 0o600); err != nil {
			t.Fatal(err)
		}
		if !bundle.IsFleet(repacked) {
			t.Fatal("IsFleet does not recognise a re-packed many-node bundle")
		}
		fb, err := bundle.ReadFleet(repacked)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fb)
	})
}

// TestSingleBundleStaysSingle: a one-node bundle is not taken for a many-node one, and the
// one-node reader refuses a many-node bundle rather than reading one of its nodes.
func TestSingleBundleStaysSingle(t *testing.T) {
	snap, cl, rep := diagnosis(t)
	dir := t.TempDir()
	single := filepath.Join(dir, "one.tar.gz")
	if err := bundle.Write(single, bundle.FromDiagnosis(snap, cl, rep, "v0.test", fleetTime), false); err != nil {
		t.Fatal(err)
	}
	if bundle.IsFleet(single) {
		t.Error("IsFleet took a one-node bundle for a many-node one")
	}
	c, err := bundle.Read(single)
	if err != nil || c.Versions.Kind != bundle.VersionsKind || len(c.Records) != len(snap.Raw) {
		t.Errorf("the one-node bundle reads as %+v, %v", c, err)
	}
	if _, err := bundle.ReadFleet(single); !errors.Is(err, bundle.ErrNotFleet) || !strings.Contains(err.Error(), "one-node bundle") {
		t.Errorf("ReadFleet of a one-node bundle = %v, want ErrNotFleet saying it is a one-node bundle", err)
	}
	extracted := filepath.Join(dir, "one")
	untar(t, single, extracted)
	if bundle.IsFleet(extracted) {
		t.Error("IsFleet took an extracted one-node bundle for a many-node one")
	}
	for _, p := range []string{filepath.Join(dir, "missing.tar.gz"), filepath.Join(scenario, "os.json"), scenario} {
		if bundle.IsFleet(p) {
			t.Errorf("IsFleet(%s) = true", p)
		}
	}

	fleet, _ := writeFleet(t)
	if _, err := bundle.Read(fleet); !errors.Is(err, bundle.ErrFleetBundle) || !strings.Contains(err.Error(), "many-node") {
		t.Errorf("Read of a many-node bundle = %v, want ErrFleetBundle", err)
	}
	fdir := filepath.Join(dir, "fleet")
	untarTree(t, fleet, fdir)
	if _, err := bundle.Read(fdir); !errors.Is(err, bundle.ErrFleetBundle) {
		t.Errorf("Read of an extracted many-node bundle = %v, want ErrFleetBundle", err)
	}
}

// TestFleetReadDamaged: a truncated or tampered many-node bundle gives an error saying what
// is wrong (or, for one node's missing data, that node's Problem), never a panic.
func TestFleetReadDamaged(t *testing.T) {
	p, _ := writeFleet(t)
	whole, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 1, 10, 100, len(whole) / 3, len(whole) / 2, len(whole) - 20, len(whole) - 1} {
		cut := filepath.Join(dir, "cut.tar.gz")
		if err := os.WriteFile(cut, whole[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := bundle.ReadFleet(cut)
		if err == nil {
			t.Errorf("ReadFleet of the first %d of %d bytes succeeded", n, len(whole))
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, cut) || !(strings.Contains(msg, "cut short") || strings.Contains(msg, "not a gzip file") || strings.Contains(msg, "not a many-node bundle")) {
			t.Errorf("ReadFleet of %d bytes: %q does not say the file is damaged", n, msg)
		}
	}

	vers := `{"apiVersion":"winnet.kubectl.dev/v1alpha1","kind":"FleetBundleVersions","bundleFormat":1,"nodes":[{"name":"a","status":"ok","dir":"nodes/a"},{"name":"b","status":"ok","dir":"nodes/b"},{"name":"c","status":"failed","error":"not Ready"}]}`
	rec := `{"v":1,"type":"done","ts":"2024-01-01T00:00:00Z","data":{}}` + "\n"
	tests := []struct {
		name  string
		files []tarFile
		want  string
	}{
		{"bad versions", []tarFile{{"versions.json", `{"kind":"FleetBundleVersions","nodes":[`}}, "not a many-node bundle"},
		{"versions not an object", []tarFile{{"versions.json", `{"kind":"FleetBundleVersions","nodes":{}}`}}, "decoding versions.json"},
		{"newer format", []tarFile{{"versions.json", `{"kind":"FleetBundleVersions","bundleFormat":9}`}}, "newer than this plugin"},
		{"bad listed name", []tarFile{{"versions.json", `{"kind":"FleetBundleVersions","nodes":[{"name":"../etc"}]}`}}, "not a node name"},
		{"bad folder name", []tarFile{{"versions.json", vers}, {"nodes/Bad_Name/records.ndjson", rec}}, "not a node name"},
		{"two bundles", []tarFile{{"x/versions.json", vers}, {"y/versions.json", vers}}, "2 many-node bundles"},
		{"no fleet versions", []tarFile{{"nodes/a/records.ndjson", rec}}, "no versions.json of kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bundle.ReadFleetArchive(bytes.NewReader(tarGz(tt.files)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadFleetArchive = %v, want an error saying %q", err, tt.want)
			}
		})
	}

	// One node's data missing: that node has a Problem, the others read.
	fb, err := bundle.ReadFleetArchive(bytes.NewReader(tarGz([]tarFile{
		{"versions.json", vers}, {"nodes/a/records.ndjson", rec}, {"nodes/a/cluster.json", "null"},
		{"nodes/d/records.ndjson", rec}, {"fleet.json", "{damaged"},
	})))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]bundle.NodeFiles{}
	for _, n := range fb.Nodes {
		byName[n.Name] = n
	}
	if n := byName["a"]; n.Problem != "" || n.Dir != "nodes/a" {
		t.Errorf("node a: %+v", n)
	} else if c, err := n.Contents(); err != nil || len(c.Records) != 1 {
		t.Errorf("node a's contents: %+v, %v", c, err)
	}
	if n := byName["b"]; !strings.Contains(n.Problem, "missing from the bundle") {
		t.Errorf("node b (listed, no folder): problem %q", n.Problem)
	} else if _, err := n.Contents(); err == nil {
		t.Error("Contents of a node whose folder is missing succeeded")
	}
	if n := byName["c"]; n.Problem != "" || n.Files != nil || n.Error != "not Ready" {
		t.Errorf("node c (failed): %+v", n)
	}
	if n, ok := byName["d"]; !ok || n.Problem != "" {
		t.Errorf("node d (a folder not listed) is not read: %+v", n)
	}
	if fb.Report != nil || len(fb.Warnings) != 2 || !strings.Contains(strings.Join(fb.Warnings, "\n"), "fleet.json could not be decoded") {
		t.Errorf("report %v, warnings %q", fb.Report, fb.Warnings)
	}

	// A node folder without its records.
	fb, err = bundle.ReadFleetArchive(bytes.NewReader(tarGz([]tarFile{{"versions.json", vers}, {"nodes/a/cluster.json", "null"}})))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fb.Nodes[0].Problem, "has no records.ndjson") {
		t.Errorf("node a without records: problem %q", fb.Nodes[0].Problem)
	}
	// A node's records that do not decode: Contents says so.
	fb, err = bundle.ReadFleetArchive(bytes.NewReader(tarGz([]tarFile{{"versions.json", vers}, {"nodes/a/records.ndjson", "not json\n"}})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Nodes[0].Contents(); err == nil || !strings.Contains(err.Error(), "node a (nodes/a/)") {
		t.Errorf("Contents of damaged records: %v", err)
	}
}

func TestWriteFleetRefuses(t *testing.T) {
	runs, rep := fleetRuns(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f.tar.gz")
	if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := bundle.FromFleet(runs, rep, "v0.test", fleetTime)
	if err := bundle.WriteFleet(p, c, false); !errors.Is(err, bundle.ErrExists) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("WriteFleet over a file = %v, want ErrExists naming --force", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep me" {
		t.Error("the existing file was changed")
	}
	if err := bundle.WriteFleet(p, c, true); err != nil || !bundle.IsFleet(p) {
		t.Errorf("WriteFleet with force: %v", err)
	}
	bad := bundle.FromFleet([]bundle.NodeRun{{Name: "Not/A/Node", Report: runs[1].Report, Snapshot: runs[1].Snapshot}}, nil, "v0.test", fleetTime)
	if err := bundle.WriteFleet(filepath.Join(dir, "bad.tar.gz"), bad, false); err == nil || !strings.Contains(err.Error(), "not a node name") {
		t.Errorf("WriteFleet of a node named Not/A/Node = %v", err)
	}
	// A record that cannot be encoded leaves neither the bundle nor its temporary file.
	unencodable := bundle.FromFleet([]bundle.NodeRun{{Name: "a", Report: runs[1].Report}}, nil, "v0.test", fleetTime)
	unencodable.Nodes[0].Records = []wire.Record{{V: 1, Type: wire.TypeArtifact, Kind: "x", Data: []byte(`{not json`)}}
	if err := bundle.WriteFleet(filepath.Join(dir, "u.tar.gz"), unencodable, false); err == nil || !strings.Contains(err.Error(), "node a") {
		t.Errorf("WriteFleet of an unencodable record = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "u.tar.gz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a half-written bundle was left: %v", err)
	}
	assertNoTemp(t, dir)
}

type tarFile struct{ name, body string }

func tarGz(files []tarFile) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// untarTree extracts src into dst keeping its folders, and returns the member names in order.
func untarTree(t *testing.T, src, dst string) []string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dst, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
