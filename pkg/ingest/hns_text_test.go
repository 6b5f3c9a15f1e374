package ingest

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// TestHNSFormatTable: Get-HnsEndpoint/Get-HnsNetwork | Format-Table into partial HNS objects,
// columns by the dashes; rows that do not read, and tables that are not HNS, are left out.
func TestHNSFormatTable(t *testing.T) {
	endpoints := "PS C:\\> Get-HnsEndpoint | Format-Table Id, Name, IPAddress, IsRemoteEndpoint\n\n" +
		"ID                                   Name       IPAddress   IsRemoteEndpoint\n" +
		"--                                   ----       ---------   ----------------\n" +
		"0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01 Ethernet   10.1.2.30               True\n" +
		"4ab1d2e3-5c6d-4e7f-8091-a2b3c4d5e6f7 web_eth0   10.1.5.17              False\n"
	for _, c := range []struct {
		name, text string
		kind       string
		want       []map[string]any // nil: not read as a table of HNS objects
		note       string
	}{
		{name: "endpoints with the command", text: endpoints, kind: wire.KindHCNEndpoints,
			want: []map[string]any{
				{"ID": "0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01", "Name": "Ethernet", "IPAddress": "10.1.2.30", "IsRemoteEndpoint": true},
				{"ID": "4ab1d2e3-5c6d-4e7f-8091-a2b3c4d5e6f7", "Name": "web_eth0", "IPAddress": "10.1.5.17", "IsRemoteEndpoint": false},
			}},
		{name: "a last row cut mid-line is skipped", text: endpoints + "7d8e9fa0-b1c2-4d3e-9f40-5a6b7c8d9e0f Ethernet   10.1.2.4", kind: wire.KindHCNEndpoints,
			want: []map[string]any{
				{"ID": "0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01", "Name": "Ethernet", "IPAddress": "10.1.2.30", "IsRemoteEndpoint": true},
				{"ID": "4ab1d2e3-5c6d-4e7f-8091-a2b3c4d5e6f7", "Name": "web_eth0", "IPAddress": "10.1.5.17", "IsRemoteEndpoint": false},
			}, note: "cut off"},
		{name: "a last row cut inside its ID is skipped", text: endpoints + "7d8e9fa0-b1c2-4d3e-9f4", kind: wire.KindHCNEndpoints,
			want: []map[string]any{
				{"ID": "0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01", "Name": "Ethernet", "IPAddress": "10.1.2.30", "IsRemoteEndpoint": true},
				{"ID": "4ab1d2e3-5c6d-4e7f-8091-a2b3c4d5e6f7", "Name": "web_eth0", "IPAddress": "10.1.5.17", "IsRemoteEndpoint": false},
			}, note: "cut off"},
		{name: "endpoints without the command, told by their columns",
			text: strings.SplitN(endpoints, "\n\n", 2)[1], kind: wire.KindHCNEndpoints,
			want: []map[string]any{
				{"ID": "0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01", "Name": "Ethernet", "IPAddress": "10.1.2.30", "IsRemoteEndpoint": true},
				{"ID": "4ab1d2e3-5c6d-4e7f-8091-a2b3c4d5e6f7", "Name": "web_eth0", "IPAddress": "10.1.5.17", "IsRemoteEndpoint": false},
			}},
		{name: "networks, values cut to the console dropped",
			text: "PS C:\\k> Get-HnsNetwork | ft Id, Name, Type, Subnets\n\n" +
				"Id                                   Name           Type     Subnets\n" +
				"--                                   ----           ----     -------\n" +
				"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f vxlan0         Overlay  {@{AddressPrefix=10.1.5.0/24; GatewayA...\n" +
				"11112222-3333-4444-5555-666677778888 nat            NAT      {@{AddressPrefix=172.20.0.0/16; Gatewa...\n" +
				"aaaabbbb-cccc-dddd-eeee-ffff00001111 Calico-long... L2Bridge {}\n",
			kind: wire.KindHCNNetworks,
			want: []map[string]any{
				{"Id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "Name": "vxlan0", "Type": "Overlay"},
				{"Id": "11112222-3333-4444-5555-666677778888", "Name": "nat", "Type": "NAT"},
				{"Id": "aaaabbbb-cccc-dddd-eeee-ffff00001111", "Type": "L2Bridge"},
			}},
		{name: "policy lists: their policies cannot be shown",
			text: "PS C:\\> Get-HnsPolicyList | ft Id, References\n\nID                                   References\n--                                   ----------\n" +
				"0cb1e29c-658c-4a14-95e6-0af593bd04cf {/endpoints/6b0d549b-6f03-475a-9600-a35a099950d8}\n", note: "cannot show their policies"},
		{name: "a network summary without the command (collectlogs.ps1 prints one above the JSON)",
			text: "Name Type     Id                                   AddressPrefix\n---- ----     --                                   -------------\ncbr0 L2Bridge 6513270e-269e-4d37-b2a7-4de452e6b438 {10.244.1.0/24}\n"},
		{name: "another cmdlet's table with an Id column",
			text: "PS C:\\> Get-Process | ft Id, Name\n\n   Id Name\n   -- ----\n 4312 kube-proxy\n 2280 kubelet\n"},
		{name: "a VM switch table",
			text: "Id                                   Name         SwitchType\n--                                   ----         ----------\n1c3e2a5b-0000-4a1b-9c8d-7e6f5a4b3c2d nat          Internal\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			var got []map[string]any
			for _, o := range r.Outputs {
				if o.Format != "hns-format-table" {
					continue
				}
				for _, h := range o.HNS {
					if h.Kind != c.kind || h.Rank != rankPartial || h.Schema != 1 {
						t.Errorf("object %s rank %d schema %d, want %s partial v1", h.Kind, h.Rank, h.Schema, c.kind)
					}
					var m map[string]any
					if err := json.Unmarshal(h.Raw, &m); err != nil {
						t.Fatal(err)
					}
					got = append(got, m)
				}
			}
			if c.want == nil {
				if got != nil {
					t.Fatalf("read as HNS objects: %v", got)
				}
				if c.note != "" && !strings.Contains(notesOf(r), c.note) {
					t.Errorf("notes %q, want %q", notesOf(r), c.note)
				}
				return
			}
			if len(got) != len(c.want) {
				t.Fatalf("objects %v, want %v", got, c.want)
			}
			for i := range got {
				if len(got[i]) != len(c.want[i]) {
					t.Errorf("object %d: %v, want %v", i, got[i], c.want[i])
				}
				for k, v := range c.want[i] {
					if got[i][k] != v {
						t.Errorf("object %d %s: %v, want %v", i, k, got[i][k], v)
					}
				}
			}
			if !strings.Contains(notesOf(r), "only the columns") || (c.note != "" && !strings.Contains(notesOf(r), c.note)) {
				t.Errorf("notes %q, want the partial note and %q", notesOf(r), c.note)
			}
		})
	}
}

// TestHNSFormatTableLosesToBetterDumps: objects from a table are used only where no JSON dump
// has the kind.
func TestHNSFormatTableLosesToBetterDumps(t *testing.T) {
	c := NewCollection(Options{})
	c.Add("ft.txt", []byte("ID                                   Name     IPAddress  IsRemoteEndpoint\n--                                   ----     ---------  ----------------\n"+
		"0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01 Ethernet 10.1.2.30              True\n"), "")
	c.Add("ep.json", []byte(`[{"ID":"0F6C3A52-9F1E-4C1A-8A44-2B7F0E1D9C01","Name":"Ethernet","IPAddress":"10.1.2.30","IsRemoteEndpoint":true,"VirtualNetworkName":"vxlan0","MacAddress":"02-11-0a-01-02-1e"}]`), "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range res.Records {
		if r.Kind == wire.KindHCNEndpoints {
			n++
			if !strings.Contains(string(r.Data), "VirtualNetworkName") {
				t.Errorf("the table's object won over the JSON: %s", r.Data)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d endpoint records, want the JSON's only", n)
	}
}

// TestHNSFormatListWrapped: Get-HnsNetwork's list view with nested values printed as @{...}
// and wrapped onto indented lines still gives the network's scalar fields.
func TestHNSFormatListWrapped(t *testing.T) {
	text := "PS C:\\> Get-HnsNetwork\n\n" +
		"ActivityId             : 0A1B2C3D-1111-2222-3333-444455556666\n" +
		"Extensions             : {@{Id=E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A; IsEnabled=False; Name=Microsoft Windows Filtering Platform},\n" +
		"                         @{Id=EA24CD6C-D17A-4348-9190-09F0D5BE83DD; IsEnabled=True; Name=Microsoft NDIS Capture}}\n" +
		"Health                 : @{LastErrorCode=0; LastUpdateTime=133000000000000000}\n" +
		"ID                     : 9E8D7C6B-5A49-4838-A727-161504F3E2D1\n" +
		"ManagementIP           : 10.0.4.20\n" +
		"Name                   : vxlan0\n" +
		"Subnets                : {@{AddressPrefix=10.1.5.0/24; GatewayAddress=10.1.5.1; ID=11111111-2222-3333-4444-555555555555;\n" +
		"                         Policies=System.Object[]; Type=Subnet}}\n" +
		"Type                   : Overlay\n"
	r := recognizeText(t, text)
	nets := hnsOf(r, wire.KindHCNNetworks)
	if len(nets) != 1 || nets[0].ID != "9e8d7c6b-5a49-4838-a727-161504f3e2d1" {
		t.Fatalf("networks %+v (formats %v)", nets, formats(r))
	}
	var n hnsNetworkShape
	if err := json.Unmarshal(nets[0].Raw, &n); err != nil {
		t.Fatal(err)
	}
	if n.Name != "vxlan0" || n.Type != "Overlay" || n.ManagementIP != "10.0.4.20" || len(n.Subnets) != 1 ||
		n.Subnets[0].AddressPrefix != "10.1.5.0/24" || n.Subnets[0].GatewayAddress != "10.1.5.1" {
		t.Errorf("network %+v", n)
	}
	if strings.Contains(string(nets[0].Raw), "Extensions") || strings.Contains(string(nets[0].Raw), "NDIS") {
		t.Errorf("the wrapped @{...} list leaked into the object: %s", nets[0].Raw)
	}
}

// TestHNSKeyedJSON: an HCN object printed after "Name=" or "Name :" on its line.
func TestHNSKeyedJSON(t *testing.T) {
	ep := `{"Name":"4c3b_eth0","HostComputeNetwork":"7198D0AB-0000-4C83-8CED-311F4DD0CF9C","IpConfigurations":[{"IpAddress":"10.1.5.9"}],"SchemaVersion":{"Major":2,"Minor":0}}`
	for _, c := range []struct {
		name, text string
		want       int    // endpoints
		other      string // a format that must read the text instead
	}{
		{name: "Settings=", text: "Settings=" + ep + "\n", want: 1},
		{name: "a property list", text: "Name     : 4c3b_eth0\nSettings : " + ep + "\n", want: 1},
		{name: "pretty-printed after the key", text: "Endpoint = {\n  \"HostComputeNetwork\": \"7198D0AB-0000-4C83-8CED-311F4DD0CF9C\",\n  \"IpConfigurations\": [{\"IpAddress\": \"10.1.5.9\"}]\n}\n", want: 1},
		{name: "not HCN", text: "Settings={\"Name\":\"x\",\"Color\":\"blue\"}\n"},
		{name: "JSON inside a log line", text: "I0102 03:04:05.000000 1 hns.go:12] Settings=" + ep + "\n"},
		{name: "one line of a session is left to the section readers",
			text: "PS C:\\> nslookup web\nServer:  UnKnown\nAddress:  10.96.0.10\n\n*** UnKnown can't find web: Non-existent domain\nPS C:\\> type ep.log\nSettings=" + ep + "\n" +
				"Pinging 10.1.5.1 with 32 bytes of data:\nRequest timed out.\n", other: "test-transcript"},
		{name: "a brace that never closes", text: "Settings={\"HostComputeNetwork\":\"7198D0AB\"," + strings.Repeat(" ", 100) + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			eps := hnsOf(r, wire.KindHCNEndpoints)
			if len(eps) != c.want {
				t.Fatalf("%d endpoints, want %d (formats %v)", len(eps), c.want, formats(r))
			}
			if c.other != "" && !hasFormat(r, c.other) {
				t.Errorf("formats %v, want %s", formats(r), c.other)
			}
			if c.want > 0 && (eps[0].Schema != 2 || eps[0].Rank != rankJSON) {
				t.Errorf("endpoint %+v", eps[0])
			}
		})
	}
}

// TestHNSEndpointGroups: Get-HnsEndpoint | Group-Object IPAddress, in Group-Object's own table
// and as IP-and-count lines, gives endpoints known by IP alone, as a subset of the list.
func TestHNSEndpointGroups(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       map[string]int // IP -> endpoints; nil: not read
	}{
		{name: "IP and count under a split pipeline",
			text: "Get-HnsEndpoint |\nGroup-Object IPAddress |\nWhere-Object { $_.Count -gt 1 }\n\n10.1.5.23 2\n10.1.8.11 3\n",
			want: map[string]int{"10.1.5.23": 2, "10.1.8.11": 3}},
		{name: "Group-Object's table after a prompt",
			text: "PS C:\\> Get-HnsEndpoint | Group-Object -Property IPAddress | ? Count -gt 1\n\n" +
				"Count Name                      Group\n----- ----                      -----\n" +
				"    2 10.1.0.7                  {@{ActivityId=5B1...}, @{ActivityId=77C...}}\n\nPS C:\\> hostname\nwin-1\n",
			want: map[string]int{"10.1.0.7": 2}},
		// Negatives.
		{name: "another cmdlet grouped", text: "PS C:\\> Get-Process | Group-Object Name\n\nCount Name Group\n----- ---- -----\n    2 10.1.0.7 {}\n"},
		{name: "endpoints grouped by another property", text: "Get-HnsEndpoint | Group-Object VirtualNetworkName\n\n    4 cbr0\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			got := map[string]int{}
			for _, o := range hnsOf(r, wire.KindHCNEndpoints) {
				var e struct{ IPAddress string }
				if err := json.Unmarshal(o.Raw, &e); err != nil {
					t.Fatal(err)
				}
				if !o.Subset {
					t.Errorf("endpoint %s is not marked a subset", o.Raw)
				}
				got[e.IPAddress]++
			}
			if c.want == nil {
				if len(got) != 0 || hasFormat(r, "hns-endpoint-ip-groups") {
					t.Fatalf("read as endpoint groups: %v %v", got, formats(r))
				}
				return
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("endpoints by IP %v, want %v", got, c.want)
			}
		})
	}
}

// TestHNSEndpointGroupsYieldToTheList: the grouped view of endpoints another file lists is
// dropped (counting both would double every IP), and alone it is a subset: its objects are in
// the snapshot, but the snapshot does not claim to hold the node's endpoints.
func TestHNSEndpointGroupsYieldToTheList(t *testing.T) {
	groups := []byte("Get-HnsEndpoint | Group-Object IPAddress | Where-Object { $_.Count -gt 1 }\n\n10.1.2.30 2\n")
	c := NewCollection(Options{})
	c.Add("groups.txt", groups, "")
	c.Add("ft.txt", []byte("ID                                   Name     IPAddress  IsRemoteEndpoint\n--                                   ----     ---------  ----------------\n"+
		"0f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c01 Ethernet 10.1.2.30              True\n"+
		"1f6c3a52-9f1e-4c1a-8a44-2b7f0e1d9c02 Ethernet 10.1.2.30             False\n"), "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	s := snapshotOf(t, res)
	if len(s.Endpoints) != 2 || !s.HaveEndpoints() || s.Partial[wire.KindHCNEndpoints] {
		t.Errorf("with the table: %d endpoints, have %v, partial %v; want the table's 2, whole", len(s.Endpoints), s.HaveEndpoints(), s.Partial)
	}

	c = NewCollection(Options{})
	c.Add("groups.txt", groups, "")
	if res, err = c.Finish(); err != nil {
		t.Fatal(err)
	}
	s = snapshotOf(t, res)
	if len(s.Endpoints) != 2 || s.HaveEndpoints() || !s.Partial[wire.KindHCNEndpoints] {
		t.Errorf("alone: %d endpoints, have %v, partial %v; want 2, a subset", len(s.Endpoints), s.HaveEndpoints(), s.Partial)
	}
}
