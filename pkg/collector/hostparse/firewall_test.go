package hostparse

import (
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestFirewallProfile(t *testing.T) {
	one, zero := uint32(1), uint32(0)
	tests := []struct {
		name          string
		local, policy FirewallProfileValues
		want          wire.FirewallProfile
	}{
		{name: "nothing set: Windows defaults",
			want: wire.FirewallProfile{Name: "Public", Enabled: true, DefaultInbound: "Block", DefaultOutbound: "Allow"}},
		{name: "local settings",
			local: FirewallProfileValues{EnableFirewall: &zero, DefaultInboundAction: &zero, DefaultOutboundAction: &one},
			want:  wire.FirewallProfile{Name: "Public", Enabled: false, DefaultInbound: "Allow", DefaultOutbound: "Block"}},
		{name: "policy wins where it sets a value",
			local:  FirewallProfileValues{EnableFirewall: &zero, DefaultInboundAction: &zero},
			policy: FirewallProfileValues{EnableFirewall: &one},
			want:   wire.FirewallProfile{Name: "Public", Enabled: true, DefaultInbound: "Allow", DefaultOutbound: "Allow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirewallProfile("Public", tt.local, tt.policy); got != tt.want {
				t.Errorf("FirewallProfile = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFirewallRule(t *testing.T) {
	tests := []struct {
		name, id, data string
		want           wire.FirewallRule
		indirect       bool
		relevant       bool
		wantErr        string
	}{
		{name: "kubelet, as install scripts add it", id: "{8B2C1D0E-0000-4000-8000-000000000001}",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=10250|Name=kubelet|",
			want: wire.FirewallRule{Name: "kubelet", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", LocalPorts: "10250", Profiles: "Any"}, relevant: true},
		{name: "NodePort range, two profiles", id: "nodeports",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=17|Profile=Domain|Profile=Private|LPort=30000-32767|Name=NodePorts UDP|",
			want: wire.FirewallRule{Name: "NodePorts UDP", Enabled: true, Direction: "In", Action: "Allow", Protocol: "UDP", LocalPorts: "30000-32767", Profiles: "Domain,Private"}, relevant: true},
		{name: "a port list meeting VXLAN", id: "overlay",
			data: "v2.30|Action=Allow|Active=FALSE|Dir=In|Protocol=17|LPort=4000|LPort=4789|Name=overlay|",
			want: wire.FirewallRule{Name: "overlay", Enabled: false, Direction: "In", Action: "Allow", Protocol: "UDP", LocalPorts: "4000,4789", Profiles: "Any"}, relevant: true},
		{name: "outbound to the API server", id: "apiserver-out",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=Out|Protocol=6|RPort=6443|Name=apiserver|",
			want: wire.FirewallRule{Name: "apiserver", Enabled: true, Direction: "Out", Action: "Allow", Protocol: "TCP", RemotePorts: "6443", Profiles: "Any"}, relevant: true},
		{name: "built-in ICMP rule with an indirect name", id: "FPS-ICMP4-ERQ-In",
			data: "v2.10|Action=Allow|Active=TRUE|Dir=In|Protocol=1|Profile=Private|Profile=Public|ICMP4=8:*|RA4=LocalSubnet|Name=@FirewallAPI.dll,-28543|Desc=@FirewallAPI.dll,-28544|EmbedCtxt=@FirewallAPI.dll,-28502|",
			want: wire.FirewallRule{Name: "@FirewallAPI.dll,-28543", Enabled: true, Direction: "In", Action: "Allow", Protocol: "ICMPv4", Profiles: "Private,Public"}, indirect: true, relevant: true},
		{name: "block rule on an unrelated port", id: "block-telnet",
			data: "v2.31|Action=Block|Active=TRUE|Dir=In|Protocol=6|LPort=23|Name=no telnet|",
			want: wire.FirewallRule{Name: "no telnet", Enabled: true, Direction: "In", Action: "Block", Protocol: "TCP", LocalPorts: "23", Profiles: "Any"}, relevant: true},
		{name: "allow everything inbound", id: "allow-all",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Name=allow all|",
			want: wire.FirewallRule{Name: "allow all", Enabled: true, Direction: "In", Action: "Allow", Protocol: "Any", Profiles: "Any"}, relevant: true},
		{name: "program rule without ports: counted only", id: "RemoteDesktop-Shadow-In-TCP",
			data: `v2.33|Action=Allow|Active=TRUE|Dir=In|Protocol=6|App=%SystemRoot%\system32\RdpSa.exe|Name=@FirewallAPI.dll,-28778|Edge=TRUE|Defer=App|`,
			want: wire.FirewallRule{Name: "@FirewallAPI.dll,-28778", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", Program: `%SystemRoot%\system32\RdpSa.exe`, Profiles: "Any"}, indirect: true},
		{name: "service rule on another port", id: "RemoteDesktop-UserMode-In-TCP",
			data: `v2.33|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=3389|App=%SystemRoot%\system32\svchost.exe|Svc=termservice|Name=Remote Desktop - User Mode (TCP-In)|`,
			want: wire.FirewallRule{Name: "Remote Desktop - User Mode (TCP-In)", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", LocalPorts: "3389", Program: `%SystemRoot%\system32\svchost.exe (service termservice)`, Profiles: "Any"}},
		{name: "keyword ports do not match", id: "RPC",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=RPC|LPort2_10=IPHTTPSIn|Name=rpc|",
			want: wire.FirewallRule{Name: "rpc", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", LocalPorts: "RPC,IPHTTPSIn", Profiles: "Any"}},
		{name: "GRE allow: other protocols are counted only", id: "gre",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=47|Name=gre|",
			want: wire.FirewallRule{Name: "gre", Enabled: true, Direction: "In", Action: "Allow", Protocol: "47", Profiles: "Any"}},
		{name: "no name: the ID stands in", id: "{A1}",
			data: "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=53|",
			want: wire.FirewallRule{Name: "{A1}", Enabled: true, Direction: "In", Action: "Allow", Protocol: "TCP", LocalPorts: "53", Profiles: "Any"}, relevant: true},
		{name: "not the v2 format", id: "junk", data: "Action=Allow", wantErr: "firewall rule junk is not in the v2 registry format"},
		{name: "no direction", id: "half", data: "v2.31|Action=Allow|Protocol=6|", wantErr: "firewall rule half has no Action or Dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFirewallRule(tt.id, tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseFirewallRule = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.FirewallRule != tt.want {
				t.Errorf("rule =\n%+v\nwant\n%+v", got.FirewallRule, tt.want)
			}
			if got.NameIsIndirect != tt.indirect {
				t.Errorf("NameIsIndirect = %v, want %v", got.NameIsIndirect, tt.indirect)
			}
			if got.Relevant() != tt.relevant {
				t.Errorf("Relevant() = %v, want %v", got.Relevant(), tt.relevant)
			}
		})
	}
}

func TestPortsMeet(t *testing.T) {
	tests := []struct {
		list string
		want bool
	}{
		{"", false}, {"80,443", false}, {"53", true}, {"29999-30000", true}, {"32767-40000", true},
		{"32768-40000", false}, {"10249-10251", true}, {"RPC,4789", true}, {"500-400", false}, {"x-1", false},
	}
	for _, tt := range tests {
		if got := portsMeet(tt.list, ClusterPorts); got != tt.want {
			t.Errorf("portsMeet(%q) = %v, want %v", tt.list, got, tt.want)
		}
	}
}
