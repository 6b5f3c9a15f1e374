package probe

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// dnsStub answers on loopback UDP and TCP by the first label of the name asked for:
// ok -> one A record, two -> two, nx -> NXDOMAIN, fail -> SERVFAIL, refused -> REFUSED,
// empty -> NOERROR without records, alias -> a CNAME only, big -> truncated over UDP (and one
// A record over TCP), junk -> a reply that is not DNS, quiet -> nothing, hangup -> half a
// reply over TCP.
type dnsStub struct {
	udp net.PacketConn
	tcp net.Listener
}

func startDNSStub(t *testing.T) *dnsStub {
	t.Helper()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", udp.LocalAddr().String())
	if err != nil {
		udp.Close()
		t.Skipf("cannot listen on TCP at the stub's UDP address: %v", err)
	}
	s := &dnsStub{udp: udp, tcp: tcp}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := stubAnswer(buf[:n], false); r != nil {
				_, _ = udp.WriteTo(r, from)
			}
		}
	}()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				if r := stubAnswer(q, true); r != nil {
					framed := frameTCP(r)
					if strings.HasPrefix(queryName(q), "hangup.") {
						framed = framed[:10]
					}
					_, _ = c.Write(framed)
					return
				}
				_, _ = io.Copy(io.Discard, c) // stay quiet until the client gives up
			}()
		}
	}()
	return s
}

// queryName reads the question's name of a query (queries are not compressed).
func queryName(q []byte) string {
	var labels []string
	for off := 12; off < len(q) && q[off] != 0 && off+1+int(q[off]) <= len(q); off += 1 + int(q[off]) {
		labels = append(labels, string(q[off+1:off+1+int(q[off])]))
	}
	return strings.Join(labels, ".")
}

func stubAnswer(q []byte, overTCP bool) []byte {
	if len(q) < 13 {
		return nil
	}
	id := binary.BigEndian.Uint16(q)
	name := queryName(q)
	r := reply{id: id, flags: 0x0180, qname: name}
	switch strings.SplitN(name, ".", 2)[0] {
	case "ok":
		r.answers = [][]byte{aRecord("10.96.0.1")}
	case "two":
		r.answers = [][]byte{aRecord("10.244.1.5"), aRecord("10.244.1.6")}
	case "nx":
		r.flags |= 3
	case "fail":
		r.flags |= 2
	case "refused":
		r.flags |= 5
	case "alias":
		r.answers = [][]byte{rr(dnsTypeCNAME, wireName("elsewhere.test"))}
	case "big":
		if overTCP {
			r.answers = [][]byte{aRecord("10.0.0.9")}
		} else {
			r.flags |= 0x0200
		}
	case "junk":
		return []byte("HTTP/1.1 400 Bad Request\r\n\r\n")
	case "quiet":
		return nil
	case "hangup":
		if overTCP {
			return r.bytes() // the TCP side sends only part of it, then hangs up
		}
	}
	return r.bytes()
}

func TestDNSProbe(t *testing.T) {
	stub := startDNSStub(t)
	server := stub.udp.LocalAddr().String()
	closedUDP, closedTCP := closedPort(t, "udp"), closedPort(t, "tcp")
	tests := []struct {
		spec      string
		timeout   time.Duration
		verdict   string
		errPart   string
		rcode     string
		answers   []string
		transport string
	}{
		{spec: "dns:ok.test@" + server, verdict: VerdictOK, rcode: "NOERROR", answers: []string{"10.96.0.1"}, transport: "udp"},
		{spec: "dns:two.test@" + server + "/tcp", verdict: VerdictOK, rcode: "NOERROR", answers: []string{"10.244.1.5", "10.244.1.6"}, transport: "tcp"},
		{spec: "dns:nx.test@" + server, verdict: VerdictFail, rcode: "NXDOMAIN", errPart: "says nx.test does not exist (NXDOMAIN)"},
		{spec: "dns:fail.test@" + server, verdict: VerdictFail, rcode: "SERVFAIL", errPart: "could not resolve fail.test (SERVFAIL)"},
		{spec: "dns:refused.test@" + server + "/tcp", verdict: VerdictFail, rcode: "REFUSED", errPart: "refused to answer for refused.test (REFUSED)"},
		{spec: "dns:empty.test@" + server, verdict: VerdictFail, rcode: "NOERROR", errPart: "returned no address for it (NOERROR, no A record)"},
		{spec: "dns:alias.test@" + server, verdict: VerdictFail, rcode: "NOERROR", errPart: "knows alias.test (as an alias) but returned no address"},
		{spec: "dns:big.test@" + server, verdict: VerdictFail, rcode: "NOERROR", errPart: "append /tcp to the probe"},
		{spec: "dns:big.test@" + server + "/tcp", verdict: VerdictOK, rcode: "NOERROR", answers: []string{"10.0.0.9"}},
		{spec: "dns:junk.test@" + server, verdict: VerdictFail, errPart: "sent a reply that is not a valid DNS answer"},
		{spec: "dns:quiet.test@" + server, timeout: 200 * time.Millisecond, verdict: VerdictTimeout, errPart: "no answer from dns:quiet.test@"},
		{spec: "dns:quiet.test@" + server + "/tcp", timeout: 200 * time.Millisecond, verdict: VerdictTimeout, errPart: "within 200ms"},
		{spec: "dns:ok.test@" + closedUDP, verdict: VerdictFail, errPart: "ICMP port unreachable"},
		{spec: "dns:ok.test@" + closedTCP + "/tcp", verdict: VerdictFail, errPart: "refused: nothing listens on that port"},
		{spec: "dns:hangup.test@" + server + "/tcp", verdict: VerdictFail, errPart: "the server closed the connection before a whole reply arrived"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			tg, err := ParseTarget(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 30 * time.Second // answers come at once; this only spares a loaded machine
			}
			p := Run(context.Background(), tg, Options{Timeout: timeout})
			if p.Protocol != "dns" || p.Protocol+":"+p.Target != tg.String() || p.Method != MethodHostDNS {
				t.Errorf("record names %s:%s by %s, want %s by %s", p.Protocol, p.Target, p.Method, tg, MethodHostDNS)
			}
			if p.Verdict != tt.verdict || !strings.Contains(p.Error, tt.errPart) {
				t.Errorf("probe = %s %q, want %s with %q", p.Verdict, p.Error, tt.verdict, tt.errPart)
			}
			d, ok := p.Detail.(DNSDetail)
			if !ok {
				t.Fatalf("detail = %#v, want a DNSDetail", p.Detail)
			}
			if d.Name != tg.Name || d.Server != tg.Addr.String() || d.Rcode != tt.rcode || !slices.Equal(d.Answers, tt.answers) {
				t.Errorf("detail = %+v, want rcode %q answers %v", d, tt.rcode, tt.answers)
			}
			if tt.transport != "" && d.Transport != tt.transport {
				t.Errorf("transport = %s, want %s", d.Transport, tt.transport)
			}
			if tt.rcode != "" && p.LatencyMS < 1 {
				t.Errorf("an answered probe has no latency: %+v", p)
			}
		})
	}
}
