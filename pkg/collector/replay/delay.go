package replay

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
)

// DelayFile, when a scenario holds it, names a Go duration (e.g. "60s"): the replay then adds
// a source that takes that long (or until cancelled, or until its source deadline). It stands
// in for a slow node — HNS calls on a loaded host take seconds — so the end-to-end tests can
// interrupt a run mid-collection.
const DelayFile = "replay-delay"

func delayFromFile(path string) (collector.Source, error) {
	d, err := durationFile(path)
	if err != nil {
		return nil, err
	}
	return DelaySource(d), nil
}

// durationFile reads a knob file that holds one Go duration.
func durationFile(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s must hold a duration such as 2s: %w", path, err)
	}
	return d, nil
}

// DelaySource returns a source that waits for d and emits nothing.
func DelaySource(d time.Duration) collector.Source { return delaySource(d) }

type delaySource time.Duration

func (delaySource) Name() string { return "replay.delay" }

func (d delaySource) Collect(ctx context.Context, _ collector.Emitter) error {
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
