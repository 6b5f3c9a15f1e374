package snapshot

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestDecodePodKinds(t *testing.T) {
	tests := []struct {
		name    string
		records []wire.Record
		want    *PodNetwork
		errors  int
	}{
		{
			name: "all four kinds",
			records: []wire.Record{
				artifact(wire.KindPodCompartment, `{"podIP":"10.244.1.5","compartment":3,"endpointId":"aaa","foundIn":"hcn"}`),
				artifact(wire.KindPodAdapters, `[{"name":"vEthernet (aaa)","compartment":3,"addresses":[{"address":"10.244.1.5","prefixLength":24}],"dnsServers":["10.96.0.10"]}]`),
				// One route as one object: what PowerShell prints for a single item.
				artifact(wire.KindPodRoutes, `{"destination":"0.0.0.0/0","nextHop":"10.244.1.1","compartment":3}`),
				artifact(wire.KindPodDNS, `{"servers":["10.96.0.10"],"searchList":["shop.svc.cluster.local","svc.cluster.local"]}`),
			},
			want: &PodNetwork{
				Compartment: &wire.PodCompartment{PodIP: "10.244.1.5", Compartment: 3, EndpointID: "aaa", FoundIn: "hcn"},
				Adapters: []wire.Adapter{{Name: "vEthernet (aaa)", Compartment: 3,
					Addresses: []wire.IPAddress{{Address: "10.244.1.5", PrefixLength: 24}}, DNSServers: []string{"10.96.0.10"}}},
				Routes: []wire.Route{{Destination: "0.0.0.0/0", NextHop: "10.244.1.1", Compartment: 3}},
				DNS:    &wire.DNSClient{Servers: []string{"10.96.0.10"}, SearchList: []string{"shop.svc.cluster.local", "svc.cluster.local"}},
			},
		},
		{
			name:    "a bad record is an error and leaves the rest",
			records: []wire.Record{artifact(wire.KindPodDNS, `{"servers":["10.96.0.10"]}`), artifact(wire.KindPodRoutes, `"not a route"`)},
			want:    &PodNetwork{DNS: &wire.DNSClient{Servers: []string{"10.96.0.10"}}},
			errors:  1,
		},
		{name: "none collected", records: []wire.Record{artifact(wire.KindDNSClient, `{"servers":["168.63.129.16"]}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("n1")
			for _, r := range tt.records {
				b.Add(r)
			}
			s := b.Snapshot()
			if diff := cmp.Diff(tt.want, s.Pod); diff != "" {
				t.Errorf("pod view (-want +got):\n%s", diff)
			}
			if len(s.Errors) != tt.errors {
				t.Errorf("errors = %v, want %d", s.Errors, tt.errors)
			}
			if len(s.Unknown) != 0 {
				t.Errorf("pod kinds listed as unknown: %v", s.Unknown)
			}
		})
	}
}

func TestPodDNSServers(t *testing.T) {
	ep := `[{"ID":"AAA","IpConfigurations":[{"IpAddress":"10.244.1.5"}],"Dns":{"Search":["shop.svc.cluster.local"],"ServerList":["10.96.0.99"]}}]`
	tests := []struct {
		name        string
		records     []wire.Record
		podIP       string
		wantServers []string
		wantFrom    string
	}{
		{"compartment wins", []wire.Record{artifact(wire.KindHCNEndpoints, ep), artifact(wire.KindPodDNS, `{"servers":["10.96.0.10"]}`)}, "10.244.1.5", []string{"10.96.0.10"}, "pod compartment"},
		{"endpoint when the compartment was not read", []wire.Record{artifact(wire.KindHCNEndpoints, ep)}, "10.244.1.5", []string{"10.96.0.99"}, "HNS endpoint"},
		{"nothing for another IP", []wire.Record{artifact(wire.KindHCNEndpoints, ep)}, "10.244.1.6", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("n1")
			for _, r := range tt.records {
				b.Add(r)
			}
			got, _, from := b.Snapshot().PodDNSServers(tt.podIP)
			if diff := cmp.Diff(tt.wantServers, got); diff != "" || from != tt.wantFrom {
				t.Errorf("servers (-want +got):\n%s from %q, want %q", diff, from, tt.wantFrom)
			}
		})
	}
}
