package winsrc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
)

var awkwardArgs = []string{"b c", `a"b`, `C:\dir with space\`, "", `\\srv\share`, "%PATH%", `x\\"y`}

// TestRunChild runs the test binary as a child (see TestMain in tools_test.go for the modes
// it plays) and checks what runChild makes of each way a tool can end.
func TestRunChild(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mode    string
		timeout time.Duration
		cancel  time.Duration // cancel the caller's context this long after the start
		args    []string      // default a, "b c"
		limit   int
		check   func(t *testing.T, res childResult)
	}{
		{name: "output and exit code", mode: "fail", limit: 100, check: func(t *testing.T, res childResult) {
			if string(res.output) != "HNS is not running\n" || res.exitCode != 3 || res.stopped || res.cut {
				t.Errorf("runChild = %+v (output %q)", res, res.output)
			}
		}},
		{name: "stdout and stderr in one stream", mode: "echo", limit: 1 << 20, check: func(t *testing.T, res childResult) {
			out := string(res.output)
			if !strings.HasPrefix(out, "args: a b c\n") || !strings.HasSuffix(out, "password=Plant3dToolSecret\n") || res.exitCode != 0 {
				t.Errorf("runChild = %+v (output %q)", res, out)
			}
		}},
		// On Windows os/exec joins these into one command line (syscall.EscapeArg) and the
		// child's C runtime splits it again: spaces, quotes, trailing backslashes, an empty
		// argument, a UNC path and what cmd.exe would expand must all come through unchanged.
		{name: "arguments arrive as given", mode: "argv", args: awkwardArgs, limit: 1 << 10, check: func(t *testing.T, res childResult) {
			var want strings.Builder
			for _, a := range awkwardArgs {
				want.WriteString(strconv.Quote(a) + "\n")
			}
			if string(res.output) != want.String() || res.exitCode != 0 {
				t.Errorf("the child saw\n%s\nwant\n%s", res.output, want.String())
			}
		}},
		{name: "input is empty, not the collector's", mode: "stdin", limit: 100, check: func(t *testing.T, res childResult) {
			if string(res.output) != "stdin: 0 bytes\n" || res.exitCode != 0 {
				t.Errorf("runChild = %+v (output %q)", res, res.output)
			}
		}},
		{name: "output past the limit is counted, not kept", mode: "flood", limit: 12, check: func(t *testing.T, res childResult) {
			if string(res.output) != "xxxxxxxxxxxx" || res.total <= int64(nodefiles.MaxToolOutputBytes) || res.exitCode != 0 {
				t.Errorf("runChild = %d bytes kept of %d, exit %d", len(res.output), res.total, res.exitCode)
			}
		}},
		{name: "deadline kills, what was printed is kept", mode: "partial-hang", timeout: 200 * time.Millisecond, limit: 100, check: func(t *testing.T, res childResult) {
			if !res.stopped || !res.timedOut || res.exitCode != 1 || string(res.output) != "partial\n" {
				t.Errorf("runChild = %+v (output %q)", res, res.output)
			}
		}},
		{name: "cancellation kills but is no timeout", mode: "hang", cancel: 200 * time.Millisecond, limit: 100, check: func(t *testing.T, res childResult) {
			if !res.stopped || res.timedOut || res.exitCode != 1 {
				t.Errorf("runChild = %+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WINSRC_FAKE_TOOL", tt.mode)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			args := tt.args
			if args == nil {
				args = []string{"a", "b c"}
			}
			res, err := runChild(ctx, childRun{timeout: timeout, limit: tt.limit}, self, args)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
		})
	}
	t.Run("a start failure is an error", func(t *testing.T) {
		// Not under t.TempDir: Wine fails to remove it afterwards ("Invalid function").
		missing := filepath.Join(os.TempDir(), fmt.Sprintf("winnet-absent-%d", os.Getpid()), "no-such-tool.exe")
		if _, err := runChild(context.Background(), childRun{timeout: time.Minute}, missing, nil); err == nil || !strings.Contains(err.Error(), "no-such-tool.exe") {
			t.Errorf("err = %v, want one naming the tool", err)
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
	start := time.Now()
	res, err := runChild(context.Background(), childRun{timeout: time.Minute, limit: 1 << 10, waitDelay: 100 * time.Millisecond}, self, nil)
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
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("runChild waited %s for the orphan's pipe", d)
	}
}
