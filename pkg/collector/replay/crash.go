package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
)

// CrashFile, when a scenario holds it, names a Go duration (e.g. "2s"): that long into the
// run the collector process dies of a panic no source can recover (it is raised on a goroutine
// of its own), as a fault in a Windows API call would kill it. The other sources' records
// sent before then are on the wire, so the end-to-end tests can check that a crash mid-stream
// yields a partial report and says so.
const CrashFile = "replay-crash"

func crashFromFile(path string) (collector.Source, error) {
	d, err := durationFile(path)
	if err != nil {
		return nil, err
	}
	return crashSource(d), nil
}

type crashSource time.Duration

func (crashSource) Name() string { return "replay.crash" }

func (d crashSource) Collect(ctx context.Context, _ collector.Emitter) error {
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
		go panic(fmt.Sprintf("replay: simulated crash %s into the run (%s)", time.Duration(d), CrashFile))
		<-ctx.Done() // the panic ends the process first
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}
