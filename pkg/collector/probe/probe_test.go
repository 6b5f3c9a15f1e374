package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// fakeEmitter records probes.
type fakeEmitter struct {
	mu     sync.Mutex
	probes []wire.ProbeData
}

func (f *fakeEmitter) Artifact(string, any) error       { return errors.New("unexpected artifact") }
func (f *fakeEmitter) RawArtifact(string, []byte) error { return errors.New("unexpected artifact") }
func (f *fakeEmitter) Error(err error) error            { return nil }
func (f *fakeEmitter) Logf(string, ...any)              {}
func (f *fakeEmitter) Probe(p wire.ProbeData) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes = append(f.probes, p)
	return nil
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "tcp:127.0.0.1:10250", want: "tcp:127.0.0.1:10250"},
		{in: "UDP:10.96.0.10:53", want: "udp:10.96.0.10:53"},
		{in: "udp:[fd00::10]:53", want: "udp:[fd00::10]:53"},
		{in: "dns:kubernetes.default.svc.cluster.local@10.96.0.10", want: "dns:kubernetes.default.svc.cluster.local@10.96.0.10:53"},
		{in: "DNS:Kube-DNS.kube-system.svc.cluster.local.@10.96.0.10:5353/TCP", want: "dns:kube-dns.kube-system.svc.cluster.local@10.96.0.10:5353/tcp"},
		{in: "dns:a_b.example@10.0.0.1/udp", want: "dns:a_b.example@10.0.0.1:53"},
		{in: "dns:example.com@fd00::10", want: "dns:example.com@[fd00::10]:53"},
		{in: "dns:example.com@[fd00::10]", want: "dns:example.com@[fd00::10]:53"},
		{in: "dns:example.com@[fd00::10]:54/tcp", want: "dns:example.com@[fd00::10]:54/tcp"},
		{in: "tcp:kube-dns:53", wantErr: `"kube-dns" is not an IP address; probes dial IP literals only`},
		{in: "icmp:10.0.0.1", wantErr: "want tcp:IP:PORT, udp:IP:PORT or dns:NAME@SERVER_IP"},
		{in: "10.0.0.1:53", wantErr: "want tcp:IP:PORT, udp:IP:PORT or dns:NAME@SERVER_IP"},
		{in: "tcp:10.0.0.1", wantErr: "want IP:PORT after tcp:"},
		{in: "tcp:fd00::10:53", wantErr: "IPv6 in brackets"},
		{in: "tcp:10.0.0.1:0", wantErr: "port 0 cannot be dialled"},
		{in: "tcp:10.0.0.1:70000", wantErr: "want IP:PORT"},
		{in: "tcp:[fe80::1%eth0]:53", wantErr: `"%" is not allowed in a probe`},
		{in: "dns:x@fe80::1/tcp", want: "dns:x@[fe80::1]:53/tcp"},
		{in: "dns:kubernetes.default", wantErr: "want dns:NAME@SERVER_IP[:PORT][/tcp]"},
		{in: "dns:kubernetes.default@", wantErr: "want dns:NAME@SERVER_IP[:PORT][/tcp]"},
		{in: "dns:@10.96.0.10", wantErr: "names no name to ask for"},
		{in: "dns:a..b@10.96.0.10", wantErr: "every label between dots must hold 1 to 63 characters"},
		{in: "dns:" + strings.Repeat("a", 64) + ".com@10.96.0.10", wantErr: "every label between dots"},
		{in: "dns:" + strings.Repeat("abcdefghi.", 26) + "com@10.96.0.10", wantErr: "over the 253 DNS allows"},
		{in: "dns:a/b@10.96.0.10", wantErr: `"/" is not allowed in a name`},
		{in: "dns:x@kube-dns", wantErr: `"kube-dns" is not an IP address; a DNS probe asks one server by its IP`},
		{in: "dns:x@kube-dns:53", wantErr: `"kube-dns" is not an IP address`},
		{in: "dns:x@10.96.0.10:0", wantErr: "port 0 cannot be dialled"},
		{in: "dns:x@10.96.0.10/quic", wantErr: `"quic" after / is not a DNS transport`},
		{in: "tcp:10.0.0.1:53 ", wantErr: `" " is not allowed in a probe`},
		{in: "dns:a,b@10.0.0.1", wantErr: `"," is not allowed in a probe`},
		{in: "dns:a=b@10.0.0.1", wantErr: `"=" is not allowed in a probe`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseTarget = %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseTarget = %v, %v; want %s", got, err, tt.want)
			}
			// The canonical form parses back to the same target, and the record's
			// protocol and target spell it.
			again, err := ParseTarget(got.String())
			if err != nil || again != got {
				t.Errorf("ParseTarget(%s) = %+v, %v; want %+v", got, again, err, got)
			}
			if p := got.Protocol + ":" + got.WireTarget(); p != tt.want {
				t.Errorf("protocol:target = %s, want %s", p, tt.want)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "", want: ScopeHost},
		{in: "host", want: ScopeHost},
		{in: "Pod", want: ScopePod},
		{in: "node", wantErr: "want host (from the node, the default) or pod"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseScope(%q) = %q, %v; want %q, error %q", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func target(t *testing.T, proto, addr string) Target {
	t.Helper()
	return Target{Protocol: proto, Addr: netip.MustParseAddrPort(addr)}
}

// closedPort returns a loopback port nothing listens on (it was just released).
func closedPort(t *testing.T, network string) string {
	t.Helper()
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	default:
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := c.LocalAddr().String()
		c.Close()
		return addr
	}
}

func TestCollect(t *testing.T) {
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpLn.Close()
	go func() {
		for {
			c, err := tcpLn.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// One UDP server answers every datagram, the other stays silent.
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(buf[:n], from)
		}
	}()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	targets := []Target{
		target(t, "tcp", tcpLn.Addr().String()),
		target(t, "tcp", closedPort(t, "tcp")),
		target(t, "udp", echo.LocalAddr().String()),
		target(t, "udp", silent.LocalAddr().String()),
		target(t, "udp", closedPort(t, "udp")),
	}
	// The answers come at once; the long wait only keeps a loaded machine from turning a late
	// echo into "sent". The silent server is probed apart, with a short wait, as it always
	// waits it out.
	src := &Source{Targets: append(slices.Clone(targets[:3]), targets[4]), Options: Options{Timeout: 30 * time.Second, UDPWait: 10 * time.Second}}
	if src.Name() != "probes.host" {
		t.Errorf("Name() = %s", src.Name())
	}
	var out fakeEmitter
	if err := src.Collect(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	quiet := fakeEmitter{}
	if err := (&Source{Targets: targets[3:4], Options: Options{UDPWait: 50 * time.Millisecond}}).Collect(context.Background(), &quiet); err != nil {
		t.Fatal(err)
	}
	out.probes = slices.Insert(out.probes, 3, quiet.probes...)
	want := []struct {
		verdict, method, result, errPart string
	}{
		{VerdictOK, "host-tcp", "", ""},
		{VerdictFail, "host-tcp", "", "refused: nothing listens on that port"},
		{VerdictOK, "host-udp", "replied", ""},
		{VerdictOK, "host-udp", "sent", ""},
		{VerdictFail, "host-udp", "", "ICMP port unreachable"},
	}
	if len(out.probes) != len(want) {
		t.Fatalf("%d probe records, want %d: %+v", len(out.probes), len(want), out.probes)
	}
	for i, w := range want {
		p := out.probes[i]
		t.Run(fmt.Sprintf("%d %s", i, targets[i]), func(t *testing.T) {
			if p.Target != targets[i].Addr.String() || p.Protocol != targets[i].Protocol {
				t.Errorf("probe %d is for %s/%s, want %s (the order must be kept)", i, p.Protocol, p.Target, targets[i])
			}
			if p.Verdict != w.verdict || p.Method != w.method || !strings.Contains(p.Error, w.errPart) {
				t.Errorf("probe = %+v, want verdict %s method %s error with %q", p, w.verdict, w.method, w.errPart)
			}
			if w.verdict == VerdictOK && w.result != "sent" && p.LatencyMS < 1 {
				t.Errorf("an answered probe has no latency: %+v", p)
			}
			if w.verdict != VerdictOK && p.Error == "" {
				t.Errorf("a failed probe says nothing: %+v", p)
			}
			if w.result != "" {
				d, ok := p.Detail.(UDPDetail)
				if !ok || d.Result != w.result {
					t.Errorf("detail = %#v, want result %s", p.Detail, w.result)
				}
				if w.result == "sent" && !strings.Contains(d.Note, "no proof") {
					t.Errorf("a sent-only UDP probe must say it proves nothing: %q", d.Note)
				}
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	tg := target(t, "tcp", "10.96.0.10:53")
	tests := []struct {
		name    string
		err     error
		verdict string
		msg     string
	}{
		{"context deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), VerdictTimeout, "no answer from tcp:10.96.0.10:53 within 3s"},
		{"net timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, VerdictTimeout, "a firewall or a missing route drops the packets"},
		{"other", errors.New("network is unreachable"), VerdictFail, "probing tcp:10.96.0.10:53: network is unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, msg := classify(tt.err, tg, 3*time.Second)
			if v != tt.verdict || !strings.Contains(msg, tt.msg) {
				t.Errorf("classify = %s, %q; want %s, %q", v, msg, tt.verdict, tt.msg)
			}
		})
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out fakeEmitter
	src := &Source{Targets: []Target{target(t, "tcp", closedPort(t, "tcp"))}}
	if err := src.Collect(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.probes) != 1 || out.probes[0].Verdict != VerdictSkipped || !strings.Contains(out.probes[0].Error, "cancelled") {
		t.Errorf("a cancelled probe = %+v, want one skipped record", out.probes)
	}
}
