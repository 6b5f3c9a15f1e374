package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/diagnose"
	"github.com/kubectl-winnet/winnet/pkg/fleet"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/target"
)

// nodeSelection reads a many-node run from the arguments: several node/NAME targets,
// "nodes" with -l, or --all-nodes. It returns nil for a one-target run.
func nodeSelection(args []string, selector string, all bool) (*target.NodeSelection, error) {
	many := len(args) > 1 || selector != "" || all || (len(args) == 1 && isNodesWord(args[0]))
	if !many {
		if len(args) == 0 {
			return nil, errors.New("no target given: name a pod (pod/NAME), workload, Service or node, or select nodes with: nodes -l SELECTOR, or --all-nodes")
		}
		return nil, nil
	}
	sel := &target.NodeSelection{Selector: selector, All: all}
	for _, a := range args {
		if isNodesWord(a) {
			if len(args) > 1 {
				return nil, fmt.Errorf("%q selects nodes by -l (or all of them); it cannot be mixed with other targets: use nodes -l SELECTOR, or name them as node/A node/B", a)
			}
			if selector == "" {
				sel.All = true
			}
			continue
		}
		ref, err := target.Parse(a)
		if err != nil {
			return nil, err
		}
		if ref.Type() != "node" {
			return nil, fmt.Errorf("%q is not a node: a run over many targets takes nodes only (node/A node/B, nodes -l SELECTOR or --all-nodes); diagnose pods and workloads one at a time", a)
		}
		sel.Names = append(sel.Names, ref.Name)
	}
	if len(sel.Names) > 0 && (selector != "" || all) {
		return nil, errors.New("name nodes (node/A node/B), or select them with nodes -l SELECTOR or --all-nodes, not both")
	}
	if selector != "" && all {
		return nil, errors.New("-l and --all-nodes both select nodes: use one (-l narrows, --all-nodes takes every Windows node)")
	}
	return sel, nil
}

// isNodesWord is the plural resource word, as in kubectl get nodes.
func isNodesWord(a string) bool {
	switch strings.ToLower(a) {
	case "nodes", "node", "no":
		return true
	}
	return false
}

func (o *diagnoseOptions) validateFleet() error {
	if o.to != "" || o.external != "" {
		return errors.New("--to and --external test one pod's path; in a many-node run, test it on one node: kubectl winnet diagnose pod/NAME --to DEST")
	}
	if o.maxConcurrency < 1 {
		return fmt.Errorf("--max-concurrency %d: use at least 1", o.maxConcurrency)
	}
	return nil
}

func (o *diagnoseOptions) runFleet(parent context.Context) error {
	conn, err := connect(o.flags, float32(50+5*o.maxConcurrency))
	if err != nil {
		return err
	}
	collector, restConfig, client := conn.collector, conn.restConfig, conn.client
	pending := &pendingFiles{}
	ctx, podGone, stop := signalContext(parent, o.streams, pending)
	defer stop()

	p := progress.New(o.streams.ErrOut, o.quiet)
	p.Start("selecting nodes")
	nodes, notes, err := target.ResolveNodes(ctx, client, *o.nodes)
	if err != nil {
		p.Fail("")
		return err
	}
	p.Done(fmt.Sprintf("%d Windows nodes", len(nodes)))
	for _, n := range notes {
		p.Info("%s", n)
	}
	if err := o.checkAccess(ctx, client, p); err != nil {
		return err
	}

	res, runErr := fleet.Run(ctx, fleet.Config{
		Base: diagnose.Config{
			Client:    client,
			Exec:      &nodeexec.APIExecutor{Config: restConfig, Client: client},
			Collector: collector,
			Namespace: o.namespace,
			DebugPod: debugpod.Options{
				Namespace: o.debugNamespace, Image: o.image, Keep: o.keep,
				Timeout: o.timeout, Deadline: o.deadline,
			},
			Since:         o.since,
			PluginVersion: Version,
		},
		Nodes:       nodes,
		Notes:       notes,
		Namespace:   o.namespace,
		Concurrency: o.maxConcurrency,
		// A bundle keeps every node's raw records, so they are held until it is written.
		KeepSnapshots: o.bundle != "",
		Progress:      progress.NewTally(o.streams.ErrOut, o.quiet, len(nodes)),
	})
	switch {
	case errors.Is(runErr, fleet.ErrCleanup):
		// Report it, but print what was learned: the error names the pods to remove.
	case runErr != nil && ctx.Err() != nil && parent.Err() == nil:
		return fmt.Errorf("interrupted; every debug pod this run created was removed: %w", runErr)
	case runErr != nil:
		return runErr
	default:
		podGone()
	}
	if err := report.RenderFleetStyled(o.streams.Out, res.Report, o.output, tableStyle(o.color, o.streams.Out)); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if o.bundle != "" {
		if err := bundle.WriteFleetTracking(o.bundle, fleetBundle(res), o.force, pending.track); err != nil {
			return err
		}
		p.Info("bundle written to %s (re-analyze it with: kubectl winnet analyze %s)", o.bundle, o.bundle)
	}
	if runErr != nil {
		return fmt.Errorf("%w; list what is left with: kubectl winnet cleanup --dry-run", runErr)
	}
	if s := res.Report.Summary; s.Failed+s.Incomplete > 0 {
		return fmt.Errorf("%d of %d nodes could not be diagnosed completely (their rows above say why); rerun for those with: kubectl winnet diagnose node/NAME",
			s.Failed+s.Incomplete, s.Selected)
	}
	return failOn(res.Report.Summary.Worst, o.failOn)
}

// fleetBundle assembles the many-node bundle of a finished run: each diagnosed node's raw
// records, its cluster facts and its report; the others with their error.
func fleetBundle(res *fleet.Result) bundle.FleetContents {
	runs := make([]bundle.NodeRun, 0, len(res.Runs))
	for _, r := range res.Runs {
		nr := bundle.NodeRun{Name: r.Node, Err: r.Err}
		if r.Result != nil {
			nr.Report, nr.Snapshot = r.Result.Report, r.Result.Snapshot
			if res.Cluster != nil {
				nr.Cluster = res.Cluster.For(r.Node)
			}
		}
		runs = append(runs, nr)
	}
	return bundle.FromFleet(runs, res.Report, Version, time.Now())
}
