package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The capture process writes what is due this often: often enough that the file grows
// smoothly for a collector polling its size, seldom enough to cost nothing on 2 cores.
const flushEvery = 50 * time.Millisecond

// defaultDriverMax ends a capture nobody stopped (a test that forgot to), so no process leaks.
const defaultDriverMax = 15 * time.Minute

// driverMain is the capture process `start` spawns: `__driver STATEDIR SESSIONID`, fd 3 the
// pipe on which it says it is capturing (readyMsg) or why not. It holds driver.lock for its
// life, writes the session's packets into the file until SIGTERM (stop), its lifetime cap or
// the state folder's disappearance, and then records the session's end.
func driverMain(args []string, stderr io.Writer) int {
	ready := os.NewFile(3, "ready")
	fail := func(err error) int {
		fmt.Fprintln(stderr, "capture process:", err)
		if ready != nil {
			_, _ = io.WriteString(ready, err.Error())
			ready.Close()
		}
		return 1
	}
	if len(args) != 2 {
		return fail(errors.New("internal use only: " + driverArg + " STATEDIR SESSIONID"))
	}
	st, id := state{dir: args[0]}, args[1]
	lock, ok, err := st.lockDriver()
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(errors.New("another capture is running"))
	}
	defer lock.Close()
	sess, err := st.session()
	if err != nil {
		return fail(err)
	}
	if sess == nil || sess.ID != id {
		return fail(errors.New("the session to capture is gone from the state folder"))
	}
	maxRun := defaultDriverMax
	if v := os.Getenv(driverMaxEnv); v != "" {
		if maxRun, err = time.ParseDuration(v); err != nil || maxRun <= 0 {
			return fail(fmt.Errorf("%s=%q is not a positive duration", driverMaxEnv, v))
		}
	}
	dirInfo, err := os.Stat(st.dir)
	if err != nil {
		return fail(err)
	}
	flows, err := loadCapture(sess.CaptureJSON)
	if err != nil {
		return fail(err)
	}
	gen, meta, err := newGenerator(flows, sess)
	if err != nil {
		return fail(err)
	}
	f, err := os.OpenFile(sess.Options.File, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(fmt.Errorf("creating the log file: %w", err))
	}
	defer f.Close()
	start := time.Now()
	meta.Started = start
	hw := &countingWriter{w: f}
	if err := writeETLHeader(hw, meta); err != nil {
		return fail(fmt.Errorf("writing the log file: %w", err))
	}
	gen.startNS, gen.written = start.UnixNano(), hw.n
	sess.PID, sess.Started = os.Getpid(), start
	if err := st.saveSession(sess); err != nil {
		return fail(err)
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	_, _ = io.WriteString(ready, readyMsg)
	ready.Close()
	ready = nil

	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	lifetime := time.NewTimer(maxRun)
	reason, stateGone, writeFailed := "", false, false
	for reason == "" {
		select {
		case s := <-sigc:
			reason = "stopped (" + s.String() + ")"
		case <-lifetime.C:
			reason = fmt.Sprintf("ended by itself after %s without a stop", maxRun)
		case <-tick.C:
			if err := gen.flush(f, time.Since(start)); err != nil {
				reason, writeFailed = "writing the log file failed: "+err.Error(), true
			}
			// A removed state folder is a test that ended without stopping: nothing can stop
			// this process any more, so it stops itself. A folder made anew at the same path
			// is another node's, which this capture is not.
			if fi, err := os.Stat(st.dir); err != nil || !os.SameFile(fi, dirInfo) {
				reason, stateGone = "the state folder is gone", true
			}
		}
	}
	if !writeFailed {
		if err := gen.flush(f, time.Since(start)); err != nil {
			reason += "; the last write failed: " + err.Error()
		}
	}
	if err := f.Close(); err != nil && !writeFailed {
		reason += "; closing the log file failed: " + err.Error()
	}
	fmt.Fprintf(stderr, "capture process: %s; %d records logged, %d lost to the size cap\n", reason, gen.recs, gen.lost)
	if stateGone {
		return 0
	}
	now := time.Now()
	sess.Ended, sess.EndReason, sess.Written, sess.Lost = &now, reason, gen.recs, gen.lost
	if err := st.saveSession(sess); err != nil {
		fmt.Fprintln(stderr, "capture process: recording the end:", err)
		return 1
	}
	return 0
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// flowGen is one captured flow: its record, built once, and its schedule.
type flowGen struct {
	rec   []byte
	every int64 // ns between packets
	count int64 // 0: no end
	sent  int64 // packets due so far (logged or lost)
}

// generator turns the flows into records as time passes.
type generator struct {
	flows    []*flowGen // only those the session captures
	startNS  int64      // the capture's start, wall clock
	written  int64      // bytes in the file
	capBytes int64      // the -s cap
	full     bool
	recs     int64 // records logged
	lost     int64 // records not logged because the file was full
	buf      []byte
}

// componentsOf numbers the components the flows are logged at, 1..n in the order they first
// appear: the same numbers for every capture of one capture.json, as `list` shows them.
func componentsOf(flows []flowSpec) []component {
	var comps []component
	seen := map[string]bool{}
	for i := range flows {
		name := flows[i].component()
		if !seen[name] {
			seen[name] = true
			comps = append(comps, component{ID: uint16(len(comps) + 1), Name: name})
		}
	}
	return comps
}

// newGenerator decides, once, which flows the session captures (type, components, filters)
// and builds their records; the capture loop then only copies bytes and stamps times.
func newGenerator(flows []flowSpec, sess *session) (*generator, *etlMeta, error) {
	o := sess.Options
	meta := &etlMeta{Options: o, Filters: sess.Filters}
	meta.Components = componentsOf(flows)
	compIDs, reasonIdx, ports := map[string]uint16{}, map[string]uint16{}, map[uint16]bool{}
	for _, c := range meta.Components {
		compIDs[c.Name] = c.ID
	}
	for i := range flows {
		if d := flows[i].Drop; d != nil {
			if _, ok := reasonIdx[d.Reason]; !ok {
				reasonIdx[d.Reason] = uint16(len(meta.Reasons))
				meta.Reasons = append(meta.Reasons, d.Reason)
			}
		}
		if v := flows[i].VXLAN; v != nil && !ports[uint16(v.Port)] {
			ports[uint16(v.Port)] = true
			meta.VXLANPorts = append(meta.VXLANPorts, uint16(v.Port))
		}
	}
	g := &generator{capBytes: int64(o.FileSizeMB) << 20}
	for i := range flows {
		fl := &flows[i]
		drop := fl.Drop != nil
		if (o.Type == "flow" && drop) || (o.Type == "drop" && !drop) {
			continue
		}
		comp := fl.component()
		if o.Comp == "nics" && !strings.Contains(strings.ToLower(comp), "nic") {
			continue
		}
		frame, err := fl.frame()
		if err != nil {
			return nil, nil, err
		}
		if !capturedBy(sess.Filters, frame) {
			continue
		}
		logged := frame
		if o.PktSize > 0 && len(logged) > o.PktSize {
			logged = logged[:o.PktSize]
		}
		var flags uint8
		reason := uint16(noReason)
		if drop {
			flags |= flagDrop
			reason = reasonIdx[fl.Drop.Reason]
		}
		if fl.Direction == "tx" {
			flags |= flagTx
		}
		g.flows = append(g.flows, &flowGen{
			rec:   encodeRecord(0, compIDs[comp], flags, reason, len(frame), logged),
			every: int64(fl.EveryMS) * int64(time.Millisecond),
			count: int64(fl.Count),
		})
	}
	return g, meta, nil
}

// flush writes every packet due by elapsed, in time order across flows, in one write.
func (g *generator) flush(w io.Writer, elapsed time.Duration) error {
	buf := g.buf[:0]
	for {
		var next *flowGen
		var at int64
		for _, f := range g.flows {
			if f.count > 0 && f.sent >= f.count {
				continue
			}
			if t := f.sent * f.every; t <= int64(elapsed) && (next == nil || t < at) {
				next, at = f, t
			}
		}
		if next == nil {
			break
		}
		next.sent++
		// Real pktmon's circular mode would now overwrite the oldest events; the simulation
		// stops growing instead, which is what a test of the size cap observes either way.
		if g.full || g.written+int64(len(buf)+len(next.rec)) > g.capBytes {
			g.full = true
			g.lost++
			continue
		}
		n := len(buf)
		buf = append(buf, next.rec...)
		setRecordTime(buf[n:], g.startNS+at)
		g.recs++
	}
	g.buf = buf
	if len(buf) == 0 {
		return nil
	}
	n, err := w.Write(buf)
	g.written += int64(n)
	return err
}
