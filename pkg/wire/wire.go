// Package wire is the collector's output format: newline-delimited JSON records on the exec
// stdout, one object a line. Both sides share it; it imports nothing from k8s.io so the
// collector stays small.
//
// Compatibility rules: the plugin tolerates unknown record types, kinds and fields; it rejects
// a schema major version it does not know; it never trusts sizes (see Decoder).
package wire

import (
	"encoding/json"
	"time"
)

// SchemaMajor is the wire schema's major version, carried in every record as "v".
// A change that an older plugin cannot read bumps it.
const SchemaMajor = 1

// SchemaVersion is the full schema version reported in the hello record.
const SchemaVersion = "1.0"

// Record types.
const (
	TypeHello    = "hello"    // first record: who is speaking (HelloData)
	TypeArtifact = "artifact" // one collected fact set, raw (Kind names it)
	TypeProbe    = "probe"    // one connectivity/DNS probe result (ProbeData)
	TypeProgress = "progress" // a source started or finished (ProgressData)
	TypeError    = "error"    // a source failed; the run goes on
	TypeDone     = "done"     // last record: totals (DoneData)
)

// Record is one line of the stream.
type Record struct {
	V      int             `json:"v"`
	Type   string          `json:"type"`
	Source string          `json:"source,omitempty"` // the collector source that produced it, e.g. "hcn"
	Kind   string          `json:"kind,omitempty"`   // what it is, e.g. "hcn.endpoints"
	Time   time.Time       `json:"ts"`
	Data   json.RawMessage `json:"data,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Partial marks an artifact that lists only some objects of its kind: a filtered paste
	// (Get-HnsEndpoint | Where-Object ...). What it lists is there; what it lacks may be there
	// too, so it is evidence of presence, never of absence. The collector never sets it.
	Partial bool `json:"partial,omitempty"`
}

// HelloData identifies the collector build and the node it runs on.
type HelloData struct {
	CollectorVersion string `json:"collectorVersion"`
	SchemaVersion    string `json:"schemaVersion"`
	SHA256           string `json:"sha256"` // of the running executable, hex
	OS               string `json:"os"`
	Arch             string `json:"arch"`
	Hostname         string `json:"hostname,omitempty"`
	Backend          string `json:"backend"` // "windows" or "replay"
	Since            string `json:"since,omitempty"`
}

// ProgressData marks a source's start and end.
type ProgressData struct {
	Stage      string `json:"stage"` // "start" or "end"
	DurationMS int64  `json:"durationMs,omitempty"`
}

// ProbeData is one probe's outcome.
type ProbeData struct {
	Target    string `json:"target"`
	Protocol  string `json:"protocol"`
	Verdict   string `json:"verdict"` // ok | fail | timeout | skipped
	LatencyMS int64  `json:"latencyMs,omitempty"`
	Error     string `json:"error,omitempty"`
	Method    string `json:"method,omitempty"`
	Detail    any    `json:"detail,omitempty"`
}

// DoneData closes the stream.
type DoneData struct {
	Artifacts  int   `json:"artifacts"`
	Errors     int   `json:"errors"`
	DurationMS int64 `json:"durationMs"`
}

// Artifact kinds. The collector's Windows sources and the replay backend emit the same kinds;
// the plugin's snapshot decodes them. Unknown kinds are kept raw and listed, never fatal.
const (
	KindHCNNetworks      = "hcn.networks"      // JSON array of HostComputeNetwork (v2) or HNSNetwork (v1)
	KindHCNEndpoints     = "hcn.endpoints"     // JSON array of endpoints, local and remote
	KindHCNLoadBalancers = "hcn.loadbalancers" // JSON array of HostComputeLoadBalancer (v2)
	KindHCNNamespaces    = "hcn.namespaces"    // JSON array of HostComputeNamespace
	KindHNSPolicyLists   = "hns.policylists"   // JSON array of v1 policy lists (ELB)
	KindHNSVersion       = "hns.version"       // {"Major":..,"Minor":..}
	KindEvents           = "events"            // JSON array of Event
	KindServices         = "services"          // JSON array of ServiceState
	KindProcesses        = "processes"         // JSON array of ProcessInfo
	KindFile             = "file"              // FileData (a config or log tail, redacted)
	KindOSInfo           = "os.info"           // OSInfo
)

// Event is one Windows event log entry, already rendered.
type Event struct {
	Channel  string    `json:"channel"`
	Provider string    `json:"provider,omitempty"`
	ID       int       `json:"id"`
	Level    string    `json:"level"` // Critical, Error, Warning, Information, Verbose
	Time     time.Time `json:"time"`
	Message  string    `json:"message"`
	// RecordID is the event's record number in its log (Get-EventLog's Index, the XML's
	// EventRecordID): the order of events whose time is not known, such as a pasted
	// Get-EventLog table, which prints no year.
	RecordID int64 `json:"recordId,omitempty"`
}

// ServiceState is one Windows service's state as the SCM reports it.
type ServiceState struct {
	Name      string `json:"name"`
	State     string `json:"state"` // Running, Stopped, StartPending, ... or NotInstalled
	StartType string `json:"startType,omitempty"`
	PID       int    `json:"pid,omitempty"`
}

// ProcessInfo is one running process.
type ProcessInfo struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// FileData is a file read on the node, redacted before it left.
type FileData struct {
	Path      string `json:"path"`
	Role      string `json:"role,omitempty"` // e.g. "cni-config", "kube-proxy-log"
	Size      int64  `json:"size"`
	Truncated bool   `json:"truncated,omitempty"` // only the tail was kept
	Redacted  int    `json:"redacted,omitempty"`  // how many secrets were masked
	Content   string `json:"content"`
}

// OSInfo is the node's Windows build.
type OSInfo struct {
	ProductName string `json:"productName,omitempty"`
	Build       string `json:"build,omitempty"` // e.g. "20348"
	UBR         int    `json:"ubr,omitempty"`
	Hostname    string `json:"hostname,omitempty"`
}

// File roles: what a KindFile record holds, so the analyzer need not guess from paths. The
// collector sets them from where it found the file; `analyze` sets them from content.
const (
	RoleContainerdConfig = "containerd-config"
	RoleCNIConfig        = "cni-config" // a .conf or .conflist
	RoleKubeletConfig    = "kubelet-config"
	RoleKubeletArgs      = "kubelet-args"
	RoleKubeProxyConfig  = "kube-proxy-config" // KubeProxyConfiguration
	RoleKubeProxyArgs    = "kube-proxy-args"   // command line
	RoleFlannelConfig    = "flannel-config"    // net-conf.json
	RoleFlannelSubnetEnv = "flannel-subnet-env"
	RoleCalicoConfig     = "calico-config"
	RoleIPAMState        = "ipam-state" // azure-vnet-ipam.json, host-local state
	// RoleCNIResult is a CNI plugin's answer saved to a file: a result ({"cniVersion", "ips"})
	// or an error ({"code", "msg"}), e.g. the sourceVip.json flannel's and Calico's Windows
	// start scripts write from host-local to reserve kube-proxy's source VIP.
	RoleCNIResult = "cni-result"
	// RoleCNIIPAMConfig is the network config a script hands straight to an IPAM plugin: a
	// cniVersion and an ipam section, no plugin type (sourceVipRequest.json).
	RoleCNIIPAMConfig = "cni-ipam-config"
	RoleKubeconfig    = "kubeconfig" // redacted
	// Logs: RoleLogPrefix + component, e.g. "log:kube-proxy".
	RoleLogPrefix = "log:"
)

// RoleCNIBinaries marks a listing, not a file: Path is a CNI bin folder and Content its file
// names, one a line (which plugins a CNI config can call).
const RoleCNIBinaries = "cni-binaries"

// Log components used with RoleLogPrefix.
const (
	LogKubeProxy  = "kube-proxy"
	LogKubelet    = "kubelet"
	LogFlanneld   = "flanneld"
	LogCalico     = "calico"
	LogContainerd = "containerd"
	LogAzureVnet  = "azure-vnet"
	LogCSIProxy   = "csi-proxy"
)
