package snapshot

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func artifact(kind, data string) wire.Record {
	return wire.Record{V: 1, Type: wire.TypeArtifact, Kind: kind, Data: json.RawMessage(data)}
}

// ignoreRaw compares typed views only: raw policies are kept verbatim for the bundle.
var ignoreRaw = cmpopts.IgnoreFields(Endpoint{}, "Policies")

func TestDecodeEndpointsV1AndV2(t *testing.T) {
	b := NewBuilder("n1")
	// HCN v2 shape.
	b.Add(artifact(wire.KindHCNEndpoints, `[{"ID":"AAA","Name":"web","HostComputeNetwork":"NET1","HostComputeNamespace":"NS1",
	  "IpConfigurations":[{"IpAddress":"10.244.1.5","PrefixLength":24}],
	  "Dns":{"Search":["shop.svc.cluster.local"],"ServerList":["10.96.0.10"]},
	  "Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}],
	  "Policies":[{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.244.0.0/16"]}}]},
	  {"ID":"BBB","IpConfigurations":[{"IpAddress":"10.244.2.7"}],"Flags":1}]`))
	// v1 shape, as Get-HnsEndpoint | ConvertTo-Json prints a single endpoint (an object).
	b.Add(artifact(wire.KindHCNEndpoints, `{"ID":"CCC","VirtualNetwork":"NET1","VirtualNetworkName":"cbr0",
	  "IPAddress":"10.244.1.9","GatewayAddress":"10.244.1.1","IsRemoteEndpoint":false,"State":3,"DNSServerList":"10.96.0.10,10.96.0.11",
	  "DNSSuffix":"a.svc.cluster.local,svc.cluster.local","Policies":[{"Type":"OutBoundNAT","ExceptionList":["10.0.0.0/8"]}]}`))
	s := b.Snapshot()
	if len(s.Errors) != 0 {
		t.Fatalf("errors: %v", s.Errors)
	}
	want := []Endpoint{
		{ID: "aaa", Name: "web", NetworkID: "net1", IP: "10.244.1.5", PrefixLength: 24, Gateway: "10.244.1.1", Namespace: "ns1",
			DNSServers: []string{"10.96.0.10"}, DNSSearch: []string{"shop.svc.cluster.local"},
			OutBoundNAT: []OutBoundNAT{{Exceptions: []string{"10.244.0.0/16"}}}},
		{ID: "bbb", IP: "10.244.2.7", Remote: true},
		{ID: "ccc", NetworkID: "net1", NetworkName: "cbr0", IP: "10.244.1.9", Gateway: "10.244.1.1", State: StateAttachedSharing,
			DNSServers: []string{"10.96.0.10", "10.96.0.11"}, DNSSearch: []string{"a.svc.cluster.local", "svc.cluster.local"},
			OutBoundNAT: []OutBoundNAT{{Exceptions: []string{"10.0.0.0/8"}}}},
	}
	if diff := cmp.Diff(want, s.Endpoints, ignoreRaw, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("endpoints (-want +got):\n%s", diff)
	}
	if got := string(s.Endpoints[2].Policies[0].Settings); got != `{"ExceptionList":["10.0.0.0/8"]}` {
		t.Errorf("v1 policy settings kept as %s", got)
	}
	if !s.HaveEndpoints() || !s.Have[wire.KindHCNEndpoints] {
		t.Fatal("Have not marked")
	}
}

func TestTypedEndpointPolicies(t *testing.T) {
	tests := []struct {
		name     string
		policies string
		want     Endpoint
	}{
		{"v2 names", `[
		  {"Type":"OutBoundNAT","Settings":{"VirtualIP":"10.0.0.5","Exceptions":["10.244.0.0/16","10.96.0.0/12"],"Destinations":["1.2.3.4"]}},
		  {"Type":"SDNRoute","Settings":{"DestinationPrefix":"10.96.0.0/12","NeedEncap":true}},
		  {"Type":"SDNROUTE","Settings":{"DestinationPrefix":"10.0.0.5/32","NextHop":"10.0.0.1"}},
		  {"Type":"ACL","Settings":{"Protocols":"6","Action":"Block","Direction":"In","RemoteAddresses":"10.0.0.0/8","LocalPorts":"80","RuleType":"Switch","Priority":200}},
		  {"Type":"EncapOverhead","Settings":{"Overhead":50}},
		  {"Type":"PortMapping","Settings":{"Protocol":6,"InternalPort":80,"ExternalPort":8080,"Flags":2}},
		  {"Type":"ProviderAddress","Settings":{"ProviderAddress":"10.0.0.4"}},
		  {"Type":"L4Proxy","Settings":{"IP":"127.0.0.1","Port":"15001","Protocol":6,"Exceptions":["10.0.0.1"],"OutboundNAT":true}},
		  {"Type":"QOS","Settings":{"MaximumOutgoingBandwidthInBytes":1000}}]`,
			Endpoint{
				OutBoundNAT:     []OutBoundNAT{{VIP: "10.0.0.5", Exceptions: []string{"10.244.0.0/16", "10.96.0.0/12"}, Destinations: []string{"1.2.3.4"}}},
				SDNRoutes:       []SDNRoute{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}, {DestinationPrefix: "10.0.0.5/32", NextHop: "10.0.0.1"}},
				ACLs:            []ACL{{Protocols: "6", Action: "Block", Direction: "In", RemoteAddresses: "10.0.0.0/8", LocalPorts: "80", RuleType: "Switch", Priority: 200}},
				EncapOverhead:   50,
				PortMappings:    []EndpointPortMapping{{Protocol: "TCP", InternalPort: 80, ExternalPort: 8080, Flags: 2}},
				ProviderAddress: "10.0.0.4",
				L4Proxies:       []L4Proxy{{IP: "127.0.0.1", Port: "15001", Protocol: "TCP", Exceptions: []string{"10.0.0.1"}, OutboundNAT: true}},
			}},
		// The v1 names, flat, as on an Azure CNI or Calico node (azure-container-networking PR #1752).
		{"v1 names", `[
		  {"Type":"OutBoundNAT","ExceptionList":["10.240.0.0/16"],"VIP":"10.240.0.4"},
		  {"Type":"ROUTE","DestinationPrefix":"10.0.0.0/16","NeedEncap":true},
		  {"Type":"PA","PA":"10.240.0.5"},
		  {"Type":"ACL","Protocols":"256","Action":"Block","Direction":"In","Priority":65500,"RuleType":"Switch"},
		  {"Type":"NAT","Protocol":"TCP","InternalPort":80,"ExternalPort":30080},
		  {"Type":"PROXY","IP":"10.0.0.1","Port":"8080","ExceptionList":["10.0.0.2"]}]`,
			Endpoint{
				OutBoundNAT:     []OutBoundNAT{{VIP: "10.240.0.4", Exceptions: []string{"10.240.0.0/16"}}},
				SDNRoutes:       []SDNRoute{{DestinationPrefix: "10.0.0.0/16", NeedEncap: true}},
				ProviderAddress: "10.240.0.5",
				ACLs:            []ACL{{Protocols: "256", Action: "Block", Direction: "In", Priority: 65500, RuleType: "Switch"}},
				PortMappings:    []EndpointPortMapping{{Protocol: "TCP", InternalPort: 80, ExternalPort: 30080}},
				L4Proxies:       []L4Proxy{{IP: "10.0.0.1", Port: "8080", Exceptions: []string{"10.0.0.2"}}},
			}},
		{"malformed settings are skipped, not fatal", `[{"Type":"OutBoundNAT","Settings":"oops"},{"Type":"SDNRoute","Settings":{"NeedEncap":"yes"}}]`,
			Endpoint{OutBoundNAT: []OutBoundNAT{{}}, SDNRoutes: []SDNRoute{{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("n1")
			b.Add(artifact(wire.KindHCNEndpoints, `[{"ID":"E","Policies":`+tt.policies+`}]`))
			s := b.Snapshot()
			if len(s.Errors) != 0 {
				t.Fatalf("errors: %v", s.Errors)
			}
			tt.want.ID = "e"
			if diff := cmp.Diff(tt.want, s.Endpoints[0], ignoreRaw, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("typed policies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestV1EndpointViewIsMergedByID(t *testing.T) {
	v2 := artifact(wire.KindHCNEndpoints, `[{"ID":"AAA","IpConfigurations":[{"IpAddress":"10.244.1.5"}],"HostComputeNetwork":"N1"},
	  {"ID":"BBB","IpConfigurations":[{"IpAddress":"10.244.2.7"}]}]`)
	v1 := artifact(wire.KindHNSEndpointsV1, `[{"ID":"aaa","State":5},{"ID":"BBB","IsRemoteEndpoint":true,"State":2},
	  {"ID":"CCC","IPAddress":"10.244.1.9","State":3}]`)
	for _, order := range [][]wire.Record{{v2, v1}, {v1, v2}} {
		b := NewBuilder("n1")
		b.Add(artifact(wire.KindHCNNetworks, `[{"ID":"N1","Name":"cbr0","Type":"L2Bridge"}]`))
		for _, r := range order {
			b.Add(r)
		}
		s := b.Snapshot()
		want := []Endpoint{
			{ID: "aaa", IP: "10.244.1.5", NetworkID: "n1", NetworkName: "cbr0", State: StateDegraded},
			{ID: "bbb", IP: "10.244.2.7", Remote: true, State: StateAttached},
			{ID: "ccc", IP: "10.244.1.9", State: StateAttachedSharing},
		}
		if diff := cmp.Diff(want, s.Endpoints, ignoreRaw, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("merged endpoints (-want +got):\n%s", diff)
		}
		// Calling Snapshot again must not merge twice.
		if again := b.Snapshot(); len(again.Endpoints) != 3 {
			t.Fatalf("second Snapshot() has %d endpoints", len(again.Endpoints))
		}
	}
}

func TestDecodeLoadBalancersV1AndV2(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNLoadBalancers, `[{"ID":"L1","HostComputeEndpoints":["BBB"],"SourceVIP":"10.244.1.2",
	  "FrontendVIPs":["10.96.0.10"],"PortMappings":[{"Protocol":17,"InternalPort":53,"ExternalPort":53,"DistributionType":2}],"Flags":1},
	  {"ID":"L2","HostComputeEndpoints":["AAA"],"FrontendVIPs":[""],"PortMappings":[{"Protocol":"6","InternalPort":8080,"ExternalPort":30080,"Flags":18}]}]`))
	b.Add(artifact(wire.KindHNSPolicyLists, `[{"ID":"P1","References":["/endpoints/DDD"],
	  "Policies":[{"Type":"ELB","VIPs":["10.96.0.1"],"Protocol":6,"InternalPort":6443,"ExternalPort":443,"IsDSR":false,"ILB":true,"LocalRoutedVip":true}]}]`))
	s := b.Snapshot()
	want := []LoadBalancer{
		{ID: "l1", FrontendVIPs: []string{"10.96.0.10"}, SourceVIP: "10.244.1.2", EndpointIDs: []string{"bbb"}, DSR: true, Flags: 1,
			Ports: []PortMapping{{Protocol: "UDP", InternalPort: 53, ExternalPort: 53, DistributionType: 2}}},
		{ID: "l2", EndpointIDs: []string{"aaa"}, Ports: []PortMapping{{Protocol: "TCP", InternalPort: 8080, ExternalPort: 30080, Flags: 18}}},
		{ID: "p1", FrontendVIPs: []string{"10.96.0.1"}, EndpointIDs: []string{"ddd"},
			Ports: []PortMapping{{Protocol: "TCP", InternalPort: 6443, ExternalPort: 443, Flags: PortFlagILB | PortFlagLocalRoutedVIP}}},
	}
	if diff := cmp.Diff(want, s.LoadBalancers); diff != "" {
		t.Fatalf("load balancers (-want +got):\n%s", diff)
	}
	x := s.Index()
	if got := x.LBsFor(Frontend{VIP: "", Protocol: "TCP", Port: 30080}); len(got) != 1 || got[0].ID != "l2" {
		t.Errorf("NodePort frontend lookup = %v", got)
	}
	if x.LBRefs["bbb"] != 1 || x.LBRefs["ddd"] != 1 || x.LBRefs["zzz"] != 0 {
		t.Errorf("LBRefs = %v", x.LBRefs)
	}
	if len(x.LBsWithVIP("10.96.0.10")) != 1 || len(x.LBsWithVIP("")) != 1 || x.HasLB(Frontend{VIP: "10.96.0.10", Protocol: "TCP", Port: 53}) {
		t.Errorf("VIP lookups wrong")
	}
}

func TestBadArtifactBecomesSourceError(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNNetworks, `{"ID": 5}`))
	b.Add(artifact("future.kind", `{}`))
	b.Add(artifact("future.kind", `{}`))
	b.Add(wire.Record{V: 1, Type: "novel-type"})
	s := b.Snapshot()
	if len(s.Errors) != 1 || s.Errors[0].Kind != wire.KindHCNNetworks {
		t.Fatalf("errors = %+v, want one for %s", s.Errors, wire.KindHCNNetworks)
	}
	if diff := cmp.Diff([]string{"future.kind"}, s.Unknown); diff != "" {
		t.Fatalf("unknown kinds (-want +got):\n%s", diff)
	}
	if s.Have[wire.KindHCNNetworks] {
		t.Fatal("a kind that failed to decode is marked as collected")
	}
}

func TestDecodeNetworks(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNNetworks, `[{"ID":"N1","Name":"cbr0","Type":"L2Bridge","Ipams":[{"Type":"Static","Subnets":[
	  {"IpAddressPrefix":"10.244.1.0/24","Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}]}]}],
	  "Policies":[{"Type":"NetAdapterName","Settings":{"NetworkAdapterName":"Ethernet"}}]},
	  {"ID":"N2","Name":"vxlan0","Type":"Overlay","ManagementIP":"10.0.0.4","Subnets":[{"AddressPrefix":"10.244.2.0/24","GatewayAddress":"10.244.2.1"}],
	   "Policies":[{"Type":"DrMacAddress","Settings":{"Address":"01-02-03-04-05-06"}},{"Type":"VxlanPort","Settings":{"Port":4790}},
	     {"Type":"ProviderAddress","Settings":{"ProviderAddress":"10.0.0.4"}},
	     {"Type":"RemoteSubnetRoute","Settings":{"DestinationPrefix":"10.244.1.0/24","IsolationId":4096,"ProviderAddress":"10.0.0.5","DistributedRouterMacAddress":"00-15-5d-00-00-01"}}]}]`))
	s := b.Snapshot()
	want := []Network{
		{ID: "n1", Name: "cbr0", Type: "L2Bridge", AdapterName: "Ethernet", Subnets: []Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}}},
		{ID: "n2", Name: "vxlan0", Type: "Overlay", ManagementIP: "10.0.0.4", DRMAC: "01-02-03-04-05-06", VxlanPort: 4790, ProviderAddress: "10.0.0.4",
			Subnets:       []Subnet{{Prefix: "10.244.2.0/24", Gateway: "10.244.2.1"}},
			RemoteSubnets: []RemoteSubnetRoute{{DestinationPrefix: "10.244.1.0/24", ProviderAddress: "10.0.0.5", DRMAC: "00-15-5d-00-00-01", IsolationID: 4096}}},
	}
	if diff := cmp.Diff(want, s.Networks, cmpopts.IgnoreFields(Network{}, "Policies")); diff != "" {
		t.Fatalf("networks (-want +got):\n%s", diff)
	}
	if !s.Networks[1].IsOverlay() || s.Networks[0].IsOverlay() {
		t.Error("IsOverlay")
	}
}

func TestDecodeNamespacesAndHostKinds(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(artifact(wire.KindHCNNamespaces, `{"ID":"NS1","NamespaceId":2,"Type":"Host","Resources":[{"Type":"Container","Data":{"Id":"abc"}},{"Type":"Endpoint","Data":{"ID":"EP1"}}]}`))
	b.Add(artifact(wire.KindHostAdapters, `[{"name":"vEthernet (Ethernet)","compartment":1,"mtu":1500,"addresses":[{"address":"10.0.0.5","prefixLength":16}]}]`))
	b.Add(artifact(wire.KindHostRoutes, `[{"destination":"0.0.0.0/0","nextHop":"10.0.0.1"}]`))
	b.Add(artifact(wire.KindDNSClient, `{"servers":["168.63.129.16"]}`))
	b.Add(artifact(wire.KindTCPConnections, `{"total":12,"byState":{"LISTEN":3}}`))
	b.Add(artifact(wire.KindPortRanges, `{"dynamic":{"tcp":{"start":49152,"end":65535}},"excluded":{"tcp":[{"start":50000,"end":50059}]}}`))
	b.Add(artifact(wire.KindFirewall, `{"profiles":[{"name":"Public","enabled":true,"defaultInbound":"Block"}]}`))
	b.Add(artifact(wire.KindHotfixes, `[{"id":"KB5044281"}]`))
	b.Add(artifact(wire.KindToolOutput, `{"tool":"hnsdiag","args":["list","all"],"exitCode":0,"output":"..."}`))
	s := b.Snapshot()
	if len(s.Errors) != 0 {
		t.Fatalf("errors: %v", s.Errors)
	}
	if diff := cmp.Diff([]Namespace{{ID: "ns1", Type: "Host", NamespaceID: 2, Containers: []string{"abc"}, EndpointIDs: []string{"ep1"}}}, s.Namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	if len(s.Adapters) != 1 || s.Adapters[0].MTU != 1500 || len(s.Routes) != 1 || s.DNSClient == nil || s.TCPConnections.Total != 12 ||
		s.PortRanges.Dynamic["tcp"].End != 65535 || len(s.Firewall.Profiles) != 1 || len(s.Hotfixes) != 1 || len(s.Tools) != 1 {
		t.Errorf("host kinds not decoded: %+v", s)
	}
}

// FuzzBuilder: no artifact, however malformed, may panic the decoder.
func FuzzBuilder(f *testing.F) {
	for _, seed := range []string{`[]`, `{}`, `null`, `[{"ID":"a","Policies":[{"Type":"OutBoundNAT","Settings":{"Exceptions":"x"}}]}]`,
		`[{"ID":"a","PortMappings":[{"Protocol":"abc"}]}]`, `{"References":["/endpoints/"],"Policies":[{"Type":"ELB"}]}`, `"str"`, `[1,2]`} {
		f.Add(seed)
	}
	kinds := []string{wire.KindHCNNetworks, wire.KindHCNEndpoints, wire.KindHNSEndpointsV1, wire.KindHCNLoadBalancers, wire.KindHNSPolicyLists,
		wire.KindHCNNamespaces, wire.KindHNSVersion, wire.KindEvents, wire.KindFile, wire.KindPortRanges, wire.KindFirewall, wire.KindToolOutput}
	f.Fuzz(func(t *testing.T, data string) {
		b := NewBuilder("n")
		for _, k := range kinds {
			b.Add(artifact(k, data))
		}
		b.Add(artifact(wire.KindFile, `{"path":"C:\\etc\\cni\\net.d\\10.conf","content":`+mustJSON(data)+`}`))
		s := b.Snapshot()
		_ = s.Index()
	})
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// An answer recorded after a skipped probe (the plugin's exec fallback) replaces it, so a
// re-analyzed bundle sees the answer; a second skipped record or another probe is kept apart.
func TestLaterAnswerReplacesSkippedProbe(t *testing.T) {
	b := NewBuilder("n1")
	probe := func(target, verdict, method string) wire.Record {
		raw, _ := json.Marshal(wire.ProbeData{Target: target, Protocol: "dns", Verdict: verdict, Method: method})
		return wire.Record{V: 1, Type: wire.TypeProbe, Data: raw}
	}
	b.Add(probe("kubernetes.default.svc.cluster.local@10.96.0.10:53", "skipped", "pod-compartment"))
	b.Add(probe("x@10.96.0.10:53", "skipped", "pod-compartment"))
	b.Add(probe("kubernetes.default.svc.cluster.local@10.96.0.10:53", "ok", "exec:nslookup"))
	got := b.Snapshot().Probes
	if len(got) != 2 || got[0].Verdict != "ok" || got[0].Method != "exec:nslookup" || got[1].Verdict != "skipped" {
		t.Fatalf("probes = %+v", got)
	}
}
