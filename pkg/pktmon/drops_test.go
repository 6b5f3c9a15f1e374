package pktmon

import (
	"slices"
	"strings"
	"testing"
)

// The documented syntax: pktmon etl2pcap <file> [--out <name>] [--drop-only] [--component-id <id>].
func TestEtl2pcapDrops(t *testing.T) {
	if got, want := Etl2pcapDrops(`C:\w\c.etl`, `C:\w\d.pcapng`, 0), []string{"etl2pcap", `C:\w\c.etl`, "--drop-only", "--out", `C:\w\d.pcapng`}; !slices.Equal(got, want) {
		t.Errorf("all drops: %q, want %q", got, want)
	}
	if got, want := Etl2pcapDrops("c.etl", "d.pcapng", 12), []string{"etl2pcap", "c.etl", "--drop-only", "--component-id", "12", "--out", "d.pcapng"}; !slices.Equal(got, want) {
		t.Errorf("one component: %q, want %q", got, want)
	}
	if got := ListJSON(); !slices.Equal(got, []string{"list", "--json"}) {
		t.Errorf("list: %q", got)
	}
}

func TestParseComponents(t *testing.T) {
	// The layout Windows Admin Center's packet monitoring scripts read from `pktmon list -i
	// --json`: groups, each with components that have an id, a name, a type and properties.
	list := "\ufeff" + `[
	  {"Group": "vEthernet (nat)", "Components": [
	    {"Id": 7, "Name": "Hyper-V Virtual Ethernet Adapter", "Type": "Host vNic", "Properties": [{"Name": "ifIndex", "Value": 14}]},
	    {"Id": 9, "Name": "", "Type": "VMS Protocol Nic", "Properties": [{"Name": "Switch Name", "Value": "nat"}, {"Name": "Nic ifIndex", "Value": 3}]}
	  ]},
	  {"Group": "Ethernet", "Components": [
	    {"Id": "12", "Name": "Virtual Filtering Platform VMSwitch Extension", "Type": "Filter"},
	    {"Id": 7, "Name": "Hyper-V Virtual Ethernet Adapter", "Type": "Host vNic"}
	  ]}
	]`
	got, err := ParseComponents([]byte(list))
	if err != nil {
		t.Fatal(err)
	}
	want := []Component{
		{ID: 7, Name: "Hyper-V Virtual Ethernet Adapter", Type: "Host vNic", Group: "vEthernet (nat)"},
		{ID: 9, Name: "nat", Type: "VMS Protocol Nic", Group: "vEthernet (nat)"},
		{ID: 12, Name: "Virtual Filtering Platform VMSwitch Extension", Type: "Filter", Group: "Ethernet"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	one, err := ParseComponents([]byte(`{"group": "Ethernet", "components": [{"id": 3, "name": "Intel NIC", "type": "Miniport"}]}`))
	if err != nil || len(one) != 1 || one[0].Name != "Intel NIC" {
		t.Errorf("one group as an object: %+v, %v", one, err)
	}
	for _, bad := range []string{"", "not json", `[{"Components": [{"Name": "x"}]}]`, `[{"Components": [{"Id": "a"}]}]`} {
		if _, err := ParseComponents([]byte(bad)); err == nil || !strings.Contains(err.Error(), "pktmon list --json") {
			t.Errorf("ParseComponents(%q) = %v, want an error naming the command", bad, err)
		}
	}
}
