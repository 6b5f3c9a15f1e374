package analyze

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// hcnErrors are the HCN_E_* codes (golang.org/x/sys/windows zerrors, as vendored by hcsshim;
// HNS-FACTS.md §3.3), in words a user can act on.
var hcnErrors = map[uint32]string{
	0x803B0001: "network not found",
	0x803B0002: "endpoint not found",
	0x803B0003: "VFP layer not found",
	0x803B0004: "virtual switch not found",
	0x803B0005: "subnet not found",
	0x803B0006: "adapter not found",
	0x803B0007: "switch port not found",
	0x803B0008: "policy not found",
	0x803B0009: "VFP port setting not found",
	0x803B000A: "invalid network",
	0x803B000B: "invalid network type",
	0x803B000C: "invalid endpoint",
	0x803B000D: "invalid policy",
	0x803B000E: "invalid policy type",
	0x803B000F: "invalid remote endpoint operation",
	0x803B0010: "network already exists",
	0x803B0011: "VFP layer already exists",
	0x803B0012: "policy already exists",
	0x803B0013: "port already exists",
	0x803B0014: "endpoint already attached",
	0x803B0015: "request unsupported",
	0x803B0016: "mapping not supported",
	0x803B0017: "degraded operation",
	0x803B0018: "shared switch modification",
	0x803B0019: "GUID conversion failure",
	0x803B001A: "registry key failure",
	0x803B001B: "invalid JSON",
	0x803B001C: "invalid JSON reference",
	0x803B001D: "endpoint sharing disabled",
	0x803B001E: "invalid IP address",
	0x803B001F: "switch extension not found",
	0x803B0020: "HNS manager stopped",
	0x803B0025: "network adapter timeout",
	0x803B0026: "network adapter not found",
	0x803B0027: "network compartment not found",
	0x803B0028: "network interface not found",
	0x803B002A: "Internet Connection Sharing disabled",
	0x803B002B: "endpoint namespace already exists",
	0x803B002C: "entity still has references",
	0x803B002D: "invalid internal port",
	0x803B002E: "namespace attach failed",
	0x803B002F: "address invalid or reserved",
}

// win32Errors are the Win32 codes HNS and kube-proxy surface most (zerrors_windows.go),
// reported bare (0x490) or as an HRESULT (0x80070490).
var win32Errors = map[uint32]string{
	2:     "file not found",
	5:     "access denied",
	14:    "out of memory",
	21:    "device not ready",
	50:    "not supported",
	87:    "invalid parameter",
	183:   "already exists",
	1060:  "service does not exist",
	1062:  "service not started",
	1168:  "element not found",
	1225:  "connection refused",
	1231:  "network unreachable",
	1237:  "operation should be retried",
	1460:  "timeout",
	1722:  "RPC server unavailable (HNS not answering)",
	1726:  "remote procedure call failed",
	5010:  "object already exists",
	5023:  "invalid state (the resource is not in the correct state)",
	10055: "no buffer space (ports or memory exhausted)",
}

// DecodeHNSError names a known HNS, HRESULT or Win32 error code, given as hex ("0x803b0013",
// "0x490", "0x8007139f") or decimal (2151350279, as HNS prints ErrorCode). "" when unknown.
func DecodeHNSError(code string) string {
	c := strings.ToLower(strings.TrimSpace(code))
	var n uint64
	var err error
	if strings.HasPrefix(c, "0x") {
		n, err = strconv.ParseUint(c[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(c, 10, 32)
	}
	if err != nil {
		return ""
	}
	v := uint32(n)
	if w, ok := hcnErrors[v]; ok {
		return w
	}
	if v&0xFFFF0000 == 0x80070000 { // HRESULT_FROM_WIN32
		v &= 0xFFFF
	}
	return win32Errors[v]
}

// codeAdvice says what a code usually means for kube-proxy on Windows and what to do, from
// the reports that tie the code to a cause.
var codeAdvice = map[string]string{
	"0x803b0013": "0x803b0013 (port already exists): a stale HNS policy or a reserved port holds the front end (hcsshim#1043); restart kube-proxy, and check excluded port ranges if it returns.",
	"0xb7":       "0xb7 (already exists): HNS restored its load balancers after a restart while kube-proxy thought them gone (kubernetes/kubernetes#139519); restart kube-proxy.",
	"0x800700b7": "0x800700b7 (already exists): HNS restored its load balancers after a restart while kube-proxy thought them gone (kubernetes/kubernetes#139519); restart kube-proxy.",
	"0x803b0007": "0x803b0007 (switch port not found): a backend's endpoint port vanished, typically after a pod was deleted or HNS restarted (hcsshim#1043); restart kube-proxy.",
	"0x803b0001": "0x803b0001 (network not found): the CNI recreated the HNS network; restart kube-proxy after the CNI so it binds to the new network.",
	"0x803b002f": "0x803b002f (address invalid or reserved): a VIP or source VIP is an address HNS reserves (kubernetes/kubernetes#100962); pick another address.",
	"0x800706ba": "0x800706ba (RPC server unavailable): HNS is not answering; check the hns service (Get-Service hns) and the System log for 7031.",
	"0x80070057": "0x80070057 (invalid parameter): HNS rejected the request's parameters, often a feature this HNS version lacks (DSR, session affinity); compare kube-proxy's flags with the HNS version.",
	"0x8007139f": "0x8007139f (invalid state): the object is not in a state HNS can change; restart kube-proxy, and HNS if it persists.",
}

var (
	hexCode     = regexp.MustCompile(`0x[0-9a-fA-F]{2,8}\b`)
	decimalCode = regexp.MustCompile(`(?i)"?ErrorCode"?\s*[:=]\s*(\d{6,10})`)
)

// decodedCode is one error code found in text.
type decodedCode struct {
	Code  string // canonical lower-case hex
	Words string
}

// errorCodesIn finds the error codes in a line of text and decodes the known ones.
func errorCodesIn(line string) []decodedCode {
	var out []decodedCode
	seen := map[string]bool{}
	add := func(raw string) {
		w := DecodeHNSError(raw)
		if w == "" {
			return
		}
		var canon string
		if strings.HasPrefix(strings.ToLower(raw), "0x") {
			canon = strings.ToLower(raw)
		} else {
			n, _ := strconv.ParseUint(raw, 10, 32)
			canon = fmt.Sprintf("0x%x", n)
		}
		if !seen[canon] {
			seen[canon] = true
			out = append(out, decodedCode{Code: canon, Words: w})
		}
	}
	for _, h := range hexCode.FindAllString(line, -1) {
		add(h)
	}
	for _, m := range decimalCode.FindAllStringSubmatch(line, -1) {
		add(m[1])
	}
	return out
}

// withCodes appends the decoded error codes of line to detail.
func withCodes(detail, line string) string {
	codes := errorCodesIn(line)
	if len(codes) == 0 {
		return detail
	}
	var words []string
	for _, c := range codes {
		words = append(words, c.Code+" = "+c.Words)
	}
	return detail + " [" + strings.Join(words, "; ") + "]"
}
