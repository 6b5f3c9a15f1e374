package wincmd

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// The programs an ordinary (not HostProcess) Windows container may have, for the plugin's
// probes from inside the target pod. They exist only when Host.Tools lists them, and answer
// from Host.DNS and Host.Open rather than a network.

// imageTool returns the simulated program base when the image has it.
func (h *Host) imageTool(base string) (program, bool) {
	if !slices.Contains(h.Tools, base) {
		return program{}, false
	}
	switch base {
	case "nslookup.exe":
		return program{run: runNslookup}, true
	case "powershell.exe":
		return program{run: runPowerShell}, true
	case "curl.exe":
		return program{run: runCurl}, true
	}
	return program{}, false
}

// runWhere implements `where [/q] NAME`: exit 0 when the program exists, 1 when not; without
// /q it prints where. Other options and patterns are not simulated.
func runWhere(_ context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	args := argv[1:]
	quiet := len(args) > 0 && strings.EqualFold(args[0], "/q")
	if quiet {
		args = args[1:]
	}
	if len(args) != 1 || strings.ContainsAny(args[0], `*?\/:$`) {
		fmt.Fprintf(std.err, "wincmd: where.exe %s is not simulated; only where [/q] NAME.exe is\r\n", strings.Join(argv[1:], " "))
		return 2
	}
	name := strings.ToLower(args[0])
	if _, sys := systemProgram(name); !sys && !slices.Contains(h.Tools, name) {
		if !quiet {
			fmt.Fprint(std.err, "INFO: Could not find files for the given pattern(s).\r\n")
		}
		return 1
	}
	if !quiet {
		fmt.Fprintf(std.out, "C:\\Windows\\System32\\%s\r\n", name)
	}
	return 0
}

// runNslookup implements `nslookup [-type=A] [-timeout=N] [-retry=N] [-vc] [-port=N] NAME SERVER`
// with Windows' output: the server block, then the answer or a "***" line.
func runNslookup(_ context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	var pos []string
	for _, a := range argv[1:] {
		lower := strings.ToLower(a)
		switch {
		case lower == "-type=a" || lower == "-vc":
		case strings.HasPrefix(lower, "-timeout=") || strings.HasPrefix(lower, "-retry=") || strings.HasPrefix(lower, "-port="):
			if _, err := strconv.Atoi(lower[strings.IndexByte(lower, '=')+1:]); err != nil {
				fmt.Fprintf(std.out, "*** Invalid option: %s\r\n", a)
				return 1
			}
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(std.err, "wincmd: nslookup.exe option %s is not simulated\r\n", a)
			return 1
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		fmt.Fprintf(std.err, "wincmd: nslookup.exe is simulated only as nslookup [options] NAME SERVER, not %q\r\n", strings.Join(argv[1:], " "))
		return 1
	}
	name, server := pos[0], pos[1]
	if _, err := netip.ParseAddr(server); err != nil {
		fmt.Fprintf(std.err, "wincmd: nslookup.exe is simulated with a server IP only, not %q\r\n", server)
		return 1
	}
	fmt.Fprintf(std.out, "Server:  UnKnown\r\nAddress:  %s\r\n\r\n", server)
	addrs := h.DNS[strings.ToLower(strings.TrimSuffix(name, "."))]
	switch len(addrs) {
	case 0:
		fmt.Fprintf(std.out, "*** UnKnown can't find %s: Non-existent domain\r\n", name)
		return 1
	case 1:
		fmt.Fprintf(std.out, "Name:    %s\r\nAddress:  %s\r\n\r\n", strings.TrimSuffix(name, "."), addrs[0])
	default:
		fmt.Fprintf(std.out, "Name:    %s\r\nAddresses:  %s\r\n\r\n", strings.TrimSuffix(name, "."), strings.Join(addrs, "\r\n\t  "))
	}
	return 0
}

var (
	psTCP = regexp.MustCompile(`ConnectAsync\('([^']*)', ([0-9]+)\)`)
	psDNS = regexp.MustCompile(`Resolve-DnsName -Name '([^']*)' -Server '([^']*)'`)
)

// runPowerShell runs only the exact scripts pkg/nodecmd builds: a TCP handshake (answered from
// Host.Open) and a Resolve-DnsName query (from Host.DNS). Anything else is not simulated: a
// PowerShell interpreter is out of scope, and a near-miss script must fail the test.
func runPowerShell(_ context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	notSim := func() int32 {
		fmt.Fprintf(std.err, "wincmd: powershell.exe is simulated only for the scripts pkg/nodecmd builds, not %q\r\n", strings.Join(argv[1:], " "))
		return 1
	}
	if len(argv) != 6 {
		return notSim()
	}
	script := argv[5]
	if m := psTCP.FindStringSubmatch(script); m != nil {
		port, _ := strconv.Atoi(m[2])
		want, err := nodecmd.PowerShellTCPArgv(m[1], port)
		if err != nil || !slices.Equal(want[1:], argv[1:]) {
			return notSim()
		}
		if slices.Contains(h.Open, netip.AddrPortFrom(netip.MustParseAddr(m[1]), uint16(port)).String()) {
			fmt.Fprint(std.out, "True\r\n")
		} else {
			fmt.Fprint(std.out, "False\r\n")
		}
		return 0
	}
	if m := psDNS.FindStringSubmatch(script); m != nil {
		want, err := nodecmd.PowerShellDNSArgv(m[1], m[2], strings.Contains(script, " -TcpOnly "))
		if err != nil || !slices.Equal(want[1:], argv[1:]) {
			return notSim()
		}
		name := strings.ToLower(strings.TrimSuffix(m[1], "."))
		addrs := h.DNS[name]
		if len(addrs) == 0 {
			fmt.Fprintf(std.out, "Error: %s : DNS name does not exist\r\n", name)
			return 0
		}
		for _, a := range addrs {
			fmt.Fprintf(std.out, "Address: %s\r\n", a)
		}
		return 0
	}
	return notSim()
}

// runCurl simulates curl.exe only as nodecmd.CurlTCPArgv uses it: the connect time (0 when no
// connection was made) and curl's exit code — 52 (empty reply: the port does not speak HTTP)
// for a port the pod's annotations list as open, 7 (refused) for any other.
func runCurl(_ context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	notSim := func() int32 {
		fmt.Fprintf(std.err, "wincmd: curl.exe is simulated only as pkg/nodecmd's TCP test, not %q\r\n", strings.Join(argv[1:], " "))
		return 2
	}
	url := argv[len(argv)-1]
	hostPort := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil {
		return notSim()
	}
	want, err := nodecmd.CurlTCPArgv(ap.Addr().String(), int(ap.Port()))
	if err != nil || !slices.Equal(want[1:], argv[1:]) {
		return notSim()
	}
	if slices.Contains(h.Open, ap.String()) {
		fmt.Fprint(std.out, "0.001000")
		return 52
	}
	fmt.Fprint(std.out, "0.000000")
	return 7
}
