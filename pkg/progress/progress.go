// Package progress reports a run's stages on stderr: one line per finished stage, and a spinner
// on the current one only when stderr is a terminal that can take it (not under NO_COLOR,
// TERM=dumb, or when piped), so logs and CI output stay clean.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Reporter prints stage progress. The zero value discards everything.
type Reporter struct {
	mu      sync.Mutex
	w       io.Writer
	spin    bool
	stage   string
	started time.Time
	stop    chan struct{}
	done    chan struct{}
	now     func() time.Time
}

// New returns a Reporter writing to w; quiet discards output.
func New(w io.Writer, quiet bool) *Reporter {
	if quiet {
		return &Reporter{}
	}
	return &Reporter{w: w, spin: smartTerminal(w), now: time.Now}
}

func smartTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return true
}

// Start begins a stage, finishing any previous one as done.
func (r *Reporter) Start(stage string) {
	if r.w == nil {
		return
	}
	r.finish("✓", "")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stage, r.started = stage, r.now()
	if !r.spin {
		return
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.spinner(stage, r.stop, r.done)
}

// Update replaces the current stage's text (e.g. with a pod state sentence).
func (r *Reporter) Update(text string) {
	if r.w == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stage == "" {
		return
	}
	if !r.spin {
		fmt.Fprintf(r.w, "  · %s\n", text)
		return
	}
	r.stage = text
}

// Done finishes the current stage successfully, with an optional detail.
func (r *Reporter) Done(detail string) { r.finish("✓", detail) }

// Fail finishes the current stage as failed.
func (r *Reporter) Fail(detail string) { r.finish("✗", detail) }

// Info prints a line that is not a stage (a warning, a note).
func (r *Reporter) Info(format string, args ...any) {
	if r.w == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLine()
	fmt.Fprintf(r.w, "  "+format+"\n", args...)
}

func (r *Reporter) finish(mark, detail string) {
	if r.w == nil {
		return
	}
	r.mu.Lock()
	stop, done := r.stop, r.done
	r.stop, r.done = nil, nil
	r.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stage == "" {
		return
	}
	r.clearLine()
	line := fmt.Sprintf(" %s %s", mark, r.stage)
	if detail != "" {
		line += ": " + detail
	}
	fmt.Fprintf(r.w, "%s (%s)\n", line, r.now().Sub(r.started).Round(time.Millisecond))
	r.stage = ""
}

func (r *Reporter) clearLine() {
	if r.spin {
		fmt.Fprint(r.w, "\r\033[K")
	}
}

var frames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (r *Reporter) spinner(_ string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		r.mu.Lock()
		fmt.Fprintf(r.w, "\r\033[K %s %s", frames[i%len(frames)], r.stage)
		r.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
