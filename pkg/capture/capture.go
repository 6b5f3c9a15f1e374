// Package capture runs `kubectl winnet capture` end to end: resolve the target, start (or
// reuse) the debug pod on its node, run the collector's pktmon capture there, show its
// progress, and write what comes back — a pcapng, or an .etl with its text rendering — to a
// local file (all or nothing) or to stdout for Wireshark. Cleanup of the debug pod is the
// caller's (the returned func), so the command layer can tie it to signals.
package capture

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/outfile"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/target"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Stdout is the Output that streams the capture to Config.Stdout.
const Stdout = "-"

// Config is one capture, validated by the command layer.
type Config struct {
	Client    kubernetes.Interface
	Exec      nodeexec.Executor
	Collector nodeexec.Collector

	Namespace string // the target's namespace
	Target    string // pod/x, deploy/x, node/x, ...
	DebugPod  debugpod.Options

	Filters []pktmon.Filter // OR'ed; a pod target narrows each to its IP
	// To, when set, narrows the capture to the traffic between the target and that
	// destination (see Filters); each of Filters is intersected with it.
	To       *pathplan.Target
	Duration time.Duration
	MaxBytes int64
	Drops    bool

	// Output is the file to write, or Stdout. Force replaces an existing file.
	Output string
	Force  bool
	Stdout io.Writer
	// Track is told each temporary file being written, so an abrupt exit can remove it.
	Track func(tmp string) (release func())

	// Stop, once closed, asks the node to end the capture now and send what it has (the
	// first Ctrl-C). Cancelling the context instead abandons it.
	Stop <-chan struct{}

	Progress *progress.Reporter
	// CollectorLog receives the collector's log lines; nil discards them.
	CollectorLog io.Writer
}

// Result is a finished capture.
type Result struct {
	Node, Pod string
	// Files written, the capture first; for Stdout, "-".
	Files   []string
	Format  string // wire.CaptureFormatPcapng or ETL
	Packets int    // counted in the pcapng; -1 when not known (ETL)
	Bytes   int64  // of the capture file
	Reason  string // why it stopped (wire.Stop*)
	Note    string // the node's remark: a stale session stopped, no pcapng conversion
	Elapsed time.Duration
	// Drops is a drops capture's summary (nil for other captures, or when the node sent an
	// .etl); DropErrors are the per-component files that could not be read.
	Drops      *Drops
	DropErrors []string
}

// Run captures. cleanup is non-nil whenever a debug pod may exist, even when Run fails, and
// must then be called; it is nil when none was made.
func Run(ctx context.Context, cfg Config) (res *Result, cleanup func() error, err error) {
	p := cfg.Progress
	if p == nil {
		p = progress.New(nil, true)
	}
	p.Start("resolving " + cfg.Target)
	tgt, err := target.Resolve(ctx, cfg.Client, cfg.Namespace, cfg.Target)
	if err != nil {
		p.Fail("")
		return nil, cleanup, err
	}
	args := []string{"capture", "--duration", cfg.Duration.String(), "--max-bytes", fmt.Sprint(cfg.MaxBytes)}
	res = &Result{Node: tgt.Node.Name, Packets: -1}
	if tgt.Pod != nil {
		if tgt.Pod.Status.PodIP == "" {
			p.Fail("")
			return nil, cleanup, fmt.Errorf("pod %s/%s has no IP yet (phase %s), so there is no traffic of its own to capture; wait until it runs, or capture its node: kubectl winnet capture node/%s",
				tgt.Pod.Namespace, tgt.Pod.Name, tgt.Pod.Status.Phase, tgt.Node.Name)
		}
		res.Pod = tgt.Pod.Namespace + "/" + tgt.Pod.Name
		args = append(args, "--pod-ip", tgt.Pod.Status.PodIP)
		p.Done(fmt.Sprintf("pod %s on node %s, IP %s", res.Pod, tgt.Node.Name, tgt.Pod.Status.PodIP))
	} else {
		p.Done("node " + tgt.Node.Name)
	}
	if tgt.Note != "" {
		p.Info("%s", tgt.Note)
	}
	filters, err := planFilters(ctx, cfg, tgt, p)
	if err != nil {
		return nil, cleanup, err
	}
	for _, f := range filters {
		args = append(args, "--filter", f.Arg())
	}
	if cfg.Drops {
		args = append(args, "--drops")
	}

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
	p.Done(h.Namespace() + "/" + h.Name())

	runner := &nodeexec.Runner{Exec: cfg.Exec, Pod: h.Pod, Container: h.Pod.Spec.Containers[0].Name,
		Collector: cfg.Collector, Fresh: !h.Reused, Progress: p.Update}
	p.Start(fmt.Sprintf("capturing on node %s (up to %s or %s; Ctrl-C stops it and keeps what was captured)", tgt.Node.Name, cfg.Duration, humanBytes(cfg.MaxBytes)))
	err = run(ctx, cfg, runner, args, res, p)
	if err != nil {
		p.Fail("")
		return nil, cleanup, err
	}
	return res, cleanup, nil
}

// planFilters makes the capture's filters before any debug pod exists: --to is looked up
// and paired with the target, and the --filter flags narrowed to that traffic.
func planFilters(ctx context.Context, cfg Config, tgt *target.Target, p *progress.Reporter) ([]pktmon.Filter, error) {
	in := FilterInput{User: cfg.Filters}
	ns := cfg.Namespace
	if tgt.Pod != nil {
		ns = tgt.Pod.Namespace
		in.Who = "pod " + tgt.Pod.Namespace + "/" + tgt.Pod.Name
		if ip, err := netip.ParseAddr(tgt.Pod.Status.PodIP); err == nil {
			in.Source = ip.Unmap()
		}
	}
	if cfg.To != nil {
		p.Start("resolving --to " + cfg.To.String())
		r, eps, err := lookupTo(ctx, cfg.Client, *cfg.To, ns)
		if err != nil {
			p.Fail("")
			return nil, err
		}
		in.To, in.Endpoints = r, eps
		what := r.Target.String() + " at " + r.IP
		if r.Target.Kind == pathplan.KindService {
			what = fmt.Sprintf("Service %s/%s, VIP %s and %d ready backend", r.Namespace, r.Target.Name, r.IP, len(eps))
			if len(eps) != 1 {
				what += "s"
			}
		}
		p.Done(what)
	}
	filters, notes, err := Filters(in)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		p.Info("note: %s", n)
	}
	if cfg.To != nil {
		var shown []string
		for i, f := range filters {
			if i == 4 {
				shown = append(shown, fmt.Sprintf("and %d more", len(filters)-i))
				break
			}
			shown = append(shown, f.String())
		}
		n := fmt.Sprintf("%d pktmon filters", len(filters))
		if len(filters) == 1 {
			n = "1 pktmon filter"
		}
		p.Info("capturing only %s: %s (%s)", between(in), n, strings.Join(shown, "; "))
	}
	return filters, nil
}

// run executes the capture on the node, reading the tar stream from its stdout and the
// status records from its stderr.
func run(ctx context.Context, cfg Config, runner *nodeexec.Runner, args []string, res *Result, p *progress.Reporter) error {
	begin := time.Now()
	st := &statusReader{p: p, res: res, log: cfg.CollectorLog, total: cfg.Duration}

	outR, outW := io.Pipe()
	received := make(chan error, 1)
	go func() {
		err := receive(outR, cfg, res)
		// Drain, so the exec never blocks on a reader that gave up.
		_, _ = io.Copy(io.Discard, outR)
		received <- err
	}()

	// The control channel: one "stop" line when cfg.Stop closes. It stays open otherwise;
	// the node reads its end as "the plugin is gone".
	var ctlMu sync.Mutex
	var ctls []*io.PipeWriter
	newStdin := func() io.Reader {
		r, w := io.Pipe()
		ctlMu.Lock()
		ctls = append(ctls, w)
		ctlMu.Unlock()
		return r
	}
	stopSent := make(chan struct{})
	go func() {
		select {
		case <-cfg.Stop:
			ctlMu.Lock()
			for _, w := range ctls {
				go func() { _, _ = io.WriteString(w, "stop\n") }()
			}
			ctlMu.Unlock()
			close(stopSent)
		case <-ctx.Done():
		}
	}()

	runErr := runner.RunWithInput(ctx, args, newStdin, outW, st)
	_ = outW.Close()
	recvErr := <-received
	ctlMu.Lock()
	for _, w := range ctls {
		_ = w.Close()
	}
	ctlMu.Unlock()
	st.flush()
	res.Elapsed = time.Since(begin)
	switch {
	case runErr != nil:
		if msg := st.errorText(); msg != "" {
			return fmt.Errorf("%w\nthe collector on node %s said: %s", runErr, res.Node, msg)
		}
		return runErr
	case recvErr != nil:
		return recvErr
	case len(res.Files) == 0:
		return fmt.Errorf("the collector on node %s ended without sending a capture; its log: %s", res.Node, st.errorText())
	}
	select {
	case <-stopSent:
		if res.Reason == "" {
			res.Reason = wire.StopAsked
		}
	default:
	}
	p.Done(summary(res))
	return nil
}

// receive reads the tar stream: the capture goes to cfg.Output (or cfg.Stdout), a text
// rendering beside it.
func receive(r io.Reader, cfg Config, res *Result) error {
	tr := tar.NewReader(r)
	var drops dropCounter
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if cfg.Drops && res.Format == wire.CaptureFormatPcapng {
				res.Drops = drops.result(res.Packets)
				res.DropErrors = drops.errs
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the capture stream from node %s: %w", res.Node, err)
		}
		if strings.HasPrefix(hdr.Name, wire.CaptureDropsDir) {
			drops.add(hdr.Name, tr) // counted, not written: they only say who dropped what
			continue
		}
		ext := strings.TrimPrefix(filepath.Ext(hdr.Name), ".")
		capture := ext == wire.CaptureFormatPcapng || ext == wire.CaptureFormatETL
		if capture {
			res.Format = ext
			res.Bytes = hdr.Size
		}
		if cfg.Output == Stdout {
			if !capture {
				continue // a text rendering has no place in a pipe to Wireshark
			}
			if err := copyCounting(cfg.Stdout, tr, res, ext); err != nil {
				return fmt.Errorf("writing the capture to stdout: %w", err)
			}
			res.Files = append(res.Files, Stdout)
			continue
		}
		dest := destination(cfg.Output, ext, capture)
		err = outfile.Write("the capture", dest, cfg.Force, cfg.Track, func(w io.Writer) error {
			if capture {
				return copyCounting(w, tr, res, ext)
			}
			_, err := io.Copy(w, tr)
			return err
		})
		if err != nil {
			return err
		}
		res.Files = append(res.Files, dest)
	}
}

// destination is where an entry goes: the capture at Output (an .etl at Output with its
// extension changed, since it is not a pcapng), the text rendering beside it.
func destination(output, ext string, capture bool) string {
	base := strings.TrimSuffix(output, filepath.Ext(output))
	switch {
	case capture && ext == wire.CaptureFormatPcapng:
		return output
	case capture:
		return base + ".etl"
	}
	return base + "." + ext
}

// copyCounting copies a capture, counting a pcapng's packets on the way.
func copyCounting(w io.Writer, r io.Reader, res *Result, ext string) error {
	if ext != wire.CaptureFormatPcapng {
		_, err := io.Copy(w, r)
		return err
	}
	// The count comes from reading the very bytes written, through a tee, so it is the
	// file's own; a file pcapgo cannot read is still written, its count unknown.
	if n, err := countPackets(io.TeeReader(r, w)); err == nil {
		res.Packets = n
	}
	_, err := io.Copy(w, r) // whatever the reader did not consume
	return err
}

// statusReader takes the collector's stderr: status records become progress, other lines
// are its log (kept, the last of them, for error messages).
type statusReader struct {
	p     *progress.Reporter
	res   *Result
	log   io.Writer
	total time.Duration

	mu        sync.Mutex
	lastShown time.Time // running updates are shown every few seconds, not every record
	partial   []byte
	tail      []string
	errs      []string
}

func (s *statusReader) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(string(bytes.TrimRight(s.partial[:i], "\r")))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 { // a line that never ends is log, not a record
		s.line(string(s.partial))
		s.partial = nil
	}
	return len(b), nil
}

func (s *statusReader) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line(string(s.partial))
		s.partial = nil
	}
}

func (s *statusReader) line(l string) {
	var rec wire.Record
	if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &rec) == nil && rec.V == wire.SchemaMajor {
		switch {
		case rec.Type == wire.TypeError:
			s.errs = append(s.errs, rec.Error)
			return
		case rec.Kind == wire.KindCaptureStatus:
			var cs wire.CaptureStatus
			if json.Unmarshal(rec.Data, &cs) == nil {
				s.status(cs)
			}
			return
		}
	}
	if s.log != nil {
		fmt.Fprintln(s.log, l)
	}
	s.tail = append(s.tail, l)
	if len(s.tail) > 20 {
		s.tail = s.tail[1:]
	}
}

func (s *statusReader) status(cs wire.CaptureStatus) {
	if cs.Note != "" {
		s.res.Note = cs.Note
	}
	switch cs.State {
	case wire.CaptureRunning:
		if time.Since(s.lastShown) < runningEvery {
			return
		}
		s.lastShown = time.Now()
		elapsed := time.Duration(cs.ElapsedMS) * time.Millisecond
		s.p.Update(fmt.Sprintf("capturing: %s of %s, %s on the node", elapsed.Round(time.Second), s.total, humanBytes(max(cs.Bytes, 0))))
	case wire.CaptureStopped:
		s.res.Reason = cs.Reason
		s.p.Update(fmt.Sprintf("stopped (%s); converting on the node", describeReason(cs.Reason)))
	case wire.CaptureSending:
		s.p.Update(fmt.Sprintf("receiving %s", humanBytes(max(cs.Bytes, 0))))
	}
}

// errorText is what the collector reported as its error, or else its last log lines.
func (s *statusReader) errorText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		return strings.Join(s.errs, "; ")
	}
	return strings.Join(s.tail, "\n")
}

// runningEvery spaces the running updates: piped stderr gets a line for each.
const runningEvery = 2 * time.Second

func describeReason(r string) string {
	switch r {
	case wire.StopDuration:
		return "the duration was reached"
	case wire.StopSize:
		return "the size limit was reached"
	case wire.StopAsked:
		return "stopped by Ctrl-C"
	case wire.StopSignal:
		return "the collector was signalled"
	}
	return r
}

func summary(r *Result) string {
	what := humanBytes(r.Bytes)
	if r.Packets >= 0 {
		what = fmt.Sprintf("%d packets, %s", r.Packets, what)
	}
	return fmt.Sprintf("%s in %s (%s)", what, r.Elapsed.Round(100*time.Millisecond), describeReason(r.Reason))
}

// humanBytes is n in B, KB, MB or GB (decimal, as file managers show).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
