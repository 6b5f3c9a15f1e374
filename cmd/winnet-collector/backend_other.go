//go:build !windows

package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
)

// nodeSources has nothing to read off Windows: only a replay can run here.
func nodeSources(time.Duration, string, []probe.Target) ([]collector.Source, error) {
	return nil, fmt.Errorf("the node backend reads Windows networking and this is %s/%s; "+
		"set %s or pass --replay to a scenario folder to replay raw dumps (see hack/scenarios/README.md)",
		runtime.GOOS, runtime.GOARCH, replayEnv)
}
