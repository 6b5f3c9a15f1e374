// Package pktmon holds every pktmon.exe command line winnet runs on a node, and the capture
// filter syntax users type. It is pure (no I/O), so the plugin validates a --filter before a
// debug pod exists and the collector builds exactly what the tests check.
//
// pktmon (Packet Monitor) is inbox on Windows Server 2019 (1809) and later. It keeps one
// capture session and one filter list per machine: whatever winnet starts, it must stop, and
// the filters it adds carry the FilterPrefix name so a session a killed run left behind is
// recognisable by its filters, not by pktmon's status text (which is localised).
//
// Syntax (Microsoft's pktmon reference): `filter add [name] [-t proto] [-i ip [ip2]]
// [-p port [port2]] [-e [vxlan-port]]` (a packet matches a filter when it meets all of that
// filter's conditions, any filter of at most 32); `start --capture [--comp all|nics]
// [--type all|flow|drop] [--pkt-size bytes] [-f file] [-s MB] [-m circular|multi-file]`;
// `stop`; `filter list`; `filter remove` (all filters); `etl2pcap file --out file`;
// `etl2txt file --out file`.
package pktmon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// FilterPrefix starts the name of every filter winnet adds.
const FilterPrefix = "winnet-"

// MaxFilters is pktmon's own limit on filters at once.
const MaxFilters = 32

// Capture types of `start --type`.
const (
	TypeAll  = "all"  // packets and drop events
	TypeDrop = "drop" // drop events only
)

// Filter is one pktmon filter: a packet must meet every condition it sets.
type Filter struct {
	// IPs: one matches either end; two match traffic between them.
	IPs []netip.Addr
	// Ports: the same, for TCP/UDP ports.
	Ports []uint16
	// Protocol is TCP, UDP or ICMP; empty for any.
	Protocol string
}

// Empty reports a filter with no condition (it would match everything).
func (f Filter) Empty() bool { return len(f.IPs) == 0 && len(f.Ports) == 0 && f.Protocol == "" }

// String is the filter in the syntax ParseFilter reads.
func (f Filter) String() string {
	var parts []string
	if f.Protocol != "" {
		parts = append(parts, strings.ToLower(f.Protocol))
	}
	for _, ip := range f.IPs {
		parts = append(parts, "host "+ip.String())
	}
	for _, p := range f.Ports {
		parts = append(parts, "port "+strconv.Itoa(int(p)))
	}
	return strings.Join(parts, " ")
}

// ParseFilter reads a user's capture filter: words in any order, a small subset of the
// tcpdump vocabulary people know — `tcp`, `udp`, `icmp`, `host IP` (at most twice: traffic
// between the two), `port N` (at most twice). Examples: "udp port 53", "host 10.0.0.5 port 443".
func ParseFilter(s string) (Filter, error) {
	var f Filter
	words := strings.Fields(s)
	if len(words) == 0 {
		return f, fmt.Errorf("empty capture filter: give words such as %q", "udp port 53")
	}
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		switch w {
		case "tcp", "udp", "icmp":
			if f.Protocol != "" && f.Protocol != strings.ToUpper(w) {
				return f, fmt.Errorf("capture filter %q names two protocols: one filter is one protocol; give each its own --filter", s)
			}
			f.Protocol = strings.ToUpper(w)
		case "host", "port":
			if i+1 >= len(words) {
				return f, fmt.Errorf("capture filter %q: %q needs a value", s, w)
			}
			i++
			v := words[i]
			if w == "host" {
				ip, err := netip.ParseAddr(v)
				if err != nil {
					return f, fmt.Errorf("capture filter %q: host %q is not an IP address (pktmon filters on addresses, not names)", s, v)
				}
				if len(f.IPs) == 2 {
					return f, fmt.Errorf("capture filter %q: at most two hosts (traffic between them)", s)
				}
				f.IPs = append(f.IPs, ip.Unmap())
				continue
			}
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return f, fmt.Errorf("capture filter %q: port %q is not a port number (1-65535)", s, v)
			}
			if len(f.Ports) == 2 {
				return f, fmt.Errorf("capture filter %q: at most two ports (traffic between them)", s)
			}
			f.Ports = append(f.Ports, uint16(n))
		default:
			return f, fmt.Errorf("capture filter %q: unknown word %q; use tcp, udp, icmp, host IP and port N (e.g. %q)", s, words[i], "tcp port 443")
		}
	}
	if f.Protocol == "ICMP" && len(f.Ports) > 0 {
		return f, fmt.Errorf("capture filter %q: ICMP has no ports", s)
	}
	return f, nil
}

// Arg is the filter as one collector argument: the plugin passes argv through cmd.exe, which
// splits on spaces and interprets = and others, so the words are joined with '+' and ':'.
func (f Filter) Arg() string {
	var parts []string
	if f.Protocol != "" {
		parts = append(parts, "proto:"+f.Protocol)
	}
	for _, ip := range f.IPs {
		parts = append(parts, "ip:"+ip.String())
	}
	for _, p := range f.Ports {
		parts = append(parts, "port:"+strconv.Itoa(int(p)))
	}
	return strings.Join(parts, "+")
}

// ParseArg reads Filter.Arg's form back.
func ParseArg(s string) (Filter, error) {
	var words []string
	for _, part := range strings.Split(s, "+") {
		key, val, ok := strings.Cut(part, ":")
		if !ok {
			return Filter{}, fmt.Errorf("capture filter argument %q: %q is not key:value", s, part)
		}
		switch key {
		case "proto":
			words = append(words, val)
		case "ip":
			words = append(words, "host", val)
		case "port":
			words = append(words, "port", val)
		default:
			return Filter{}, fmt.Errorf("capture filter argument %q: unknown key %q", s, key)
		}
	}
	return ParseFilter(strings.Join(words, " "))
}

// WithIP is f narrowed to traffic of ip (the pod being captured), unless f already names it.
func (f Filter) WithIP(ip netip.Addr) Filter {
	for _, have := range f.IPs {
		if have == ip {
			return f
		}
	}
	out := f
	out.IPs = append(append([]netip.Addr(nil), f.IPs...), ip)
	return out
}

// FilterAdd is `pktmon filter add NAME ...` for f. Encapsulated (-e) is always set: on an
// overlay (VXLAN) network a pod's packets travel inside the node's, and a filter on the pod's
// IP would otherwise miss them; on other networks it changes nothing.
func FilterAdd(name string, f Filter) []string {
	argv := []string{"filter", "add", name}
	if f.Protocol != "" {
		argv = append(argv, "-t", f.Protocol)
	}
	if len(f.IPs) > 0 {
		argv = append(argv, "-i")
		for _, ip := range f.IPs {
			argv = append(argv, ip.String())
		}
	}
	if len(f.Ports) > 0 {
		argv = append(argv, "-p")
		for _, p := range f.Ports {
			argv = append(argv, strconv.Itoa(int(p)))
		}
	}
	return append(argv, "-e")
}

// FilterName is the name of winnet's i-th filter.
func FilterName(i int) string { return FilterPrefix + strconv.Itoa(i+1) }

// StartOptions are the capture settings of Start.
type StartOptions struct {
	File string // the .etl to write
	// MaxMB caps the file; pktmon's circular mode then overwrites the oldest events, so a
	// capture nobody stops (its collector killed) cannot fill the disk.
	MaxMB int
	Type  string // TypeAll or TypeDrop
}

// Start is `pktmon start --capture ...`: every component (a pod's packets cross the vSwitch,
// VFP and the host vNIC, which nics-only would miss), whole packets (--pkt-size 0; the default
// 128 bytes cuts payloads that Wireshark needs).
func Start(o StartOptions) []string {
	typ := o.Type
	if typ == "" {
		typ = TypeAll
	}
	return []string{"start", "--capture", "--comp", "all", "--type", typ, "--pkt-size", "0",
		"-f", o.File, "-s", strconv.Itoa(max(o.MaxMB, 1)), "-m", "circular"}
}

// Stop is `pktmon stop`.
func Stop() []string { return []string{"stop"} }

// FilterList is `pktmon filter list`.
func FilterList() []string { return []string{"filter", "list"} }

// FilterRemove is `pktmon filter remove`, which removes every filter.
func FilterRemove() []string { return []string{"filter", "remove"} }

// Etl2pcap is `pktmon etl2pcap ETL --out PCAPNG` (Windows Server 2022 and 20H2+ builds; 2019
// lacks it, and the ETL plus Etl2txt's text are returned instead).
func Etl2pcap(etl, out string) []string { return []string{"etl2pcap", etl, "--out", out} }

// Etl2txt is `pktmon etl2txt ETL --out TXT`.
func Etl2txt(etl, out string) []string { return []string{"etl2txt", etl, "--out", out} }

// HasWinnetFilter reports whether `pktmon filter list` output names a winnet filter: a
// session an earlier, killed run left behind.
func HasWinnetFilter(listOutput string) bool { return strings.Contains(listOutput, FilterPrefix) }
