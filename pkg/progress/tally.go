package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Tally reports a many-node run: on a terminal one live line (done/total, failures, running),
// redrawn as nodes finish; otherwise one plain line per finished node, so a log or CI output
// shows every node without control characters. The zero value discards everything.
type Tally struct {
	mu                           sync.Mutex
	w                            io.Writer
	live                         bool
	total, done, failed, running int
	started                      time.Time
	now                          func() time.Time
}

// NewTally returns a Tally of total items writing to w; quiet discards output.
func NewTally(w io.Writer, quiet bool, total int) *Tally {
	if quiet || w == nil {
		return &Tally{}
	}
	return &Tally{w: w, live: smartTerminal(w), total: total, now: time.Now, started: time.Now()}
}

// Begin counts an item as running.
func (t *Tally) Begin() {
	if t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running++
	t.draw()
}

// Finish counts an item as done (failed or not) and, when not live, prints its line.
func (t *Tally) Finish(name string, failed bool, detail string) {
	if t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running > 0 {
		t.running--
	}
	t.done++
	mark := "✓"
	if failed {
		t.failed++
		mark = "✗"
	}
	if t.live {
		// A failure keeps its own line above the live one: it is what the user must read.
		if failed {
			fmt.Fprintf(t.w, "\r\033[K %s %s: %s\n", mark, name, detail)
		}
		t.draw()
		return
	}
	fmt.Fprintf(t.w, " %s [%d/%d] %s: %s\n", mark, t.done, t.total, name, detail)
}

// Close ends the live line with the final counts.
func (t *Tally) Close() {
	if t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	line := fmt.Sprintf("%d of %d nodes diagnosed, %d failed (%s)", t.done-t.failed, t.total, t.failed, t.now().Sub(t.started).Round(time.Millisecond))
	if t.live {
		fmt.Fprintf(t.w, "\r\033[K ✓ %s\n", line)
		return
	}
	fmt.Fprintf(t.w, " ✓ %s\n", line)
}

// Info prints a line that is not a node's result.
func (t *Tally) Info(format string, args ...any) {
	if t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live {
		fmt.Fprint(t.w, "\r\033[K")
	}
	fmt.Fprintf(t.w, "  "+format+"\n", args...)
	t.draw()
}

func (t *Tally) draw() {
	if !t.live {
		return
	}
	fmt.Fprintf(t.w, "\r\033[K diagnosing nodes: %d/%d done, %d failed, %d running (%s)", t.done, t.total, t.failed, t.running,
		t.now().Sub(t.started).Round(time.Second))
}
