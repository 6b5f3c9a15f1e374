package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Builder folds records into a Snapshot as they arrive, so rendering can start as soon as the
// stream ends and progress can be reported per record.
type Builder struct {
	snap Snapshot
}

// NewBuilder starts an empty snapshot for node.
func NewBuilder(node string) *Builder {
	return &Builder{snap: Snapshot{Node: node, Have: map[string]bool{}, SourceTimings: map[string]time.Duration{}}}
}

// Add decodes one record. A record whose data does not decode becomes a SourceError: one bad
// artifact never spoils the others.
func (b *Builder) Add(r wire.Record) {
	s := &b.snap
	s.Raw = append(s.Raw, r)
	switch r.Type {
	case wire.TypeHello:
		var h wire.HelloData
		if err := json.Unmarshal(r.Data, &h); err == nil {
			s.Collector = &h
			s.Started = r.Time
		}
	case wire.TypeDone:
		var d wire.DoneData
		if err := json.Unmarshal(r.Data, &d); err == nil {
			s.Done = &d
		}
	case wire.TypeError:
		s.Errors = append(s.Errors, SourceError{Source: r.Source, Kind: r.Kind, Error: r.Error})
	case wire.TypeProgress:
		var p wire.ProgressData
		if err := json.Unmarshal(r.Data, &p); err == nil && p.Stage == "end" {
			s.SourceTimings[r.Source] = time.Duration(p.DurationMS) * time.Millisecond
		}
	case wire.TypeProbe:
		var p wire.ProbeData
		if err := json.Unmarshal(r.Data, &p); err == nil {
			s.Probes = append(s.Probes, p)
		}
	case wire.TypeArtifact:
		if err := b.addArtifact(r); err != nil {
			s.Errors = append(s.Errors, SourceError{Source: r.Source, Kind: r.Kind, Error: err.Error()})
			return
		}
		s.Have[r.Kind] = true
	}
	// Unknown record types are tolerated: a newer collector may send more than we read.
}

// Snapshot returns the snapshot built so far.
func (b *Builder) Snapshot() *Snapshot {
	s := b.snap
	sort.Strings(s.Unknown)
	return &s
}

func (b *Builder) addArtifact(r wire.Record) error {
	s := &b.snap
	var err error
	switch r.Kind {
	case wire.KindHCNNetworks:
		var nets []Network
		nets, err = decodeNetworks(r.Data)
		s.Networks = append(s.Networks, nets...)
	case wire.KindHCNEndpoints:
		var eps []Endpoint
		eps, err = decodeEndpoints(r.Data)
		s.Endpoints = append(s.Endpoints, eps...)
	case wire.KindHCNLoadBalancers:
		var lbs []LoadBalancer
		lbs, err = decodeLoadBalancers(r.Data)
		s.LoadBalancers = append(s.LoadBalancers, lbs...)
	case wire.KindHNSPolicyLists:
		var lbs []LoadBalancer
		lbs, err = decodePolicyLists(r.Data)
		s.LoadBalancers = append(s.LoadBalancers, lbs...)
	case wire.KindHCNNamespaces:
		var ns []json.RawMessage
		err = unmarshalList(r.Data, &ns)
		s.Namespaces = append(s.Namespaces, ns...)
	case wire.KindHNSVersion:
		var v struct{ Major, Minor int }
		if err = json.Unmarshal(r.Data, &v); err == nil {
			s.HNSVersion = fmt.Sprintf("%d.%d", v.Major, v.Minor)
		}
	case wire.KindEvents:
		var evs []wire.Event
		err = unmarshalList(r.Data, &evs)
		s.Events = append(s.Events, evs...)
	case wire.KindServices:
		var svcs []wire.ServiceState
		err = unmarshalList(r.Data, &svcs)
		s.Services = append(s.Services, svcs...)
	case wire.KindProcesses:
		var ps []wire.ProcessInfo
		err = unmarshalList(r.Data, &ps)
		s.Processes = append(s.Processes, ps...)
	case wire.KindFile:
		var f wire.FileData
		if err = json.Unmarshal(r.Data, &f); err == nil {
			s.Files = append(s.Files, f)
		}
	case wire.KindOSInfo:
		var o wire.OSInfo
		if err = json.Unmarshal(r.Data, &o); err == nil {
			s.OS = &o
		}
	default:
		for _, k := range s.Unknown {
			if k == r.Kind {
				return nil
			}
		}
		s.Unknown = append(s.Unknown, r.Kind)
		return nil
	}
	if err != nil {
		return fmt.Errorf("decoding %s: %w", r.Kind, err)
	}
	return nil
}

// unmarshalList accepts a JSON array or a single object (PowerShell's ConvertTo-Json prints
// an object when there is exactly one item).
func unmarshalList[T any](data []byte, out *[]T) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil
	}
	if data[0] == '{' {
		var one T
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*out = append(*out, one)
		return nil
	}
	return json.Unmarshal(data, out)
}

// rawPolicy covers both policy shapes: v2 {"Type","Settings":{...}} and v1 flat {"Type",...}.
type rawPolicy map[string]json.RawMessage

func decodePolicies(raw []rawPolicy) []Policy {
	var out []Policy
	for _, p := range raw {
		var typ string
		for k, v := range p {
			if strings.EqualFold(k, "Type") {
				_ = json.Unmarshal(v, &typ)
			}
		}
		var settings json.RawMessage
		for k, v := range p {
			if strings.EqualFold(k, "Settings") {
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

// flexString reads a JSON string or number as a string (v1 State is a number, some dumps
// print enums as names).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// flexList reads a JSON array of strings or one comma-separated string (v1 DNSServerList).
type flexList []string

func (f *flexList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*f = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*f = append(*f, part)
		}
	}
	return nil
}

func decodeNetworks(data []byte) ([]Network, error) {
	var raw []struct {
		ID, Name, Type string
		ManagementIP   string
		Policies       []rawPolicy
		Subnets        []struct{ AddressPrefix, GatewayAddress string } // v1
		Ipams          []struct {
			Subnets []struct {
				IpAddressPrefix string
				Routes          []struct{ NextHop, DestinationPrefix string }
			}
		} // v2
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	out := make([]Network, 0, len(raw))
	for _, r := range raw {
		n := Network{ID: strings.ToLower(r.ID), Name: r.Name, Type: r.Type, ManagementIP: r.ManagementIP, Policies: decodePolicies(r.Policies)}
		for _, s := range r.Subnets {
			n.Subnets = append(n.Subnets, Subnet{Prefix: s.AddressPrefix, Gateway: s.GatewayAddress})
		}
		for _, ipam := range r.Ipams {
			for _, s := range ipam.Subnets {
				sub := Subnet{Prefix: s.IpAddressPrefix}
				for _, rt := range s.Routes {
					if rt.DestinationPrefix == "0.0.0.0/0" || rt.DestinationPrefix == "::/0" {
						sub.Gateway = rt.NextHop
					}
				}
				n.Subnets = append(n.Subnets, sub)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Endpoint flags (HCN v2): 1 = remote endpoint.
const endpointFlagRemote = 1

// v1 endpoint states (hcsshim hnsendpoint.go).
var v1EndpointStates = map[string]string{
	"0": "Uninitialized", "1": "Created", "2": "Attached", "3": "AttachedSharing",
	"4": "Detached", "5": "Degraded", "6": "Destroyed",
}

func decodeEndpoints(data []byte) ([]Endpoint, error) {
	var raw []struct {
		ID, Name             string
		HostComputeNetwork   string // v2
		HostComputeNamespace string
		VirtualNetwork       string // v1
		VirtualNetworkName   string
		IPAddress            string // v1
		PrefixLength         int
		MacAddress           string
		IsRemoteEndpoint     bool // v1
		State                flexString
		Flags                int // v2
		Namespace            json.RawMessage
		DNSServerList        flexList // v1
		DNSSuffix            flexList
		Dns                  struct {
			Search     []string
			ServerList []string
		} // v2
		IpConfigurations []struct {
			IpAddress    string
			PrefixLength int
		}
		Policies []rawPolicy
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(raw))
	for _, r := range raw {
		e := Endpoint{
			ID: strings.ToLower(r.ID), Name: r.Name, MAC: r.MacAddress,
			NetworkID:   strings.ToLower(firstNonEmpty(r.HostComputeNetwork, r.VirtualNetwork)),
			NetworkName: r.VirtualNetworkName,
			IP:          r.IPAddress, PrefixLength: r.PrefixLength,
			Remote:    r.IsRemoteEndpoint || r.Flags&endpointFlagRemote != 0,
			Namespace: strings.ToLower(r.HostComputeNamespace),
			Policies:  decodePolicies(r.Policies),
		}
		if st, ok := v1EndpointStates[string(r.State)]; ok {
			e.State = st
		} else {
			e.State = string(r.State)
		}
		if len(r.IpConfigurations) > 0 {
			e.IP, e.PrefixLength = r.IpConfigurations[0].IpAddress, r.IpConfigurations[0].PrefixLength
		}
		e.DNSServers = append([]string(nil), r.Dns.ServerList...)
		e.DNSSearch = append([]string(nil), r.Dns.Search...)
		if len(e.DNSServers) == 0 {
			e.DNSServers = r.DNSServerList
		}
		if len(e.DNSSearch) == 0 {
			e.DNSSearch = r.DNSSuffix
		}
		out = append(out, e)
	}
	return out, nil
}

// ProtocolName names an IANA protocol number as HNS uses them.
func ProtocolName(n int) string {
	switch n {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 132:
		return "SCTP"
	}
	return strconv.Itoa(n)
}

// Load balancer flags (HCN v2): 1 = DSR, 2 = IPv6.
const (
	lbFlagDSR  = 1
	lbFlagIPv6 = 2
)

func decodeLoadBalancers(data []byte) ([]LoadBalancer, error) {
	var raw []struct {
		ID                   string
		HostComputeEndpoints []string
		SourceVIP            string
		FrontendVIPs         []string
		PortMappings         []struct {
			Protocol, InternalPort, ExternalPort, Flags int
		}
		Flags int
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	out := make([]LoadBalancer, 0, len(raw))
	for _, r := range raw {
		lb := LoadBalancer{ID: strings.ToLower(r.ID), SourceVIP: r.SourceVIP, FrontendVIPs: r.FrontendVIPs,
			DSR: r.Flags&lbFlagDSR != 0, IPv6: r.Flags&lbFlagIPv6 != 0}
		for _, id := range r.HostComputeEndpoints {
			lb.EndpointIDs = append(lb.EndpointIDs, strings.ToLower(id))
		}
		for _, pm := range r.PortMappings {
			lb.Ports = append(lb.Ports, PortMapping{Protocol: ProtocolName(pm.Protocol), InternalPort: pm.InternalPort, ExternalPort: pm.ExternalPort, Flags: pm.Flags})
		}
		out = append(out, lb)
	}
	return out, nil
}

// decodePolicyLists reads v1 policy lists: each ELB policy is a load balancer whose backends
// are the referenced endpoints ("/endpoints/<guid>").
func decodePolicyLists(data []byte) ([]LoadBalancer, error) {
	var raw []struct {
		ID         string
		References []string
		Policies   []struct {
			Type                       string
			SourceVIP                  string
			VIPs                       []string
			Protocol                   int
			InternalPort, ExternalPort int
			IsDSR                      bool
		}
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	var out []LoadBalancer
	for _, r := range raw {
		var eps []string
		for _, ref := range r.References {
			eps = append(eps, strings.ToLower(ref[strings.LastIndex(ref, "/")+1:]))
		}
		for _, p := range r.Policies {
			if !strings.EqualFold(p.Type, "ELB") {
				continue
			}
			out = append(out, LoadBalancer{
				ID: strings.ToLower(r.ID), SourceVIP: p.SourceVIP, FrontendVIPs: p.VIPs, EndpointIDs: eps, DSR: p.IsDSR,
				Ports: []PortMapping{{Protocol: ProtocolName(p.Protocol), InternalPort: p.InternalPort, ExternalPort: p.ExternalPort}},
			})
		}
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
