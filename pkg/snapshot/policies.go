package snapshot

import (
	"encoding/json"
	"strings"
)

// rawPolicy covers both policy shapes: v2 {"Type","Settings":{...}} and v1 flat {"Type",...}.
type rawPolicy map[string]json.RawMessage

func decodePolicies(raw []rawPolicy) []Policy {
	var out []Policy
	for _, p := range raw {
		var typ string
		var settings json.RawMessage
		for k, v := range p {
			switch {
			case strings.EqualFold(k, "Type"):
				_ = json.Unmarshal(v, &typ)
			case strings.EqualFold(k, "Settings"):
				settings = v
			}
		}
		if settings == nil {
			// v1: the policy's own fields are its settings.
			flat := map[string]json.RawMessage{}
			for k, v := range p {
				if !strings.EqualFold(k, "Type") {
					flat[k] = v
				}
			}
			settings, _ = json.Marshal(flat)
		}
		out = append(out, Policy{Type: typ, Settings: settings})
	}
	return out
}

// policySettings is the union of the settings of every policy type we read. JSON field
// matching is case-insensitive, which absorbs the v1/v2 and CNI-config spelling differences
// (VIP/Vip, OutboundNAT/OutboundNat); names that differ in more than case have two fields.
type policySettings struct {
	// OutBoundNAT (v2 VirtualIP/Exceptions, v1 VIP/ExceptionList).
	VIP           string
	VirtualIP     string
	Exceptions    flexList
	ExceptionList flexList
	Destinations  flexList
	// SDNRoute / ROUTE.
	DestinationPrefix string
	NextHop           string
	NeedEncap         bool
	// ACL.
	ID              string
	Protocols       flexString
	Protocol        flexString
	Action          string
	Direction       string
	LocalAddresses  string
	RemoteAddresses string
	LocalPorts      string
	RemotePorts     string
	RuleType        string
	Priority        int
	// PortMapping / NAT.
	InternalPort int
	ExternalPort int
	Flags        int
	// ProviderAddress (v2) / PA (v1).
	ProviderAddress string
	PA              string
	// EncapOverhead.
	Overhead int
	// L4Proxy / PROXY.
	IP          string
	Port        flexString
	Destination string
	OutboundNAT bool
	// Network policies: DrMacAddress, VxlanPort, NetAdapterName, RemoteSubnetRoute.
	Address                     string
	DistributedRouterMacAddress string
	IsolationID                 int `json:"IsolationId"`
	NetworkAdapterName          string
}

func settingsOf(p Policy) policySettings {
	var s policySettings
	_ = json.Unmarshal(p.Settings, &s) // a malformed policy reads as empty rather than failing the endpoint
	return s
}

// PolicyKind normalizes a policy type across v1 and v2 names: "outboundnat", "route",
// "acl", "portmapping", "provideraddress", "encapoverhead", "l4proxy", or the lower-cased
// type itself.
func PolicyKind(typ string) string {
	switch t := strings.ToLower(strings.TrimSpace(typ)); t {
	case "sdnroute", "route":
		return "route"
	case "nat", "portmapping":
		return "portmapping"
	case "pa", "provideraddress":
		return "provideraddress"
	case "proxy", "l4proxy", "l4wfpproxy":
		return "l4proxy"
	default:
		return t
	}
}

func typeEndpointPolicies(e *Endpoint) {
	for _, p := range e.Policies {
		kind := PolicyKind(p.Type)
		switch kind {
		case "outboundnat", "route", "acl", "portmapping", "provideraddress", "encapoverhead", "l4proxy":
		default:
			continue
		}
		s := settingsOf(p)
		switch kind {
		case "outboundnat":
			e.OutBoundNAT = append(e.OutBoundNAT, OutBoundNAT{
				VIP:          firstNonEmpty(s.VirtualIP, s.VIP),
				Exceptions:   appendLists(s.Exceptions, s.ExceptionList),
				Destinations: s.Destinations,
			})
		case "route":
			e.SDNRoutes = append(e.SDNRoutes, SDNRoute{DestinationPrefix: s.DestinationPrefix, NextHop: s.NextHop, NeedEncap: s.NeedEncap})
		case "acl":
			e.ACLs = append(e.ACLs, ACL{ID: s.ID, Protocols: string(firstFlex(s.Protocols, s.Protocol)), Action: s.Action,
				Direction: s.Direction, LocalAddresses: s.LocalAddresses, RemoteAddresses: s.RemoteAddresses,
				LocalPorts: s.LocalPorts, RemotePorts: s.RemotePorts, RuleType: s.RuleType, Priority: s.Priority})
		case "portmapping":
			e.PortMappings = append(e.PortMappings, EndpointPortMapping{Protocol: protocolText(string(s.Protocol)),
				InternalPort: s.InternalPort, ExternalPort: s.ExternalPort, VIP: s.VIP, Flags: s.Flags})
		case "provideraddress":
			e.ProviderAddress = firstNonEmpty(s.ProviderAddress, s.PA)
		case "encapoverhead":
			e.EncapOverhead = s.Overhead
		case "l4proxy":
			e.L4Proxies = append(e.L4Proxies, L4Proxy{IP: s.IP, Port: string(s.Port), Protocol: protocolText(string(s.Protocol)),
				Exceptions: appendLists(s.Exceptions, s.ExceptionList), Destination: s.Destination, OutboundNAT: s.OutboundNAT})
		}
	}
}

func typeNetworkPolicies(n *Network) {
	for _, p := range n.Policies {
		kind := strings.ToLower(p.Type)
		switch kind {
		case "drmacaddress", "vxlanport", "provideraddress", "pa", "remotesubnetroute", "netadaptername":
		default:
			continue
		}
		s := settingsOf(p)
		switch kind {
		case "drmacaddress":
			n.DRMAC = firstNonEmpty(s.Address, n.DRMAC)
		case "vxlanport":
			n.VxlanPort = atoiOr(string(s.Port), n.VxlanPort)
		case "provideraddress", "pa":
			n.ProviderAddress = firstNonEmpty(s.ProviderAddress, s.PA, n.ProviderAddress)
		case "remotesubnetroute":
			n.RemoteSubnets = append(n.RemoteSubnets, RemoteSubnetRoute{DestinationPrefix: s.DestinationPrefix,
				ProviderAddress: s.ProviderAddress, DRMAC: s.DistributedRouterMacAddress, IsolationID: s.IsolationID})
		case "netadaptername":
			n.AdapterName = firstNonEmpty(s.NetworkAdapterName, n.AdapterName)
		}
	}
}

func appendLists(a, b flexList) []string {
	if len(b) == 0 {
		return a
	}
	return append(append([]string(nil), a...), b...)
}

func firstFlex(a, b flexString) flexString {
	if a != "" {
		return a
	}
	return b
}

// protocolText renders a protocol given as a number or a name as its name (TCP, UDP, ...).
func protocolText(p string) string {
	if p == "" {
		return ""
	}
	if n := ProtocolNumber(p); n != 0 {
		return ProtocolName(n)
	}
	return p
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		return def
	}
	return n
}
