// Package capture runs one packet capture on the node with pktmon: clear a session an earlier
// winnet run left behind, add the filters, start, wait for the end (duration, size, the
// plugin's stop or its going away, a signal), stop and remove the filters on every path,
// convert to pcapng, and send the files as a tar stream. Status records go to a separate
// writer (the collector's stderr), so the capture bytes stay raw on stdout.
package capture

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Runner runs pktmon with argv and returns its combined output; a non-zero exit is an error
// that still comes with the output.
type Runner func(ctx context.Context, argv ...string) (string, error)

// ExecRunner runs the pktmon program at path.
func ExecRunner(path string) Runner {
	return func(ctx context.Context, argv ...string) (string, error) {
		out, err := exec.CommandContext(ctx, path, argv...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
}

// Limits of one capture: pktmon keeps one session per machine, so a capture must not hold it
// for long, and the file must fit the debug pod's sandbox comfortably.
const (
	MaxDuration = time.Hour
	MaxBytes    = 2 << 30
)

// Config is one capture.
type Config struct {
	Pktmon  Runner
	Dir     string // work folder for the capture files; created, and removed at the end
	Filters []pktmon.Filter
	// Duration ends the capture; it is also the watchdog when nobody stops it.
	Duration time.Duration
	MaxBytes int64 // the capture file's size at which it ends
	Drops    bool  // drop events only

	// Control is read for "stop" lines; its end (the plugin went away) stops the capture too.
	Control io.Reader
	Out     io.Writer     // the tar stream
	Status  *wire.Encoder // status records
	// Poll is how often the file size is checked and the status sent; 0 means 500ms.
	Poll time.Duration
	// StatusFlush is how long the end waits for the last status records to be written when
	// the stream is stalled; 0 means 5s.
	StatusFlush time.Duration
}

// command timeouts: pktmon stop flushes and merges metadata, which takes a while on a busy
// node; the others return at once.
const (
	commandTimeout = 30 * time.Second
	stopTimeout    = 2 * time.Minute
)

// Run captures. It returns an error when the capture could not be made or sent; the filters
// and the session it started are removed whatever happens, even when ctx ends.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.Duration <= 0 || cfg.Duration > MaxDuration {
		return fmt.Errorf("capture duration %s: give one between 1s and %s", cfg.Duration, MaxDuration)
	}
	if cfg.MaxBytes <= 0 || cfg.MaxBytes > MaxBytes {
		return fmt.Errorf("capture size limit %d bytes: give one between 1 byte and %d", cfg.MaxBytes, int64(MaxBytes))
	}
	if len(cfg.Filters) > pktmon.MaxFilters {
		return fmt.Errorf("%d capture filters: pktmon takes at most %d", len(cfg.Filters), pktmon.MaxFilters)
	}
	poll := cfg.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	// Status records go out from their own goroutine: a plugin that stops reading without its
	// stream closing (a stalled connection) must not block the capture loop, whose deadline
	// and stop must still fire, nor the cleanup after it.
	statusCh := make(chan wire.CaptureStatus, 64)
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		for st := range statusCh {
			_ = cfg.Status.Emit(wire.TypeProgress, "capture", wire.KindCaptureStatus, st)
		}
	}()
	flush := cfg.StatusFlush
	if flush <= 0 {
		flush = 5 * time.Second
	}
	defer func() {
		close(statusCh)
		select { // the last records, unless the stream is stalled
		case <-statusDone:
		case <-time.After(flush):
		}
	}()
	status := func(st wire.CaptureStatus) {
		select {
		case statusCh <- st:
		default: // the writer is stuck: a progress record is not worth waiting for
		}
	}
	status(wire.CaptureStatus{State: wire.CaptureStarting})

	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("creating the capture folder: %w", err)
	}
	defer os.RemoveAll(cfg.Dir)

	// Cleanup runs on a context of its own: a signal that ended ctx must not also skip it.
	cleanupCtx := context.WithoutCancel(ctx)
	run := func(timeout time.Duration, argv []string) (string, error) {
		c, cancel := context.WithTimeout(cleanupCtx, timeout)
		defer cancel()
		out, err := cfg.Pktmon(c, argv...)
		if err != nil {
			return out, fmt.Errorf("pktmon %s: %w%s", strings.Join(argv, " "), err, quoted(out))
		}
		return out, nil
	}

	if list, err := run(commandTimeout, pktmon.FilterList()); err != nil {
		return fmt.Errorf("%w\npktmon is inbox on Windows Server 2019 and later; check that this node has it", err)
	} else if pktmon.HasWinnetFilter(list) {
		// A winnet run was killed mid-capture (its pod deleted, the node restarted): its
		// session may still be writing. It is ours to stop.
		_, _ = run(stopTimeout, pktmon.Stop())
		if _, err := run(commandTimeout, pktmon.FilterRemove()); err != nil {
			return err
		}
		status(wire.CaptureStatus{State: wire.CaptureStarting, Note: "a pktmon session left by an earlier winnet capture was stopped"})
	}

	// From the first filter on, every exit path stops pktmon and removes the filters.
	started, filtersIn := false, true
	defer func() {
		var errs []error
		if started {
			if _, e := run(stopTimeout, pktmon.Stop()); e != nil {
				errs = append(errs, e)
			}
		}
		if !filtersIn {
			return
		}
		if _, e := run(commandTimeout, pktmon.FilterRemove()); e != nil {
			errs = append(errs, e)
		}
		if len(errs) > 0 {
			err = errors.Join(append([]error{err}, errs...)...)
		}
	}()
	for i, f := range cfg.Filters {
		if _, err := run(commandTimeout, pktmon.FilterAdd(pktmon.FilterName(i), f)); err != nil {
			return err
		}
	}
	etl := filepath.Join(cfg.Dir, "capture.etl")
	typ := pktmon.TypeAll
	if cfg.Drops {
		typ = pktmon.TypeDrop
	}
	// The cap is above MaxBytes so that this run's size check, not circular overwriting,
	// ends the capture; the cap stays as the disk's guard when this process is killed.
	capMB := int(cfg.MaxBytes>>20) + 2
	if _, err := run(commandTimeout, pktmon.Start(pktmon.StartOptions{File: etl, MaxMB: capMB, Type: typ})); err != nil {
		return fmt.Errorf("%w\npktmon keeps one capture per machine: another capture (not winnet's) may be running on this node", err)
	}
	started = true
	begin := time.Now()
	status(wire.CaptureStatus{State: wire.CaptureRunning})

	reason := wait(ctx, cfg, etl, begin, poll, status)
	_, stopErr := run(stopTimeout, pktmon.Stop())
	started = false
	if stopErr != nil {
		return stopErr
	}
	size := fileSize(etl)
	status(wire.CaptureStatus{State: wire.CaptureStopped, Reason: reason, ElapsedMS: time.Since(begin).Milliseconds(), Bytes: size})

	files, format, note := convert(run, etl, cfg.Drops)
	// pktmon is left clear before the files go out: sending can stall on a slow or stuck
	// connection, and the node must not keep winnet's filters meanwhile.
	if _, err := run(commandTimeout, pktmon.FilterRemove()); err != nil {
		return err
	}
	filtersIn = false
	status(wire.CaptureStatus{State: wire.CaptureSending, Format: format, Note: note, Bytes: size})
	if err := sendTar(cfg.Out, files); err != nil {
		return fmt.Errorf("sending the capture: %w", err)
	}
	status(wire.CaptureStatus{State: wire.CaptureCompleted, Format: format})
	return nil
}

// wait returns why the capture ends, sending a running status each poll.
func wait(ctx context.Context, cfg Config, etl string, begin time.Time, poll time.Duration, status func(wire.CaptureStatus)) string {
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		if cfg.Control == nil {
			<-ctx.Done()
			return
		}
		sc := bufio.NewScanner(cfg.Control)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stop" {
				return
			}
		}
		// EOF or a read error: the plugin is gone, and nobody will read a capture that runs on.
	}()
	deadline := time.NewTimer(cfg.Duration)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return wire.StopSignal
		case <-asked:
			return wire.StopAsked
		case <-deadline.C:
			return wire.StopDuration
		case <-tick.C:
			size := fileSize(etl)
			status(wire.CaptureStatus{State: wire.CaptureRunning, ElapsedMS: time.Since(begin).Milliseconds(), Bytes: size})
			if size >= cfg.MaxBytes {
				return wire.StopSize
			}
		}
	}
}

// convert turns the .etl into the files to send: a pcapng, or, where this Windows build has
// no etl2pcap, the .etl and pktmon's text rendering of it. A drops capture's pcapng holds the
// dropped packets (etl2pcap leaves them out unless asked), its text rendering (where pktmon
// writes each drop's reason) goes beside it, and the per-component files follow.
func convert(run func(time.Duration, []string) (string, error), etl string, drops bool) (files []entry, format, note string) {
	base := strings.TrimSuffix(etl, ".etl")
	pcap, txt := base+".pcapng", base+".txt"
	conv := pktmon.Etl2pcap(etl, pcap)
	if drops {
		conv = pktmon.Etl2pcapDrops(etl, pcap, 0)
	}
	if _, err := run(stopTimeout, conv); err == nil && fileSize(pcap) >= 0 {
		files = []entry{file(pcap)}
		if drops {
			if _, err := run(stopTimeout, pktmon.Etl2txt(etl, txt)); err == nil && fileSize(txt) >= 0 {
				files = append(files, file(txt))
			}
			perComponent, dnote := componentDrops(run, etl, filepath.Dir(etl))
			files = append(files, perComponent...)
			note = dnote
		}
		return files, wire.CaptureFormatPcapng, note
	}
	files = []entry{file(etl)}
	note = "this Windows build's pktmon cannot convert to pcapng (etl2pcap): the raw .etl is sent; open it with Microsoft Network Monitor or convert it on Windows 10 2004+/Server 2022 with `pktmon etl2pcap FILE`"
	if _, err := run(stopTimeout, pktmon.Etl2txt(etl, txt)); err == nil && fileSize(txt) >= 0 {
		files = append(files, file(txt))
		note += "; pktmon's text rendering is sent beside it"
	}
	return files, wire.CaptureFormatETL, note
}

// componentBudget bounds the per-component pass: one etl2pcap per component, each reading the
// whole (drops-only, so small) .etl. A node with hundreds of pod vNICs must not hold the
// capture's end for minutes; components not reached are named in the note.
const componentBudget = 60 * time.Second

// componentDrops sends pktmon's component list and, per component, a pcapng of the packets it
// dropped, for the plugin to count: which component dropped what is the summary a drops
// capture is for, and pktmon tells it only one component at a time.
func componentDrops(run func(time.Duration, []string) (string, error), etl, dir string) ([]entry, string) {
	list, err := run(commandTimeout, pktmon.ListJSON())
	if err != nil {
		return nil, "pktmon could not list its components, so the drops are not counted per component: " + firstLine(err.Error())
	}
	comps, err := pktmon.ParseComponents([]byte(list))
	if err != nil {
		return nil, "pktmon's component list could not be read, so the drops are not counted per component: " + err.Error()
	}
	listFile := filepath.Join(dir, wire.CaptureComponentsFile)
	if err := os.WriteFile(listFile, []byte(list), 0o600); err != nil {
		return nil, "the component list could not be saved: " + err.Error()
	}
	files := []entry{{name: wire.CaptureDropsDir + wire.CaptureComponentsFile, path: listFile}}
	deadline := time.Now().Add(componentBudget)
	var failed, skipped int
	for i, c := range comps {
		if time.Now().After(deadline) {
			skipped = len(comps) - i
			break
		}
		name := wire.CaptureComponentPrefix + strconv.Itoa(c.ID) + ".pcapng"
		out := filepath.Join(dir, name)
		if _, err := run(stopTimeout, pktmon.Etl2pcapDrops(etl, out, c.ID)); err != nil || fileSize(out) < 0 {
			failed++
			continue
		}
		files = append(files, entry{name: wire.CaptureDropsDir + name, path: out})
	}
	var notes []string
	if failed > 0 {
		notes = append(notes, fmt.Sprintf("pktmon could not convert the drops of %d of %d components", failed, len(comps)))
	}
	if skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d components were not counted (the per-component pass stops after %s)", skipped, len(comps), componentBudget))
	}
	return files, strings.Join(notes, "; ")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// entry is one file of the tar stream: its name there and its path here.
type entry struct{ name, path string }

// file is an entry under its base name.
func file(path string) entry { return entry{name: filepath.Base(path), path: path} }

// sendTar writes the files as one tar stream.
func sendTar(w io.Writer, files []entry) error {
	tw := tar.NewWriter(w)
	for _, e := range files {
		if err := addFile(tw, e.name, e.path); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	// The size is fixed by the header: a file still growing would corrupt the stream.
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// fileSize is path's size, -1 when it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func quoted(out string) string {
	if out == "" {
		return ""
	}
	if len(out) > 2000 {
		out = out[:2000] + "…"
	}
	return ": " + out
}
