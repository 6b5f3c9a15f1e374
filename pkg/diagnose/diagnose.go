// Package diagnose runs one diagnosis end to end: resolve the target, start (or reuse) the
// debug pod on its node, put the collector there, stream its records into a snapshot, gather
// the cluster's facts, analyze, and build the report. Cleanup of the debug pod is the caller's
// (see Run's returned cleanup func) so the command layer can tie it to signals.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/target"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Config is everything one diagnosis needs, already validated by the command layer.
type Config struct {
	Client    kubernetes.Interface
	Exec      nodeexec.Executor
	Collector nodeexec.Collector

	Namespace string // the target's namespace
	Target    string // as typed: pod/x, deploy/x, node/x, ...
	// Resolved, when set, is Target already resolved (a many-node run resolves every node
	// at once), and Cluster its facts already gathered; Run then reads neither again.
	Resolved *target.Target
	Cluster  *facts.Cluster

	DebugPod debugpod.Options // Node is filled in here
	Since    time.Duration    // event log window for the collector

	// To is the destination whose path to test (--to), External an outside address
	// (--external); nil when not asked. Pod targets always get the default probes too.
	To       *pathplan.Target
	External *pathplan.Target

	PluginVersion string
	Progress      *progress.Reporter
	// CollectorLog receives the collector's stderr (its own logs); nil discards it.
	CollectorLog io.Writer
}

// Result is a finished diagnosis and how it was obtained.
type Result struct {
	Report   *report.Report
	Snapshot *snapshot.Snapshot
	Cluster  *facts.Cluster
}

// Run diagnoses cfg.Target. The returned cleanup deletes the debug pod (unless kept); it is
// non-nil whenever a debug pod may exist, even when Run fails, and must then be called; it is
// nil when none was made (the target did not resolve), so nothing claims to remove one.
func Run(ctx context.Context, cfg Config) (res *Result, cleanup func() error, err error) {
	p := cfg.Progress
	if p == nil {
		p = progress.New(nil, true)
	}
	var timings []report.Timing
	phase := func(name string, start time.Time) {
		timings = append(timings, report.Timing{Phase: name, DurationMS: time.Since(start).Milliseconds()})
	}

	start := time.Now()
	tgt := cfg.Resolved
	if tgt == nil {
		p.Start("resolving " + cfg.Target)
		tgt, err = target.Resolve(ctx, cfg.Client, cfg.Namespace, cfg.Target)
		if err != nil {
			p.Fail("")
			return nil, cleanup, err
		}
		p.Done(describeTarget(tgt))
		if tgt.Note != "" {
			p.Info("%s", tgt.Note)
		}
		phase("resolve", start)
	}

	ns := cfg.Namespace
	if tgt.Pod != nil {
		ns = tgt.Pod.Namespace
	}
	cl := cfg.Cluster
	if cl == nil {
		start = time.Now()
		p.Start("reading cluster objects")
		cl = facts.Gather(ctx, cfg.Client, tgt.Node.Name, ns)
		p.Done(fmt.Sprintf("%d services, %d pods on the node", len(cl.Services), len(cl.Pods)))
		for what, why := range cl.Missing {
			p.Info("could not read %s: %s", what, why)
		}
		phase("cluster-facts", start)
	}

	// The probes are planned from the cluster's objects before anything runs on the node, so a
	// --to that names nothing fails before a debug pod is made.
	plan, err := pathplan.Build(pathplan.Input{Cluster: cl, Namespace: ns, Defaults: tgt.Pod != nil, To: cfg.To, External: cfg.External})
	if err != nil {
		return nil, cleanup, err
	}

	start = time.Now()
	p.Start("starting debug pod on node " + tgt.Node.Name)
	opts := cfg.DebugPod
	opts.Node = tgt.Node
	opts.Progress = p.Update
	h, err := debugpod.Ensure(ctx, cfg.Client, opts)
	if h != nil {
		cleanup = func() error { return h.Cleanup(ctx, cfg.Client) }
	}
	if err != nil {
		p.Fail("")
		return nil, cleanup, err
	}
	how := "created " + h.Namespace() + "/" + h.Name()
	if h.Reused {
		how = "reusing kept pod " + h.Namespace() + "/" + h.Name()
	}
	p.Done(how)
	phase("pod-ready", start)

	// One exec puts the collector on the node (when it is not there), verifies and runs it, so
	// the upload is part of the collect phase.
	runner := &nodeexec.Runner{Exec: cfg.Exec, Pod: h.Pod, Container: h.Pod.Spec.Containers[0].Name, Collector: cfg.Collector,
		Fresh: !h.Reused, Progress: p.Update}
	start = time.Now()
	p.Start("collecting node state")
	args := []string{"collect", "--since", cfg.Since.String()}
	podIP := ""
	if tgt.Pod != nil {
		podIP = tgt.Pod.Status.PodIP
	}
	if podIP != "" {
		args = append(args, "--pod-ip", podIP)
	}
	args = append(args, probeArgs(plan.Specs(), podIP)...)
	snap, err := collect(ctx, runner, args, tgt.Node.Name, cfg.CollectorLog, p)
	var partial *PartialError
	switch {
	case err != nil && snap != nil && ctx.Err() == nil:
		// The collector said hello, then stopped: what it sent is still evidence.
		partial = &PartialError{Node: tgt.Node.Name, Cause: err}
		p.Fail(fmt.Sprintf("stopped before it finished; analyzing the %d artifacts that arrived", len(snap.Have)))
	case err != nil:
		p.Fail("")
		return nil, cleanup, err
	default:
		collector := "collector already on the node, verified"
		if runner.Uploaded {
			collector = fmt.Sprintf("collector uploaded (%.1f MB) and verified", float64(runner.UploadBytes)/1e6)
		}
		p.Done(fmt.Sprintf("%d artifacts, %d source errors; %s", len(snap.Have), len(snap.Errors), collector))
	}
	phase("collect", start)

	start = time.Now()
	fallbackNotes := fallbackProbes(ctx, cfg.Exec, tgt.Pod, snap, p)
	if fallbackNotes != nil {
		phase("pod-exec-probes", start)
	}

	start = time.Now()
	res0 := analyze.Run(analyze.Input{Snapshot: snap, Cluster: cl, Pod: tgt.Pod})
	rt := report.Target{Input: cfg.Target, Node: tgt.Node.Name, Note: tgt.Note}
	if tgt.Pod != nil {
		rt.Namespace, rt.Pod, rt.PodIP = tgt.Pod.Namespace, tgt.Pod.Name, tgt.Pod.Status.PodIP
	}
	rep := report.Build(snap, res0, rt, report.Versions{Version: cfg.PluginVersion, CollectorSHA256: cfg.Collector.SHA256()})
	if len(plan.Probes) > 0 || plan.To != nil {
		rep.Path = pathexplain.Explain(pathexplain.Input{Pod: tgt.Pod, Node: tgt.Node.Name, Plan: plan, Snapshot: snap, Cluster: cl})
		rep.Path.Notes = append(rep.Path.Notes, fallbackNotes...)
	}
	rep.DebugPod = &report.DebugPod{Namespace: h.Namespace(), Name: h.Name(), Kept: h.Kept, Reused: h.Reused,
		RoundTrips: runner.RoundTrips, Uploaded: runner.Uploaded, UploadBytes: runner.UploadBytes}
	phase("analyze", start)
	rep.Timings = timings
	res = &Result{Report: rep, Snapshot: snap, Cluster: cl}
	if partial != nil {
		rep.Incomplete = partial.Cause.Error()
		return res, cleanup, partial
	}
	return res, cleanup, nil
}

// PartialError is a collection that stopped before its end (the collector crashed or was
// killed, or its stream broke) after it had sent something. Run returns it with a Result
// built from what arrived: render that, then report the error.
type PartialError struct {
	Node  string
	Cause error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("the diagnosis is incomplete: %v\nthe report above holds only what the collector on node %s sent before it stopped; "+
		"rerun, and if it stops again, the collector log above says where (--bundle FILE keeps what arrived, for kubectl winnet analyze)", e.Cause, e.Node)
}

func (e *PartialError) Unwrap() error { return e.Cause }

// probeArgs are the collector flags for the planned probes: from inside the pod when there is
// one with an IP (its compartment is found by that IP), else from the node.
func probeArgs(specs []string, podIP string) []string {
	if len(specs) == 0 {
		return nil
	}
	var args []string
	if podIP != "" {
		args = append(args, "--probe-from", "pod")
	}
	for _, s := range specs {
		args = append(args, "--probe", s)
	}
	return args
}

// ErrIncompleteStream means the collector stopped before its done record.
var ErrIncompleteStream = errors.New("the collector's output ended before it finished")

// collect runs the collector and decodes its stream as it arrives.
func collect(ctx context.Context, r *nodeexec.Runner, args []string, node string, logw io.Writer, p *progress.Reporter) (*snapshot.Snapshot, error) {
	pr, pw := io.Pipe()
	b := snapshot.NewBuilder(node)
	decoded := make(chan error, 1)
	go func() {
		dec := wire.NewDecoder(pr)
		var err error
		for {
			var rec wire.Record
			rec, err = dec.Next()
			if err != nil {
				break
			}
			b.Add(rec)
			if rec.Type == wire.TypeProgress && strings.Contains(string(rec.Data), `"start"`) {
				p.Update("collecting: " + rec.Source)
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		// Drain so the exec stream never blocks on a reader that gave up.
		_, _ = io.Copy(io.Discard, pr)
		decoded <- err
	}()
	if logw == nil {
		logw = io.Discard
	}
	tail := &tailWriter{max: 4 << 10}
	runErr := r.Run(ctx, args, pw, io.MultiWriter(logw, tail))
	_ = pw.Close()
	decErr := <-decoded
	snap := b.Snapshot()
	// Once the collector has said hello, what it sent is returned with the error, for a
	// partial report; before that there is nothing to analyze.
	some := snap
	if snap.Collector == nil {
		some = nil
	}
	switch {
	case runErr != nil:
		if t := strings.TrimSpace(tail.String()); t != "" {
			return some, fmt.Errorf("%w\ncollector log (last lines):\n%s", runErr, t)
		}
		return some, runErr
	case decErr != nil:
		return some, fmt.Errorf("reading the collector's output from node %s: %w", node, decErr)
	case snap.Collector == nil:
		return nil, fmt.Errorf("%w: no hello record from node %s", ErrIncompleteStream, node)
	case snap.Done == nil:
		return snap, fmt.Errorf("%w: no done record from node %s (it may have crashed or been killed)", ErrIncompleteStream, node)
	}
	return snap, nil
}

func describeTarget(t *target.Target) string {
	if t.Pod != nil {
		s := fmt.Sprintf("pod %s/%s on node %s", t.Pod.Namespace, t.Pod.Name, t.Node.Name)
		if t.Pod.Status.PodIP != "" {
			s += ", IP " + t.Pod.Status.PodIP
		}
		return s
	}
	return "node " + t.Node.Name
}

// tailWriter keeps the last max bytes written, for error messages.
type tailWriter struct {
	buf []byte
	max int
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(b), nil
}

func (t *tailWriter) String() string { return string(t.buf) }
