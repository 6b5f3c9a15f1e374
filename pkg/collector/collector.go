// Package collector is the node-side runtime of kubectl winnet: it runs a set of independent
// sources and writes what they find as NDJSON records (package wire) on one stream.
//
// The runtime's promises, which the plugin relies on:
//   - the first record is hello and the last is done, and stdout carries nothing else;
//   - a source that fails, panics or hangs yields one error record; the run goes on;
//   - every source has its own deadline. HNS calls cannot be cancelled on Windows, so a source
//     that overruns is abandoned (its goroutine may keep running) and can no longer write;
//   - logs go to Config.Log (stderr), never to the stream.
//
// Backends (the real Windows one in winsrc, the scenario-folder one in replay) only provide
// sources; they never write to the stream themselves.
package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Defaults for Config.
const (
	DefaultSourceTimeout = 30 * time.Second
	DefaultConcurrency   = 4
)

// Backend names reported in the hello record.
const (
	BackendWindows = "windows"
	BackendReplay  = "replay"
)

// Source is one independent fact gatherer, e.g. "the HCN endpoints" or "the services".
// Collect emits what it finds through out and returns an error when it could not finish; that
// error becomes an error record. Collect should honour ctx where it can.
type Source interface {
	Name() string
	Collect(ctx context.Context, out Emitter) error
}

// Emitter is how a source writes records. Every record it writes carries the source's name.
// After the source returns or overruns its deadline the emitter is closed, and every method
// returns ErrEmitterClosed without writing.
type Emitter interface {
	// Artifact marshals data to JSON and emits it as an artifact of the given kind.
	Artifact(kind string, data any) error
	// RawArtifact emits raw JSON as is (it is compacted onto one line); raw must be valid JSON.
	RawArtifact(kind string, raw []byte) error
	// Probe emits one probe result.
	Probe(p wire.ProbeData) error
	// Error emits an error record and lets the source go on, for a partial failure (one file
	// of many unreadable). A source that cannot go on returns its error instead.
	Error(err error) error
	// Logf writes a diagnostic line to the log (stderr), never to the stream.
	Logf(format string, args ...any)
}

// ErrEmitterClosed is returned by an Emitter used after its source finished or timed out.
var ErrEmitterClosed = errors.New("the source already finished or timed out; its output is no longer accepted")

// Config controls a run.
type Config struct {
	Version       string        // collector version, reported in hello
	Backend       string        // BackendWindows or BackendReplay, reported in hello
	Since         time.Duration // look-back window; hello reports its start as an RFC 3339 time
	SourceTimeout time.Duration // per-source deadline; DefaultSourceTimeout when zero
	Concurrency   int           // sources run at once; DefaultConcurrency when zero
	Log           io.Writer     // diagnostics (stderr); discarded when nil
}

// Run writes hello, runs the sources (at most cfg.Concurrency at once, each with its own
// deadline), then writes done, and returns done's data. Source failures never stop the run;
// they are error records. The returned error is non-nil only when the stream itself could not
// be written: then the output is incomplete and the caller should exit non-zero.
func Run(ctx context.Context, w io.Writer, cfg Config, sources []Source) (wire.DoneData, error) {
	start := time.Now()
	if cfg.SourceTimeout <= 0 {
		cfg.SourceTimeout = DefaultSourceTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	out := newStream(w, cancel)
	r := &runner{cfg: cfg, out: out, log: newLogger(cfg.Log)}

	hello, hashErr := helloData(cfg, start)
	if err := out.emit(wire.TypeHello, "", "", hello); err != nil {
		return wire.DoneData{}, out.failure(err)
	}
	if hashErr != nil {
		// The plugin compares this hash with what it uploaded; say why it is missing.
		r.log.printf("collector", "%v", hashErr)
		_ = out.errorRecord("collector", hashErr.Error())
	}

	var wg sync.WaitGroup
	slots := make(chan struct{}, cfg.Concurrency)
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ctx.Err() != nil {
				r.skip(ctx, src)
				return
			}
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				r.runOne(ctx, src)
			case <-ctx.Done():
				r.skip(ctx, src)
			}
		}()
	}
	wg.Wait()

	done := out.doneData(time.Since(start))
	if err := out.emit(wire.TypeDone, "", "", done); err != nil {
		return done, out.failure(err)
	}
	if err := out.streamErr(); err != nil {
		return done, out.failure(err)
	}
	return done, nil
}

type runner struct {
	cfg Config
	out *stream
	log *logger
}

// runOne runs one source under its deadline and turns every way it can fail into one error
// record. It returns at the deadline even if the source does not.
func (r *runner) runOne(ctx context.Context, src Source) {
	name := sourceName(src)
	start := time.Now()
	_ = r.out.emit(wire.TypeProgress, name, "", wire.ProgressData{Stage: "start"})

	sctx, cancel := context.WithTimeout(ctx, r.cfg.SourceTimeout)
	defer cancel()
	em := &emitter{name: name, out: r.out, log: r.log}
	// Buffered: an abandoned source must be able to finish without anyone receiving.
	result := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				r.log.printf(name, "panic: %v\n%s", p, debug.Stack())
				result <- fmt.Errorf("the collector source panicked: %v; this is a collector bug, please report it with the collector's stderr", p)
			}
		}()
		result <- src.Collect(sctx, em)
	}()

	var err error
	select {
	case err = <-result:
	case <-sctx.Done():
		select {
		case err = <-result: // it finished at the same moment: keep its own outcome
		default:
			err = sctx.Err()
		}
	}
	em.close()

	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			msg = timeoutMessage(r.cfg.SourceTimeout, err)
		} else if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			msg = "the collection was cancelled before this source finished"
		}
		r.log.printf(name, "error: %s", msg)
		_ = r.out.errorRecord(name, msg)
	}
	_ = r.out.emit(wire.TypeProgress, name, "", wire.ProgressData{Stage: "end", DurationMS: time.Since(start).Milliseconds()})
}

// skip reports a source that never started because the run was cancelled.
func (r *runner) skip(ctx context.Context, src Source) {
	name := sourceName(src)
	msg := fmt.Sprintf("not run: the collection was cancelled (%v)", context.Cause(ctx))
	_ = r.out.errorRecord(name, msg)
}

func timeoutMessage(limit time.Duration, err error) string {
	msg := fmt.Sprintf("timed out after %s; the source was abandoned (HNS and SCM calls cannot be cancelled, so it may be stuck on the node); "+
		"the other sources still ran; retry with a larger --source-timeout if the node is just slow", limit)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() == context.DeadlineExceeded.Error() {
		return msg
	}
	return msg + " (" + err.Error() + ")"
}

func sourceName(src Source) string {
	if name := src.Name(); name != "" {
		return name
	}
	return fmt.Sprintf("unnamed-%T", src)
}

func helloData(cfg Config, start time.Time) (wire.HelloData, error) {
	h := wire.HelloData{
		CollectorVersion: cfg.Version,
		SchemaVersion:    wire.SchemaVersion,
		OS:               runtime.GOOS,
		Arch:             runtime.GOARCH,
		Backend:          cfg.Backend,
	}
	if h.CollectorVersion == "" {
		h.CollectorVersion = "dev"
	}
	if host, err := os.Hostname(); err == nil {
		h.Hostname = host
	}
	if cfg.Since > 0 {
		h.Since = start.Add(-cfg.Since).UTC().Format(time.RFC3339)
	}
	sum, err := executableSHA256()
	h.SHA256 = sum
	return h, err
}

// executableSHA256 hashes the running executable, so the plugin can tell which build answered.
func executableSHA256() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot locate the running executable to hash it: %w; the hello record carries no sha256", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot open the running executable %s to hash it: %w; the hello record carries no sha256", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cannot read the running executable %s to hash it: %w; the hello record carries no sha256", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// emitter is one source's view of the stream.
type emitter struct {
	name string
	out  *stream
	log  *logger

	mu     sync.Mutex // held while writing, so close waits for a write in flight
	closed bool
}

func (e *emitter) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
}

func (e *emitter) write(r wire.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrEmitterClosed
	}
	r.Source = e.name
	return e.out.write(r)
}

func (e *emitter) Artifact(kind string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding the %s artifact: %w", kind, err)
	}
	return e.RawArtifact(kind, raw)
}

func (e *emitter) RawArtifact(kind string, raw []byte) error {
	if kind == "" {
		return errors.New("an artifact needs a kind; this is a collector bug")
	}
	if !json.Valid(raw) {
		return fmt.Errorf("the %s artifact is not valid JSON; it was not sent", kind)
	}
	return e.write(wire.Record{Type: wire.TypeArtifact, Kind: kind, Data: raw})
}

func (e *emitter) Probe(p wire.ProbeData) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the probe of %s: %w", p.Target, err)
	}
	return e.write(wire.Record{Type: wire.TypeProbe, Data: raw})
}

func (e *emitter) Error(err error) error {
	if err == nil {
		return nil
	}
	e.log.printf(e.name, "error: %v", err)
	return e.write(wire.Record{Type: wire.TypeError, Error: err.Error()})
}

func (e *emitter) Logf(format string, args ...any) { e.log.printf(e.name, format, args...) }

// stream serialises records onto the writer, counts them, and remembers the first write
// failure: after it, nothing more is written and the run is cancelled.
type stream struct {
	mu        sync.Mutex
	enc       *wire.Encoder
	w         *trackingWriter
	onFail    func()
	artifacts int
	errors    int
}

func newStream(w io.Writer, onFail func()) *stream {
	tw := &trackingWriter{w: w}
	return &stream{enc: wire.NewEncoder(tw), w: tw, onFail: onFail}
}

// write writes one record. An encoding failure (a record over the size limit) is returned to
// the caller and leaves the stream usable; a failure of the writer itself is sticky.
func (s *stream) write(r wire.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.err != nil {
		return s.w.err
	}
	if err := s.enc.Write(r); err != nil {
		if s.w.err != nil {
			s.onFail()
		}
		return err
	}
	switch r.Type {
	case wire.TypeArtifact:
		s.artifacts++
	case wire.TypeError:
		s.errors++
	}
	return nil
}

func (s *stream) emit(typ, source, kind string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding the %s record: %w", typ, err)
	}
	return s.write(wire.Record{Type: typ, Source: source, Kind: kind, Data: raw})
}

func (s *stream) errorRecord(source, msg string) error {
	return s.write(wire.Record{Type: wire.TypeError, Source: source, Error: msg})
}

func (s *stream) doneData(d time.Duration) wire.DoneData {
	s.mu.Lock()
	defer s.mu.Unlock()
	return wire.DoneData{Artifacts: s.artifacts, Errors: s.errors, DurationMS: d.Milliseconds()}
}

func (s *stream) streamErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.err
}

func (s *stream) failure(err error) error {
	if werr := s.streamErr(); werr != nil {
		err = werr
	}
	return fmt.Errorf("writing the collector's output stream: %w; the output is incomplete", err)
}

// trackingWriter remembers the first error of the underlying writer, so the stream can tell
// a broken pipe from a record that could not be encoded.
type trackingWriter struct {
	w   io.Writer
	err error
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		t.err = err
	}
	return n, err
}

// logger writes timestamped diagnostic lines; safe for concurrent use.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer) *logger { return &logger{w: w} }

func (l *logger) printf(source, format string, args ...any) {
	line := fmt.Sprintf("%s winnet-collector [%s] %s\n", time.Now().UTC().Format("15:04:05.000"), source, fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}
