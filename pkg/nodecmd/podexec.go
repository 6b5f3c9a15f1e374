package nodecmd

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Commands run inside the TARGET pod (not the debug pod) when the collector cannot enter the
// pod's network compartment: a Hyper-V isolated pod, or a collector build without the call.
// They use only what the pod's image may have, so the plugin first asks which of these
// programs exist (DetectTools) and then picks one per probe.
//
// The same no-double-quotes rule holds: the runtime escapes embedded quotes as \" and neither
// cmd.exe nor PowerShell's -Command parser reads that back. PowerShell scripts therefore use
// single quotes only, and every value placed in a command line is validated first (an IP
// literal, a port number, a DNS name), so nothing a cluster object holds can inject.

// Tools the fallback looks for in the pod's image, in the order DetectTools prints them.
const (
	ToolPowerShell = "powershell.exe"
	ToolNslookup   = "nslookup.exe"
	// ToolCurl ships in Windows itself since 1803, nanoserver included, where neither
	// PowerShell nor nslookup.exe is: it is how a nanoserver pod still gets a TCP test.
	ToolCurl = "curl.exe"
)

// FallbackTools are the programs DetectTools asks about.
var FallbackTools = []string{ToolPowerShell, ToolNslookup, ToolCurl}

// ProbeTimeoutSeconds bounds each fallback probe, as the collector's own probes are bounded.
const ProbeTimeoutSeconds = 3

// DetectTools prints, one per line, the name of each FallbackTools program the image has.
// where.exe /q prints nothing and only sets the exit code; each test is its own group joined
// with &, so a missing program does not stop the next test, and the final exit /b 0 keeps a
// missing last program from turning the whole command into a failure.
func DetectTools() []string {
	parts := make([]string, 0, len(FallbackTools)+1)
	for _, t := range FallbackTools {
		parts = append(parts, "(where.exe /q "+t+" && echo "+t+")")
	}
	parts = append(parts, "exit /b 0")
	return cmdExe(strings.Join(parts, " & "))
}

// ParseTools reads DetectTools' output: the known tool names it lists, in FallbackTools order.
func ParseTools(out string) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		seen[strings.ToLower(strings.TrimSpace(line))] = true
	}
	var have []string
	for _, t := range FallbackTools {
		if seen[t] {
			have = append(have, t)
		}
	}
	return have
}

// dnsLabel is what a DNS name the fallback asks may hold: letters, digits, - and _ (SRV-style
// labels), dots between labels.
var dnsName = regexp.MustCompile(`^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$`)

func checkDNSName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if len(name) == 0 || len(name) > 253 || !dnsName.MatchString(name) {
		return "", fmt.Errorf("%q is not a DNS name the pod can be asked to look up; use letters, digits, - and _ in dot-separated labels", name)
	}
	return strings.ToLower(name), nil
}

func checkIP(ip string) (netip.Addr, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address without a zone; the pod's probes dial IP literals only", ip)
	}
	return a.Unmap(), nil
}

func checkPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is outside 1-65535", port)
	}
	return nil
}

// NslookupArgv asks server for the A record of name, run directly (no shell). The name gets
// a final dot so nslookup does not try the pod's DNS suffix search list first: the probe is
// about one name. -vc asks over TCP; -port is given only when it is not 53.
func NslookupArgv(name, server string, port int, overTCP bool) ([]string, error) {
	n, err := checkDNSName(name)
	if err != nil {
		return nil, err
	}
	a, err := checkIP(server)
	if err != nil {
		return nil, err
	}
	if err := checkPort(port); err != nil {
		return nil, err
	}
	argv := []string{ToolNslookup, "-type=A", "-timeout=" + strconv.Itoa(ProbeTimeoutSeconds), "-retry=1"}
	if overTCP {
		argv = append(argv, "-vc")
	}
	if port != 53 {
		argv = append(argv, "-port="+strconv.Itoa(port))
	}
	return append(argv, n+".", a.String()), nil
}

func powerShell(script string) []string {
	return []string{ToolPowerShell, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", script}
}

// PowerShellTCPArgv tries one TCP handshake with ip:port and prints True (connected), Timeout
// (no answer within ProbeTimeoutSeconds) or False (refused or unreachable: ConnectAsync's task
// faulted, which Wait rethrows).
func PowerShellTCPArgv(ip string, port int) ([]string, error) {
	a, err := checkIP(ip)
	if err != nil {
		return nil, err
	}
	if err := checkPort(port); err != nil {
		return nil, err
	}
	script := "$c = New-Object System.Net.Sockets.TcpClient; " +
		"try { if ($c.ConnectAsync('" + a.String() + "', " + strconv.Itoa(port) + ").Wait(" + strconv.Itoa(ProbeTimeoutSeconds*1000) + ")) { 'True' } else { 'Timeout' } } " +
		"catch { 'False' } finally { $c.Dispose() }"
	return powerShell(script), nil
}

// CurlTCPArgv tries one TCP handshake with ip:port using curl.exe and prints the time the
// connection took (curl's %{time_connect}, 0 when none was made). It speaks HTTP after
// connecting, so a non-HTTP port answers with a protocol error — the printed time, not the exit
// code, says whether the handshake happened; exit 7 is a refusal, 28 a timeout. Run directly
// (no cmd.exe), so the % needs no escaping; -g keeps IPv6 brackets literal.
func CurlTCPArgv(ip string, port int) ([]string, error) {
	a, err := checkIP(ip)
	if err != nil {
		return nil, err
	}
	if err := checkPort(port); err != nil {
		return nil, err
	}
	url := "http://" + netip.AddrPortFrom(a, uint16(port)).String() + "/"
	t := strconv.Itoa(ProbeTimeoutSeconds)
	return []string{ToolCurl, "-g", "-s", "-o", "NUL", "-w", "%{time_connect}", "--connect-timeout", t, "-m", strconv.Itoa(ProbeTimeoutSeconds + 2), url}, nil
}

// PowerShellDNSArgv asks server (port 53: Resolve-DnsName cannot name another) for the A
// record of name and prints one "Address: IP" line per address, or one "Error: MESSAGE" line.
// -DnsOnly skips LLMNR and NetBIOS, -QuickTimeout gives up after one try, -TcpOnly asks over TCP.
func PowerShellDNSArgv(name, server string, overTCP bool) ([]string, error) {
	n, err := checkDNSName(name)
	if err != nil {
		return nil, err
	}
	a, err := checkIP(server)
	if err != nil {
		return nil, err
	}
	tcp := ""
	if overTCP {
		tcp = " -TcpOnly"
	}
	script := "try { Resolve-DnsName -Name '" + n + ".' -Server '" + a.String() + "' -Type A -DnsOnly -QuickTimeout" + tcp +
		" -ErrorAction Stop | Where-Object IPAddress | ForEach-Object { 'Address: ' + $_.IPAddress } } " +
		"catch { 'Error: ' + $_.Exception.Message }"
	return powerShell(script), nil
}
