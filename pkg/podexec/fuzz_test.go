package podexec

import (
	"net/netip"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
)

// FuzzParsers: whatever nslookup, Resolve-DnsName, Test-NetConnection or curl print in a pod
// (localized, cut off, or garbage), the parsers never panic, every verdict is one the wire
// knows, and every verdict but ok says why.
//
//	go test ./pkg/podexec -run '^$' -fuzz FuzzParsers -fuzztime 60s
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"Server:  kube-dns.kube-system.svc.cluster.local\nAddress:  10.96.0.10\n\nName:    web.shop.svc.cluster.local\nAddress:  10.96.1.2\n",
		"*** kube-dns can't find nope: Non-existent domain\n", "DNS request timed out.\n    timeout was 2 seconds.\n",
		"Name Type TTL Section IPAddress\n---- ---- --- ------- ---------\nweb.shop.svc.cluster.local A 5 Answer 10.96.1.2\n",
		"TcpTestSucceeded : True\n", "WARNING: TCP connect to 10.96.1.2:80 failed\nTcpTestSucceeded : False\n", "", "\x00\xff",
		"0.004512\n", "True\n", "Timeout\n",
	} {
		f.Add(s, 7)
	}
	known := map[string]bool{probe.VerdictOK: true, probe.VerdictFail: true, probe.VerdictTimeout: true}
	dnsTarget := probe.Target{Name: "web.shop.svc.cluster.local", Addr: netip.MustParseAddrPort("10.96.0.10:53")}
	f.Fuzz(func(t *testing.T, out string, code int) {
		type verdict struct{ v, msg string }
		var got []verdict
		add := func(v, msg string) { got = append(got, verdict{v, msg}) }
		add(ParseTCP(out, "10.96.1.2:80"))
		add(ParseCurlTCP(out, code, "10.96.1.2:80"))
		add(ParseNslookup(out).verdict(dnsTarget))
		add(ParseResolveDNS(out).verdict(dnsTarget))
		for _, g := range got {
			if !known[g.v] {
				t.Fatalf("verdict %q from %q", g.v, out)
			}
			if g.v != probe.VerdictOK && g.msg == "" {
				t.Fatalf("verdict %q without a reason from %q", g.v, out)
			}
		}
	})
}
