package hostparse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Windows Firewall keeps its rules as REG_SZ values under
// HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\FirewallRules
// (and, from Group Policy, under HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall\FirewallRules):
// the value name is the rule's ID and the data a "|"-separated list of Key=Value fields after a
// version, where a key may repeat:
//
//	v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|Profile=Domain|Profile=Private|LPort=10250|Name=kubelet|

// FirewallProfileValues are one profile's DWORDs (EnableFirewall, DefaultInboundAction,
// DefaultOutboundAction); nil means the value is not set.
type FirewallProfileValues struct {
	EnableFirewall, DefaultInboundAction, DefaultOutboundAction *uint32
}

// FirewallProfile merges a profile's local settings with those set by Group Policy (policy
// wins where it sets a value, as Windows merges them) over Windows' defaults: enabled, inbound
// blocked, outbound allowed. In the registry an action is 1 for Block and 0 for Allow.
func FirewallProfile(name string, local, policy FirewallProfileValues) wire.FirewallProfile {
	pick := func(l, p *uint32, def uint32) uint32 {
		switch {
		case p != nil:
			return *p
		case l != nil:
			return *l
		}
		return def
	}
	action := func(v uint32) string {
		if v == 0 {
			return "Allow"
		}
		return "Block"
	}
	return wire.FirewallProfile{
		Name:            name,
		Enabled:         pick(local.EnableFirewall, policy.EnableFirewall, 1) != 0,
		DefaultInbound:  action(pick(local.DefaultInboundAction, policy.DefaultInboundAction, 1)),
		DefaultOutbound: action(pick(local.DefaultOutboundAction, policy.DefaultOutboundAction, 0)),
	}
}

// FirewallRule is a parsed rule and what the relevance filter needs beyond the wire shape.
type FirewallRule struct {
	wire.FirewallRule
	// NameIsIndirect says Name is a resource reference such as @FirewallAPI.dll,-28502, which
	// the collector resolves on the node (SHLoadIndirectString) when it keeps the rule.
	NameIsIndirect bool
	restricted     bool // limited to a program or a service
}

// ParseFirewallRule parses one rule value; id is the value's name, used as the name when the
// rule has none.
func ParseFirewallRule(id, data string) (FirewallRule, error) {
	fields := strings.Split(strings.TrimSpace(data), "|")
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "v") {
		return FirewallRule{}, fmt.Errorf("firewall rule %s is not in the v2 registry format (%s)", id, quote(data))
	}
	r := FirewallRule{}
	r.Enabled = true
	var lports, rports, profiles []string
	var svc string
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue // the trailing empty field, or one we do not know
		}
		switch k {
		case "Action":
			r.Action = v
		case "Active":
			r.Enabled = strings.EqualFold(v, "TRUE")
		case "Dir":
			r.Direction = v
		case "Protocol":
			r.Protocol = protocolName(v)
		case "LPort", "LPort2_10", "LPort2_20":
			lports = append(lports, v)
		case "RPort", "RPort2_10":
			rports = append(rports, v)
		case "App":
			r.Program = v
		case "Svc":
			svc = v
		case "Profile":
			profiles = append(profiles, v)
		case "Name":
			r.Name = v
		}
	}
	if r.Action == "" || r.Direction == "" {
		return FirewallRule{}, fmt.Errorf("firewall rule %s has no Action or Dir field (%s)", id, quote(data))
	}
	if r.Protocol == "" {
		r.Protocol = "Any"
	}
	if svc != "" {
		r.Program = strings.TrimSpace(r.Program + " (service " + svc + ")")
	}
	r.restricted = r.Program != ""
	r.LocalPorts = strings.Join(lports, ",")
	r.RemotePorts = strings.Join(rports, ",")
	r.Profiles = "Any"
	if len(profiles) > 0 {
		r.Profiles = strings.Join(profiles, ",")
	}
	switch {
	case r.Name == "":
		r.Name = id
	case strings.HasPrefix(r.Name, "@"):
		r.NameIsIndirect = true
	}
	return r, nil
}

func protocolName(v string) string {
	switch v {
	case "1":
		return "ICMPv4"
	case "6":
		return "TCP"
	case "17":
		return "UDP"
	case "58":
		return "ICMPv6"
	case "256", "":
		return "Any"
	}
	return v
}

// ClusterPorts are the ports whose rules matter to Kubernetes node traffic: DNS (53), BGP
// (179, Calico), VXLAN (4789, flannel and Calico overlays), the API server (6443), the kubelet
// (10250) and the NodePort range (30000-32767).
var ClusterPorts = []wire.PortRange{
	{Start: 53, End: 53}, {Start: 179, End: 179}, {Start: 4789, End: 4789},
	{Start: 6443, End: 6443}, {Start: 10250, End: 10250}, {Start: 30000, End: 32767},
}

// Relevant says whether a rule can change cluster traffic, so the collector keeps it: every
// Block rule, every ICMP rule, a TCP/UDP/Any rule whose local or remote ports meet a cluster
// port, and a TCP/UDP/Any rule that names no port, no program and no service (it covers every
// port). Rules for other protocols, or tied to one program on other ports, are counted only.
func (r FirewallRule) Relevant() bool {
	if strings.EqualFold(r.Action, "Block") {
		return true
	}
	switch r.Protocol {
	case "ICMPv4", "ICMPv6":
		return true
	case "TCP", "UDP", "Any":
	default:
		return false
	}
	if r.LocalPorts == "" && r.RemotePorts == "" {
		return !r.restricted
	}
	return portsMeet(r.LocalPorts, ClusterPorts) || portsMeet(r.RemotePorts, ClusterPorts)
}

// portsMeet says whether a rule's port list ("80,443,30000-32767", keywords such as RPC
// ignored) meets any of the ranges.
func portsMeet(list string, ranges []wire.PortRange) bool {
	for _, p := range strings.Split(list, ",") {
		lo, hi, ok := parsePortSpec(strings.TrimSpace(p))
		if !ok {
			continue
		}
		for _, r := range ranges {
			if lo <= r.End && r.Start <= hi {
				return true
			}
		}
	}
	return false
}

func parsePortSpec(s string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, false
		}
	}
	return lo, hi, lo <= hi
}
