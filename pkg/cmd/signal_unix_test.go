//go:build unix

package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// A second signal exits at once, but first removes the temporary files still being written:
// a bundle interrupted twice is complete or absent, with no hidden .tmp beside it.
func TestSecondSignalRemovesPendingFiles(t *testing.T) {
	exited := make(chan int, 1)
	exit = func(code int) { exited <- code }
	t.Cleanup(func() { exit = os.Exit })

	dir := t.TempDir()
	tmp := filepath.Join(dir, ".report.tar.gz.123.tmp")
	if err := os.WriteFile(tmp, []byte("half a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := filepath.Join(dir, ".other.tar.gz.456.tmp")
	if err := os.WriteFile(done, []byte("moved into place already"), 0o600); err != nil {
		t.Fatal(err)
	}
	pending := &pendingFiles{}
	pending.track(tmp)
	pending.track(done)() // released: its writer finished, the file is not ours to remove

	var errOut syncBuffer
	ctx, _, stop := signalContext(context.Background(), genericiooptions.IOStreams{ErrOut: &errOut}, pending)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wantExit(t, exited)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the pending file is still there (stat: %v)", err)
	}
	if _, err := os.Stat(done); err != nil {
		t.Errorf("a released file was removed: %v", err)
	}
	if !strings.Contains(errOut.String(), "exiting without cleanup") {
		t.Errorf("stderr %q does not say it exits without cleanup", errOut.String())
	}
}

// Once the debug pod is removed (only the report and the bundle are left to write), one
// signal is enough: it removes the half-written bundle and exits.
func TestSignalAfterCleanupExitsAtOnce(t *testing.T) {
	exited := make(chan int, 1)
	exit = func(code int) { exited <- code }
	t.Cleanup(func() { exit = os.Exit })
	tmp := filepath.Join(t.TempDir(), ".b.tar.gz.1.tmp")
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pending := &pendingFiles{}
	pending.track(tmp)
	var errOut syncBuffer
	ctx, podGone, stop := signalContext(context.Background(), genericiooptions.IOStreams{ErrOut: &errOut}, pending)
	defer stop()
	podGone()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wantExit(t, exited)
	if ctx.Err() != nil {
		t.Error("the run was cancelled instead of exited: a second signal would have been needed")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the pending file is still there (stat: %v)", err)
	}
	if !strings.Contains(errOut.String(), "terminated: exiting; nothing is left to clean up") {
		t.Errorf("stderr %q", errOut.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wantExit waits for the stubbed exit and checks its code is 130 (128 + SIGINT, as shells report).
func wantExit(t *testing.T, exited <-chan int) {
	t.Helper()
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("exit code %d, want 130", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the signal did not make the plugin exit")
	}
}
