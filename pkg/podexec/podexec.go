// Package podexec probes from inside the target pod by exec into it, with the programs its
// own image has. It is the fallback for probes the collector returned skipped because it could
// not enter the pod's network compartment (Hyper-V isolated pods, collector builds without the
// call): the pod's own processes are by definition in that compartment.
//
// Windows images differ in what they ship: servercore has PowerShell and nslookup, nanoserver
// neither PowerShell nor (since 1809) always nslookup. So the tools are detected first, and each
// probe is run with the best one present; each result says, in its Method, which produced it.
// The command lines are pkg/nodecmd's; this package only orchestrates and parses.
package podexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// NeedsFallback reports whether p is a pod-scoped probe the collector could not run because it
// could not enter the pod's network compartment.
func NeedsFallback(p wire.ProbeData) bool {
	return p.Verdict == probe.VerdictSkipped && p.Method == wire.ProbeMethodPodCompartment
}

// Runner execs into one container of the target pod.
type Runner struct {
	Exec      nodeexec.Executor
	Pod       *corev1.Pod
	Container string
}

// Result is the fallback's outcome: the tools found and one record per probe asked, in order.
type Result struct {
	Tools  []string
	Probes []wire.ProbeData
}

// Methods lists the distinct methods that produced a verdict other than skipped, for a
// progress line.
func (r *Result) Methods() []string {
	var out []string
	for _, p := range r.Probes {
		if p.Verdict != probe.VerdictSkipped && !slices.Contains(out, p.Method) {
			out = append(out, p.Method)
		}
	}
	return out
}

// Run detects the image's tools, then re-runs each of skipped with the best one. It fails only
// when the pod cannot be exec'd into at all (no RBAC, no cmd.exe, the pod gone); a probe no tool
// can run comes back skipped with the reason.
func (r *Runner) Run(ctx context.Context, skipped []wire.ProbeData) (*Result, error) {
	tools, err := r.Detect(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Tools: tools, Probes: make([]wire.ProbeData, len(skipped))}
	// A lookup of an unreachable server costs nslookup two tries of ProbeTimeoutSeconds, after
	// a reverse lookup of the server that times out the same way: run a few at once, as the
	// collector does, and bound each so a hung exec cannot hold the diagnosis.
	slots := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, p := range skipped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			pctx, cancel := context.WithTimeout(ctx, ProbeDeadline)
			defer cancel()
			res.Probes[i] = r.one(pctx, tools, p)
		}()
	}
	wg.Wait()
	return res, nil
}

// Concurrency is how many probes run in the pod at once.
const Concurrency = 4

// ProbeDeadline bounds one probe's exec, tool start-up and round trip through the API server
// included: well above the tools' own timeouts, so it only cuts an exec that hangs.
const ProbeDeadline = 30 * time.Second

// Detect returns the fallback tools the container's image has.
func (r *Runner) Detect(ctx context.Context) ([]string, error) {
	out, err := r.exec(ctx, nodecmd.DetectTools())
	if err != nil && (apierrors.IsForbidden(err) || strings.Contains(err.Error(), "forbidden")) {
		return nil, fmt.Errorf("probing from inside pod %s/%s: %w\nthe roles in manifests/rbac.yaml allow exec only in winnet's own namespace; to let winnet probe from inside pods of namespace %s, grant `get` and `create` on pods/exec there",
			r.Pod.Namespace, r.Pod.Name, err, r.Pod.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("looking for nslookup.exe and powershell.exe in pod %s/%s (container %s): %w\nthe pod-scoped probes stay skipped; run them yourself with kubectl exec if the image has a shell",
			r.Pod.Namespace, r.Pod.Name, r.Container, err)
	}
	return nodecmd.ParseTools(out), nil
}

// exec runs argv and returns its stdout. A non-zero exit with output is not an error: the
// tools report failures (NXDOMAIN, refused) in what they print, and some also exit non-zero.
func (r *Runner) exec(ctx context.Context, argv []string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := r.Exec.Exec(ctx, r.Pod, r.Container, argv, nil, &stdout, &stderr)
	var exit *nodeexec.ExitError
	if errors.As(err, &exit) && strings.TrimSpace(stdout.String()) != "" {
		err = nil
	}
	if err != nil {
		if t := strings.TrimSpace(stderr.String()); t != "" {
			return "", fmt.Errorf("%s: %w: %s", argv[0], err, lastLines(t, 3))
		}
		return "", fmt.Errorf("%s: %w", argv[0], err)
	}
	return stdout.String(), nil
}

// one runs one skipped probe with the best tool the image has.
func (r *Runner) one(ctx context.Context, tools []string, p wire.ProbeData) wire.ProbeData {
	t, err := probe.ParseTarget(strings.ToLower(p.Protocol) + ":" + p.Target)
	if err != nil {
		return skip(p, "the probe could not be read back for the fallback: "+err.Error())
	}
	has := func(tool string) bool { return slices.Contains(tools, tool) }
	switch t.Protocol {
	case probe.ProtoDNS:
		switch {
		case has(nodecmd.ToolNslookup):
			return r.nslookup(ctx, p, t)
		case has(nodecmd.ToolPowerShell) && t.Addr.Port() == probe.DefaultDNSPort:
			return r.psDNS(ctx, p, t)
		case has(nodecmd.ToolPowerShell):
			return skip(p, fmt.Sprintf("the image has no nslookup.exe, and Resolve-DnsName can only ask port 53, not %d", t.Addr.Port()))
		}
		return skip(p, "no tool in the image can send a DNS query (it has neither nslookup.exe nor powershell.exe); probe from a pod whose image has one")
	case probe.ProtoTCP:
		switch {
		case has(nodecmd.ToolPowerShell):
			return r.psTCP(ctx, p, t)
		case has(nodecmd.ToolCurl):
			return r.curlTCP(ctx, p, t)
		}
		return skip(p, "no tool in the image can open a TCP connection (it has neither powershell.exe nor curl.exe); probe from a pod whose image has one")
	}
	return skip(p, "no tool in a Windows image can test UDP reachability without a reply to parse; the DNS probes cover the DNS server's UDP port")
}

// skip keeps the probe skipped and puts the fallback's reason first, where a table's
// truncated cell still shows it, then the collector's.
func skip(p wire.ProbeData, why string) wire.ProbeData {
	p.Verdict = probe.VerdictSkipped
	if p.Error != "" {
		why += "; and the collector: " + p.Error
	}
	p.Error = why
	return p
}

func dnsDetail(t probe.Target) probe.DNSDetail {
	d := probe.DNSDetail{Name: t.Name, Server: t.Addr.String(), Transport: probe.ProtoUDP}
	if t.OverTCP {
		d.Transport = probe.ProtoTCP
	}
	return d
}

func (r *Runner) nslookup(ctx context.Context, p wire.ProbeData, t probe.Target) wire.ProbeData {
	argv, err := nodecmd.NslookupArgv(t.Name, t.Addr.Addr().String(), int(t.Addr.Port()), t.OverTCP)
	return r.lookup(ctx, p, t, wire.ProbeMethodExecNslookup, argv, err, ParseNslookup)
}

func (r *Runner) psDNS(ctx context.Context, p wire.ProbeData, t probe.Target) wire.ProbeData {
	argv, err := nodecmd.PowerShellDNSArgv(t.Name, t.Addr.Addr().String(), t.OverTCP)
	return r.lookup(ctx, p, t, wire.ProbeMethodExecPowerShell, argv, err, ParseResolveDNS)
}

// lookup runs one DNS tool's command line and turns what it printed into the probe's result.
func (r *Runner) lookup(ctx context.Context, p wire.ProbeData, t probe.Target, method string, argv []string, err error, parse func(string) Answer) wire.ProbeData {
	p.Method = method
	if err != nil {
		return skip(p, err.Error())
	}
	out, err := r.exec(ctx, argv)
	if err != nil {
		return skip(p, err.Error())
	}
	d := dnsDetail(t)
	a := parse(out)
	p.Verdict, p.Error = a.verdict(t)
	d.Rcode, d.Answers = a.Rcode, a.Addrs
	p.Detail = d
	return p
}

func (r *Runner) psTCP(ctx context.Context, p wire.ProbeData, t probe.Target) wire.ProbeData {
	p.Method = wire.ProbeMethodExecPowerShell
	argv, err := nodecmd.PowerShellTCPArgv(t.Addr.Addr().String(), int(t.Addr.Port()))
	if err != nil {
		return skip(p, err.Error())
	}
	out, err := r.exec(ctx, argv)
	if err != nil {
		return skip(p, err.Error())
	}
	p.Verdict, p.Error = ParseTCP(out, t.Addr.String())
	return p
}

func (r *Runner) curlTCP(ctx context.Context, p wire.ProbeData, t probe.Target) wire.ProbeData {
	p.Method = wire.ProbeMethodExecCurl
	argv, err := nodecmd.CurlTCPArgv(t.Addr.Addr().String(), int(t.Addr.Port()))
	if err != nil {
		return skip(p, err.Error())
	}
	// The exit code matters here (7 refused, 28 timed out), so call the executor directly.
	var stdout, stderr bytes.Buffer
	err = r.Exec.Exec(ctx, r.Pod, r.Container, argv, nil, &stdout, &stderr)
	code := 0
	var exit *nodeexec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.Code
	case err != nil:
		return skip(p, fmt.Sprintf("%s: %v", argv[0], err))
	}
	p.Verdict, p.Error = ParseCurlTCP(stdout.String(), code, t.Addr.String())
	return p
}

// ParseCurlTCP reads CurlTCPArgv's output (the connect time) and exit code.
func ParseCurlTCP(out string, code int, addr string) (verdict, msg string) {
	secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	switch {
	case err == nil && secs > 0:
		return probe.VerdictOK, "" // connected; what the port then said over HTTP does not matter
	case code == 7:
		return probe.VerdictFail, fmt.Sprintf("%s refused the connection or is unreachable from inside the pod", addr)
	case code == 28:
		return probe.VerdictTimeout, fmt.Sprintf("no answer from %s within %d s, from inside the pod: a firewall, ACL or network policy drops it, or nothing routes there", addr, nodecmd.ProbeTimeoutSeconds)
	}
	return probe.VerdictFail, fmt.Sprintf("curl.exe exited %d and printed %q, so the handshake's outcome is unknown", code, lastLines(strings.TrimSpace(out), 1))
}

// ParseTCP reads PowerShellTCPArgv's output.
func ParseTCP(out, addr string) (verdict, msg string) {
	switch strings.TrimSpace(out) {
	case "True":
		return probe.VerdictOK, ""
	case "Timeout":
		return probe.VerdictTimeout, fmt.Sprintf("no answer from %s within %d s, from inside the pod: a firewall, ACL or network policy drops it, or nothing routes there", addr, nodecmd.ProbeTimeoutSeconds)
	case "False":
		return probe.VerdictFail, fmt.Sprintf("%s refused the connection or is unreachable from inside the pod", addr)
	}
	return probe.VerdictFail, fmt.Sprintf("PowerShell printed %q, not True, False or Timeout, so the handshake's outcome is unknown", lastLines(strings.TrimSpace(out), 2))
}

// Answer is what a lookup tool reported.
type Answer struct {
	Addrs   []string // the A records' addresses
	Rcode   string   // NOERROR, NXDOMAIN, SERVFAIL, REFUSED when the tool says; "" when unknown
	Timeout bool     // the server did not answer
	Text    string   // the tool's own failure message, for the error
}

func (a Answer) verdict(t probe.Target) (verdict, msg string) {
	server := t.Addr.String()
	switch {
	case len(a.Addrs) > 0:
		return probe.VerdictOK, ""
	case a.Timeout:
		return probe.VerdictTimeout, fmt.Sprintf("%s did not answer the query for %s within %d s, from inside the pod", server, t.Name, nodecmd.ProbeTimeoutSeconds)
	case a.Rcode == "NXDOMAIN":
		return probe.VerdictFail, fmt.Sprintf("%s answered NXDOMAIN: %s does not exist", server, t.Name)
	case a.Text != "":
		return probe.VerdictFail, fmt.Sprintf("%s gave no address for %s: %s", server, t.Name, a.Text)
	}
	return probe.VerdictFail, fmt.Sprintf("%s gave no address for %s", server, t.Name)
}

// ParseNslookup reads Windows nslookup's output. It first prints the server it asks
// ("Server:"/"Address:", after a reverse lookup of it that may itself time out harmlessly),
// then for an answer a "Name:" line followed by "Address:" or "Addresses:" with one address per
// line, or for a failure "*** SERVER can't find NAME: REASON" or "*** Request to SERVER
// timed-out".
func ParseNslookup(out string) Answer {
	var a Answer
	inAnswer, inAddrs := false, false
	for _, raw := range strings.Split(out, "\n") {
		line := strings.TrimSpace(raw)
		key, val, hasKey := strings.Cut(line, ":")
		// An IPv6 address holds colons too: only a word before the colon is a key.
		if hasKey && strings.ContainsAny(key, " \t") || hasKey && isAddr(line) {
			hasKey = false
		}
		switch {
		case line == "":
			inAddrs = false
		case hasKey && key == "Name":
			inAnswer, inAddrs = true, false
		case hasKey && inAnswer && (key == "Address" || key == "Addresses"):
			inAddrs = true
			a.addAddr(strings.TrimSpace(val))
		case hasKey:
			inAddrs = false
		case inAddrs:
			a.addAddr(line)
		case strings.HasPrefix(line, "***"):
			a.failure(line)
		}
	}
	if len(a.Addrs) > 0 {
		a.Rcode = "NOERROR"
	}
	return a
}

func isAddr(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

func (a *Answer) addAddr(s string) {
	// -type=A asks for A records only, but keep the rule explicit: the probe's answers are IPv4
	// and IPv6 addresses, nothing else.
	if ip, err := netip.ParseAddr(s); err == nil {
		a.Addrs = append(a.Addrs, ip.String())
	}
}

// failure reads one "***" line of nslookup.
func (a *Answer) failure(line string) {
	text := strings.TrimSpace(strings.TrimPrefix(line, "***"))
	lower := strings.ToLower(text)
	switch {
	case strings.Contains(lower, "timed-out") || strings.Contains(lower, "timed out") || strings.Contains(lower, "no response from server"):
		a.Timeout = true
	case strings.Contains(lower, "non-existent domain"):
		a.Rcode = "NXDOMAIN"
	case strings.Contains(lower, "server failed"):
		a.Rcode = "SERVFAIL"
	case strings.Contains(lower, "query refused"):
		a.Rcode = "REFUSED"
	}
	if a.Text == "" {
		a.Text = text
	}
}

// ParseResolveDNS reads PowerShellDNSArgv's output: "Address: IP" lines, or one "Error: MESSAGE".
func ParseResolveDNS(out string) Answer {
	var a Answer
	for _, raw := range strings.Split(out, "\n") {
		line := strings.TrimSpace(raw)
		if v, ok := strings.CutPrefix(line, "Address: "); ok {
			a.addAddr(strings.TrimSpace(v))
			continue
		}
		msg, ok := strings.CutPrefix(line, "Error: ")
		if !ok {
			continue
		}
		lower := strings.ToLower(msg)
		switch {
		case strings.Contains(lower, "timeout period expired") || strings.Contains(lower, "timed out"):
			a.Timeout = true
		case strings.Contains(lower, "dns name does not exist"):
			a.Rcode = "NXDOMAIN"
		case strings.Contains(lower, "server failure"):
			a.Rcode = "SERVFAIL"
		case strings.Contains(lower, "refused"):
			a.Rcode = "REFUSED"
		}
		if a.Text == "" {
			a.Text = msg
		}
	}
	if len(a.Addrs) > 0 {
		a.Rcode = "NOERROR"
	}
	return a
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
