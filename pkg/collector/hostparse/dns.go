package hostparse

import (
	"net/netip"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// TcpipParameters holds the resolver values of HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters.
type TcpipParameters struct {
	SearchList string // "SearchList": the suffix search list, comma separated
	Domain     string // "Domain": the primary DNS suffix in effect
	NVDomain   string // "NV Domain": the configured primary suffix, applied at the next boot
}

// DNSClient builds the host resolver's configuration from the DNS servers of the adapters that
// are up (in adapter order) and the Tcpip parameters.
//
// Windows lists fec0:0:0:ffff::1, ::2 and ::3 on every adapter that has no IPv6 DNS server:
// they are placeholders of the withdrawn site-local scheme, never configured by anyone, and
// are left out. Duplicates are kept once, first place wins.
func DNSClient(adapterServers [][]string, p TcpipParameters) wire.DNSClient {
	var c wire.DNSClient
	seen := map[string]bool{}
	for _, servers := range adapterServers {
		for _, s := range servers {
			if seen[s] || isSiteLocalPlaceholder(s) {
				continue
			}
			seen[s] = true
			c.Servers = append(c.Servers, s)
		}
	}
	c.SearchList = splitList(p.SearchList)
	c.PrimarySuffix = strings.TrimSpace(p.Domain)
	if c.PrimarySuffix == "" {
		c.PrimarySuffix = strings.TrimSpace(p.NVDomain)
	}
	return c
}

func isSiteLocalPlaceholder(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.WithZone("")
	for _, p := range []string{"fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3"} {
		if a == netip.MustParseAddr(p) {
			return true
		}
	}
	return false
}

// splitList splits a registry list: Windows writes commas, people write spaces or semicolons.
func splitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
