package diagnose

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/podexec"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// fallbackProbes re-runs, by exec into the target pod itself, the probes the collector returned
// skipped because it could not enter the pod's network compartment. The results replace the
// skipped records in place (the path explanation takes the first record per probe), so the
// analyzer and the explanation see them with the Method that produced them. Nothing here fails
// the run: a pod that cannot be exec'd into leaves the probes skipped, and the returned notes
// say why.
func fallbackProbes(ctx context.Context, ex nodeexec.Executor, pod *corev1.Pod, snap *snapshot.Snapshot, p *progress.Reporter) []string {
	if pod == nil || len(pod.Spec.Containers) == 0 || ex == nil {
		return nil
	}
	var idx []int
	var skipped []wire.ProbeData
	for i, pr := range snap.Probes {
		if podexec.NeedsFallback(pr) {
			idx = append(idx, i)
			skipped = append(skipped, pr)
		}
	}
	if len(skipped) == 0 {
		return nil
	}
	container := pod.Spec.Containers[0].Name
	p.Start(fmt.Sprintf("probing from inside pod %s/%s by exec (the collector could not enter its network compartment)", pod.Namespace, pod.Name))
	r := &podexec.Runner{Exec: ex, Pod: pod, Container: container}
	res, err := r.Run(ctx, skipped)
	if err != nil {
		p.Fail("exec into the pod failed; the probes stay skipped (see the notes)")
		// A note is one line in the report's table: the error's own line breaks become "; ".
		why := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		return []string{fmt.Sprintf("%d pod-scoped probes stayed skipped: the collector could not enter the pod's network compartment, and %s", len(skipped), why)}
	}
	for j, i := range idx {
		snap.Probes[i] = res.Probes[j]
		// Keep the answer in the raw records too, so a bundle re-analyzed later sees it
		// (snapshot.Builder lets it replace the skipped record).
		if raw, err := json.Marshal(res.Probes[j]); err == nil && res.Probes[j].Verdict != "skipped" {
			snap.Raw = append(snap.Raw, wire.Record{V: wire.SchemaMajor, Type: wire.TypeProbe, Source: "exec-fallback", Data: raw})
		}
	}
	methods := res.Methods()
	tools := "no probing tool"
	if len(res.Tools) > 0 {
		tools = strings.Join(res.Tools, ", ")
	}
	if len(methods) == 0 {
		p.Done("the image has " + tools + "; every probe stayed skipped")
		return []string{fmt.Sprintf("the collector could not enter the pod's network compartment, and container %s's image (with %s) cannot run the pod-scoped probes either, so they stayed skipped; each probe's error says why", container, tools)}
	}
	done := 0
	for _, pr := range res.Probes {
		if pr.Verdict != "skipped" {
			done++
		}
	}
	p.Done(fmt.Sprintf("%d of %d probes answered with %s from container %s", done, len(res.Probes), strings.Join(methods, ", "), container))
	return []string{fmt.Sprintf("the collector could not enter the pod's network compartment; %d of %d pod-scoped probes ran inside container %s instead (%s), the pod's own view but through its image's tools", done, len(res.Probes), container, strings.Join(methods, ", "))}
}
