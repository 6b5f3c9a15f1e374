package winsrc

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// The collector runs a few inbox tools (netsh, hnsdiag, vfpctrl) as child processes. It does
// not use package os/exec, which would add about 50 KB to the gzipped collector: startChild
// (CreateProcess on Windows, os.StartProcess elsewhere, where only tests run it) starts the
// process, and runChild below supervises it. This file holds everything that is not specific
// to Windows, so the tests exercise it on any OS.

// childWaitDelay is how long runChild waits, after the child exits, for its output pipe to
// close. A process the child started may hold the pipe open for ever; the output is then cut
// there rather than waited for.
const childWaitDelay = 2 * time.Second

// childProcess is a started child.
type childProcess interface {
	// wait blocks until the process exits and returns its exit code.
	wait() (int, error)
	// kill stops the process (its exit code is then 1).
	kill() error
	// release frees what the process held, once wait has returned.
	release()
}

// childStarter starts path with args (the program name is not among them), its standard
// output and error writing into one pipe whose read end it returns, and its input empty.
type childStarter func(path string, args []string) (childProcess, io.ReadCloser, error)

// childRun says how to run one child.
type childRun struct {
	start     childStarter
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
	cut      bool // the pipe was still open childWaitDelay after the exit: output may be missing
}

// runChild starts path with args and waits for it, killing it when ctx ends or the run's
// timeout passes. It returns an error only when the child could not be started; a non-zero
// exit code, a kill or cut output are in the result, for the caller to judge.
func runChild(ctx context.Context, run childRun, path string, args []string) (childResult, error) {
	ctx, cancel := context.WithTimeout(ctx, run.timeout)
	defer cancel()
	proc, out, err := run.start(path, args)
	if err != nil {
		return childResult{}, err
	}
	defer proc.release()

	buf := &cappedBuffer{limit: run.limit}
	copied := make(chan struct{})
	go func() {
		// Reading on past the limit lets a chatty child finish instead of blocking on a full pipe.
		_, _ = io.Copy(buf, out)
		close(copied)
	}()
	type exit struct {
		code int
		err  error
	}
	exited := make(chan exit, 1)
	go func() {
		code, err := proc.wait()
		exited <- exit{code, err}
	}()

	var res childResult
	var e exit
	select {
	case e = <-exited:
	case <-ctx.Done():
		res.stopped = true
		res.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		_ = proc.kill() // if it fails, the process has exited already
		e = <-exited
	}
	delay := run.waitDelay
	if delay <= 0 {
		delay = childWaitDelay
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-copied:
		_ = out.Close()
	case <-t.C:
		res.cut = true
		// Closing cancels the pending read. It runs apart, so a platform where it blocks
		// cannot keep the collector waiting; the copy goroutine ends with it.
		go func() { _ = out.Close() }()
	}
	res.output, res.total = buf.snapshot()
	if e.err != nil {
		return res, e.err
	}
	res.exitCode = e.code
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

// findOnPath looks for the file exe (a name with its extension, such as hnsdiag.exe) in the
// folders of a Windows PATH value, in order, and returns the first dir\exe that isFile accepts.
// Like exec.LookPath since Go 1.19, it never takes a relative folder (nor the current one):
// the pod's environment sets PATH, and a tool found relative to the working folder is not the
// node's. Quotes around a folder are removed, as cmd.exe does.
func findOnPath(pathEnv, exe string, isFile func(string) bool) (string, bool) {
	for _, dir := range splitWindowsPath(pathEnv) {
		if !isAbsWindows(dir) {
			continue
		}
		p := dir
		if !strings.HasSuffix(p, `\`) && !strings.HasSuffix(p, "/") {
			p += `\`
		}
		p += exe
		if isFile(p) {
			return p, true
		}
	}
	return "", false
}

// splitWindowsPath splits a PATH value at semicolons outside double quotes and drops the quotes.
func splitWindowsPath(s string) []string {
	var dirs []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			dirs = append(dirs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(dirs, cur.String())
}

// isAbsWindows reports whether p is an absolute Windows path: C:\x or a UNC path \\host\share.
func isAbsWindows(p string) bool {
	sep := func(c byte) bool { return c == '\\' || c == '/' }
	if len(p) >= 3 && p[1] == ':' && sep(p[2]) {
		c := p[0] | 0x20
		return 'a' <= c && c <= 'z'
	}
	return len(p) >= 3 && sep(p[0]) && sep(p[1]) && !sep(p[2])
}
