package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
)

func TestPathSection(t *testing.T) {
	fail := pathexplain.Hop{Name: "VIP load balancer", Verdict: "fail", Evidence: "no HNS load balancer for 10.96.12.34:80/TCP", Detail: "restart kube-proxy"}
	tests := []struct {
		name   string
		path   *pathexplain.Path
		format string
		want   []string
		not    []string
	}{
		{
			name: "a failing hop is the headline",
			path: &pathexplain.Path{From: "pod shop/web-0", To: "svc/web:80", Headline: &fail, Notes: []string{"only the first 3 CoreDNS pods were asked directly"},
				Hops: []pathexplain.Hop{{Name: "name lookup", Verdict: "ok", Evidence: "web.shop.svc.cluster.local -> 10.96.12.34"}, fail}},
			format: "table",
			want: []string{"PATH from pod shop/web-0 to svc/web:80 (first failing hop: VIP load balancer)", "HOP", "VERDICT", "EVIDENCE",
				"name lookup", "OK", "FAIL", "no HNS load balancer", "fix first:", "restart kube-proxy", "note:"},
		},
		{
			name:   "a healthy path says so",
			path:   &pathexplain.Path{From: "pod shop/web-0", Hops: []pathexplain.Hop{{Name: "API server VIP", Verdict: "ok", Evidence: "tcp:10.96.0.1:443: ok"}}},
			format: "table",
			want:   []string{"PATH from pod shop/web-0 (no hop failed)", "API server VIP"},
			not:    []string{"fix first"},
		},
		{name: "no path, no section", format: "table", not: []string{"PATH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sample()
			r.Path = tt.path
			var buf bytes.Buffer
			if err := Render(&buf, r, tt.format); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in:\n%s", w, out)
				}
			}
		})
	}
	t.Run("json field path", func(t *testing.T) {
		r := sample()
		r.Path = &pathexplain.Path{From: "pod shop/web-0", Headline: &fail, Hops: []pathexplain.Hop{fail}}
		var buf bytes.Buffer
		if err := Render(&buf, r, "json"); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Path struct {
				Headline struct{ Name string } `json:"headline"`
				Hops     []struct{ Verdict string }
			} `json:"path"`
		}
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Path.Headline.Name != "VIP load balancer" || len(got.Path.Hops) != 1 || got.Path.Hops[0].Verdict != "fail" {
			t.Errorf("path in JSON = %+v", got.Path)
		}
	})
}
