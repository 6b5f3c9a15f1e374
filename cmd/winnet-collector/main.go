// Command winnet-collector gathers a Windows node's networking facts for kubectl winnet. The
// plugin uploads it into a HostProcess debug pod and runs it; it writes NDJSON records (package
// wire) on stdout and logs on stderr.
//
// On Windows it reads the node itself. With WINNET_COLLECTOR_REPLAY (or --replay) set to a
// scenario folder it replays raw dumps instead, on any OS: that is how the end to end tests'
// simulated node answers.
//
// It exits 0 whenever it could write its stream, even if sources failed (their failures are
// error records); 1 when the stream could not be written or no backend can run; 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/collector/replay"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// ReplayEnv names the scenario folder to replay instead of reading the node.
const replayEnv = "WINNET_COLLECTOR_REPLAY"

const usage = `usage:
  winnet-collector collect [--since 1h] [--pod-ip IP] [--source-timeout 30s] [--replay DIR]
                           [--probe SPEC ...] [--probe-from host|pod]
  winnet-collector capture [--duration 30s] [--max-bytes N] [--pod-ip IP] [--filter F ...]
                           [--drops] [--replay DIR]
  winnet-collector version

collect writes the node's networking facts to stdout as NDJSON records and logs to stderr.
With --pod-ip it also reads that pod's network compartment (adapters, routes, DNS servers).
Each --probe tests reachability, from this host or, with --probe-from pod, from inside the
pod's network compartment (which needs --pod-ip). Addresses are IP literals. SPEC is one of
  tcp:IP:PORT                      a TCP handshake
  udp:IP:PORT                      one datagram; fails on an ICMP port unreachable
  dns:NAME@SERVER_IP[:PORT][/tcp]  an A query for NAME to that server (port 53, UDP by default)
IPv6 goes in brackets before a port: udp:[fd00::10]:53.
With --replay DIR, or ` + replayEnv + `=DIR, it replays a scenario folder of raw dumps instead
of reading the node (see hack/scenarios/README.md); requested probes are answered from its
probes.json.

capture records packets with pktmon until --duration passes, the capture file reaches
--max-bytes, a "stop" line arrives on stdin, or stdin closes; then it writes the capture as a
tar stream on stdout (capture.pcapng, or capture.etl and capture.txt where pktmon cannot
convert) and status records (NDJSON) on stderr. Each --filter is one pktmon filter in the form
proto:UDP+ip:10.0.0.5+port:53; --pod-ip narrows every filter (or, alone, the capture) to that
pod's traffic. With a replay folder the pktmon run is $` + pktmonEnv + `, the simulated one.
`

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "collect":
		return collect(ctx, args[1:], stdout, stderr, getenv)
	case "capture":
		return captureCmd(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "winnet-collector: version takes no arguments\n\n%s", usage)
			return exitUsage
		}
		fmt.Fprintf(stdout, "winnet-collector %s (wire schema %s, %s/%s)\n", version, wire.SchemaVersion, runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "winnet-collector: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func collect(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nflags of collect:\n")
		fs.PrintDefaults()
	}
	since := fs.Duration("since", time.Hour, "how far back to look in event logs")
	podIP := fs.String("pod-ip", "", "IP of the pod being diagnosed")
	timeout := fs.Duration("source-timeout", collector.DefaultSourceTimeout, "deadline of each source")
	replayDir := fs.String("replay", "", "replay this scenario folder instead of reading the node (default $"+replayEnv+")")
	var probes probeList
	fs.Var(&probes, "probe", "probe `SPEC` (tcp:IP:PORT, udp:IP:PORT or dns:NAME@SERVER_IP[:PORT][/tcp]); repeatable")
	probeFrom := fs.String("probe-from", probe.ScopeHost, "where the probes start: host (this node) or pod (the --pod-ip pod's network compartment)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // flag already printed the error and the usage
	}
	scope, err := validate(fs, *since, *timeout, *podIP, *probeFrom)
	if err != nil {
		fmt.Fprintf(stderr, "winnet-collector: %v\n", err)
		return exitUsage
	}

	dir := *replayDir
	if dir == "" {
		dir = getenv(replayEnv)
	}
	sources, backend, err := chooseBackend(dir, *since, *podIP, scope, probes, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "winnet-collector: %v\n", err)
		return exitFail
	}

	// A first SIGINT/SIGTERM stops the sources; Run still writes done so the stream stays whole.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := collector.Config{Version: version, Backend: backend, Since: *since, SourceTimeout: *timeout, Log: stderr}
	done, err := collector.Run(ctx, stdout, cfg, sources)
	if err != nil {
		fmt.Fprintf(stderr, "winnet-collector: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "winnet-collector: done: %d artifacts, %d errors in %dms (%s backend)\n", done.Artifacts, done.Errors, done.DurationMS, backend)
	return exitOK
}

// probeList collects repeated --probe flags, each parsed as it is given.
type probeList []probe.Target

func (p *probeList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, t := range *p {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

func (p *probeList) Set(v string) error {
	t, err := probe.ParseTarget(v)
	if err != nil {
		return err
	}
	*p = append(*p, t)
	return nil
}

// validate checks the flags together and returns the probe scope.
func validate(fs *flag.FlagSet, since, timeout time.Duration, podIP, probeFrom string) (string, error) {
	if fs.NArg() > 0 {
		return "", fmt.Errorf("collect takes only flags, found %q; run winnet-collector help", fs.Arg(0))
	}
	if since < 0 {
		return "", fmt.Errorf("--since %s is negative; give a look-back window such as 1h", since)
	}
	if timeout <= 0 {
		return "", fmt.Errorf("--source-timeout %s must be positive, such as 30s", timeout)
	}
	if podIP != "" {
		if _, err := netip.ParseAddr(podIP); err != nil {
			return "", fmt.Errorf("--pod-ip %q is not an IP address: %w", podIP, err)
		}
	}
	scope, err := probe.ParseScope(probeFrom)
	if err != nil {
		return "", err
	}
	if scope == probe.ScopePod && podIP == "" {
		return "", fmt.Errorf("--probe-from pod needs --pod-ip: the pod's IP is how its network compartment is found")
	}
	return scope, nil
}

// chooseBackend picks replay when a scenario folder is given, else this OS's own backend, and
// adds the probes: a replay answers them from the scenario; on a node they run from the host
// or, with scope pod, from the pod's compartment.
func chooseBackend(replayDir string, since time.Duration, podIP, scope string, probes []probe.Target, log io.Writer) ([]collector.Source, string, error) {
	if replayDir != "" {
		sources, err := replay.Sources(replayDir, log, probes...)
		if err != nil {
			return nil, "", err
		}
		return sources, collector.BackendReplay, nil
	}
	var podProbes []probe.Target
	if scope == probe.ScopePod {
		podProbes = probes
	}
	sources, err := nodeSources(since, podIP, podProbes)
	if err != nil {
		return nil, "", err
	}
	if len(probes) > 0 && scope == probe.ScopeHost {
		sources = append(sources, &probe.Source{Targets: probes})
	}
	return sources, collector.BackendWindows, nil
}
