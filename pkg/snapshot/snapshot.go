// Package snapshot is the typed, OS-neutral view of one node's networking state, decoded from
// the collector's raw records, next to the cluster facts it is judged against.
//
// Decoding accepts both HNS schemas: HCN v2 (HostComputeNetwork/Endpoint/LoadBalancer, as
// HcnQuery*Properties returns them) and v1 (as Get-HnsNetwork/Get-HnsEndpoint print them).
// Raw records are kept verbatim so a bundle can be re-decoded by a newer plugin.
package snapshot

import (
	"encoding/json"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Snapshot is one node as the collector saw it.
type Snapshot struct {
	Node          string                   `json:"node,omitempty"`
	Collector     *wire.HelloData          `json:"collector,omitempty"`
	Networks      []Network                `json:"networks,omitempty"`
	Endpoints     []Endpoint               `json:"endpoints,omitempty"`
	LoadBalancers []LoadBalancer           `json:"loadBalancers,omitempty"`
	Namespaces    []json.RawMessage        `json:"namespaces,omitempty"`
	HNSVersion    string                   `json:"hnsVersion,omitempty"`
	Events        []wire.Event             `json:"events,omitempty"`
	Services      []wire.ServiceState      `json:"services,omitempty"`
	Processes     []wire.ProcessInfo       `json:"processes,omitempty"`
	Files         []wire.FileData          `json:"files,omitempty"`
	OS            *wire.OSInfo             `json:"os,omitempty"`
	Probes        []wire.ProbeData         `json:"probes,omitempty"`
	Errors        []SourceError            `json:"errors,omitempty"`
	Unknown       []string                 `json:"unknownKinds,omitempty"`
	Done          *wire.DoneData           `json:"done,omitempty"`
	Have          map[string]bool          `json:"-"` // artifact kinds received, for "what was not checked"
	Raw           []wire.Record            `json:"-"`
	Started       time.Time                `json:"-"`
	SourceTimings map[string]time.Duration `json:"-"`
}

// SourceError is a collector source that failed; the rest of the run is still good.
type SourceError struct {
	Source string `json:"source"`
	Kind   string `json:"kind,omitempty"`
	Error  string `json:"error"`
}

// Network is an HNS network.
type Network struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Subnets      []Subnet `json:"subnets,omitempty"`
	ManagementIP string   `json:"managementIP,omitempty"`
	Policies     []Policy `json:"policies,omitempty"`
}

// Subnet is one address range of a network.
type Subnet struct {
	Prefix  string `json:"prefix"`
	Gateway string `json:"gateway,omitempty"`
}

// Policy is an HNS policy; Settings holds the type-specific fields, raw.
type Policy struct {
	Type     string          `json:"type"`
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Endpoint is an HNS endpoint, local (a pod on this node) or remote (a backend elsewhere).
type Endpoint struct {
	ID           string   `json:"id"`
	Name         string   `json:"name,omitempty"`
	NetworkID    string   `json:"networkID,omitempty"`
	NetworkName  string   `json:"networkName,omitempty"`
	IP           string   `json:"ip,omitempty"`
	PrefixLength int      `json:"prefixLength,omitempty"`
	MAC          string   `json:"mac,omitempty"`
	Remote       bool     `json:"remote"`
	State        string   `json:"state,omitempty"` // v1 only
	Namespace    string   `json:"namespace,omitempty"`
	DNSServers   []string `json:"dnsServers,omitempty"`
	DNSSearch    []string `json:"dnsSearch,omitempty"`
	Policies     []Policy `json:"policies,omitempty"`
}

// LoadBalancer is an HNS load balancer (v2) or an ELB policy list (v1), one per frontend set.
type LoadBalancer struct {
	ID           string        `json:"id"`
	FrontendVIPs []string      `json:"frontendVIPs,omitempty"` // empty for NodePort
	SourceVIP    string        `json:"sourceVIP,omitempty"`
	EndpointIDs  []string      `json:"endpointIDs,omitempty"`
	Ports        []PortMapping `json:"ports,omitempty"`
	DSR          bool          `json:"dsr,omitempty"`
	IPv6         bool          `json:"ipv6,omitempty"`
}

// PortMapping is one frontend port of a load balancer.
type PortMapping struct {
	Protocol     string `json:"protocol"` // TCP, UDP, SCTP or the number
	InternalPort int    `json:"internalPort"`
	ExternalPort int    `json:"externalPort"`
	Flags        int    `json:"flags,omitempty"`
}

// EndpointByIP returns the endpoints carrying ip.
func (s *Snapshot) EndpointsByIP(ip string) []Endpoint {
	var out []Endpoint
	for _, e := range s.Endpoints {
		if e.IP == ip {
			out = append(out, e)
		}
	}
	return out
}
