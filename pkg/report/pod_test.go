package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestPodNetworkSection(t *testing.T) {
	ep := snapshot.Endpoint{ID: "e1", IP: "10.244.1.5", DNSServers: []string{"10.96.0.99"}, DNSSearch: []string{"shop.svc.cluster.local"}}
	tests := []struct {
		name   string
		snap   *snapshot.Snapshot
		pod    string
		want   []string
		absent bool
	}{
		{
			name: "from the compartment",
			snap: &snapshot.Snapshot{Endpoints: []snapshot.Endpoint{ep}, Pod: &snapshot.PodNetwork{
				Compartment: &wire.PodCompartment{Compartment: 4},
				DNS:         &wire.DNSClient{Servers: []string{"10.96.0.10"}, SearchList: []string{"shop.svc.cluster.local", "svc.cluster.local"}}}},
			pod:  "web-0",
			want: []string{"POD NETWORK (from the pod compartment 4)", "10.96.0.10", "shop.svc.cluster.local, svc.cluster.local"},
		},
		{
			name: "from the endpoint",
			snap: &snapshot.Snapshot{Endpoints: []snapshot.Endpoint{ep}},
			pod:  "web-0",
			want: []string{"POD NETWORK (from the HNS endpoint)", "10.96.0.99"},
		},
		{name: "node target", snap: &snapshot.Snapshot{Endpoints: []snapshot.Endpoint{ep}}, absent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(tt.snap, analyze.Result{}, Target{Pod: tt.pod, PodIP: "10.244.1.5", Node: "n1"}, Versions{})
			var buf bytes.Buffer
			if err := Render(&buf, r, "table"); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if tt.absent {
				if strings.Contains(out, "POD NETWORK") || r.PodNetwork != nil {
					t.Errorf("pod section for a node target:\n%s", out)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
		})
	}
}
