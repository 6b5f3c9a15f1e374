//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary run as the collector (TestCaptureSurvivesClosedOutput's child).
const childEnv = "WINNET_TEST_COLLECTOR_ARGS"

// pktmonScript stands in for pktmon: it logs each command line, lists no filters and creates
// the capture file start names.
const pktmonScript = `#!/bin/sh
echo "$*" >> "$PKTMON_LOG"
case "$1 $2" in
"filter list") echo "There are no packet filters." ;;
"start --capture")
	while [ $# -gt 0 ]; do
		if [ "$1" = "-f" ]; then : > "$2"; fi
		shift
	done ;;
esac
exit 0
`

// TestCaptureSurvivesClosedOutput: when the plugin goes away, its exec streams close: stdin
// ends, and writes to stdout and stderr fail. The capture must still stop pktmon and remove
// its filters. On Linux (the simulated nodes' collector) a write to a closed pipe would
// otherwise kill the process with SIGPIPE before its cleanup runs; on Windows it is an error.
func TestCaptureSurvivesClosedOutput(t *testing.T) {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(run(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "pktmon")
	if err := os.WriteFile(script, []byte(pktmonScript), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "pktmon.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCaptureSurvivesClosedOutput$")
	cmd.Env = append(os.Environ(),
		childEnv+"=capture --duration 1m --filter ip:10.0.0.5 --replay "+dir,
		pktmonEnv+"="+script, "PKTMON_LOG="+log)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	errW.Close()
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, errR); close(drained) }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(readFile(log), "start --capture") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the capture never started; pktmon was run as:\n%s", readFile(log))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The plugin is gone: nobody reads the output any more, and stdin ends.
	outR.Close()
	errR.Close()
	<-drained
	stdin.Close()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the collector did not end once its stdin closed; pktmon was run as:\n%s", readFile(log))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		t.Errorf("the collector was killed (%v) instead of ending by itself", err)
	}
	calls := readFile(log)
	start := strings.Index(calls, "start --capture")
	stop := strings.LastIndex(calls, "\nstop\n")
	remove := strings.LastIndex(calls, "\nfilter remove\n")
	if stop < start || remove < stop {
		t.Errorf("pktmon was not stopped and its filters removed after the start:\n%s", calls)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
