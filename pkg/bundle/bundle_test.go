package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/ingest"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const scenario = "../../hack/scenarios/kube-dns-lb-missing"

// collectorRecords builds the stream a collector on the scenario's node would send.
func collectorRecords(t testing.TB) []wire.Record {
	t.Helper()
	var buf bytes.Buffer
	enc := wire.NewEncoder(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.Emit(wire.TypeHello, "collector", "", wire.HelloData{CollectorVersion: "v0.test", SchemaVersion: wire.SchemaVersion, OS: "windows", Hostname: "win-node-1", Backend: "replay"}))
	for file, kind := range map[string]string{
		"hns-networks.json": wire.KindHCNNetworks, "hns-endpoints.json": wire.KindHCNEndpoints,
		"hns-loadbalancers.json": wire.KindHCNLoadBalancers, "events.json": wire.KindEvents, "services.json": wire.KindServices,
	} {
		b, err := os.ReadFile(filepath.Join(scenario, file))
		must(err)
		var compact bytes.Buffer
		must(json.Compact(&compact, b))
		must(enc.Write(wire.Record{Type: wire.TypeArtifact, Source: "replay", Kind: kind, Data: compact.Bytes()}))
	}
	log, err := os.ReadFile(filepath.Join(scenario, "files/C/k/kube-proxy.log"))
	must(err)
	must(enc.Emit(wire.TypeArtifact, "files", wire.KindFile, wire.FileData{Path: `C:\k\kube-proxy.log`, Role: wire.RoleLogPrefix + wire.LogKubeProxy, Size: int64(len(log)), Content: string(log)}))
	must(enc.Write(wire.Record{Type: wire.TypeError, Source: "vfp", Kind: "vfp.ports", Error: "vfpctrl.exe not found"}))
	must(enc.Emit(wire.TypeDone, "collector", "", wire.DoneData{Artifacts: 6, Errors: 1, DurationMS: 1234}))
	recs, err := bundle.DecodeRecords(buf.Bytes())
	must(err)
	return recs
}

func clusterFacts() (*facts.Cluster, *corev1.Pod) {
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0"}, Spec: corev1.PodSpec{NodeName: "win-node-1"},
		Status: corev1.PodStatus{PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}}}}
	dns := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}}}}
	web := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.12.34", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
	slice := func(ns, svc, ip string) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}}
	}
	cl := &facts.Cluster{NodeName: "win-node-1", Pods: []corev1.Pod{pod}, Services: []corev1.Service{dns, web},
		EndpointSlices:  []discoveryv1.EndpointSlice{slice("kube-system", "kube-dns", "10.244.2.7"), slice("shop", "web", "10.244.1.5")},
		NetworkPolicies: []networkingv1.NetworkPolicy{}, KubeDNS: &dns}
	return cl, &pod
}

// diagnosis builds what diagnose.Run returns: a snapshot with its raw records, cluster facts,
// and the report.
func diagnosis(t testing.TB) (*snapshot.Snapshot, *facts.Cluster, *report.Report) {
	t.Helper()
	b := snapshot.NewBuilder("win-node-1")
	for _, r := range collectorRecords(t) {
		b.Add(r)
	}
	snap := b.Snapshot()
	cl, pod := clusterFacts()
	res := analyze.Run(analyze.Input{Snapshot: snap, Cluster: cl, Pod: pod})
	rep := report.Build(snap, res, report.Target{Input: "pod/web-0", Namespace: "shop", Pod: "web-0", PodIP: "10.244.1.5", Node: "win-node-1"},
		report.Versions{Version: "v0.test", CollectorSHA256: "abc"})
	return snap, cl, rep
}

type finding struct{ ID, Severity, Title string }

func findingsOf(fs []analyze.Finding) []finding {
	var out []finding
	for _, f := range fs {
		out = append(out, finding{f.ID, f.Severity, f.Title})
	}
	return out
}

// reanalyze reads a bundle (or folder) the way `kubectl winnet analyze` does.
func reanalyze(t *testing.T, path string) (*ingest.Result, analyze.Result) {
	t.Helper()
	res, err := ingest.Load([]string{path}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := snapshot.NewBuilder(res.Node)
	for _, r := range res.Records {
		b.Add(r)
	}
	return res, analyze.Run(analyze.Input{Snapshot: b.Snapshot(), Cluster: res.Cluster, Pod: res.Target})
}

// TestBundleReanalyzes: a bundle written from a diagnosis and analyzed offline gives the same
// findings, read from the .tar.gz and from the folder it is extracted into.
func TestBundleReanalyzes(t *testing.T) {
	snap, cl, rep := diagnosis(t)
	if len(rep.Findings) == 0 {
		t.Fatal("the scenario should have findings")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "web-0.tar.gz")
	if err := bundle.Write(out, bundle.FromDiagnosis(snap, cl, rep, "v0.test", time.Unix(1700000000, 0)), false); err != nil {
		t.Fatal(err)
	}
	want := findingsOf(rep.Findings)

	res, got := reanalyze(t, out)
	if d := cmp.Diff(want, findingsOf(got.Findings)); d != "" {
		t.Errorf("findings from the bundle (-want +got):\n%s", d)
	}
	if res.Target == nil || res.Target.Name != "web-0" || res.Node != "win-node-1" {
		t.Errorf("target %+v on %q", res.Target, res.Node)
	}
	if len(res.Records) != len(snap.Raw) {
		t.Errorf("%d records read back, %d written", len(res.Records), len(snap.Raw))
	}

	extracted := filepath.Join(dir, "extracted")
	untar(t, out, extracted)
	_, got = reanalyze(t, extracted)
	if d := cmp.Diff(want, findingsOf(got.Findings)); d != "" {
		t.Errorf("findings from the extracted folder (-want +got):\n%s", d)
	}
}

func untar(t *testing.T, src, dst string) {
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
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(h.Name)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	snap, cl, rep := diagnosis(t)
	c := bundle.FromDiagnosis(snap, cl, rep, "v0.test", time.Unix(1700000000, 0))
	p := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := bundle.Write(p, c, false); err != nil {
		t.Fatal(err)
	}
	got, err := bundle.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	// Records come back verbatim: same types, kinds, sources and data bytes.
	if d := cmp.Diff(c.Records, got.Records); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if got.Cluster == nil || got.Cluster.NodeName != "win-node-1" || len(got.Cluster.Services) != 2 || got.Cluster.KubeDNS == nil {
		t.Errorf("cluster %+v", got.Cluster)
	}
	if got.Report == nil || len(got.Report.Findings) != len(rep.Findings) {
		t.Errorf("report %+v", got.Report)
	}
	wantV := bundle.Versions{APIVersion: report.APIVersion, Kind: bundle.VersionsKind, BundleFormat: bundle.Format, CreatedAt: time.Unix(1700000000, 0).UTC(),
		Plugin: "v0.test", CollectorVersion: "v0.test", CollectorSHA256: "abc", WireSchema: wire.SchemaVersion, Node: "win-node-1", Target: "pod/web-0"}
	if d := cmp.Diff(wantV, got.Versions); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
	// The README says what is inside and that it was redacted on the node.
	dir := filepath.Join(t.TempDir(), "x")
	untar(t, p, dir)
	readme, err := os.ReadFile(filepath.Join(dir, bundle.FileReadme))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{bundle.ReadmeFirstLine, "records.ndjson", "cluster.json", "redacted on the node", "kubectl winnet analyze"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	snap, cl, rep := diagnosis(t)
	c := bundle.FromDiagnosis(snap, cl, rep, "v0.test", time.Unix(1700000000, 0))
	p := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := bundle.CheckDestination(p, false); !errors.Is(err, bundle.ErrExists) {
		t.Errorf("CheckDestination = %v, want ErrExists", err)
	}
	err := bundle.Write(p, c, false)
	if !errors.Is(err, bundle.ErrExists) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Write = %v, want ErrExists naming --force", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep me" {
		t.Error("the existing file was changed")
	}
	if err := bundle.Write(p, c, true); err != nil {
		t.Fatalf("Write with force: %v", err)
	}
	if _, err := bundle.Read(p); err != nil {
		t.Errorf("the replaced bundle does not read: %v", err)
	}
	assertNoTemp(t, filepath.Dir(p))
}

// TestWriteIsAtomic: a write that fails midway leaves neither a bundle nor a temporary file.
func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.tar.gz")
	bad := bundle.Contents{Records: []wire.Record{{V: 1, Type: wire.TypeArtifact, Kind: "x", Data: json.RawMessage(`{not json`)}}}
	if err := bundle.Write(p, bad, false); err == nil {
		t.Fatal("Write of an unencodable record succeeded")
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a half-written bundle was left: %v", err)
	}
	assertNoTemp(t, dir)

	if err := bundle.Write(filepath.Join(dir, "no-such-dir", "b.tar.gz"), bundle.Contents{}, false); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("Write into a missing folder: %v", err)
	}
	if err := bundle.CheckDestination(filepath.Join(dir, "no-such-dir", "b.tar.gz"), false); err == nil {
		t.Error("CheckDestination accepted a missing folder")
	}
	if err := bundle.CheckDestination(dir, true); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("CheckDestination on a folder: %v", err)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	gzOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for name, s := range files {
			_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(s)), Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte(s))
		}
		_ = tw.Close()
		_ = gz.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("hello"), "not a gzip file"},
		{"no records", gzOf(map[string]string{"README.txt": "x"}), "no records.ndjson"},
		{"bad record", gzOf(map[string]string{"records.ndjson": "not json\n"}), "not a JSON record"},
		{"newer format", gzOf(map[string]string{"records.ndjson": "", "versions.json": `{"bundleFormat": 99}`}), "newer than this plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".tar.gz")
			if err := os.WriteFile(p, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := bundle.Read(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	// Members in a folder (a re-packed bundle) are found.
	p := filepath.Join(dir, "nested.tar.gz")
	if err := os.WriteFile(p, gzOf(map[string]string{"bundle/records.ndjson": `{"v":1,"type":"done","ts":"2024-01-01T00:00:00Z","data":{}}` + "\n"}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := bundle.Read(p)
	if err != nil || len(c.Records) != 1 {
		t.Errorf("nested bundle: %+v, %v", c, err)
	}
}

// FuzzReadArchive feeds damaged bundles to every reader of a bundle: bundle.ReadArchive, the
// many-node readers (IsFleet, ReadFleetArchive and each node's Contents), and analyze's
// ingest (which also opens .tar.gz and .zip archives of pasted dumps). None may panic; a
// refusal must say what it refused.
func FuzzReadArchive(f *testing.F) {
	snap, cl, rep := diagnosis(f)
	p := filepath.Join(f.TempDir(), "seed.tar.gz")
	if err := bundle.Write(p, bundle.FromDiagnosis(snap, cl, rep, "v0.test", time.Unix(1700000000, 0)), false); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{0x1f, 0x8b})
	fleetPath, _ := writeFleet(f)
	fleetSeed, err := os.ReadFile(fleetPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fleetSeed)
	f.Add(fleetSeed[:len(fleetSeed)/2])
	f.Add(tarGz([]tarFile{{"versions.json", `{"kind":"FleetBundleVersions","bundleFormat":1,"nodes":[{"name":"a","status":"ok"},{"name":"b","status":"failed"}]}`},
		{"nodes/a/records.ndjson", `{"v":1,"type":"done","ts":"2024-01-01T00:00:00Z","data":{}}` + "\n"}, {"nodes/a/cluster.json", "null"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := bundle.ReadArchive(bytes.NewReader(data)); err != nil && err.Error() == "" {
			t.Error("a refusal without a message")
		}
		if fb, err := bundle.ReadFleetArchive(bytes.NewReader(data)); err != nil && err.Error() == "" {
			t.Error("a many-node refusal without a message")
		} else if err == nil {
			for _, n := range fb.Nodes {
				if _, err := n.Contents(); err != nil && err.Error() == "" {
					t.Errorf("node %s refused without a message", n.Name)
				}
			}
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "bundle.tar.gz")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = bundle.IsFleet(p)
		if _, err := ingest.Load([]string{p}, ingest.Options{}); err != nil && err.Error() == "" {
			t.Error("ingest refused without a message")
		}
	})
}
