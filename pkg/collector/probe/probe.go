// Package probe is a collector source that tests reachability from the host the collector
// runs on: `winnet-collector collect --probe tcp:10.96.0.10:53 --probe udp:10.96.0.10:53
// --probe dns:kubernetes.default.svc.cluster.local@10.96.0.10`. Its spec language (spec.go)
// and its probe runner (Run) also serve the probes from inside a pod's network compartment
// (package compartment), which run the same code on a thread moved into that compartment.
//
// It dials IP literals only: a name would be resolved by the host's resolver, and a probe is
// meant to test the path to one address. Probes here run in the host compartment and say so
// (Method "host-tcp", "host-udp", "host-dns").
//
// TCP: ok once the handshake completes; fail when refused or unreachable; timeout when
// nothing answers in time. UDP has no handshake, so its ok is weaker: one datagram is sent and
// the verdict is ok when no ICMP error (port or host unreachable) comes back within a short
// wait. Detail says whether a reply arrived ("replied") or only that ("sent"), which proves
// neither delivery nor a listener. DNS: one A query to one server, over UDP or TCP; ok when
// the server answers NOERROR with at least one address, fail on any other answer (NXDOMAIN,
// SERVFAIL, REFUSED, no address), timeout when it does not answer. Detail is a DNSDetail.
package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Defaults for Options.
const (
	DefaultTimeout = 3 * time.Second
	DefaultUDPWait = time.Second
	// SourceName names the source in the stream.
	SourceName = "probes.host"
	// Concurrency is how many probes run at once.
	Concurrency = 4
)

// Verdicts (wire.ProbeData.Verdict).
const (
	VerdictOK      = "ok"
	VerdictFail    = "fail"
	VerdictTimeout = "timeout"
	VerdictSkipped = "skipped"
)

// Methods (wire.ProbeData.Method) of probes from the host.
const (
	MethodHostTCP = wire.ProbeMethodHostTCP
	MethodHostUDP = wire.ProbeMethodHostUDP
	MethodHostDNS = wire.ProbeMethodHostDNS
)

// Options tune the probes.
type Options struct {
	Timeout time.Duration // per probe; DefaultTimeout when zero
	UDPWait time.Duration // how long a UDP probe waits for an ICMP error or a reply; DefaultUDPWait when zero
}

// Source runs the probes from the host, at most Concurrency at a time, and emits one probe
// record per target in the order given.
type Source struct {
	Targets []Target
	Options
}

func (s *Source) Name() string { return SourceName }

// UDPDetail is the Detail of a UDP probe.
type UDPDetail struct {
	Result string `json:"result"` // "replied" or "sent"
	Note   string `json:"note,omitempty"`
}

// DNSDetail is the Detail of a DNS probe.
type DNSDetail struct {
	Name      string   `json:"name"`
	Server    string   `json:"server"`    // IP:port asked
	Transport string   `json:"transport"` // udp or tcp
	Rcode     string   `json:"rcode,omitempty"`
	Answers   []string `json:"answers,omitempty"` // the addresses of the answer's A (and AAAA) records
	Aliases   int      `json:"aliases,omitempty"` // CNAME records in the answer
	Truncated bool     `json:"truncated,omitempty"`
}

func (s *Source) Collect(ctx context.Context, out collector.Emitter) error {
	for _, r := range RunAll(s.Targets, func(t Target) wire.ProbeData { return Run(ctx, t, s.Options) }) {
		if err := out.Probe(r); err != nil {
			return err
		}
	}
	return nil
}

// RunAll runs one probe per target with run, at most Concurrency at a time, and returns the
// records in the order of the targets.
func RunAll(targets []Target, run func(Target) wire.ProbeData) []wire.ProbeData {
	results := make([]wire.ProbeData, len(targets))
	slots := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = run(t)
		}()
	}
	wg.Wait()
	return results
}

// Run runs one probe and returns its record (Method says "host-..."; a caller probing from
// elsewhere overwrites it). Every socket call is made from the calling goroutine, so on a
// goroutine locked to an OS thread they all run on that thread: the compartment source moves
// such a thread into a pod's compartment first. Only closing a socket at the deadline happens
// on another goroutine.
func Run(ctx context.Context, t Target, o Options) wire.ProbeData {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch t.Protocol {
	case ProtoUDP:
		wait := o.UDPWait
		if wait <= 0 {
			wait = DefaultUDPWait
		}
		return probeUDP(ctx, t, wait)
	case ProtoDNS:
		return probeDNS(ctx, t, timeout)
	}
	return probeTCP(ctx, t, timeout)
}

// Skipped is the record of a probe that was not run, and why.
func Skipped(t Target, method, why string) wire.ProbeData {
	return wire.ProbeData{Target: t.WireTarget(), Protocol: t.Protocol, Verdict: VerdictSkipped, Method: method, Error: why}
}

func probeTCP(ctx context.Context, t Target, timeout time.Duration) wire.ProbeData {
	p := wire.ProbeData{Target: t.WireTarget(), Protocol: ProtoTCP, Method: MethodHostTCP}
	start := time.Now()
	if err := connectTCP(ctx, t.Addr); err != nil {
		p.Verdict, p.Error = classify(err, t, timeout)
		return p
	}
	p.Verdict, p.LatencyMS = VerdictOK, sinceMS(start)
	return p
}

func sinceMS(start time.Time) int64 { return max(time.Since(start).Milliseconds(), 1) }

// udpPayload identifies the datagram in a capture.
var udpPayload = []byte("winnet probe\n")

func probeUDP(ctx context.Context, t Target, wait time.Duration) wire.ProbeData {
	p := wire.ProbeData{Target: t.WireTarget(), Protocol: ProtoUDP, Method: MethodHostUDP}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	start := time.Now()
	replied, err := exchangeUDP(ctx, t.Addr, udpPayload, wait)
	switch {
	case err != nil:
		p.Verdict, p.Error = classify(err, t, wait)
	case replied:
		p.Verdict, p.LatencyMS = VerdictOK, sinceMS(start)
		p.Detail = UDPDetail{Result: "replied"}
	default:
		p.Verdict = VerdictOK
		p.Detail = UDPDetail{Result: "sent", Note: "no ICMP error within " + wait.String() +
			"; UDP gives no proof that the datagram arrived or that anything listens"}
	}
	return p
}

func probeDNS(ctx context.Context, t Target, timeout time.Duration) wire.ProbeData {
	p := wire.ProbeData{Target: t.WireTarget(), Protocol: ProtoDNS, Method: MethodHostDNS}
	d := DNSDetail{Name: t.Name, Server: t.Addr.String(), Transport: ProtoUDP}
	if t.OverTCP {
		d.Transport = ProtoTCP
	}
	wait := timeout
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	id := uint16(rand.Uint32())
	start := time.Now()
	msg, err := exchangeDNS(ctx, t.Addr, t.OverTCP, buildQuery(id, t.Name), wait)
	if err != nil {
		p.Verdict, p.Error = classify(err, t, timeout)
		p.Detail = d
		return p
	}
	p.LatencyMS = sinceMS(start)
	r, err := parseReply(msg, id)
	if err != nil {
		p.Verdict, p.Error = VerdictFail, fmt.Sprintf("%s sent a reply that is not a valid DNS answer: %v", d.Server, err)
		p.Detail = d
		return p
	}
	p.Verdict, p.Error = dnsVerdict(t, r)
	d.Rcode, d.Truncated, d.Aliases = rcodeName(r.Rcode), r.Truncated, r.Aliases
	for _, a := range r.Addrs {
		d.Answers = append(d.Answers, a.String())
	}
	p.Detail = d
	return p
}

// dnsVerdict judges a parsed reply and words a failure.
func dnsVerdict(t Target, r dnsReply) (verdict, msg string) {
	server := t.Addr.String()
	switch r.Rcode {
	case 0:
		if len(r.Addrs) > 0 {
			return VerdictOK, ""
		}
		if r.Truncated && !t.OverTCP {
			return VerdictFail, fmt.Sprintf("%s truncated its reply for %s before any address: ask over TCP (append /tcp to the probe)", server, t.Name)
		}
		alias := ""
		if r.Aliases > 0 {
			alias = " (as an alias)"
		}
		return VerdictFail, fmt.Sprintf("%s knows %s%s but returned no address for it (NOERROR, no A record): a headless service with no ready endpoints, or an IPv6-only name", server, t.Name, alias)
	case 2:
		return VerdictFail, fmt.Sprintf("%s could not resolve %s (SERVFAIL): its upstream or the cluster DNS pods behind it are failing; check their logs", server, t.Name)
	case 3:
		return VerdictFail, fmt.Sprintf("%s says %s does not exist (NXDOMAIN): check the name, and give it in full, as a probe applies no search list", server, t.Name)
	case 5:
		return VerdictFail, fmt.Sprintf("%s refused to answer for %s (REFUSED): it does not serve that name, or not to this client", server, t.Name)
	}
	return VerdictFail, fmt.Sprintf("%s answered %s for %s", server, rcodeName(r.Rcode), t.Name)
}

// errExpired is returned by the socket helpers when their wait ran out with no answer.
var errExpired = errors.New("no answer in time")

// classify turns a connect, send or receive error into a verdict and a sentence that says
// what it means.
func classify(err error, t Target, timeout time.Duration) (verdict, msg string) {
	switch {
	case errors.Is(err, context.Canceled):
		return VerdictSkipped, fmt.Sprintf("the probe of %s was not finished: the collection was cancelled", t)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errExpired) || timedOut(err):
		return VerdictTimeout, fmt.Sprintf("no answer from %s within %s: a firewall or a missing route drops the packets, or the host is down", t, timeout)
	case refused(err) && t.datagram():
		return VerdictFail, fmt.Sprintf("ICMP port unreachable from %s: nothing listens on that UDP port (%v)", t, err)
	case refused(err):
		return VerdictFail, fmt.Sprintf("connection to %s refused: nothing listens on that port, or a firewall rejects it (%v)", t, err)
	}
	return VerdictFail, fmt.Sprintf("probing %s: %v", t, err)
}

// datagram reports a probe sent over UDP.
func (t Target) datagram() bool {
	return t.Protocol == ProtoUDP || t.Protocol == ProtoDNS && !t.OverTCP
}
