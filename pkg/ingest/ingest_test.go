package ingest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b []byte
	if bom {
		if bigEndian {
			b = append(b, 0xFE, 0xFF)
		} else {
			b = append(b, 0xFF, 0xFE)
		}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

// TestEncodings feeds the same text in every encoding Windows tools write and expects the same
// records.
func TestEncodings(t *testing.T) {
	for _, fixture := range []string{"ipconfig-pod/in-pod.txt", "hns-v1-policylists/policy.txt", "netsh-ports/ports.txt", "log-kube-proxy/log.txt"} {
		raw, err := os.ReadFile(filepath.Join("testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		lf := strings.ReplaceAll(string(raw), "\r\n", "\n")
		crlf := strings.ReplaceAll(lf, "\n", "\r\n")
		want := Recognize("x", []byte(lf))
		if len(want.Outputs) == 0 {
			t.Fatalf("%s: not recognised as UTF-8", fixture)
		}
		variants := []struct {
			name string
			enc  Encoding
			data []byte
		}{
			{"utf-8 crlf", EncUTF8, []byte(crlf)},
			{"utf-8 bom", EncUTF8BOM, append([]byte{0xEF, 0xBB, 0xBF}, lf...)},
			{"utf-16le bom crlf", EncUTF16LE, utf16Bytes(crlf, false, true)},
			{"utf-16be bom", EncUTF16BE, utf16Bytes(lf, true, true)},
			{"utf-16le no bom", EncUTF16LENo, utf16Bytes(crlf, false, false)},
			{"utf-16be no bom", EncUTF16BENo, utf16Bytes(lf, true, false)},
		}
		for _, v := range variants {
			t.Run(fixture+"/"+v.name, func(t *testing.T) {
				got := Recognize("x", v.data)
				if got.Encoding != v.enc {
					t.Errorf("encoding %s, want %s", got.Encoding, v.enc)
				}
				if d := cmp.Diff(summarize(want), summarize(got)); d != "" {
					t.Errorf("outputs differ from the UTF-8 LF reading (-want +got):\n%s", d)
				}
			})
		}
	}
}

// summarize reduces a Recognition to comparable text.
func summarize(r Recognition) []string {
	var out []string
	for _, o := range r.Outputs {
		out = append(out, "format "+o.Format+": "+o.Detail)
		for _, rec := range o.Records {
			out = append(out, rec.Type+" "+rec.Kind+" "+string(rec.Data))
		}
		for _, h := range o.HNS {
			out = append(out, "hns "+h.Kind+" "+h.ID+" "+string(h.Raw))
		}
	}
	return out
}

func TestDecodeTextEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
		enc  Encoding
	}{
		{"empty", nil, "", EncUTF8},
		{"lone CR line ends", []byte("a\rb\r"), "a\nb\n", EncUTF8},
		{"invalid UTF-8 kept as text", []byte("caf\xe9 ok\n"), "caf\uFFFD ok\n", EncUTF8},
		{"odd UTF-16 byte dropped", append(utf16Bytes("ab", false, true), 'x'), "ab", EncUTF16LE},
		{"binary", []byte{0x7f, 'E', 'L', 'F', 0, 0, 1}, "", EncBinary},
		{"second BOM from an append removed", append([]byte("a\n"), []byte("\uFEFFb\n")...), "a\nb\n", EncUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, enc := DecodeText(tt.in)
			if got != tt.want || enc != tt.enc {
				t.Errorf("DecodeText = %q, %s; want %q, %s", got, enc, tt.want, tt.enc)
			}
		})
	}
}

// TestIgnoreUnknown: files nobody recognises are listed with a reason, never fatal.
func TestIgnoreUnknown(t *testing.T) {
	res, err := Load([]string{"testdata/unknown"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, f := range res.Files {
		if f.Used {
			t.Errorf("%s marked used", f.Path)
		}
		reasons[filepath.Base(f.Path)] = f.Reason
	}
	for name, want := range map[string]string{"notes.md": "not a format", "blob.bin": "binary", "empty.txt": "empty", "SOURCE.md": "not a format"} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want it to say %q", name, reasons[name], want)
		}
	}
	if res.Cluster != nil {
		t.Error("cluster facts from no Kubernetes objects")
	}
	if len(res.Records) != 1 || res.Records[0].Type != wire.TypeHello {
		t.Errorf("records: %+v, want only the synthesized hello", res.Records)
	}
}

func TestLoadMissingPath(t *testing.T) {
	_, err := Load([]string{"testdata/does-not-exist"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Fatalf("err = %v, want one naming the path", err)
	}
}

// snapshotOf builds the snapshot the analyze command would.
func snapshotOf(t *testing.T, res *Result) *snapshot.Snapshot {
	t.Helper()
	b := snapshot.NewBuilder(res.Node)
	for _, r := range res.Records {
		b.Add(r)
	}
	s := b.Snapshot()
	for _, e := range s.Errors {
		t.Errorf("snapshot could not decode %s from %s: %s", e.Kind, e.Source, e.Error)
	}
	return s
}

// TestCollectlogsFolder reads a folder laid out by collectlogs.ps1 (UTF-16 files with a
// Format-Table prefix before the JSON) with kube-proxy's log and the cluster objects.
func TestCollectlogsFolder(t *testing.T) {
	res, err := Load([]string{"testdata/collectlogs-dns"}, Options{Pod: "shop/web-0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Layouts) != 1 || !strings.Contains(res.Layouts[0], "collectlogs.ps1") {
		t.Errorf("layouts: %v", res.Layouts)
	}
	if res.Node != "win-node-1" {
		t.Errorf("node %q (%s)", res.Node, res.NodeFrom)
	}
	if res.Target == nil || res.Target.Name != "web-0" || res.Target.Status.PodIP != "10.244.1.5" {
		t.Errorf("target %+v", res.Target)
	}
	used, ignored := map[string]string{}, map[string]string{}
	for _, f := range res.Files {
		if f.Used {
			used[filepath.Base(f.Path)] = f.Format
		} else {
			ignored[filepath.Base(f.Path)] = f.Reason
		}
	}
	for name, format := range map[string]string{"network.txt": "hns-v1-json", "endpoint.txt": "hns-v1-json", "policy.txt": "hns-v1-json",
		"ip.txt": "ipconfig-all", "routes.txt": "get-netroute", "hnsdiag.txt": "hnsdiag-list", "scqueryex.txt": "sc-query",
		"winver.txt": "windows-version", "excludedportrange.txt": "netsh-portranges", "dynamicportrange.txt": "netsh-portranges",
		"kube-proxy.log": "log:kube-proxy", "cluster-objects.yaml": "kubernetes-objects"} {
		if used[name] != format {
			t.Errorf("%s read as %q, want %q", name, used[name], format)
		}
	}
	if !strings.Contains(ignored["System.evtx"], "wevtutil") || ignored["vfpOutput.txt"] == "" {
		t.Errorf("ignored: %v", ignored)
	}

	s := snapshotOf(t, res)
	if len(s.Networks) != 1 || s.Networks[0].Name != "cbr0" || s.Networks[0].Subnets[0].Prefix != "10.244.1.0/24" {
		t.Errorf("networks: %+v", s.Networks)
	}
	if len(s.Endpoints) != 3 {
		t.Errorf("%d endpoints, want 3 (the hnsdiag table must not add any)", len(s.Endpoints))
	}
	if len(s.LoadBalancers) != 2 {
		t.Errorf("%d load balancers, want the 2 ELB policy lists", len(s.LoadBalancers))
	}
	if s.OS == nil || s.OS.Build != "17763" || s.OS.Hostname != "WIN-NODE-1" {
		t.Errorf("os merged from winver.txt and ip.txt: %+v", s.OS)
	}
	// Excluded and dynamic ranges come from two files and are merged into one record.
	n := 0
	for _, r := range res.Records {
		if r.Kind == wire.KindPortRanges {
			n++
			var pr wire.PortRanges
			if err := json.Unmarshal(r.Data, &pr); err != nil || len(pr.Excluded["tcp"]) != 5 || pr.Dynamic["udp"].End != 65535 {
				t.Errorf("port ranges %+v (%v)", pr, err)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d port range records, want 1 merged", n)
	}
	if res.Cluster == nil || res.Cluster.KubeDNS == nil || len(res.Cluster.Pods) != 2 || res.Cluster.Missing["networkpolicies"] == "" {
		t.Errorf("cluster: %+v", res.Cluster)
	}
}

// TestHNSDedupe: the same object in a JSON dump and in text is kept once; a v1 endpoint that a
// v2 dump also has becomes the v1 view (hns.endpoints.v1).
func TestHNSDedupe(t *testing.T) {
	v2 := `[{"ID":"AAAAAAAA-0000-0000-0000-000000000001","HostComputeNetwork":"N1","IpConfigurations":[{"IpAddress":"10.0.0.2","PrefixLength":24}]}]`
	v1 := `[{"ID":"aaaaaaaa-0000-0000-0000-000000000001","VirtualNetwork":"N1","IPAddress":"10.0.0.2","IsRemoteEndpoint":false,"State":3},
	        {"ID":"aaaaaaaa-0000-0000-0000-000000000002","VirtualNetwork":"N1","IPAddress":"10.0.0.3","IsRemoteEndpoint":true,"State":1}]`
	fl := "ID                 : aaaaaaaa-0000-0000-0000-000000000009\nIPAddress          : 10.0.0.9\nIsRemoteEndpoint   : False\nVirtualNetwork     : n1\n"
	c := NewCollection(Options{})
	c.Add("v2.json", []byte(v2), "")
	c.Add("v1.json", []byte(v1), "")
	c.Add("fl.txt", []byte(fl), "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range res.Records {
		if r.Type != wire.TypeArtifact {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(r.Data, &items); err != nil {
			t.Fatal(err)
		}
		kinds[r.Kind] += len(items)
	}
	// v2's endpoint; v1's second endpoint (not in v2) is an endpoint too; v1's first is the v1
	// view of v2's; the Format-List one is dropped because JSON dumps exist.
	want := map[string]int{wire.KindHCNEndpoints: 2, wire.KindHNSEndpointsV1: 1}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("records by kind (-want +got):\n%s", d)
	}
}

func TestTargetAndNode(t *testing.T) {
	pods := `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}, spec: {nodeName: n1}, status: {podIP: 10.1.0.5}}
- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: x}, spec: {nodeName: n1}, status: {podIP: 10.1.0.6}}
- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: yy}, spec: {nodeName: n2}, status: {podIP: 10.1.1.5}}
`
	onePod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"solo","namespace":"z"},"spec":{"nodeName":"N3"},"status":{"podIP":"10.9.0.1"}}`
	podIPConfig := "Windows IP Configuration\n\n   Host Name . . . . . . . . . . . . : b\n\nEthernet adapter vEthernet (0123456789abcdef0123_cbr0):\n\n   Description . . . . . . . . . . . : Hyper-V Virtual Ethernet Container Adapter\n   IPv4 Address. . . . . . . . . . . : 10.1.0.6(Preferred)\n"
	tests := []struct {
		name     string
		files    map[string]string
		opts     Options
		wantPod  string // namespace/name, "" for node analysis
		wantIP   string
		wantNode string
		wantErr  string
	}{
		{"--pod namespace/name", map[string]string{"p": pods}, Options{Pod: "yy/a"}, "yy/a", "10.1.1.5", "n2", ""},
		{"--pod ambiguous name", map[string]string{"p": pods}, Options{Pod: "a"}, "", "", "", "matches 2 pods"},
		{"--pod not in the files", map[string]string{"p": pods}, Options{Pod: "x/zz"}, "", "", "", "not in the files"},
		{"--pod by name when the files hold no pods", map[string]string{}, Options{Pod: "x/zz", Node: "w"}, "x/zz", "", "w", ""},
		{"--pod-ip finds the pod", map[string]string{"p": pods}, Options{PodIP: "10.1.0.6"}, "x/b", "10.1.0.6", "n1", ""},
		{"--pod-ip alone", map[string]string{}, Options{PodIP: "10.2.0.9", Node: "w"}, "/pod-10.2.0.9", "10.2.0.9", "w", ""},
		{"--pod-ip not an IP", map[string]string{}, Options{PodIP: "nope"}, "", "", "", "not an IP"},
		{"several pods: node analysis", map[string]string{"p": pods}, Options{Node: "n1"}, "", "", "n1", ""},
		{"the only pod", map[string]string{"p": onePod}, Options{}, "z/solo", "10.9.0.1", "N3", ""},
		{"pod named by an in-pod ipconfig", map[string]string{"p": pods, "i": podIPConfig}, Options{Node: "n1"}, "x/b", "10.1.0.6", "n1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollection(tt.opts)
			for name, text := range tt.files {
				c.Add(name, []byte(text), "")
			}
			res, err := c.Finish()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ip := "", ""
			if res.Target != nil {
				got, ip = res.Target.Namespace+"/"+res.Target.Name, res.Target.Status.PodIP
			}
			if got != tt.wantPod || ip != tt.wantIP || res.Node != tt.wantNode {
				t.Errorf("target %q (%s) on node %q; want %q (%s) on %q [%s; %s]", got, ip, res.Node, tt.wantPod, tt.wantIP, tt.wantNode, res.TargetNote, res.NodeFrom)
			}
		})
	}
}

// TestEndpointsBecomeSlices: Services whose backends come as Endpoints (kubectl get endpoints,
// older dumps) get an EndpointSlice, so the analyzer sees their ready backends.
func TestEndpointsBecomeSlices(t *testing.T) {
	res, err := Load([]string{"testdata/kube-objects-list/list.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cluster == nil || len(res.Cluster.EndpointSlices) != 1 {
		t.Fatalf("cluster: %+v", res.Cluster)
	}
	s := res.Cluster.EndpointSlices[0]
	if s.Labels["kubernetes.io/service-name"] != "iis" || len(s.Endpoints) != 1 || s.Endpoints[0].Addresses[0] != "10.240.0.31" || !*s.Endpoints[0].Conditions.Ready {
		t.Errorf("slice %+v", s)
	}
}

// TestArchives reads the same files from a .tar.gz, a .zip and a single .gz.
func TestArchives(t *testing.T) {
	files := map[string][]byte{}
	for _, f := range []string{"hns-v1-policylists/policy.txt", "ipconfig-host/ip.txt", "log-kube-proxy/log.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		files["dump/"+filepath.Base(f)] = b
	}
	dir := t.TempDir()

	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	for name, b := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(b)
	}
	_ = tw.Close()
	_ = gz.Close()
	// The file names say nothing: recognition is by content.
	writeFile(t, filepath.Join(dir, "a.bin"), tgz.Bytes())

	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, b := range files {
		w, _ := zw.Create(name)
		_, _ = w.Write(b)
	}
	_ = zw.Close()
	writeFile(t, filepath.Join(dir, "b.bin"), zb.Bytes())

	var one bytes.Buffer
	gz = gzip.NewWriter(&one)
	_, _ = gz.Write(files["dump/log.txt"])
	_ = gz.Close()
	writeFile(t, filepath.Join(dir, "c.bin"), one.Bytes())

	res, err := Load([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]int{}
	for _, f := range res.Files {
		if !f.Used {
			t.Errorf("%s not used: %s", f.Path, f.Reason)
		}
		formats[f.Format]++
	}
	want := map[string]int{"hns-v1-json": 2, "ipconfig-all": 2, "log:kube-proxy": 3}
	if d := cmp.Diff(want, formats); d != "" {
		t.Errorf("formats (-want +got):\n%s", d)
	}
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSizeLimits: an over-large file is read from its tail (a log's newest lines) and says so.
func TestSizeLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200000; i++ {
		b.WriteString("I0409 13:33:53.461032    3560 proxier.go:59] filler line for the size test\n")
	}
	b.WriteString("E0509 18:41:13.804062    3176 proxier.go:1034] Policy creation failed: hnsCall failed in Win32 (0x803b000d)\n")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.log"), []byte(b.String()))
	res, err := Load([]string{dir}, Options{MaxFileBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || !res.Files[0].Used || len(res.Files[0].Notes) == 0 || !strings.Contains(res.Files[0].Notes[0], "last") {
		t.Fatalf("files: %+v", res.Files)
	}
	s := snapshotOf(t, res)
	if len(s.Files) != 1 || !strings.HasSuffix(strings.TrimSpace(s.Files[0].Content), "(0x803b000d)") {
		t.Error("the tail (newest lines) was not kept")
	}
	if len(s.Files[0].Content) > maxFileContent {
		t.Errorf("file record holds %d bytes, over %d", len(s.Files[0].Content), maxFileContent)
	}
}

// TestAllFixturesDecode: every record made from the fixtures decodes in the snapshot.
func TestAllFixturesDecode(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "fuzz" || d.Name() == "unknown" {
			continue
		}
		notesOnly := d.Name() == "docker-network-ls"
		t.Run(d.Name(), func(t *testing.T) {
			res, err := Load([]string{filepath.Join("testdata", d.Name())}, Options{Node: "n"})
			if err != nil {
				t.Fatal(err)
			}
			used := 0
			for _, f := range res.Files {
				if f.Used {
					used++
				}
			}
			if used == 0 && !notesOnly {
				t.Error("no file used")
			}
			snapshotOf(t, res)
		})
	}
}

func TestFormatsRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Formats() {
		if r.Name == "" || r.Describe == "" || r.Fn == nil {
			t.Errorf("incomplete recogniser %+v", r)
		}
		if seen[r.Name] {
			t.Errorf("duplicate recogniser %s", r.Name)
		}
		seen[r.Name] = true
	}
}

// TestPastedSession: one pasted terminal session with two ConvertTo-Json outputs between
// prompts and console output around them yields all of it.
func TestPastedSession(t *testing.T) {
	session := `PS C:\> Get-HnsNetwork | ConvertTo-Json
{
    "ID":  "6513270E-269E-4D37-B2A7-4DE452E6B438",
    "Name":  "cbr0",
    "Type":  "L2Bridge",
    "Subnets":  [ { "AddressPrefix":  "10.244.1.0/24", "GatewayAddress":  "10.244.1.1" } ]
}
PS C:\> Get-HnsEndpoint | ConvertTo-Json
[
    { "ID": "D23F0824-128B-4F33-8C5C-7FD0A6A3A450", "IPAddress": "10.244.1.5", "IsRemoteEndpoint": false, "VirtualNetwork": "6513270E-269E-4D37-B2A7-4DE452E6B438" }
]
PS C:\> netsh int ipv4 show excludedportrange tcp

Protocol tcp Port Exclusion Ranges

Start Port    End Port
----------    --------
      5985        5985

* - Administered port exclusions.

PS C:\> [not json at all
`
	r := Recognize("session.txt", []byte(session))
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	if got := formats(r); len(got) != 2 || got[0] != "hns-v1-json" || got[1] != "netsh-portranges" {
		t.Fatalf("formats %v, want the HNS JSON and the netsh output", got)
	}
	if n, e := len(hnsOf(r, wire.KindHCNNetworks)), len(hnsOf(r, wire.KindHCNEndpoints)); n != 1 || e != 1 {
		t.Errorf("%d networks, %d endpoints", n, e)
	}
}

// TestYAMLDecodeProblemsAreSaid: an object that does not decode (YAML reads `namespace: y` as
// a boolean) is named in a note, not silently dropped.
func TestYAMLDecodeProblemsAreSaid(t *testing.T) {
	r := Recognize("o.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: y}\n"))
	if len(r.Outputs) != 1 || !r.Outputs[0].Unused || len(r.Outputs[0].Notes) == 0 || !strings.Contains(r.Outputs[0].Notes[0], "could not be decoded") {
		t.Fatalf("outputs %+v", r.Outputs)
	}
}

func TestKubeconfigNotUsed(t *testing.T) {
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://x}\nusers:\n- name: u\n  user: {token: secret}\n"
	r := Recognize("config", []byte(kc))
	if len(r.Outputs) != 1 || r.Outputs[0].Format != "kubeconfig" || !r.Outputs[0].Unused || len(r.Outputs[0].Records) != 0 {
		t.Fatalf("outputs %+v", r.Outputs)
	}
}

// TestReplayScenarioFolder: a replay scenario folder (the simulated node's raw dumps) analyzes
// to the findings its README promises.
func TestReplayScenarioFolder(t *testing.T) {
	res, err := Load([]string{"../../hack/scenarios/kube-dns-lb-missing"}, Options{Pod: "shop/web-0", PodIP: "10.244.1.5"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		// capture.json is the simulated pktmon's traffic, not a dump: analyze rightly skips it.
		if base := filepath.Base(f.Path); !f.Used && base != "README.md" && base != "capture.json" {
			t.Errorf("%s not used: %s", f.Path, f.Reason)
		}
	}
	got := analyze.Run(analyze.Input{Snapshot: snapshotOf(t, res), Cluster: res.Cluster, Pod: res.Target})
	ids := map[string]bool{}
	for _, f := range got.Findings {
		ids[f.ID] = true
	}
	for _, id := range []string{"service-lb-missing", "kube-proxy-policy-errors", "hns-errors"} {
		if !ids[id] {
			t.Errorf("no %s finding; got %v", id, ids)
		}
	}
	if ids["pod-endpoint-missing"] {
		t.Error("web-0's endpoint exists")
	}
}

// TestInPodIPConfigBecomesPodNetwork: an `ipconfig /all` pasted from inside the target pod is
// passed on as the pod's own DNS and adapters, the records a live run reads from the pod's
// network compartment.
func TestInPodIPConfigBecomesPodNetwork(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "ipconfig-pod", "in-pod.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollection(Options{})
	c.Add("in-pod.txt", raw, "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var dns wire.DNSClient
	found := false
	for _, r := range res.Records {
		if r.Kind == wire.KindPodDNS {
			found = true
			if err := json.Unmarshal(r.Data, &dns); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found || len(dns.Servers) != 1 || dns.Servers[0] != "10.0.0.10" {
		t.Fatalf("pod.dns record: found %v, %+v", found, dns)
	}
}

// TestWarningEventsReadAsKubeletLog: Warning events become kubelet log lines, so the rules
// that look for the CNI's or HNS's words in the kubelet's log see a pasted event list too.
func TestWarningEventsReadAsKubeletLog(t *testing.T) {
	text := "LAST SEEN   TYPE      REASON                   OBJECT      MESSAGE\n" +
		"2m          Normal    Scheduled                pod/web-0   Successfully assigned shop/web-0 to akswin000001\n" +
		"1m          Warning   FailedCreatePodSandBox   pod/web-0   Failed to create pod sandbox: plugin type=\"azure-vnet\" failed (add): Failed to allocate address: No available addresses\n"
	c := NewCollection(Options{})
	c.Add("events.txt", []byte(text), "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var log *wire.FileData
	for _, r := range res.Records {
		if r.Kind == wire.KindFile {
			var f wire.FileData
			if err := json.Unmarshal(r.Data, &f); err != nil {
				t.Fatal(err)
			}
			if f.Role == wire.RoleLogPrefix+wire.LogKubelet {
				log = &f
			}
		}
	}
	if log == nil || !strings.Contains(log.Content, "No available addresses") || strings.Contains(log.Content, "Successfully assigned") {
		t.Fatalf("kubelet log from events: %+v", log)
	}
}
