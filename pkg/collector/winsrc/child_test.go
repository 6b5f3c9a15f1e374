package winsrc

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFindOnPath(t *testing.T) {
	files := map[string]bool{
		`C:\Windows\System32\hnsdiag.exe`: true,
		`D:\tools\hnsdiag.exe`:            true,
		`C:\Program Files;x\hnsdiag.exe`:  true,
		`\\srv\share\hnsdiag.exe`:         true,
		`tools\hnsdiag.exe`:               true,
		`D:/tools/hnsdiag.exe`:            true,
	}
	isFile := func(p string) bool { return files[p] }
	tests := []struct {
		name, path, want string
	}{
		{name: "first folder that has it", path: `C:\k;D:\tools;C:\Windows\System32`, want: `D:\tools\hnsdiag.exe`},
		{name: "trailing backslash", path: `C:\Windows\System32\`, want: `C:\Windows\System32\hnsdiag.exe`},
		{name: "forward slash ending", path: `D:/tools/`, want: `D:/tools/hnsdiag.exe`},
		{name: "quoted folder with a semicolon", path: `C:\k;"C:\Program Files;x";D:\tools`, want: `C:\Program Files;x\hnsdiag.exe`},
		{name: "empty entries are skipped", path: `;;D:\tools;`, want: `D:\tools\hnsdiag.exe`},
		{name: "relative folders are never searched", path: `tools;.;C:\Windows\System32`, want: `C:\Windows\System32\hnsdiag.exe`},
		{name: "drive-relative is not absolute", path: `C:tools`, want: ""},
		{name: "UNC share", path: `\\srv\share`, want: `\\srv\share\hnsdiag.exe`},
		{name: "not found", path: `C:\k;E:\bin`, want: ""},
		{name: "empty PATH", path: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findOnPath(tt.path, "hnsdiag.exe", isFile)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("findOnPath(%q) = %q, %v; want %q", tt.path, got, ok, tt.want)
			}
		})
	}
}

// fakeChild is a scripted child: its output is served by a fakePipe, and it exits when
// exit is closed (or when killed).
type fakeChild struct {
	exit    chan struct{}
	code    int
	waitErr error
	killed  bool
}

func (c *fakeChild) wait() (int, error) {
	<-c.exit
	if c.killed {
		return 1, nil
	}
	return c.code, c.waitErr
}

func (c *fakeChild) kill() error {
	c.killed = true
	close(c.exit)
	return nil
}

func (c *fakeChild) release() {}

// fakePipe returns chunks, then EOF; with hold set it blocks after the chunks until closed,
// as a pipe does that a grandchild still holds. drained is closed when a read finds no
// chunk left: the copy has written everything before it.
type fakePipe struct {
	chunks  []string
	hold    bool
	drained chan struct{}
	closed  chan struct{}
}

func newFakePipe(hold bool, chunks ...string) *fakePipe {
	return &fakePipe{chunks: chunks, hold: hold, drained: make(chan struct{}), closed: make(chan struct{})}
}

func (p *fakePipe) Read(b []byte) (int, error) {
	if len(p.chunks) > 0 {
		n := copy(b, p.chunks[0])
		if p.chunks[0] = p.chunks[0][n:]; p.chunks[0] == "" {
			p.chunks = p.chunks[1:]
		}
		return n, nil
	}
	close(p.drained)
	if p.hold {
		<-p.closed
		return 0, errors.New("read cancelled")
	}
	return 0, io.EOF
}

func (p *fakePipe) Close() error {
	if p.hold {
		close(p.closed)
	}
	return nil
}

func TestRunChild(t *testing.T) {
	type want struct {
		output            string
		total             int64
		code              int
		stopped, timedOut bool
		cut               bool
		err               string
	}
	tests := []struct {
		name    string
		chunks  []string
		hold    bool  // the pipe stays open after the exit
		exit    bool  // the child exits by itself (after its output is read)
		code    int   // its exit code
		waitErr error // what waiting for it returns
		cancel  bool  // the caller's context is cancelled
		timeout time.Duration
		limit   int
		want    want
	}{
		{name: "output and exit code", chunks: []string{"hello ", "world"}, exit: true, code: 3, limit: 100,
			want: want{output: "hello world", total: 11, code: 3}},
		{name: "output past the limit is counted, not kept", chunks: []string{"0123456789", "abcdef"}, exit: true, limit: 12,
			want: want{output: "0123456789ab", total: 16}},
		{name: "deadline kills", chunks: []string{"partial"}, timeout: time.Nanosecond, limit: 100,
			want: want{output: "partial", total: 7, code: 1, stopped: true, timedOut: true}},
		{name: "cancellation kills but is no timeout", chunks: []string{"partial"}, cancel: true, limit: 100,
			want: want{output: "partial", total: 7, code: 1, stopped: true}},
		{name: "a pipe held open after the exit is cut", chunks: []string{"early"}, hold: true, exit: true, limit: 100,
			want: want{output: "early", total: 5, cut: true}},
		{name: "waiting fails", exit: true, waitErr: errors.New("wait broke"), limit: 100,
			want: want{err: "wait broke"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pipe := newFakePipe(tt.hold, tt.chunks...)
			child := &fakeChild{exit: make(chan struct{}), code: tt.code, waitErr: tt.waitErr}
			if tt.exit {
				go func() { <-pipe.drained; close(child.exit) }()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() { <-pipe.drained; cancel() }()
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Hour
			}
			// Only a held pipe can outlast the wait delay, so no case races it.
			waitDelay := time.Hour
			if tt.hold {
				waitDelay = 10 * time.Millisecond
			}
			var gotPath string
			var gotArgs []string
			start := func(path string, args []string) (childProcess, io.ReadCloser, error) {
				gotPath, gotArgs = path, args
				return child, pipe, nil
			}
			res, err := runChild(ctx, childRun{start: start, timeout: timeout, limit: tt.limit, waitDelay: waitDelay}, `C:\t.exe`, []string{"a", "b c"})
			if gotPath != `C:\t.exe` || strings.Join(gotArgs, "|") != "a|b c" {
				t.Errorf("started %q %q", gotPath, gotArgs)
			}
			if tt.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want.err) {
					t.Errorf("err = %v, want %q", err, tt.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{output: string(res.output), total: res.total, code: res.exitCode, stopped: res.stopped, timedOut: res.timedOut, cut: res.cut}
			if got != tt.want {
				t.Errorf("runChild = %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("a start failure is an error", func(t *testing.T) {
		start := func(string, []string) (childProcess, io.ReadCloser, error) {
			return nil, nil, errors.New("no such file")
		}
		if _, err := runChild(context.Background(), childRun{start: start, timeout: time.Hour}, "x", nil); err == nil || err.Error() != "no such file" {
			t.Errorf("err = %v", err)
		}
	})
}

// TestRunChildOrphan runs a real child that exits leaving a process of its own holding the
// output pipe: runChild must return what was printed, marked as cut, instead of waiting for it.
func TestRunChildOrphan(t *testing.T) {
	t.Setenv("WINSRC_FAKE_TOOL", "orphan")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := runChild(context.Background(), childRun{start: startChild, timeout: time.Minute, limit: 1 << 10, waitDelay: 100 * time.Millisecond}, self, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.output)
	if pid, ok := strings.CutPrefix(strings.TrimSpace(out), "orphan pid "); ok {
		if n, err := strconv.Atoi(pid); err == nil {
			if p, err := os.FindProcess(n); err == nil {
				_ = p.Kill()
				_, _ = p.Wait()
			}
		}
	}
	if res.exitCode != 0 || res.stopped || !res.cut || !strings.HasPrefix(out, "orphan pid ") {
		t.Errorf("runChild = %+v (output %q)", res, out)
	}
}
