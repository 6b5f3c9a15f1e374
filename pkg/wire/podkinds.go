package wire

// What the collector reads from inside the target pod's network compartment (--pod-ip on a
// Windows node): a thread moved into the compartment sees the pod's own adapters, routes and
// DNS servers, as the pod's processes see them. The collector emits them only when it could
// enter the compartment; otherwise an error record says why, and the plugin falls back to
// exec into the pod.
const (
	KindPodCompartment = "pod.compartment" // PodCompartment: which compartment, and how it was found
	KindPodAdapters    = "pod.adapters"    // []Adapter of the pod's compartment
	KindPodRoutes      = "pod.routes"      // []Route of the pod's compartment
	KindPodDNS         = "pod.dns"         // DNSClient: the compartment's DNS servers, the endpoint's search list
)

// PodCompartment locates the pod's network compartment.
type PodCompartment struct {
	PodIP         string `json:"podIP"`
	Compartment   int    `json:"compartment"`             // 1 is the host's
	EndpointID    string `json:"endpointId,omitempty"`    // the HNS endpoint holding the pod's IP
	NamespaceID   string `json:"namespaceId,omitempty"`   // its HCN namespace
	NamespaceType string `json:"namespaceType,omitempty"` // Host, HostDefault, Guest, GuestDefault
	FoundIn       string `json:"foundIn"`                 // "hcn" (the v2 endpoint and its namespace), or "host" (a hostNetwork pod: the IP is the host's)
}

// Probe methods (ProbeData.Method): where a probe ran from, or who answered it.
const (
	ProbeMethodHostTCP        = "host-tcp"        // a TCP handshake from the node
	ProbeMethodHostUDP        = "host-udp"        // a datagram from the node
	ProbeMethodHostDNS        = "host-dns"        // a DNS query from the node
	ProbeMethodPodCompartment = "pod-compartment" // from a thread in the pod's network compartment; skipped when it cannot be entered
	ProbeMethodReplay         = "replay"          // a replayed scenario had no answer for it (skipped)
	// The plugin's fallback when the compartment cannot be entered: a program of the target
	// pod's own image, run through pods/exec (package podexec).
	ProbeMethodExecNslookup   = "exec:nslookup"
	ProbeMethodExecPowerShell = "exec:powershell"
	ProbeMethodExecCurl       = "exec:curl"
)
