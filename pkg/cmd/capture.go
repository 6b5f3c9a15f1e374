package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-winnet/winnet/pkg/capture"
	collectorcapture "github.com/kubectl-winnet/winnet/pkg/collector/capture"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/outfile"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/target"
)

type captureOptions struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	write          string
	duration       time.Duration
	maxSize        string
	filterSpecs    []string
	to             string
	drops          bool
	force          bool
	quiet          bool
	skipAccess     bool
	debugNamespace string
	image          string
	timeout        time.Duration

	target    string
	namespace string
	filters   []pktmon.Filter
	toTarget  *pathplan.Target
	maxBytes  int64
}

func newCaptureCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &captureOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "capture TARGET [--to DEST] [-w FILE|-] [--duration 30s] [--max-size 100MB] [--filter EXPR ...]",
		Short: "Capture a Windows pod's or node's packets into a local pcapng (or straight into Wireshark)",
		Long: `Capture packets on a Windows node with pktmon (inbox since Windows Server 2019) and
write them to a local pcapng file, or to stdout for Wireshark.

TARGET is pod/NAME (or NAME), deploy/NAME, svc/NAME, ... (the pod's own traffic, on its node)
or node/NAME (all of the node's traffic, narrowed by --filter). Filters also match inside
VXLAN, so an overlay network's pod traffic is caught.

The capture ends after --duration, when pktmon's file reaches --max-size, or on Ctrl-C, which
stops it on the node and still writes everything captured; a second Ctrl-C abandons it and
removes the debug pod. pktmon is always stopped and its filters removed on the node.

--filter EXPR takes tcp, udp, icmp, host IP (twice: traffic between two hosts) and port N
(twice: between two ports), e.g. --filter "udp port 53". Repeat it for alternatives (at most
32); a pod target narrows each to the pod's IP.

--to DEST keeps only the traffic between the target and DEST, as diagnose --to names it:
svc/NAME[:PORT], pod/NAME:PORT or IP:PORT (a namespace goes before the name: svc/NS/NAME;
the target pod's namespace by default). A Service is its ClusterIP and each ready backend
pod's IP, since the node's load balancer rewrites the VIP to a backend before the packet
leaves; a Service port is the service port on the VIP and the target port on the backends.
--to narrows by address and port, not protocol. With a node target it keeps the traffic of
DEST's addresses. HOST:PORT is refused: the filters need addresses. Each --filter then
narrows that traffic further (a packet must match both): a host it names must be one end
of it. pktmon takes at most 32 filters, one per destination address (times the --filter
alternatives); a Service with more backends is refused, saying how to narrow it.

pktmon writes to a file on the node, so the packets arrive when the capture ends, also with
-w -. Where the node's pktmon cannot convert to pcapng (Windows Server 2019), winnet writes
the raw .etl and pktmon's text rendering (.txt) next to -w's name instead.`,
		Example: `  kubectl winnet capture pod/web-0 -n shop                       # web-0-<time>.pcapng, 30s
  kubectl winnet capture pod/web-0 -n shop -w dns.pcapng --filter "udp port 53"
  kubectl winnet capture pod/web-0 -n shop -w - | wireshark -k -i -
  kubectl winnet capture pod/web-0 -n shop --to svc/api:80       # web-0 and the api Service (VIP and backends)
  kubectl winnet capture pod/web-0 -n shop --to svc/kube-system/kube-dns:53 --filter udp
  kubectl winnet capture node/akswin000001 --filter "host 10.240.0.4 tcp port 443" --duration 2m
  kubectl winnet capture deploy/web -n shop --max-size 20MB
  kubectl winnet capture pod/web-0 -n shop --drops --duration 1m  # what the node dropped, and where`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTarget(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(args); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.write, "write", "w", "", "Write the capture to this file, or - for stdout (default: NAME-TIME.pcapng in the current folder)")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "End the capture after this long (at most 1h)")
	f.StringVar(&o.maxSize, "max-size", "100MB", "End the capture when pktmon's file on the node reaches this size (e.g. 20MB, 1GB, 500Mi)")
	f.StringArrayVar(&o.filterSpecs, "filter", nil, `Capture only matching packets: tcp, udp, icmp, host IP, port N (e.g. "udp port 53"); repeatable, each an alternative`)
	f.StringVar(&o.to, "to", "", "Capture only the traffic with this destination: svc/NAME[:PORT] (its VIP and ready backends), pod/NAME:PORT or IP:PORT; --filter narrows it further")
	f.BoolVar(&o.drops, "drops", false, "Capture pktmon's drop events only: the file holds the packets a component of the node's network stack dropped, pktmon's text rendering beside it (FILE.txt) says why each was dropped, and a summary on stderr counts them per component (NIC, vSwitch, VFP, ...)")
	f.BoolVar(&o.force, "force", false, "Replace an existing -w file")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Print no progress on stderr")
	f.BoolVar(&o.skipAccess, "skip-access-check", false, "Skip the RBAC pre-check (SelfSubjectAccessReview)")
	f.StringVar(&o.debugNamespace, "debug-namespace", debugpod.DefaultNamespace, "Namespace for the debug pod; it must allow privileged pods")
	f.StringVar(&o.image, "image", debugpod.DefaultImage, "Image of the HostProcess debug container")
	f.DurationVar(&o.timeout, "timeout", debugpod.DefaultTimeout, "How long to wait for the debug pod to start")
	return cmd
}

func (o *captureOptions) complete(args []string) error {
	o.target = args[0]
	ref, err := target.Parse(o.target)
	if err != nil {
		return err
	}
	if o.duration <= 0 || o.duration > collectorcapture.MaxDuration {
		return fmt.Errorf("--duration %s: give a duration between 1s and %s (pktmon holds the node's only capture session meanwhile)", o.duration, collectorcapture.MaxDuration)
	}
	if o.maxBytes, err = parseSize(o.maxSize); err != nil {
		return err
	}
	if o.maxBytes > collectorcapture.MaxBytes {
		return fmt.Errorf("--max-size %s is more than the %s a capture may take on the node", o.maxSize, "2GiB")
	}
	if len(o.filterSpecs) > pktmon.MaxFilters {
		return fmt.Errorf("%d --filter flags: pktmon takes at most %d", len(o.filterSpecs), pktmon.MaxFilters)
	}
	for _, s := range o.filterSpecs {
		f, err := pktmon.ParseFilter(s)
		if err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
		o.filters = append(o.filters, f)
	}
	if o.to != "" {
		t, err := pathplan.ParseTarget(o.to)
		if err != nil {
			return err
		}
		if err := capture.CheckTo(t); err != nil {
			return err
		}
		o.toTarget = &t
	}
	if o.timeout <= 0 {
		return errors.New("--timeout must be a positive duration, such as 5m")
	}
	switch {
	case o.write == capture.Stdout:
		if f, ok := o.streams.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return errors.New("-w - writes a binary capture to stdout, which is a terminal here; pipe it (| wireshark -k -i -) or give a file name")
		}
	case o.write == "":
		o.write = fmt.Sprintf("%s-%s.pcapng", safeName(ref.Name), time.Now().Format("20060102-150405"))
		fallthrough
	default:
		if err := outfile.Check("-w", o.write, o.force); err != nil {
			return err
		}
	}
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from your kubeconfig: %w", err)
	}
	o.namespace = ns
	return nil
}

func (o *captureOptions) run(parent context.Context) error {
	conn, err := connect(o.flags, 50)
	if err != nil {
		return err
	}
	collector, restConfig, client := conn.collector, conn.restConfig, conn.client
	pending := &pendingFiles{}
	ctx, stopCapture, stop := captureSignals(parent, o.streams, pending)
	defer stop()

	p := progress.New(o.streams.ErrOut, o.quiet)
	if err := preflight(ctx, client, p, o.skipAccess, o.debugNamespace, o.namespace); err != nil {
		return err
	}
	res, cleanup, runErr := capture.Run(ctx, capture.Config{
		Client: client, Exec: &nodeexec.APIExecutor{Config: restConfig, Client: client}, Collector: collector,
		Namespace: o.namespace, Target: o.target,
		// The pod lives a little longer than the capture; its deadline ends it even if winnet cannot.
		DebugPod: debugpod.Options{Namespace: o.debugNamespace, Image: o.image, Timeout: o.timeout, Deadline: o.duration + 10*time.Minute},
		Filters:  o.filters, To: o.toTarget, Duration: o.duration, MaxBytes: o.maxBytes, Drops: o.drops,
		Output: o.write, Force: o.force, Stdout: o.streams.Out, Track: pending.track,
		Stop: stopCapture, Progress: p,
	})
	if cleanup != nil {
		p.Start("removing the debug pod")
		if err := cleanup(); err != nil {
			p.Fail(err.Error())
			if runErr == nil {
				runErr = err
			}
		} else {
			p.Done("")
		}
	}
	if runErr != nil {
		if ctx.Err() != nil && parent.Err() == nil {
			return fmt.Errorf("capture abandoned; the debug pod was removed and nothing was written: %w", runErr)
		}
		return runErr
	}
	if res.Note != "" {
		p.Info("note: %s", res.Note)
	}
	if o.write != capture.Stdout {
		p.Info("wrote %s", strings.Join(res.Files, " and "))
		if res.Format == "pcapng" {
			p.Info("open it with: wireshark %s", res.Files[0])
		}
	}
	if res.Drops != nil {
		// The summary is the answer --drops asks for, so it is printed under -q too; on
		// stderr, as stdout may be the capture itself.
		text := ""
		for _, f := range res.Files[1:] {
			if strings.HasSuffix(f, ".txt") {
				text = f
			}
		}
		for _, e := range res.DropErrors {
			p.Info("note: a per-component drop file could not be read: %s", e)
		}
		capture.RenderDrops(o.streams.ErrOut, res.Node, res.Drops, text)
	}
	return nil
}

// captureSignals: the first SIGINT/SIGTERM closes stopCapture (the node stops pktmon and
// sends what it has, which is still written); the second cancels ctx (abandon: the stream
// is cut and the debug pod removed); the third exits at once, removing half-written files.
func captureSignals(parent context.Context, streams genericiooptions.IOStreams, pending *pendingFiles) (ctx context.Context, stopCapture <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	stopCh := make(chan struct{})
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for n := 1; ; n++ {
			var s os.Signal
			select {
			case s = <-ch:
			case <-ctx.Done():
				if n == 1 {
					return
				}
				select {
				case s = <-ch:
				case <-parent.Done():
					return
				}
			}
			name := strings.ToLower(s.String())
			switch n {
			case 1:
				fmt.Fprintf(streams.ErrOut, "\n%s: stopping the capture; what was captured is still written (Ctrl-C again to abandon it)\n", name)
				close(stopCh)
			case 2:
				fmt.Fprintf(streams.ErrOut, "\n%s: abandoning the capture and removing the debug pod (Ctrl-C again to exit at once)\n", name)
				cancel()
			default:
				pending.removeAll()
				fmt.Fprintln(streams.ErrOut, "exiting without cleanup; the debug pod deletes itself at its deadline, or run: kubectl winnet cleanup")
				exit(130)
				return
			}
		}
	}()
	return ctx, stopCh, func() { signal.Stop(ch); cancel() }
}

var sizeSuffix = regexp.MustCompile(`^([0-9.]+)\s*([kKMGT]i?)?[bB]?$`)

// parseSize reads --max-size: a Kubernetes quantity (100M, 500Mi) or the same with a B as
// people write it (100MB, 1GB).
func parseSize(s string) (int64, error) {
	m := sizeSuffix.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("--max-size %q is not a size: write it as 100MB, 1GB or 500Mi", s)
	}
	unit := m[2]
	if unit == "K" {
		unit = "k" // Kubernetes spells kilo in lower case
	}
	q, err := resource.ParseQuantity(m[1] + unit)
	if err != nil {
		return 0, fmt.Errorf("--max-size %q is not a size: %v; write it as 100MB, 1GB or 500Mi", s, err)
	}
	n := q.Value()
	if n < 1e6 {
		return 0, fmt.Errorf("--max-size %s is below 1MB, pktmon's smallest file", s)
	}
	return n, nil
}

// safeName keeps a target's name usable as a file name.
func safeName(s string) string {
	s = filepath.Base(s)
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' {
			return '-'
		}
		return r
	}, s)
}
