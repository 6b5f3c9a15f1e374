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
	v1   []Endpoint // the v1 endpoint view, merged into the v2 one by ID in Snapshot()
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
			s.addProbe(p)
		}
	case wire.TypeArtifact:
		if err := b.addArtifact(r); err != nil {
			s.Errors = append(s.Errors, SourceError{Source: r.Source, Kind: r.Kind, Error: err.Error()})
			return
		}
		if r.Partial {
			if s.Partial == nil {
				s.Partial = map[string]bool{}
			}
			s.Partial[r.Kind] = true
			return
		}
		s.Have[r.Kind] = true
	}
	// Unknown record types are tolerated: a newer collector may send more than we read.
}

// Snapshot returns the snapshot built so far, with the derived views filled in: the v1
// endpoint view merged into the v2 one, endpoint network names, file roles and the parsed
// kube-proxy, CNI, kubelet and flannel configuration. It may be called more than once.
func (b *Builder) Snapshot() *Snapshot {
	s := b.snap
	s.index = nil
	sort.Strings(s.Unknown)
	s.Endpoints = mergeV1Endpoints(append([]Endpoint(nil), b.snap.Endpoints...), b.v1)
	names := make(map[string]string, len(s.Networks))
	for _, n := range s.Networks {
		names[n.ID] = n.Name
	}
	for i := range s.Endpoints {
		if e := &s.Endpoints[i]; e.NetworkName == "" {
			e.NetworkName = names[e.NetworkID]
		}
	}
	s.Files = append([]wire.FileData(nil), b.snap.Files...)
	for i := range s.Files {
		if s.Files[i].Role == "" {
			s.Files[i].Role = InferRole(s.Files[i].Path)
		}
	}
	ParseConfigs(&s)
	return &s
}

// mergeV1Endpoints folds the v1 view (IsRemoteEndpoint, State) into the v2 endpoints by ID;
// v1-only endpoints are added.
func mergeV1Endpoints(eps, v1 []Endpoint) []Endpoint {
	if len(v1) == 0 {
		return eps
	}
	byID := make(map[string]int, len(eps))
	for i, e := range eps {
		byID[e.ID] = i
	}
	for _, o := range v1 {
		i, ok := byID[o.ID]
		if !ok {
			byID[o.ID] = len(eps)
			eps = append(eps, o)
			continue
		}
		e := &eps[i]
		e.Remote = e.Remote || o.Remote
		if o.State != "" {
			e.State = o.State
		}
		if e.IP == "" {
			e.IP, e.PrefixLength = o.IP, o.PrefixLength
		}
		if e.NetworkName == "" {
			e.NetworkName = o.NetworkName
		}
		if e.NetworkID == "" {
			e.NetworkID = o.NetworkID
		}
		if e.EncapOverhead == 0 {
			e.EncapOverhead = o.EncapOverhead
		}
		if e.ProviderAddress == "" {
			e.ProviderAddress = o.ProviderAddress
		}
	}
	return eps
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
	case wire.KindHNSEndpointsV1:
		var eps []Endpoint
		eps, err = decodeEndpoints(r.Data)
		b.v1 = append(b.v1, eps...)
	case wire.KindHCNLoadBalancers:
		var lbs []LoadBalancer
		lbs, err = decodeLoadBalancers(r.Data)
		s.LoadBalancers = append(s.LoadBalancers, lbs...)
	case wire.KindHNSPolicyLists:
		var lbs []LoadBalancer
		lbs, err = decodePolicyLists(r.Data)
		s.LoadBalancers = append(s.LoadBalancers, lbs...)
	case wire.KindHCNNamespaces:
		var ns []Namespace
		ns, err = decodeNamespaces(r.Data)
		s.Namespaces = append(s.Namespaces, ns...)
	case wire.KindHNSVersion:
		var v struct{ Major, Minor int }
		if err = json.Unmarshal(r.Data, &v); err == nil {
			s.HNSVersion = fmt.Sprintf("%d.%d", v.Major, v.Minor)
		}
	case wire.KindEvents:
		err = unmarshalList(r.Data, &s.Events)
	case wire.KindServices:
		err = unmarshalList(r.Data, &s.Services)
	case wire.KindProcesses:
		err = unmarshalList(r.Data, &s.Processes)
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
	case wire.KindHostAdapters:
		err = unmarshalList(r.Data, &s.Adapters)
	case wire.KindHostRoutes:
		err = unmarshalList(r.Data, &s.Routes)
	case wire.KindHostNeighbors:
		err = unmarshalList(r.Data, &s.Neighbors)
	case wire.KindDNSClient:
		var d wire.DNSClient
		if err = json.Unmarshal(r.Data, &d); err == nil {
			s.DNSClient = &d
		}
	case wire.KindTCPConnections:
		var t wire.TCPConnections
		if err = json.Unmarshal(r.Data, &t); err == nil {
			s.TCPConnections = &t
		}
	case wire.KindPortRanges:
		var p wire.PortRanges
		if err = json.Unmarshal(r.Data, &p); err == nil {
			s.PortRanges = &p
		}
	case wire.KindFirewall:
		var f wire.Firewall
		if err = json.Unmarshal(r.Data, &f); err == nil {
			s.Firewall = &f
		}
	case wire.KindHotfixes:
		err = unmarshalList(r.Data, &s.Hotfixes)
	case wire.KindToolOutput:
		var t wire.ToolOutput
		if err = json.Unmarshal(r.Data, &t); err == nil {
			s.Tools = append(s.Tools, t)
		}
	case wire.KindCloudAddressSpaces:
		var cs []wire.CloudAddressSpace
		err = unmarshalList(r.Data, &cs)
		s.CloudAddressSpaces = append(s.CloudAddressSpaces, cs...)
	default:
		if ok, perr := podArtifact(s, r); ok {
			err = perr
			break
		}
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

// unmarshalList appends a JSON array, or a single object (PowerShell's ConvertTo-Json prints
// an object when there is exactly one item), to out.
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
	var list []T
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*out = append(*out, list...)
	return nil
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
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// flexInt reads a JSON number or a numeric string ("6", "17"); protocol names (TCP, UDP) map
// to their numbers. Anything else reads as 0 rather than failing the whole artifact.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		i, _ := n.Int64()
		*f = flexInt(i)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil
	}
	s = strings.TrimSpace(s)
	if i, err := strconv.Atoi(s); err == nil {
		*f = flexInt(i)
		return nil
	}
	*f = flexInt(ProtocolNumber(s))
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
		return nil // an unexpected shape is ignored, not fatal
	}
	*f = splitList(s)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func decodeNetworks(data []byte) ([]Network, error) {
	var raw []struct {
		ID, Name, Type     string
		ManagementIP       string
		DrMacAddress       string // v1 detailed
		NetworkAdapterName string // v1
		Flags              int
		Policies           []rawPolicy
		Subnets            []struct {
			AddressPrefix, GatewayAddress string
		} // v1
		Ipams []struct {
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
		n := Network{ID: strings.ToLower(r.ID), Name: r.Name, Type: r.Type, ManagementIP: r.ManagementIP,
			DRMAC: r.DrMacAddress, AdapterName: r.NetworkAdapterName, Flags: r.Flags, Policies: decodePolicies(r.Policies)}
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
		typeNetworkPolicies(&n)
		out = append(out, n)
	}
	return out, nil
}

// Endpoint flags (HCN v2): 1 = remote endpoint.
const endpointFlagRemote = 1

// v1 endpoint states (hcsshim hnsendpoint.go).
var v1EndpointStates = map[string]string{
	"0": StateUninitialized, "1": StateCreated, "2": StateAttached, "3": StateAttachedSharing,
	"4": StateDetached, "5": StateDegraded, "6": StateDestroyed,
}

func decodeEndpoints(data []byte) ([]Endpoint, error) {
	var raw []struct {
		ID, Name             string
		HostComputeNetwork   string // v2
		HostComputeNamespace string
		VirtualNetwork       string // v1
		VirtualNetworkName   string
		IPAddress            string // v1
		GatewayAddress       string // v1
		PrefixLength         int
		MacAddress           string
		IsRemoteEndpoint     bool // v1
		EncapOverhead        int  // v1
		State                flexString
		Flags                int      // v2
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
		Routes []struct {
			NextHop, DestinationPrefix string
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
			IP:          r.IPAddress, PrefixLength: r.PrefixLength, Gateway: r.GatewayAddress,
			Remote:        r.IsRemoteEndpoint || r.Flags&endpointFlagRemote != 0,
			Namespace:     strings.ToLower(r.HostComputeNamespace),
			Policies:      decodePolicies(r.Policies),
			EncapOverhead: r.EncapOverhead,
		}
		if st, ok := v1EndpointStates[string(r.State)]; ok {
			e.State = st
		} else {
			e.State = string(r.State)
		}
		if len(r.IpConfigurations) > 0 {
			e.IP, e.PrefixLength = r.IpConfigurations[0].IpAddress, r.IpConfigurations[0].PrefixLength
		}
		for _, rt := range r.Routes {
			if rt.DestinationPrefix == "0.0.0.0/0" && e.Gateway == "" {
				e.Gateway = rt.NextHop
			}
		}
		e.DNSServers = append([]string(nil), r.Dns.ServerList...)
		e.DNSSearch = append([]string(nil), r.Dns.Search...)
		if len(e.DNSServers) == 0 {
			e.DNSServers = r.DNSServerList
		}
		if len(e.DNSSearch) == 0 {
			e.DNSSearch = r.DNSSuffix
		}
		typeEndpointPolicies(&e)
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

// ProtocolNumber is the inverse of ProtocolName (0 when unknown).
func ProtocolNumber(s string) int {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "SCTP":
		return 132
	}
	n, _ := strconv.Atoi(s)
	return n
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
			Protocol                                            flexInt
			InternalPort, ExternalPort, Flags, DistributionType int
		}
		Flags int
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	out := make([]LoadBalancer, 0, len(raw))
	for _, r := range raw {
		lb := LoadBalancer{ID: strings.ToLower(r.ID), SourceVIP: r.SourceVIP, FrontendVIPs: nonEmpty(r.FrontendVIPs),
			DSR: r.Flags&lbFlagDSR != 0, IPv6: r.Flags&lbFlagIPv6 != 0, Flags: r.Flags}
		for _, id := range r.HostComputeEndpoints {
			lb.EndpointIDs = append(lb.EndpointIDs, strings.ToLower(id))
		}
		for _, pm := range r.PortMappings {
			lb.Ports = append(lb.Ports, PortMapping{Protocol: ProtocolName(int(pm.Protocol)), InternalPort: pm.InternalPort,
				ExternalPort: pm.ExternalPort, Flags: pm.Flags, DistributionType: pm.DistributionType})
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
			Protocol                   flexInt
			InternalPort, ExternalPort int
			IsDSR, ILB, LocalRoutedVip bool
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
			flags := 0
			if p.ILB {
				flags |= PortFlagILB
			}
			if p.LocalRoutedVip {
				flags |= PortFlagLocalRoutedVIP
			}
			out = append(out, LoadBalancer{
				ID: strings.ToLower(r.ID), SourceVIP: p.SourceVIP, FrontendVIPs: nonEmpty(p.VIPs), EndpointIDs: eps, DSR: p.IsDSR,
				Ports: []PortMapping{{Protocol: ProtocolName(int(p.Protocol)), InternalPort: p.InternalPort, ExternalPort: p.ExternalPort, Flags: flags}},
			})
		}
	}
	return out, nil
}

func decodeNamespaces(data []byte) ([]Namespace, error) {
	var raw []struct {
		ID          string
		Type        string
		NamespaceID int `json:"NamespaceId"`
		Resources   []struct {
			Type string
			Data struct{ ID string }
		}
	}
	if err := unmarshalList(data, &raw); err != nil {
		return nil, err
	}
	out := make([]Namespace, 0, len(raw))
	for _, r := range raw {
		n := Namespace{ID: strings.ToLower(r.ID), Type: r.Type, NamespaceID: r.NamespaceID}
		for _, res := range r.Resources {
			switch {
			case strings.EqualFold(res.Type, "Endpoint"):
				n.EndpointIDs = append(n.EndpointIDs, strings.ToLower(res.Data.ID))
			case strings.EqualFold(res.Type, "Container"):
				n.Containers = append(n.Containers, res.Data.ID)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// nonEmpty drops empty strings: some HNS versions list "" as the NodePort frontend.
func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// addProbe keeps one result per probe: a later answer to a probe that came back skipped (the
// plugin's exec fallback, recorded after the collector's stream) takes its place.
func (s *Snapshot) addProbe(p wire.ProbeData) {
	if p.Verdict != "skipped" {
		for i := range s.Probes {
			if q := &s.Probes[i]; q.Verdict == "skipped" && q.Target == p.Target && strings.EqualFold(q.Protocol, p.Protocol) {
				*q = p
				return
			}
		}
	}
	s.Probes = append(s.Probes, p)
}
