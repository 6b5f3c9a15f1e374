package analyze

import (
	"net/netip"
	"strconv"
	"strings"
)

func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	return a, err == nil
}

// parsePrefix reads a CIDR, or a bare address as a host prefix.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func parsePrefixes(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if p, ok := parsePrefix(s); ok {
			out = append(out, p)
		}
	}
	return out
}

// prefixCovered reports whether one of set contains all of p.
func prefixCovered(p netip.Prefix, set []netip.Prefix) bool {
	for _, q := range set {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// addrCovered reports whether one of set contains a.
func addrCovered(a netip.Addr, set []netip.Prefix) bool {
	for _, q := range set {
		if q.Contains(a) {
			return true
		}
	}
	return false
}

func inPrefix(ip, prefix string) bool {
	a, ok := parseAddr(ip)
	p, ok2 := parsePrefix(prefix)
	return ok && ok2 && p.Contains(a)
}

func isIPv6(ip string) bool { return strings.Contains(ip, ":") }

// isAPIPA reports a link-local IPv4 address (169.254/16), which Windows assigns when an
// adapter has no configured address: on an HNS network it means the host vNIC lost its IP.
func isAPIPA(ip string) bool {
	a, ok := parseAddr(ip)
	return ok && a.Is4() && a.IsLinkLocalUnicast()
}

// prefixSize is the number of addresses in a prefix (capped for IPv6).
func prefixSize(p netip.Prefix) int {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 24 {
		return 1 << 24
	}
	return 1 << host
}

// portSpec is a Windows Firewall port list ("80,443,1000-2000", "Any", "*").
type portSpec struct {
	any    bool
	ranges [][2]int
}

func parsePortSpec(s string) portSpec {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "any") || s == "*" {
		return portSpec{any: true}
	}
	var ps portSpec
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue // keywords such as RPC or IPHTTPS name no numeric port
		}
		b := a
		if isRange {
			if n, err := strconv.Atoi(strings.TrimSpace(hi)); err == nil {
				b = n
			}
		}
		ps.ranges = append(ps.ranges, [2]int{a, b})
	}
	return ps
}

func (p portSpec) has(port int) bool {
	if p.any {
		return true
	}
	for _, r := range p.ranges {
		if port >= r[0] && port <= r[1] {
			return true
		}
	}
	return false
}

// protoMatches compares a firewall/ACL protocol ("TCP", "6", "Any", "") with a protocol name.
func protoMatches(rule, proto string) bool {
	r := strings.TrimSpace(rule)
	if r == "" || strings.EqualFold(r, "any") || r == "256" {
		return true
	}
	if strings.EqualFold(r, proto) {
		return true
	}
	switch proto {
	case "TCP":
		return r == "6"
	case "UDP":
		return r == "17"
	}
	return false
}
