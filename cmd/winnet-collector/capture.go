package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector/capture"
	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// pktmonEnv names the simulated pktmon a replay runs: the end-to-end tests' stand-in. It is
// read only with a replay folder, so on a node the collector only ever runs the inbox one.
const pktmonEnv = "WINNET_PKTMON"

// filterList collects repeated --filter flags.
type filterList []pktmon.Filter

func (f *filterList) String() string { return fmt.Sprint(len(*f), " filters") }

func (f *filterList) Set(v string) error {
	flt, err := pktmon.ParseArg(v)
	if err != nil {
		return err
	}
	*f = append(*f, flt)
	return nil
}

func captureCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 30*time.Second, "end the capture after this long")
	maxBytes := fs.Int64("max-bytes", 100<<20, "end the capture when pktmon's file reaches this size")
	podIP := fs.String("pod-ip", "", "capture only this pod's traffic (narrows every --filter)")
	drops := fs.Bool("drops", false, "record drop events only")
	replayDir := fs.String("replay", "", "a scenario folder: run the simulated pktmon of $"+pktmonEnv)
	var filters filterList
	fs.Var(&filters, "filter", "a pktmon filter, proto:UDP+ip:10.0.0.5+port:53; repeatable")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "winnet-collector: capture takes only flags, found %q\n", fs.Arg(0))
		return exitUsage
	}
	if *podIP != "" {
		ip, err := netip.ParseAddr(*podIP)
		if err != nil {
			fmt.Fprintf(stderr, "winnet-collector: --pod-ip %q is not an IP address\n", *podIP)
			return exitUsage
		}
		if len(filters) == 0 {
			filters = filterList{{}}
		}
		for i := range filters {
			filters[i] = filters[i].WithIP(ip.Unmap())
		}
	}
	runner, err := pktmonRunner(*replayDir, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "winnet-collector: %v\n", err)
		return exitFail
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "winnet-collector: finding its own folder: %v\n", err)
		return exitFail
	}
	// A write to a closed stdout or stderr must be an error that Run survives, as it is on
	// Windows, not the death by SIGPIPE that Linux deals (the simulated nodes run a Linux
	// build): when the plugin goes away, its exec streams close, and the capture must still
	// stop pktmon and remove its filters after its status and tar writes fail. Caught rather
	// than ignored, so pktmon's own processes do not inherit an ignored SIGPIPE.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	// A signal (the debug pod being deleted) stops the capture the same way; Run still
	// stops pktmon and removes the filters.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := wire.NewEncoder(stderr)
	err = capture.Run(ctx, capture.Config{
		Pktmon:   runner,
		Dir:      filepath.Join(filepath.Dir(exe), "capture"),
		Filters:  filters,
		Duration: *duration,
		MaxBytes: *maxBytes,
		Drops:    *drops,
		Control:  stdin,
		Out:      stdout,
		Status:   enc,
	})
	if err != nil {
		_ = enc.Write(wire.Record{Type: wire.TypeError, Source: "capture", Error: err.Error()})
		fmt.Fprintf(stderr, "winnet-collector: %v\n", err)
		return exitFail
	}
	return exitOK
}

// pktmonRunner is the inbox pktmon on Windows, or the simulated one with a replay folder.
func pktmonRunner(replayDir string, getenv func(string) string) (capture.Runner, error) {
	if replayDir == "" {
		replayDir = getenv(replayEnv)
	}
	if replayDir != "" {
		path := getenv(pktmonEnv)
		if path == "" {
			return nil, fmt.Errorf("a replay capture runs the simulated pktmon named by $%s, which is not set", pktmonEnv)
		}
		return capture.ExecRunner(path), nil
	}
	if runtime.GOOS != "windows" {
		return nil, fmt.Errorf("capture runs pktmon, which exists on Windows only, and this is %s/%s; set %s and %s to replay", runtime.GOOS, runtime.GOARCH, replayEnv, pktmonEnv)
	}
	// The full path: the sandbox folder comes first in a bare name's search.
	root := getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	return capture.ExecRunner(filepath.Join(root, "System32", "pktmon.exe")), nil
}
