// Package fleet diagnoses many Windows nodes in one run: one debug pod per node, at most
// Concurrency at a time, the cluster's objects read once for all of them, and one report that
// groups the findings across nodes. A node that cannot be diagnosed is a row in the report,
// never the end of the run.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kubectl-winnet/winnet/pkg/diagnose"
	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/target"
)

// DefaultConcurrency is how many nodes are diagnosed at once unless told otherwise: enough to
// hide each node's pod start and upload behind the others', few enough that the API server
// and the user's uplink (one collector upload per node) are not swamped.
const DefaultConcurrency = 10

// Config is a many-node run.
type Config struct {
	// Base is the per-node diagnosis: Client, Exec, Collector, DebugPod, Since and
	// PluginVersion are used; Target, Resolved, Cluster and Progress are set per node.
	Base        diagnose.Config
	Nodes       []target.NodeChoice
	Notes       []string // what the selection left out, for the report
	Namespace   string   // the fallback scope when cluster-wide reads are forbidden
	Concurrency int
	// KeepSnapshots keeps every node's raw snapshot in the result, for a bundle; without it
	// they are dropped as soon as a node is analyzed, so memory stays flat with node count.
	KeepSnapshots bool
	Progress      *progress.Tally
}

// Result is a finished many-node run.
type Result struct {
	Report *report.Fleet
	// Runs holds each node's diagnosis, by node name order; Snapshot is nil in each unless
	// Config.KeepSnapshots.
	Runs    []NodeRun
	Cluster *facts.Shared
}

// NodeRun is one node's diagnosis.
type NodeRun struct {
	Node   string
	Result *diagnose.Result // nil when the node could not be diagnosed
	Err    error
}

// ErrCleanup means a debug pod could not be removed; the report still holds every node.
var ErrCleanup = errors.New("a debug pod could not be removed")

// Run diagnoses every node in cfg.Nodes. Each node's debug pod is removed as soon as its
// diagnosis ends, so at most Concurrency pods exist at once. When ctx is cancelled, nodes not
// yet started are not started, running ones stop and clean up, and Run returns ctx's error
// with the result so far.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	conc := cfg.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	tally := cfg.Progress
	if tally == nil {
		tally = progress.NewTally(nil, true, 0)
	}
	var names []string
	for _, n := range cfg.Nodes {
		if n.Err == nil {
			names = append(names, n.Node.Name)
		}
	}
	shared := facts.GatherShared(ctx, cfg.Base.Client, names, cfg.Namespace)
	for what, why := range shared.Missing() {
		tally.Info("could not read %s: %s", what, why)
	}

	runs := make([]NodeRun, len(cfg.Nodes))
	traits := make([]map[string]string, len(cfg.Nodes))
	var cleanupErrs []error
	var mu sync.Mutex
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, choice := range cfg.Nodes {
		name := choice.Node.Name
		runs[i].Node = name
		if choice.Err != nil {
			runs[i].Err = choice.Err
			tally.Finish(name, true, firstLine(choice.Err.Error()))
			continue
		}
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-sem
			}
			runs[i].Err = fmt.Errorf("not diagnosed: the run was interrupted before node %s's turn", name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tally.Begin()
			dc := cfg.Base
			dc.Target = "node/" + name
			dc.Resolved = &target.Target{Node: choice.Node, From: dc.Target}
			dc.Cluster = shared.For(name)
			dc.Progress = nil
			res, cleanup, err := diagnoseNode(ctx, dc)
			if cleanup != nil {
				if cerr := cleanup(); cerr != nil {
					mu.Lock()
					cleanupErrs = append(cleanupErrs, fmt.Errorf("node %s: %w", name, cerr))
					mu.Unlock()
					if err == nil {
						err = cerr
					}
				}
			}
			var partial *diagnose.PartialError
			if err != nil && !(errors.As(err, &partial) && res != nil) {
				res = nil
			}
			if res != nil {
				traits[i] = Traits(res.Snapshot, choice.Node)
				if !cfg.KeepSnapshots {
					res.Snapshot = nil
				}
				res.Cluster = nil // shared by every node; kept once in Result.Cluster
			}
			runs[i].Result, runs[i].Err = res, err
			tally.Finish(name, res == nil, outcome(res, err))
		}()
	}
	wg.Wait()
	tally.Close()

	results := make([]report.NodeResult, len(runs))
	for i, r := range runs {
		results[i] = report.NodeResult{Name: r.Node, Err: r.Err, Traits: traits[i]}
		if r.Result != nil {
			results[i].Report = r.Result.Report
		}
	}
	out := &Result{Report: report.BuildFleet(results, report.Versions{Version: cfg.Base.PluginVersion, CollectorSHA256: collectorSHA(cfg.Base)}, cfg.Notes),
		Runs: runs, Cluster: shared}
	if len(cleanupErrs) > 0 {
		return out, fmt.Errorf("%w: %w", ErrCleanup, errors.Join(cleanupErrs...))
	}
	return out, ctx.Err()
}

// diagnoseNode is diagnose.Run; tests replace it to watch the fan-out without debug pods.
var diagnoseNode = diagnose.Run

func collectorSHA(c diagnose.Config) string {
	if c.Collector == nil {
		return ""
	}
	return c.Collector.SHA256()
}

// outcome is a node's progress line.
func outcome(res *diagnose.Result, err error) string {
	if res == nil {
		return firstLine(err.Error())
	}
	s := "no findings"
	switch n := len(res.Report.Findings); n {
	case 0:
	case 1:
		s = "1 finding"
	default:
		s = fmt.Sprintf("%d findings", n)
	}
	if w := res.Report.Worst(); w != "" {
		s += ", worst " + w
	}
	if err != nil {
		s += "; incomplete: " + firstLine(err.Error())
	}
	return s
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
