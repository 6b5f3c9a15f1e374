package winsrc

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"time"
)

// The collector runs a few inbox tools (netsh, hnsdiag, vfpctrl) as child processes, through
// package os/exec: on Windows it builds each command line with syscall.EscapeArg, so an
// argument reaches the tool as it was given. This file is not specific to Windows, so the
// tests run real children on any OS.

// childWaitDelay is how long runChild waits, after the child exits, for its output pipe to
// close. A process the child started may hold the pipe open for ever; the output is then cut
// there rather than waited for.
const childWaitDelay = 2 * time.Second

// childRun says how to run one child.
type childRun struct {
	timeout   time.Duration // the child is killed once it runs this long
	limit     int           // bytes of output kept; the rest is read and counted
	waitDelay time.Duration // 0 means childWaitDelay
}

// childResult is what a child left: its output (stdout and stderr together, as a console
// shows them) and how it ended.
type childResult struct {
	output   []byte // the first limit bytes printed
	total    int64  // bytes printed in all
	exitCode int
	stopped  bool // killed because the context ended (deadline or cancellation)
	timedOut bool // stopped because the deadline passed
	cut      bool // the pipe was still open waitDelay after the exit: output may be missing
}

// runChild starts path with args, its input empty, and waits for it, killing it when ctx ends
// or the run's timeout passes. It returns an error only when the child could not be started
// or waited for; a non-zero exit code, a kill or cut output are in the result, for the caller
// to judge.
func runChild(ctx context.Context, run childRun, path string, args []string) (childResult, error) {
	ctx, cancel := context.WithTimeout(ctx, run.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = childSysProcAttr()
	// One writer for both streams: os/exec then gives the child one pipe for its output and
	// its errors, so they interleave as on a console. Reading on past the limit lets a chatty
	// child finish instead of blocking on a full pipe.
	buf := &cappedBuffer{limit: run.limit}
	cmd.Stdout, cmd.Stderr = buf, buf
	cmd.WaitDelay = run.waitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = childWaitDelay
	}
	if err := cmd.Start(); err != nil {
		return childResult{}, err
	}
	err := cmd.Wait()

	var res childResult
	res.output, res.total = buf.snapshot()
	if ctx.Err() != nil {
		res.stopped = true
		res.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.Is(err, exec.ErrWaitDelay):
		// The child exited 0, but a process it started still held the pipe.
		res.cut = true
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
		if res.exitCode < 0 {
			res.exitCode = 1 // killed by a signal off Windows; TerminateProcess leaves 1 there
		}
	default:
		return res, err
	}
	return res, nil
}

// cappedBuffer keeps the first limit bytes written and counts the rest. It is safe for one
// writer and concurrent snapshots.
type cappedBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	total int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if room := c.limit - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// snapshot returns a copy of what is kept and the total count.
func (c *cappedBuffer) snapshot() ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf...), c.total
}
