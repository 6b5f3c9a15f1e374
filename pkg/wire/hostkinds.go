package wire

// Host network state and other node facts. The Windows collector produces them natively;
// `kubectl winnet analyze` produces the same shapes from pasted command output (ipconfig /all,
// route print, netsh ... excludedportrange, Get-NetFirewallRule, systeminfo), so one analyzer
// serves both.
const (
	KindHNSEndpointsV1 = "hns.endpoints.v1" // v1 view of endpoints (IsRemoteEndpoint, State); merged by ID
	KindHostAdapters   = "host.adapters"    // []Adapter
	KindHostRoutes     = "host.routes"      // []Route
	KindHostNeighbors  = "host.neighbors"   // []Neighbor
	KindDNSClient      = "dns.client"       // DNSClient
	KindTCPConnections = "tcp.connections"  // TCPConnections
	KindPortRanges     = "ports.ranges"     // PortRanges
	KindFirewall       = "firewall"         // Firewall
	KindHotfixes       = "os.hotfixes"      // []Hotfix
	KindToolOutput     = "tool"             // ToolOutput (hnsdiag, vfpctrl, ...)
)

// Adapter is one network interface with its addresses, as GetAdaptersAddresses reports it.
type Adapter struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	IfIndex     int         `json:"ifIndex,omitempty"`
	Compartment int         `json:"compartment,omitempty"` // 1 is the host compartment
	MAC         string      `json:"mac,omitempty"`
	MTU         int         `json:"mtu,omitempty"`
	Status      string      `json:"status,omitempty"` // Up, Down, ...
	Addresses   []IPAddress `json:"addresses,omitempty"`
	Gateways    []string    `json:"gateways,omitempty"`
	DNSServers  []string    `json:"dnsServers,omitempty"`
	DNSSuffix   string      `json:"dnsSuffix,omitempty"`
}

// IPAddress is an address with its prefix length.
type IPAddress struct {
	Address      string `json:"address"`
	PrefixLength int    `json:"prefixLength,omitempty"`
}

// Route is one forwarding table entry.
type Route struct {
	Destination string `json:"destination"` // prefix, e.g. 0.0.0.0/0
	NextHop     string `json:"nextHop,omitempty"`
	IfIndex     int    `json:"ifIndex,omitempty"`
	Metric      int    `json:"metric,omitempty"`
	Compartment int    `json:"compartment,omitempty"`
}

// Neighbor is one ARP/ND cache entry.
type Neighbor struct {
	Address string `json:"address"`
	MAC     string `json:"mac,omitempty"`
	IfIndex int    `json:"ifIndex,omitempty"`
	State   string `json:"state,omitempty"`
}

// DNSClient is the host's resolver configuration.
type DNSClient struct {
	Servers       []string `json:"servers,omitempty"`
	SearchList    []string `json:"searchList,omitempty"`
	PrimarySuffix string   `json:"primarySuffix,omitempty"`
}

// TCPConnections counts TCP connections by state (ESTABLISHED, TIME_WAIT, ...).
type TCPConnections struct {
	Total   int            `json:"total"`
	ByState map[string]int `json:"byState,omitempty"`
}

// PortRanges are the dynamic and excluded port ranges per protocol ("tcp", "udp").
type PortRanges struct {
	Dynamic  map[string]PortRange   `json:"dynamic,omitempty"`
	Excluded map[string][]PortRange `json:"excluded,omitempty"`
}

// PortRange is an inclusive range of ports.
type PortRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Firewall is Windows Firewall's profiles and the rules relevant to cluster traffic.
type Firewall struct {
	Profiles []FirewallProfile `json:"profiles,omitempty"`
	Rules    []FirewallRule    `json:"rules,omitempty"`
}

// FirewallProfile is one of Domain, Private, Public.
type FirewallProfile struct {
	Name            string `json:"name"`
	Enabled         bool   `json:"enabled"`
	DefaultInbound  string `json:"defaultInbound,omitempty"`  // Allow | Block
	DefaultOutbound string `json:"defaultOutbound,omitempty"` // Allow | Block
}

// FirewallRule is one rule.
type FirewallRule struct {
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	Direction   string `json:"direction"` // In | Out
	Action      string `json:"action"`    // Allow | Block
	Protocol    string `json:"protocol,omitempty"`
	LocalPorts  string `json:"localPorts,omitempty"`
	RemotePorts string `json:"remotePorts,omitempty"`
	Program     string `json:"program,omitempty"`
	Profiles    string `json:"profiles,omitempty"`
}

// Hotfix is one installed update.
type Hotfix struct {
	ID          string `json:"id"`
	InstalledOn string `json:"installedOn,omitempty"`
}

// ToolOutput is the text an inbox tool printed.
type ToolOutput struct {
	Tool     string   `json:"tool"`
	Args     []string `json:"args,omitempty"`
	ExitCode int      `json:"exitCode"`
	TimedOut bool     `json:"timedOut,omitempty"`
	Output   string   `json:"output"`
}

// KindCloudAddressSpaces carries []CloudAddressSpace: the address ranges of the cloud network
// the nodes sit in (an Azure VNet, an AWS VPC, a GCP subnet), as `kubectl winnet analyze` reads
// them from `az network vnet show` or `aws ec2 describe-vpcs` output. Pod traffic to these
// ranges must not be NATed to the node IP.
const KindCloudAddressSpaces = "cloud.addressspaces"

// CloudAddressSpace is one cloud network and its prefixes.
type CloudAddressSpace struct {
	Provider string        `json:"provider"` // azure | aws | gcp
	Name     string        `json:"name"`     // VNet name, VPC ID, subnet name
	Prefixes []string      `json:"prefixes"` // CIDR prefixes of the network
	Subnets  []CloudSubnet `json:"subnets,omitempty"`
}

// CloudSubnet is one subnet of a cloud network.
type CloudSubnet struct {
	Name   string `json:"name,omitempty"`
	Prefix string `json:"prefix"`
}
