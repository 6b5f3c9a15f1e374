package probe

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Probe protocols (Target.Protocol, and wire.ProbeData.Protocol).
const (
	ProtoTCP = "tcp"
	ProtoUDP = "udp"
	ProtoDNS = "dns"
)

// Scopes of --probe-from: where the probes start.
const (
	// ScopeHost probes from the host's network compartment, where the collector runs.
	ScopeHost = "host"
	// ScopePod probes from the target pod's network compartment (package compartment).
	ScopePod = "pod"
)

// DefaultDNSPort is the server port of a DNS probe that names none.
const DefaultDNSPort = 53

// Target is one probe. Its String is the canonical spec: what --probe takes, and what a
// replayed scenario's probes.json is matched on.
type Target struct {
	Protocol string         // ProtoTCP, ProtoUDP or ProtoDNS
	Addr     netip.AddrPort // the address dialled; for DNS, the server's
	Name     string         // DNS: the name asked for, lower case, without the final dot
	OverTCP  bool           // DNS: ask over TCP (a 2-byte length before each message), not UDP
}

// specChars are the characters a spec may hold: what the plugin passes through cmd.exe
// unquoted (pkg/nodecmd refuses spaces, quotes and & | < > ^ % ( ) ! , ; =), and brackets for
// an IPv6 address with a port.
func specChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".:@/_-[]", c) >= 0
}

// ParseTarget parses one --probe value:
//
//	tcp:IP:PORT                          a TCP handshake
//	udp:IP:PORT                          one datagram, and whether an ICMP error comes back
//	dns:NAME@SERVER_IP[:PORT][/tcp]      an A query for NAME, asked of one server (UDP unless /tcp)
//
// IPv6 goes in brackets when a port follows: udp:[fd00::10]:53, dns:NAME@[fd00::10]:53.
// Addresses are IP literals: a probe tests the path to one address, so nothing is resolved.
func ParseTarget(s string) (Target, error) {
	for i := 0; i < len(s); i++ {
		if !specChar(s[i]) {
			return Target{}, fmt.Errorf("probe %q: %q is not allowed in a probe; use letters, digits and . : @ / _ - [ ] only", s, s[i:i+1])
		}
	}
	proto, rest, ok := strings.Cut(s, ":")
	proto = strings.ToLower(proto)
	switch {
	case ok && (proto == ProtoTCP || proto == ProtoUDP):
		ap, err := parseAddrPort(s, proto+":", rest)
		if err != nil {
			return Target{}, err
		}
		return Target{Protocol: proto, Addr: ap}, nil
	case ok && proto == ProtoDNS:
		return parseDNS(s, rest)
	}
	return Target{}, fmt.Errorf("probe %q: want tcp:IP:PORT, udp:IP:PORT or dns:NAME@SERVER_IP, such as tcp:10.96.0.10:53 or dns:kubernetes.default.svc.cluster.local@10.96.0.10", s)
}

// parseAddrPort parses the IP:PORT that follows after in the spec s.
func parseAddrPort(s, after, hostport string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		// Say so when the host is a name, the likeliest mistake.
		if i := strings.LastIndex(hostport, ":"); i > 0 {
			host := strings.TrimSuffix(strings.TrimPrefix(hostport[:i], "["), "]")
			if _, ipErr := netip.ParseAddr(host); ipErr != nil && !strings.Contains(host, ":") {
				return ap, fmt.Errorf("probe %q: %q is not an IP address; probes dial IP literals only, so resolve the name first", s, host)
			}
		}
		return ap, fmt.Errorf("probe %q: want IP:PORT after %s (IPv6 in brackets, such as [fd00::10]:53): %w", s, after, err)
	}
	if ap.Port() == 0 {
		return ap, fmt.Errorf("probe %q: port 0 cannot be dialled; give the service's port", s)
	}
	if ap.Addr().Zone() != "" {
		return ap, fmt.Errorf("probe %q: zoned addresses are not supported; probe a global or cluster address", s)
	}
	return ap, nil
}

func parseDNS(s, rest string) (Target, error) {
	name, server, ok := strings.Cut(rest, "@")
	if !ok || server == "" {
		return Target{}, fmt.Errorf("probe %q: want dns:NAME@SERVER_IP[:PORT][/tcp], such as dns:kubernetes.default.svc.cluster.local@10.96.0.10", s)
	}
	t := Target{Protocol: ProtoDNS}
	if base, transport, ok := strings.Cut(server, "/"); ok {
		switch strings.ToLower(transport) {
		case "tcp":
			t.OverTCP = true
		case "udp":
		default:
			return Target{}, fmt.Errorf("probe %q: %q after / is not a DNS transport; want /tcp or /udp (the default)", s, transport)
		}
		server = base
	}
	name, err := checkName(name)
	if err != nil {
		return Target{}, fmt.Errorf("probe %q: %w", s, err)
	}
	t.Name = name
	// A bare address (IPv6 needs no brackets then) asks port 53.
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("probe %q: zoned addresses are not supported; probe a global or cluster address", s)
		}
		t.Addr = netip.AddrPortFrom(a, DefaultDNSPort)
		return t, nil
	}
	if !strings.Contains(server, ":") {
		return Target{}, fmt.Errorf("probe %q: %q is not an IP address; a DNS probe asks one server by its IP (kube-dns's cluster IP, such as 10.96.0.10)", s, server)
	}
	if t.Addr, err = parseAddrPort(s, "@", server); err != nil {
		return Target{}, err
	}
	return t, nil
}

// checkName checks a DNS name as the wire format bounds it: labels of 1 to 63 characters, 253
// in all. It returns the name lower-cased (DNS names are case-insensitive) without a final dot.
func checkName(name string) (string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return "", fmt.Errorf("the DNS probe names no name to ask for; give one before the @, such as kubernetes.default.svc.cluster.local")
	}
	if len(name) > 253 {
		return "", fmt.Errorf("the name is %d characters long, over the 253 DNS allows", len(name))
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a DNS name: every label between dots must hold 1 to 63 characters", name)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a DNS name: %q is not allowed in a name", name, string(c))
			}
		}
	}
	return name, nil
}

// String is the canonical spec: ParseTarget(t.String()) gives t back.
func (t Target) String() string { return t.Protocol + ":" + t.WireTarget() }

// WireTarget is what the probe record's Target holds: the address for TCP and UDP, and
// NAME@SERVER:PORT[/tcp] for DNS, so that Protocol + ":" + Target is the canonical spec.
func (t Target) WireTarget() string {
	if t.Protocol != ProtoDNS {
		return t.Addr.String()
	}
	s := t.Name + "@" + t.Addr.String()
	if t.OverTCP {
		s += "/tcp"
	}
	return s
}

// ParseScope parses --probe-from.
func ParseScope(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", ScopeHost:
		return ScopeHost, nil
	case ScopePod:
		return ScopePod, nil
	}
	return "", fmt.Errorf("--probe-from %s: want host (from the node, the default) or pod (from inside the pod's network compartment)", strconv.Quote(s))
}
