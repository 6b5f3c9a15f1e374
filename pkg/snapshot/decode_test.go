package snapshot

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func artifact(kind, data string) wire.Record {
	return wire.Record{V: 1, Type: wire.TypeArtifact, Kind: kind, Data: json.RawMessage(data)}
}

func TestDecodeEndpointsV1AndV2(t *testing.T) {
	b := NewBuilder("n1")
	// HCN v2 shape.
	b.Add(artifact(wire.KindHCNEndpoints, `[{"ID":"AAA","Name":"web","HostComputeNetwork":"NET1",
	  "IpConfigurations":[{"IpAddress":"10.244.1.5","PrefixLength":24}],
	  "Dns":{"Search":["shop.svc.cluster.local"],"ServerList":["10.96.0.10"]},
	  "Policies":[{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.244.0.0/16"]}}]},
	  {"ID":"BBB","IpConfigurations":[{"IpAddress":"10.244.2.7"}],"Flags":1}]`))
	// v1 shape, as Get-HnsEndpoint | ConvertTo-Json prints a single endpoint (an object).
	b.Add(artifact(wire.KindHCNEndpoints, `{"ID":"CCC","VirtualNetwork":"NET1","VirtualNetworkName":"cbr0",
	  "IPAddress":"10.244.1.9","IsRemoteEndpoint":false,"State":3,"DNSServerList":"10.96.0.10,10.96.0.11",
	  "DNSSuffix":"a.svc.cluster.local,svc.cluster.local","Policies":[{"Type":"OutBoundNAT","ExceptionList":["10.0.0.0/8"]}]}`))
	s := b.Snapshot()
	if len(s.Errors) != 0 {
		t.Fatalf("errors: %v", s.Errors)
	}
	got := s.Endpoints
	want := []Endpoint{
		{ID: "aaa", Name: "web", NetworkID: "net1", IP: "10.244.1.5", PrefixLength: 24, DNSServers: []string{"10.96.0.10"}, DNSSearch: []string{"shop.svc.cluster.local"},
			Policies: []Policy{{Type: "OutBoundNAT", Settings: json.RawMessage(`{"Exceptions":["10.244.0.0/16"]}`)}}},
		{ID: "bbb", IP: "10.244.2.7", Remote: true, DNSServers: []string{}, DNSSearch: []string{}},
		{ID: "ccc", NetworkID: "net1", NetworkName: "cbr0", IP: "10.244.1.9", State: "AttachedSharing",
			DNSServers: []string{"10.96.0.10", "10.96.0.11"}, DNSSearch: []string{"a.svc.cluster.local", "svc.cluster.local"},
			Policies: []Policy{{Type: "OutBoundNAT", Settings: json.RawMessage(`{"ExceptionList":["10.0.0.0/8"]}`)}}},
	}
	// Compare policy settings as text: they are raw JSON.
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b json.RawMessage) bool { return string(a) == string(b) }),
		cmp.Comparer(func(a, b []string) bool {
			return len(a) == len(b) && (len(a) == 0 || cmp.Equal([]string(a), []string(b)))
		})); diff != "" {
		t.Fatalf("endpoints (-want +got):\n%s", diff)
	}
	if !s.Have[wire.KindHCNEndpoints] {
		t.Fatal("Have not marked")
	}
}

func TestDecodeLoadBalancersV1AndV2(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNLoadBalancers, `[{"ID":"L1","HostComputeEndpoints":["BBB"],"SourceVIP":"10.244.1.2",
	  "FrontendVIPs":["10.96.0.10"],"PortMappings":[{"Protocol":17,"InternalPort":53,"ExternalPort":53}],"Flags":1}]`))
	b.Add(artifact(wire.KindHNSPolicyLists, `[{"ID":"P1","References":["/endpoints/DDD"],
	  "Policies":[{"Type":"ELB","VIPs":["10.96.0.1"],"Protocol":6,"InternalPort":6443,"ExternalPort":443,"IsDSR":false}]}]`))
	s := b.Snapshot()
	want := []LoadBalancer{
		{ID: "l1", FrontendVIPs: []string{"10.96.0.10"}, SourceVIP: "10.244.1.2", EndpointIDs: []string{"bbb"}, DSR: true,
			Ports: []PortMapping{{Protocol: "UDP", InternalPort: 53, ExternalPort: 53}}},
		{ID: "p1", FrontendVIPs: []string{"10.96.0.1"}, EndpointIDs: []string{"ddd"},
			Ports: []PortMapping{{Protocol: "TCP", InternalPort: 6443, ExternalPort: 443}}},
	}
	if diff := cmp.Diff(want, s.LoadBalancers); diff != "" {
		t.Fatalf("load balancers (-want +got):\n%s", diff)
	}
}

func TestBadArtifactBecomesSourceError(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNNetworks, `{"ID": 5}`))
	b.Add(artifact("future.kind", `{}`))
	b.Add(wire.Record{V: 1, Type: "novel-type"})
	s := b.Snapshot()
	if len(s.Errors) != 1 || s.Errors[0].Kind != wire.KindHCNNetworks {
		t.Fatalf("errors = %+v, want one for %s", s.Errors, wire.KindHCNNetworks)
	}
	if diff := cmp.Diff([]string{"future.kind"}, s.Unknown); diff != "" {
		t.Fatalf("unknown kinds (-want +got):\n%s", diff)
	}
}

func TestDecodeNetworks(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNNetworks, `[{"ID":"N1","Name":"cbr0","Type":"L2Bridge","Ipams":[{"Type":"Static","Subnets":[
	  {"IpAddressPrefix":"10.244.1.0/24","Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}]}]}]},
	  {"ID":"N2","Name":"vxlan0","Type":"Overlay","ManagementIP":"10.0.0.4","Subnets":[{"AddressPrefix":"10.244.2.0/24","GatewayAddress":"10.244.2.1"}]}]`))
	s := b.Snapshot()
	want := []Network{
		{ID: "n1", Name: "cbr0", Type: "L2Bridge", Subnets: []Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}}},
		{ID: "n2", Name: "vxlan0", Type: "Overlay", ManagementIP: "10.0.0.4", Subnets: []Subnet{{Prefix: "10.244.2.0/24", Gateway: "10.244.2.1"}}},
	}
	if diff := cmp.Diff(want, s.Networks); diff != "" {
		t.Fatalf("networks (-want +got):\n%s", diff)
	}
}
