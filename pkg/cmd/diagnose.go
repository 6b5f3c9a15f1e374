package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-winnet/winnet/pkg/access"
	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/colormode"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/diagnose"
	"github.com/kubectl-winnet/winnet/pkg/fleet"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/skew"
	"github.com/kubectl-winnet/winnet/pkg/target"
)

// ExitFindings is the exit code when findings reach the --fail-on threshold; 1 stays for
// operational errors, so scripts can tell "the tool failed" from "the node is unhealthy".
const ExitFindings = 3

// FindingsError carries ExitFindings out of a command.
type FindingsError struct{ Worst, Threshold string }

func (e *FindingsError) Error() string {
	return fmt.Sprintf("findings at or above severity %q were reported (worst: %s)", e.Threshold, e.Worst)
}

type diagnoseOptions struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	output         string
	color          string
	debugNamespace string
	image          string
	keep           bool
	timeout        time.Duration
	deadline       time.Duration
	since          time.Duration
	failOn         string
	quiet          bool
	skipAccess     bool
	bundle         string
	force          bool
	to             string
	external       string

	toTarget, extTarget *pathplan.Target

	// Many nodes at once: node/a node/b, nodes -l SELECTOR, or --all-nodes.
	selector       string
	allNodes       bool
	maxConcurrency int
	nodes          *target.NodeSelection // set by complete when the run covers many nodes

	target    string
	namespace string
}

func newDiagnoseCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &diagnoseOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "diagnose TARGET | node/A node/B ... | nodes -l SELECTOR | --all-nodes",
		Short: "Diagnose the networking of a Windows pod, workload, Service or node",
		Long: `Diagnose the networking of a Windows pod, or of the node it runs on.

TARGET is pod/NAME (or just NAME), deploy/NAME, sts/NAME, ds/NAME, rs/NAME, job/NAME,
svc/NAME (winnet picks a running Windows pod and says which), or node/NAME.

winnet creates a HostProcess debug pod on the target's node in --debug-namespace (default
` + debugpod.DefaultNamespace + `, which must allow privileged pods: see manifests/), runs the
collector there, and deletes the pod when done, on error and on Ctrl-C. --keep leaves it
running for later runs to reuse; its activeDeadlineSeconds removes it in any case.

--to DEST walks the path from the pod to DEST hop by hop (its name's lookup, the Service VIP's
HNS load balancer, its backends against the ready endpoints, NetworkPolicy, and a probe from
inside the pod) and names the first hop that fails. DEST is svc/NAME[:PORT] (PORT a number or
name, the first port by default), pod/NAME:PORT, HOST:PORT or IP:PORT (IPv6 as [ADDR]:PORT);
NAME is looked up in the pod's namespace unless written NS/NAME. Pod targets also probe cluster
DNS (through the kube-dns VIP and at each CoreDNS pod) and the API server's VIP. --external
IP:PORT probes an address outside the cluster (HOST:PORT: the lookup only).

Many nodes at once: name them (node/a node/b), select them (nodes -l SELECTOR), or take every
Windows node (--all-nodes). winnet runs one debug pod per node, --max-concurrency at a time,
and prints one report: each finding with the nodes it was made on ("on 7 of 40 nodes"), the
traits in which the nodes differ (Windows build, HNS, kubelet, CNI config), and a row per node;
-o json or yaml holds every node's full report. A node that cannot be diagnosed is a row, not
the end of the run.

Exit codes: 0 success, 1 the diagnosis could not be made (on any node of a many-node run),
3 findings at or above --fail-on.`,
		Example: `  kubectl winnet diagnose pod/web-0 -n shop
  kubectl winnet diagnose svc/web -n shop -o yaml
  kubectl winnet diagnose pod/web-0 -n shop --to svc/api:80
  kubectl winnet diagnose pod/web-0 -n shop --to svc/api:80 -o html > web-0.html   # for a ticket
  kubectl winnet diagnose pod/web-0 -n shop --to svc/payments/api:grpc --external 1.1.1.1:443
  kubectl winnet diagnose node/akswin000001 --keep
  kubectl winnet diagnose --all-nodes
  kubectl winnet diagnose nodes -l agentpool=win22 --max-concurrency 20 -o wide
  kubectl winnet diagnose node/akswin000001 node/akswin000002
  kubectl winnet diagnose deploy/web -n shop --fail-on warning
  kubectl winnet diagnose pod/web-0 -n shop --bundle web-0.tar.gz   # for support, or: kubectl winnet analyze web-0.tar.gz`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeTarget(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(args); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, wide, json, yaml, or html (one self-contained page with the path drawn: -o html > report.html)")
	f.StringVar(&o.color, "color", colormode.Auto, "Colour the severities in tables: auto (a terminal, unless NO_COLOR or TERM=dumb), always or never")
	f.StringVar(&o.debugNamespace, "debug-namespace", debugpod.DefaultNamespace, "Namespace for the debug pod; it must allow privileged pods (Pod Security level privileged)")
	f.StringVar(&o.image, "image", debugpod.DefaultImage, "Image of the HostProcess debug container")
	f.BoolVar(&o.keep, "keep", false, "Leave the debug pod running after the diagnosis, for later runs to reuse (it still expires after --debug-pod-deadline)")
	f.DurationVar(&o.timeout, "timeout", debugpod.DefaultTimeout, "How long to wait for the debug pod to start")
	f.DurationVar(&o.deadline, "debug-pod-deadline", debugpod.DefaultDeadline, "The debug pod's activeDeadlineSeconds: the cluster deletes it after this even if winnet cannot")
	f.DurationVar(&o.since, "since", time.Hour, "How far back to read the node's event logs")
	f.StringVar(&o.failOn, "fail-on", "none", "Exit with code 3 when a finding of this severity or worse is reported: error, warning or none")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Print no progress on stderr")
	f.BoolVar(&o.skipAccess, "skip-access-check", false, "Skip the RBAC pre-check (SelfSubjectAccessReview); errors then surface when the action is refused")
	f.StringVar(&o.bundle, "bundle", "", "Also write a bundle (.tar.gz: raw node records, cluster facts, report) to this file, for 'kubectl winnet analyze' or support; an existing file is kept unless --force")
	f.BoolVar(&o.force, "force", false, "Let --bundle replace an existing file")
	f.StringVar(&o.to, "to", "", "Test the path to this destination hop by hop: svc/NAME[:PORT], pod/NAME:PORT, HOST:PORT or IP:PORT (a namespace goes before the name: svc/NS/NAME)")
	f.StringVar(&o.external, "external", "", "Also probe an address outside the cluster: IP:PORT (a connection) or HOST:PORT (the name's lookup only)")
	f.StringVarP(&o.selector, "selector", "l", "", "With the target nodes: diagnose the Windows nodes matching this label selector (e.g. -l agentpool=win22)")
	f.BoolVar(&o.allNodes, "all-nodes", false, "Diagnose every Windows node in the cluster, one debug pod per node")
	f.IntVar(&o.maxConcurrency, "max-concurrency", fleet.DefaultConcurrency, "How many nodes a many-node run diagnoses at once")
	return cmd
}

func (o *diagnoseOptions) complete(args []string) error {
	sel, err := nodeSelection(args, o.selector, o.allNodes)
	if err != nil {
		return err
	}
	if sel != nil {
		o.nodes = sel
	} else {
		o.target = args[0]
	}
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from your kubeconfig: %w", err)
	}
	o.namespace = ns
	return nil
}

func (o *diagnoseOptions) validate() error {
	if o.nodes != nil {
		if err := o.validateFleet(); err != nil {
			return err
		}
	} else if _, err := target.Parse(o.target); err != nil {
		return err
	}
	if _, err := colormode.Parse(o.color); err != nil {
		return err
	}
	if err := report.ValidateFormat(o.output); err != nil {
		return err
	}
	if o.to != "" {
		t, err := pathplan.ParseTarget(o.to)
		if err != nil {
			return err
		}
		o.toTarget = &t
	}
	if o.external != "" {
		t, err := pathplan.ParseFlag("--external", o.external)
		if err != nil {
			return err
		}
		if t.Kind != pathplan.KindIP && t.Kind != pathplan.KindHost {
			return fmt.Errorf("--external %q names a %s: it takes IP:PORT or HOST:PORT outside the cluster; use --to for Services and pods", o.external, t.Kind)
		}
		o.extTarget = &t
	}
	switch o.failOn {
	case "error", "warning", "none":
	default:
		return fmt.Errorf("unknown --fail-on %q: use error, warning or none", o.failOn)
	}
	if o.timeout <= 0 || o.deadline <= 0 || o.since <= 0 {
		return errors.New("--timeout, --debug-pod-deadline and --since must be positive durations (e.g. 5m, 30m, 1h)")
	}
	if o.deadline < time.Minute {
		return fmt.Errorf("--debug-pod-deadline %s is too short for a diagnosis: use at least 1m", o.deadline)
	}
	if o.deadline > debugpod.MaxDeadline {
		return fmt.Errorf("--debug-pod-deadline %s is longer than a node-admin pod should live: use at most %gh (the admission policy in manifests/admission.yaml refuses longer ones)", o.deadline, debugpod.MaxDeadline.Hours())
	}
	if o.bundle != "" {
		// Checked before the run, so a diagnosis is not spent on a bundle that cannot be written.
		if err := bundle.CheckDestination(o.bundle, o.force); err != nil {
			return err
		}
	}
	return nil
}

func (o *diagnoseOptions) run(parent context.Context) error {
	if o.nodes != nil {
		return o.runFleet(parent)
	}
	conn, err := connect(o.flags, 50)
	if err != nil {
		return err
	}
	collector, restConfig, client := conn.collector, conn.restConfig, conn.client

	pending := &pendingFiles{}
	ctx, podGone, stop := signalContext(parent, o.streams, pending)
	defer stop()

	p := progress.New(o.streams.ErrOut, o.quiet)
	if err := o.checkAccess(ctx, client, p); err != nil {
		return err
	}

	res, cleanup, runErr := diagnose.Run(ctx, diagnose.Config{
		Client:    client,
		Exec:      &nodeexec.APIExecutor{Config: restConfig, Client: client},
		Collector: collector,
		Namespace: o.namespace,
		Target:    o.target,
		DebugPod: debugpod.Options{
			Namespace: o.debugNamespace, Image: o.image, Keep: o.keep,
			Timeout: o.timeout, Deadline: o.deadline,
		},
		Since:         o.since,
		To:            o.toTarget,
		External:      o.extTarget,
		PluginVersion: Version,
		Progress:      p,
	})
	// Clean up before printing: the report is in memory, and a Ctrl-C while printing must not
	// be able to skip the delete.
	if cleanup != nil {
		p.Start("removing the debug pod")
		if err := cleanup(); err != nil {
			p.Fail(err.Error())
			if runErr == nil {
				runErr = err
			}
		} else {
			p.Done("")
			podGone()
		}
	}
	var partial *diagnose.PartialError
	if runErr != nil && !(errors.As(runErr, &partial) && res != nil) {
		if ctx.Err() != nil && parent.Err() == nil {
			return fmt.Errorf("interrupted; the debug pod was removed: %w", runErr)
		}
		return runErr
	}
	if res.Report.DebugPod != nil && res.Report.DebugPod.Kept {
		p.Info("debug pod %s/%s kept for reuse (--keep)", res.Report.DebugPod.Namespace, res.Report.DebugPod.Name)
	}
	if err := report.RenderStyled(o.streams.Out, res.Report, o.output, tableStyle(o.color, o.streams.Out)); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if o.bundle != "" {
		if err := bundle.WriteTracking(o.bundle, bundle.FromDiagnosis(res.Snapshot, res.Cluster, res.Report, Version, time.Now()), o.force, pending.track); err != nil {
			return err
		}
		p.Info("bundle written to %s (re-analyze it with: kubectl winnet analyze %s)", o.bundle, o.bundle)
	}
	if partial != nil {
		return partial // exit 1 after the report: the diagnosis is not complete
	}
	return failOn(res.Report.Worst(), o.failOn)
}

// checkAccess runs the preflight before anything is made (see preflight).
func (o *diagnoseOptions) checkAccess(ctx context.Context, client kubernetes.Interface, p *progress.Reporter) error {
	return preflight(ctx, client, p, o.skipAccess, o.debugNamespace, o.namespace)
}

// preflight warns when the cluster's version is far from winnet's, and runs the RBAC
// pre-check (unless skipped): every missing verb is named before any pod exists.
func preflight(ctx context.Context, client kubernetes.Interface, p *progress.Reporter, skipAccess bool, debugNamespace, namespace string) error {
	if w := skew.Check(client.Discovery()); w != "" {
		p.Info("warning: %s", w)
	}
	if skipAccess {
		return nil
	}
	p.Start("checking permissions")
	warnings, err := access.Verify(ctx, client, access.Required(debugNamespace, namespace))
	if err != nil {
		p.Fail("")
		return err
	}
	p.Done("")
	for _, w := range warnings {
		p.Info("warning: %s", w)
	}
	return nil
}

func failOn(worst, threshold string) error {
	if threshold == "none" {
		return nil
	}
	if worst != "" && analyze.SeverityRank(worst) >= analyze.SeverityRank(threshold) {
		return &FindingsError{Worst: worst, Threshold: threshold}
	}
	return nil
}

// signalContext cancels on the first SIGINT/SIGTERM so the run unwinds and cleans up; a second
// signal exits at once (the debug pod's activeDeadlineSeconds is the backstop then), removing
// the half-written files in pending first, so nothing partial is left on disk. Once the caller
// has called podGone (the debug pod is removed, only rendering is left), the first signal
// exits at once the same way: there is nothing left to unwind.
func signalContext(parent context.Context, streams genericiooptions.IOStreams, pending *pendingFiles) (ctx context.Context, podGone, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	var gone atomic.Bool
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			if gone.Load() {
				pending.removeAll()
				fmt.Fprintf(streams.ErrOut, "\n%s: exiting; nothing is left to clean up\n", strings.ToLower(s.String()))
				exit(130)
				return
			}
			fmt.Fprintf(streams.ErrOut, "\n%s: stopping and removing the debug pod (press Ctrl-C again to exit at once)\n", strings.ToLower(s.String()))
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case <-ch:
			pending.removeAll()
			fmt.Fprintln(streams.ErrOut, "exiting without cleanup; the debug pod deletes itself at its deadline, or run: kubectl winnet cleanup")
			exit(130)
		case <-parent.Done():
		}
	}()
	return ctx, func() { gone.Store(true) }, func() { signal.Stop(ch); cancel() }
}

// exit is os.Exit; tests replace it to watch the second-signal path.
var exit = os.Exit

// pendingFiles are temporary files being written (a bundle before its rename) that an abrupt
// exit must remove.
type pendingFiles struct {
	mu    sync.Mutex
	paths map[string]bool
}

// track adds path until the returned release is called.
func (p *pendingFiles) track(path string) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paths == nil {
		p.paths = map[string]bool{}
	}
	p.paths[path] = true
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.paths, path)
	}
}

// removeAll deletes every tracked file. It holds the lock until exit, so no writer can link a
// file into place after its temporary was removed.
func (p *pendingFiles) removeAll() {
	p.mu.Lock()
	for path := range p.paths {
		_ = os.Remove(path)
	}
}
