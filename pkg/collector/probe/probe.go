// Package probe is a collector source that tests reachability from the host the collector
// runs on: `winnet-collector collect --probe tcp:10.96.0.10:53 --probe udp:10.96.0.10:53`.
//
// It dials IP literals only: a name would be resolved by the host's resolver, and a probe is
// meant to test the path to one address, not DNS. Probes from inside a pod's network
// compartment are a different source; these run in the host compartment and say so
// (Method "host-tcp" / "host-udp").
//
// TCP: ok once the handshake completes; fail when refused or unreachable; timeout when
// nothing answers in time. UDP has no handshake, so its ok is weaker: one datagram is sent and
// the verdict is ok when no ICMP error (port or host unreachable) comes back within a short
// wait. Detail says whether a reply arrived ("replied") or only that ("sent"), which proves
// neither delivery nor a listener.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Defaults for Source.
const (
	DefaultTimeout = 3 * time.Second
	DefaultUDPWait = time.Second
	// SourceName names the source in the stream.
	SourceName = "probes.host"
)

// Verdicts (wire.ProbeData.Verdict).
const (
	VerdictOK      = "ok"
	VerdictFail    = "fail"
	VerdictTimeout = "timeout"
	VerdictSkipped = "skipped"
)

// Target is one probe: a protocol and an IP literal with a port.
type Target struct {
	Protocol string // "tcp" or "udp"
	Addr     netip.AddrPort
}

// ParseTarget parses "tcp:IP:PORT" or "udp:IP:PORT"; IPv6 goes in brackets: udp:[fd00::10]:53.
func ParseTarget(s string) (Target, error) {
	proto, hostport, ok := strings.Cut(s, ":")
	proto = strings.ToLower(proto)
	if !ok || (proto != "tcp" && proto != "udp") {
		return Target{}, fmt.Errorf("probe %q: want tcp:IP:PORT or udp:IP:PORT, such as tcp:10.96.0.10:53", s)
	}
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		// Say so when the host is a name, the likeliest mistake.
		if i := strings.LastIndex(hostport, ":"); i > 0 {
			host := strings.TrimSuffix(strings.TrimPrefix(hostport[:i], "["), "]")
			if _, ipErr := netip.ParseAddr(host); ipErr != nil && !strings.Contains(host, ":") {
				return Target{}, fmt.Errorf("probe %q: %q is not an IP address; probes dial IP literals only, so resolve the name first", s, host)
			}
		}
		return Target{}, fmt.Errorf("probe %q: want IP:PORT after %s: (IPv6 in brackets, such as [fd00::10]:53): %w", s, proto, err)
	}
	if ap.Port() == 0 {
		return Target{}, fmt.Errorf("probe %q: port 0 cannot be dialled; give the service's port", s)
	}
	if ap.Addr().Zone() != "" {
		return Target{}, fmt.Errorf("probe %q: zoned addresses are not supported; probe a global or cluster address", s)
	}
	return Target{Protocol: proto, Addr: ap}, nil
}

func (t Target) String() string { return t.Protocol + ":" + t.Addr.String() }

// Source runs the probes, at most a few at a time, and emits one probe record per target in
// the order given.
type Source struct {
	Targets []Target
	Timeout time.Duration // per probe; DefaultTimeout when zero
	UDPWait time.Duration // how long a UDP probe waits for an ICMP error or a reply; DefaultUDPWait when zero
}

func (s *Source) Name() string { return SourceName }

// UDPDetail is the Detail of a UDP probe.
type UDPDetail struct {
	Result string `json:"result"` // "replied" or "sent"
	Note   string `json:"note,omitempty"`
}

func (s *Source) Collect(ctx context.Context, out collector.Emitter) error {
	results := make([]wire.ProbeData, len(s.Targets))
	slots := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, t := range s.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = s.probe(ctx, t)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if err := out.Probe(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) probe(ctx context.Context, t Target) wire.ProbeData {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if t.Protocol == "udp" {
		wait := s.UDPWait
		if wait <= 0 {
			wait = DefaultUDPWait
		}
		return probeUDP(ctx, t, wait)
	}
	return probeTCP(ctx, t, timeout)
}

func probeTCP(ctx context.Context, t Target, timeout time.Duration) wire.ProbeData {
	p := wire.ProbeData{Target: t.Addr.String(), Protocol: "tcp", Method: "host-tcp"}
	start := time.Now()
	if err := connectTCP(ctx, t.Addr); err != nil {
		p.Verdict, p.Error = classify(err, t, timeout)
		return p
	}
	p.Verdict, p.LatencyMS = VerdictOK, max(time.Since(start).Milliseconds(), 1)
	return p
}

// udpPayload identifies the datagram in a capture.
var udpPayload = []byte("winnet probe\n")

func probeUDP(ctx context.Context, t Target, wait time.Duration) wire.ProbeData {
	p := wire.ProbeData{Target: t.Addr.String(), Protocol: "udp", Method: "host-udp"}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	start := time.Now()
	replied, err := exchangeUDP(ctx, t.Addr, udpPayload, wait)
	switch {
	case err != nil:
		p.Verdict, p.Error = classify(err, t, wait)
	case replied:
		p.Verdict, p.LatencyMS = VerdictOK, max(time.Since(start).Milliseconds(), 1)
		p.Detail = UDPDetail{Result: "replied"}
	default:
		p.Verdict = VerdictOK
		p.Detail = UDPDetail{Result: "sent", Note: "no ICMP error within " + wait.String() +
			"; UDP gives no proof that the datagram arrived or that anything listens"}
	}
	return p
}

// classify turns a connect, send or receive error into a verdict and a sentence that says
// what it means.
func classify(err error, t Target, timeout time.Duration) (verdict, msg string) {
	switch {
	case errors.Is(err, context.Canceled):
		return VerdictSkipped, fmt.Sprintf("the probe of %s was not finished: the collection was cancelled", t)
	case errors.Is(err, context.DeadlineExceeded) || timedOut(err):
		return VerdictTimeout, fmt.Sprintf("no answer from %s within %s: a firewall or a missing route drops the packets, or the host is down", t, timeout)
	case refused(err) && t.Protocol == "udp":
		return VerdictFail, fmt.Sprintf("ICMP port unreachable from %s: nothing listens on that UDP port (%v)", t, err)
	case refused(err):
		return VerdictFail, fmt.Sprintf("connection to %s refused: nothing listens on that port, or a firewall rejects it (%v)", t, err)
	}
	return VerdictFail, fmt.Sprintf("probing %s: %v", t, err)
}
