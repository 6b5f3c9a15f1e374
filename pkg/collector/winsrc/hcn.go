// Package winsrc is the collector's Windows backend: sources that read HNS/HCN (v2, and the
// v1 endpoint and policy-list views), the event log, the service control manager, the process
// list, the registry, the node's files (through package nodefiles) and inbox tools (hnsdiag,
// vfpctrl) of the node the collector runs on.
//
// The syscall files (*_windows.go) stay thin: they call Windows and hand strings and numbers
// to the logic in the untagged files (query building, XML and JSON parsing, filtering, tool
// output parsing), which is tested on Linux.
//
// Every source is named like the artifact kind it emits, as the replay backend's are, so a
// replayed stream and a node's stream look alike.
package winsrc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// hcnQuery asks HCN for schema 2.0 objects with all their details (Flags 1 = Detailed). The
// same query serves HcnEnumerate* (which returns IDs) and HcnQuery*Properties (one object).
const hcnQuery = `{"SchemaVersion":{"Major":2,"Minor":0},"Flags":1}`

// hcnFamily is one HCN object type. Its functions in computenetwork.dll are named after it:
// HcnEnumerate<Plural>, HcnOpen<Noun>, HcnQuery<Noun>Properties, HcnClose<Noun>.
type hcnFamily struct {
	kind   string
	noun   string
	plural string
}

func (f hcnFamily) enumerateFunc() string { return "HcnEnumerate" + f.plural }
func (f hcnFamily) openFunc() string      { return "HcnOpen" + f.noun }
func (f hcnFamily) queryFunc() string     { return "HcnQuery" + f.noun + "Properties" }
func (f hcnFamily) closeFunc() string     { return "HcnClose" + f.noun }
func (f hcnFamily) funcs() []string {
	return []string{f.enumerateFunc(), f.openFunc(), f.queryFunc(), f.closeFunc()}
}

var hcnFamilies = []hcnFamily{
	{kind: wire.KindHCNNetworks, noun: "Network", plural: "Networks"},
	{kind: wire.KindHCNEndpoints, noun: "Endpoint", plural: "Endpoints"},
	{kind: wire.KindHCNLoadBalancers, noun: "LoadBalancer", plural: "LoadBalancers"},
	{kind: wire.KindHCNNamespaces, noun: "Namespace", plural: "Namespaces"},
}

// ErrHNSUnavailable is wrapped by every error that means "this host has no HNS": not Windows
// Server with containers, or Wine.
var ErrHNSUnavailable = errors.New("HNS/HCN is not available on this host")

// dllMissing words a missing DLL. The smoke test under Wine expects this exact opening.
func dllMissing(dll string, cause error) error {
	return fmt.Errorf("%w: %s not found; the node lacks the Windows Containers feature or is not Windows Server 2019 or later (loading it: %v)",
		ErrHNSUnavailable, dll, cause)
}

// procMissing words a DLL that lacks a function we need.
func procMissing(dll, fn string) error {
	return fmt.Errorf("%w: %s has no %s; this Windows build predates it (Windows Server 2019 or later is needed)",
		ErrHNSUnavailable, dll, fn)
}

// hresult names for the HCN and Win32 failures seen in the wild (hcsshim hcn/hcnerrors.go,
// golang.org/x/sys/windows zerrors). Unknown codes print as hex only.
var hresultNames = map[uint32]string{
	0x803B0001: "HCN_E_NETWORK_NOT_FOUND",
	0x803B0002: "HCN_E_ENDPOINT_NOT_FOUND",
	0x803B0006: "HCN_E_ADAPTER_NOT_FOUND",
	0x803B0007: "HCN_E_PORT_NOT_FOUND",
	0x803B000D: "HCN_E_INVALID_POLICY",
	0x803B0012: "HCN_E_POLICY_ALREADY_EXISTS",
	0x803B0013: "HCN_E_PORT_ALREADY_EXISTS",
	0x803B0015: "HCN_E_REQUEST_UNSUPPORTED",
	0x803B0017: "HCN_E_DEGRADED_OPERATION",
	0x803B0020: "HCN_E_MANAGER_STOPPED",
	0x80070005: "E_ACCESSDENIED",
	0x80070490: "ERROR_NOT_FOUND",
	0x800706BA: "RPC_S_SERVER_UNAVAILABLE",
}

// vanished reports an HRESULT meaning the object was deleted between listing and opening it:
// normal churn on a busy node, not a failure.
func vanished(hr uint32) bool {
	switch hr {
	case 0x803B0001, 0x803B0002, 0x80070490:
		return true
	}
	return false
}

// hcnCallError words a failed HCN call. record is the JSON error record HCN returned, if any.
func hcnCallError(fn string, hr uint32, record string) error {
	msg := fmt.Sprintf("%s failed with HRESULT 0x%08X", fn, hr)
	if name, ok := hresultNames[hr]; ok {
		msg += " (" + name + ")"
	}
	if record = strings.TrimSpace(record); record != "" {
		msg += ": " + shorten(compactJSON(record), 512)
	}
	switch hr {
	case 0x80070005:
		msg += "; the collector must run as NT AUTHORITY\\SYSTEM (a HostProcess pod)"
	case 0x803B0020, 0x800706BA:
		msg += "; the Host Network Service is not running: check the hns service and the System event log"
	}
	return errors.New(msg)
}

// compactJSON puts an error record on one line; text that is not JSON has its whitespace folded.
func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err == nil {
		return b.String()
	}
	return strings.Join(strings.Fields(s), " ")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// guid is the Windows GUID layout HcnOpen* takes by reference.
type guid struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// parseGUID parses the textual form HCN lists IDs in ("0d9a3c4e-8c1f-4b0e-9f3a-1c2d3e4f5a6b",
// braces optional, any case).
func parseGUID(s string) (guid, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return guid{}, fmt.Errorf("%q is not a GUID", s)
	}
	b, err := hex.DecodeString(t[0:8] + t[9:13] + t[14:18] + t[19:23] + t[24:36])
	if err != nil {
		return guid{}, fmt.Errorf("%q is not a GUID: %w", s, err)
	}
	var g guid
	g.Data1 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	g.Data2 = uint16(b[4])<<8 | uint16(b[5])
	g.Data3 = uint16(b[6])<<8 | uint16(b[7])
	copy(g.Data4[:], b[8:])
	return g, nil
}

func (g guid) String() string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", g.Data1, g.Data2, g.Data3, g.Data4[:2], g.Data4[2:])
}

// parseIDList reads what HcnEnumerate* returns: a JSON array of GUID strings (null or empty
// when there are none).
func parseIDList(s string) ([]guid, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return nil, nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		return nil, fmt.Errorf("the ID list HCN returned is not a JSON array of strings (%q): %w", shorten(s, 80), err)
	}
	out := make([]guid, 0, len(ids))
	for _, id := range ids {
		g, err := parseGUID(id)
		if err != nil {
			return nil, fmt.Errorf("in the ID list HCN returned: %w", err)
		}
		out = append(out, g)
	}
	return out, nil
}

// hcnObjects gathers the objects of one family into the artifact: a JSON array of the raw
// objects as HCN returned them. An object that is not valid JSON is left out and reported.
type hcnObjects struct {
	items [][]byte
	errs  []error
}

func (o *hcnObjects) add(id guid, props string) {
	b := []byte(strings.TrimSpace(props))
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		o.errs = append(o.errs, fmt.Errorf("HCN returned properties for %s that are not a JSON object (%q); the object is left out", id, shorten(string(b), 80)))
		return
	}
	o.items = append(o.items, b)
}

func (o *hcnObjects) array() []byte {
	out := []byte{'['}
	for i, it := range o.items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	return append(out, ']')
}

// hnsVersion extracts {"Major":..,"Minor":..} from the HNS v1 response to GET /globals/version:
// {"Success":true,"Output":{"Major":13,"Minor":2}}.
func hnsVersion(response string) ([]byte, error) {
	var r struct {
		Success bool
		Error   string
		Output  json.RawMessage
	}
	if err := json.Unmarshal([]byte(response), &r); err != nil {
		return nil, fmt.Errorf("the HNS version response is not JSON (%q): %w", shorten(response, 80), err)
	}
	if !r.Success {
		return nil, fmt.Errorf("HNS refused the version request: %s", r.Error)
	}
	var v struct{ Major, Minor *int }
	if err := json.Unmarshal(r.Output, &v); err != nil || v.Major == nil || v.Minor == nil {
		return nil, fmt.Errorf("the HNS version response has no Major/Minor (%q)", shorten(string(r.Output), 80))
	}
	return json.Marshal(struct{ Major, Minor int }{*v.Major, *v.Minor})
}
