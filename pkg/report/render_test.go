package report

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func sample() *Report {
	s := &snapshot.Snapshot{
		Collector: &wire.HelloData{CollectorVersion: "v1.2.3", SHA256: strings.Repeat("ab", 32), Backend: "windows"},
		Networks:  []snapshot.Network{{ID: "n1", Name: "cbr0", Type: "L2Bridge", Subnets: []snapshot.Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}}}},
		Endpoints: []snapshot.Endpoint{
			{ID: "e2", IP: "10.244.2.7", Remote: true},
			{ID: "e1", IP: "10.244.1.5", Name: "web-0_eth0", DNSServers: []string{"10.96.0.10"}},
		},
		LoadBalancers: []snapshot.LoadBalancer{{ID: "l1", FrontendVIPs: []string{"10.96.12.34"}, EndpointIDs: []string{"e1"}, Ports: []snapshot.PortMapping{{Protocol: "TCP", ExternalPort: 80, InternalPort: 8080}}}},
		Events:        []wire.Event{{Channel: "Microsoft-Windows-Host-Network-Service-Admin", Level: "Error", ID: 7, Time: time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC), Message: "Network-Not-Found"}},
		OS:            &wire.OSInfo{ProductName: "Windows Server 2022 Datacenter", Build: "20348", UBR: 2700},
		HNSVersion:    "15.4",
	}
	res := analyze.Result{
		Findings:   []analyze.Finding{{ID: "service-lb-missing", Severity: "error", Title: "no LB", Remediation: "restart kube-proxy", Evidence: []analyze.Evidence{{Artifact: "hcn.loadbalancers", Detail: "1 load balancers"}}}},
		NotChecked: []analyze.NotChecked{{Check: "kube-proxy HNS programming errors", Missing: "no kube-proxy log was collected"}},
	}
	return Build(s, res, Target{Input: "pod/web-0", Namespace: "shop", Pod: "web-0", PodIP: "10.244.1.5", Node: "win-1"}, Versions{Version: "v0.1.0"})
}

func TestTableShowsWhatWasCollected(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sample(), "table"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"pod shop/web-0 (10.244.1.5) on node win-1",
		"Windows Server 2022 Datacenter build 20348.2700, HNS 15.4",
		"plugin v0.1.0, collector v1.2.3",
		"ERROR   service-lb-missing: no LB",
		"fix: restart kube-proxy",
		"cbr0",
		"ENDPOINTS (1 local, 1 remote; * = the target pod)",
		"10.96.12.34",
		"80->8080/TCP",
		"Network-Not-Found",
		"NOT CHECKED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The target's endpoint is listed first and marked.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "ENDPOINTS") {
			if row := lines[i+2]; !strings.HasPrefix(row, "*") || !strings.Contains(row, "10.244.1.5") {
				t.Errorf("first endpoint row = %q, want the marked target", row)
			}
		}
	}
}

func TestJSONAndYAMLCarrySchema(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, sample(), format); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if format == "yaml" {
				var err error
				if raw, err = yaml.YAMLToJSON(raw); err != nil {
					t.Fatal(err)
				}
			}
			var got struct {
				APIVersion, Kind string
				Findings         []struct{ ID, Severity string }
				Collected        struct {
					Endpoints []struct {
						IP     string
						Target bool
					}
				}
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != APIVersion || got.Kind != Kind {
				t.Errorf("apiVersion/kind = %q/%q", got.APIVersion, got.Kind)
			}
			if len(got.Findings) != 1 || got.Findings[0].ID != "service-lb-missing" || got.Findings[0].Severity != "error" {
				t.Errorf("findings = %+v", got.Findings)
			}
			if len(got.Collected.Endpoints) != 2 || !got.Collected.Endpoints[0].Target || got.Collected.Endpoints[0].IP != "10.244.1.5" {
				t.Errorf("endpoints = %+v", got.Collected.Endpoints)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := ValidateFormat("xml"); err == nil || !strings.Contains(err.Error(), "table, wide, json, yaml") {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkRender(b *testing.B) {
	r := sample()
	for _, format := range []string{"table", "json", "yaml"} {
		b.Run(format, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := Render(io.Discard, r, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A report from a collection that stopped early says so at the top, in every format.
func TestIncompleteReportSaysSo(t *testing.T) {
	r := sample()
	r.Incomplete = "the collector on node win-1 exited with code 2\ncollector log (last lines):\npanic: x"
	var table, js bytes.Buffer
	if err := Render(&table, r, "table"); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(table.String(), "FINDINGS")
	if !strings.Contains(head, "INCOMPLETE:") || !strings.Contains(head, "exited with code 2") || strings.Contains(head, "panic: x") {
		t.Errorf("table head must name the cause's first line only:\n%s", head)
	}
	if err := Render(&js, r, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Incomplete string `json:"incomplete"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || !strings.HasPrefix(got.Incomplete, "the collector on node win-1 exited") {
		t.Errorf("json incomplete = %q (%v)", got.Incomplete, err)
	}
	table.Reset()
	if err := Render(&table, sample(), "table"); err != nil || strings.Contains(table.String(), "INCOMPLETE") {
		t.Errorf("a complete report is marked incomplete (%v)", err)
	}
}

// TestReportGolden pins each renderer's output for one node's report, as the fleet goldens do
// for many (go test ./pkg/report -run Golden -update rewrites them after a deliberate change).
func TestReportGolden(t *testing.T) {
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			r := sample()
			r.GeneratedAt = time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
			var b bytes.Buffer
			if err := Render(&b, r, format); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "report", "sample-"+format+".golden"), b.String())
		})
	}
}

// Colour adds ANSI codes around the severity word only: the word and the columns stay, so
// nothing depends on colour, and plain output has no escape at all.
func TestColorOnlyWrapsTheSeverityWord(t *testing.T) {
	var plain, colored bytes.Buffer
	if err := RenderStyled(&plain, sample(), "table", Style{}); err != nil {
		t.Fatal(err)
	}
	if err := RenderStyled(&colored, sample(), "table", Style{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain output holds an escape sequence")
	}
	if !strings.Contains(colored.String(), "\x1b[1;31mERROR\x1b[0m   service-lb-missing") {
		t.Errorf("coloured output lacks the red ERROR word:\n%q", colored.String())
	}
	stripped := strings.NewReplacer("\x1b[1;31m", "", "\x1b[33m", "", "\x1b[36m", "", "\x1b[0m", "").Replace(colored.String())
	if stripped != plain.String() {
		t.Error("coloured output without its escapes differs from the plain output")
	}
	var js bytes.Buffer
	if err := RenderStyled(&js, sample(), "json", Style{Color: true}); err != nil || strings.Contains(js.String(), "\x1b[") {
		t.Errorf("json output was coloured (%v)", err)
	}
}
