// Package snapshot is the typed, OS-neutral view of one node's networking state, decoded from
// the collector's raw records, next to the cluster facts it is judged against.
//
// Decoding accepts both HNS schemas: HCN v2 (HostComputeNetwork/Endpoint/LoadBalancer, as
// HcnQuery*Properties returns them) and v1 (as Get-HnsNetwork/Get-HnsEndpoint print them).
// Policies are decoded once into typed fields (OutBoundNAT, SDN routes, ACLs, ...) so rules
// never parse raw JSON. Raw records are kept verbatim so a bundle can be re-decoded by a newer
// plugin.
package snapshot

import (
	"encoding/json"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Snapshot is one node as the collector saw it.
type Snapshot struct {
	Node          string              `json:"node,omitempty"`
	Collector     *wire.HelloData     `json:"collector,omitempty"`
	Networks      []Network           `json:"networks,omitempty"`
	Endpoints     []Endpoint          `json:"endpoints,omitempty"`
	LoadBalancers []LoadBalancer      `json:"loadBalancers,omitempty"`
	Namespaces    []Namespace         `json:"namespaces,omitempty"`
	HNSVersion    string              `json:"hnsVersion,omitempty"`
	Events        []wire.Event        `json:"events,omitempty"`
	Services      []wire.ServiceState `json:"services,omitempty"`
	Processes     []wire.ProcessInfo  `json:"processes,omitempty"`
	Files         []wire.FileData     `json:"files,omitempty"`
	OS            *wire.OSInfo        `json:"os,omitempty"`
	Probes        []wire.ProbeData    `json:"probes,omitempty"`

	// Host network state (pkg/wire hostkinds.go).
	Adapters       []wire.Adapter       `json:"adapters,omitempty"`
	Routes         []wire.Route         `json:"routes,omitempty"`
	Neighbors      []wire.Neighbor      `json:"neighbors,omitempty"`
	DNSClient      *wire.DNSClient      `json:"dnsClient,omitempty"`
	TCPConnections *wire.TCPConnections `json:"tcpConnections,omitempty"`
	PortRanges     *wire.PortRanges     `json:"portRanges,omitempty"`
	Firewall       *wire.Firewall       `json:"firewall,omitempty"`
	Hotfixes       []wire.Hotfix        `json:"hotfixes,omitempty"`
	Tools          []wire.ToolOutput    `json:"tools,omitempty"`
	// CloudAddressSpaces are the cloud network's ranges (VNet, VPC), from `analyze` input.
	CloudAddressSpaces []wire.CloudAddressSpace `json:"cloudAddressSpaces,omitempty"`

	// The target pod's own view from inside its compartment (pod.go); nil when not collected.
	Pod *PodNetwork `json:"pod,omitempty"`

	// Configuration parsed from the collected files (see config.go). Nil or empty when the
	// files were not collected.
	KubeProxy  *KubeProxyConfig `json:"kubeProxy,omitempty"`
	CNIConfigs []CNIConfig      `json:"cniConfigs,omitempty"` // in the order the runtime reads them
	Kubelet    *KubeletConfig   `json:"kubelet,omitempty"`
	Flannel    *FlannelConfig   `json:"flannel,omitempty"`
	IPAMPools  []IPAMPool       `json:"ipamPools,omitempty"`

	Errors  []SourceError   `json:"errors,omitempty"`
	Unknown []string        `json:"unknownKinds,omitempty"`
	Done    *wire.DoneData  `json:"done,omitempty"`
	Have    map[string]bool `json:"-"` // artifact kinds received, for "what was not checked"
	// Partial holds the kinds of which only a filtered subset was received (wire.Record's
	// Partial): their objects are in the snapshot, but Have stays false, so no rule reads
	// their absence.
	Partial       map[string]bool          `json:"-"`
	Raw           []wire.Record            `json:"-"`
	Started       time.Time                `json:"-"`
	SourceTimings map[string]time.Duration `json:"-"`

	index *Index // built once by Index()
}

// SourceError is a collector source that failed; the rest of the run is still good.
type SourceError struct {
	Source string `json:"source"`
	Kind   string `json:"kind,omitempty"`
	Error  string `json:"error"`
}

// Network is an HNS network.
type Network struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Type            string              `json:"type"`
	Subnets         []Subnet            `json:"subnets,omitempty"`
	ManagementIP    string              `json:"managementIP,omitempty"`
	DRMAC           string              `json:"drMac,omitempty"`     // distributed router MAC (overlay)
	VxlanPort       int                 `json:"vxlanPort,omitempty"` // 0 = HNS default 4789
	ProviderAddress string              `json:"providerAddress,omitempty"`
	AdapterName     string              `json:"adapterName,omitempty"`
	RemoteSubnets   []RemoteSubnetRoute `json:"remoteSubnets,omitempty"`
	Flags           int                 `json:"flags,omitempty"`
	Policies        []Policy            `json:"policies,omitempty"`
}

// IsOverlay reports whether the network encapsulates (VXLAN), which changes what kube-proxy
// programs (source VIP, remote subnets, encap overhead).
func (n *Network) IsOverlay() bool { return equalFold(n.Type, "Overlay") }

// Subnet is one address range of a network.
type Subnet struct {
	Prefix  string `json:"prefix"`
	Gateway string `json:"gateway,omitempty"`
}

// RemoteSubnetRoute tells an overlay network which provider address (node IP) hosts a remote
// pod subnet.
type RemoteSubnetRoute struct {
	DestinationPrefix string `json:"destinationPrefix"`
	ProviderAddress   string `json:"providerAddress"`
	DRMAC             string `json:"drMac,omitempty"`
	IsolationID       int    `json:"isolationID,omitempty"`
}

// Policy is an HNS policy as collected; Settings holds the type-specific fields, raw. The
// typed fields on Endpoint and Network are decoded from these.
type Policy struct {
	Type     string          `json:"type"`
	Settings json.RawMessage `json:"settings,omitempty"`
}

// OutBoundNAT is an endpoint's SNAT policy: traffic to destinations outside Exceptions is
// NATed to VIP (empty: the node's address).
type OutBoundNAT struct {
	VIP          string   `json:"vip,omitempty"`
	Exceptions   []string `json:"exceptions,omitempty"` // v2 Exceptions, v1 ExceptionList
	Destinations []string `json:"destinations,omitempty"`
}

// SDNRoute is an endpoint route policy (v2 SDNRoute, v1 ROUTE).
type SDNRoute struct {
	DestinationPrefix string `json:"destinationPrefix"`
	NextHop           string `json:"nextHop,omitempty"`
	NeedEncap         bool   `json:"needEncap,omitempty"`
}

// ACL is an endpoint ACL policy.
type ACL struct {
	ID              string `json:"id,omitempty"`
	Protocols       string `json:"protocols,omitempty"`
	Action          string `json:"action,omitempty"`    // Allow | Block | Pass
	Direction       string `json:"direction,omitempty"` // In | Out
	LocalAddresses  string `json:"localAddresses,omitempty"`
	RemoteAddresses string `json:"remoteAddresses,omitempty"`
	LocalPorts      string `json:"localPorts,omitempty"`
	RemotePorts     string `json:"remotePorts,omitempty"`
	RuleType        string `json:"ruleType,omitempty"` // Host (WFP) | Switch (VFP)
	Priority        int    `json:"priority,omitempty"`
}

// EndpointPortMapping is an endpoint's host port mapping (v2 PortMapping, v1 NAT).
type EndpointPortMapping struct {
	Protocol     string `json:"protocol"`
	InternalPort int    `json:"internalPort"`
	ExternalPort int    `json:"externalPort"`
	VIP          string `json:"vip,omitempty"`
	Flags        int    `json:"flags,omitempty"`
}

// L4Proxy redirects an endpoint's traffic to a proxy (v2 L4Proxy/L4WFPPROXY, v1 PROXY).
type L4Proxy struct {
	IP          string   `json:"ip,omitempty"`
	Port        string   `json:"port,omitempty"`
	Protocol    string   `json:"protocol,omitempty"`
	Exceptions  []string `json:"exceptions,omitempty"`
	Destination string   `json:"destination,omitempty"`
	OutboundNAT bool     `json:"outboundNat,omitempty"`
}

// Endpoint is an HNS endpoint, local (a pod on this node) or remote (a backend elsewhere).
type Endpoint struct {
	ID              string                `json:"id"`
	Name            string                `json:"name,omitempty"`
	NetworkID       string                `json:"networkID,omitempty"`
	NetworkName     string                `json:"networkName,omitempty"`
	IP              string                `json:"ip,omitempty"`
	PrefixLength    int                   `json:"prefixLength,omitempty"`
	Gateway         string                `json:"gateway,omitempty"`
	MAC             string                `json:"mac,omitempty"`
	Remote          bool                  `json:"remote"`
	State           string                `json:"state,omitempty"` // v1 only: Created, Attached, AttachedSharing, ...
	Namespace       string                `json:"namespace,omitempty"`
	DNSServers      []string              `json:"dnsServers,omitempty"`
	DNSSearch       []string              `json:"dnsSearch,omitempty"`
	Policies        []Policy              `json:"policies,omitempty"`
	OutBoundNAT     []OutBoundNAT         `json:"outBoundNAT,omitempty"`
	SDNRoutes       []SDNRoute            `json:"sdnRoutes,omitempty"`
	ACLs            []ACL                 `json:"acls,omitempty"`
	PortMappings    []EndpointPortMapping `json:"portMappings,omitempty"`
	L4Proxies       []L4Proxy             `json:"l4Proxies,omitempty"`
	ProviderAddress string                `json:"providerAddress,omitempty"`
	EncapOverhead   int                   `json:"encapOverhead,omitempty"`
}

// Endpoint states (v1 State, hcsshim hnsendpoint.go).
const (
	StateUninitialized   = "Uninitialized"
	StateCreated         = "Created"
	StateAttached        = "Attached"
	StateAttachedSharing = "AttachedSharing"
	StateDetached        = "Detached"
	StateDegraded        = "Degraded"
	StateDestroyed       = "Destroyed"
)

// LoadBalancer is an HNS load balancer (v2) or an ELB policy list (v1), one per frontend set.
type LoadBalancer struct {
	ID           string        `json:"id"`
	FrontendVIPs []string      `json:"frontendVIPs,omitempty"` // empty for NodePort
	SourceVIP    string        `json:"sourceVIP,omitempty"`
	EndpointIDs  []string      `json:"endpointIDs,omitempty"`
	Ports        []PortMapping `json:"ports,omitempty"`
	DSR          bool          `json:"dsr,omitempty"`
	IPv6         bool          `json:"ipv6,omitempty"`
	Flags        int           `json:"flags,omitempty"`
}

// PortMapping is one frontend port of a load balancer.
type PortMapping struct {
	Protocol         string `json:"protocol"` // TCP, UDP, SCTP or the number
	InternalPort     int    `json:"internalPort"`
	ExternalPort     int    `json:"externalPort"`
	Flags            int    `json:"flags,omitempty"`
	DistributionType int    `json:"distributionType,omitempty"` // 2 = SourceIP (session affinity)
}

// Load balancer port mapping flags (kube-proxy winkernel hns.go).
const (
	PortFlagILB            = 1
	PortFlagLocalRoutedVIP = 2
	PortFlagUseMux         = 4
	PortFlagPreserveDIP    = 8
	PortFlagVipExternalIP  = 16
)

// Namespace is an HNS (network compartment) namespace.
type Namespace struct {
	ID          string   `json:"id"`
	Type        string   `json:"type,omitempty"` // Host, HostDefault, Guest, GuestDefault
	NamespaceID int      `json:"namespaceId,omitempty"`
	Containers  []string `json:"containers,omitempty"`
	EndpointIDs []string `json:"endpointIDs,omitempty"`
}

// EndpointsByIP returns the endpoints carrying ip.
func (s *Snapshot) EndpointsByIP(ip string) []Endpoint {
	var out []Endpoint
	for _, e := range s.Index().EndpointsByIP[ip] {
		out = append(out, *e)
	}
	return out
}

// HaveEndpoints reports whether any endpoint view (v2 or v1) was collected.
func (s *Snapshot) HaveEndpoints() bool {
	return s.Have[wire.KindHCNEndpoints] || s.Have[wire.KindHNSEndpointsV1]
}

// HaveLoadBalancers reports whether any load balancer view (v2 or v1 policy lists) was
// collected.
func (s *Snapshot) HaveLoadBalancers() bool {
	return s.Have[wire.KindHCNLoadBalancers] || s.Have[wire.KindHNSPolicyLists]
}

// ActiveCNI is the CNI config the runtime uses: the first in load order. Nil when none was
// collected.
func (s *Snapshot) ActiveCNI() *CNIConfig {
	if len(s.CNIConfigs) == 0 {
		return nil
	}
	return &s.CNIConfigs[0]
}
