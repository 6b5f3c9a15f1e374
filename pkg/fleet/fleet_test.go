package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/diagnose"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/target"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func winNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/os": "windows"}},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.33.1"}}}
}

func choices(n int) []target.NodeChoice {
	out := make([]target.NodeChoice, n)
	for i := range out {
		out[i] = target.NodeChoice{Node: winNode(fmt.Sprintf("win-%03d", i))}
	}
	return out
}

// fakeRun stands in for diagnose.Run: node win-003 lacks a load balancer, the rest are fine.
type fakeRun struct {
	inFlight, peak atomic.Int32
	cleaned        sync.Map
	delay          time.Duration
	fail           map[string]error // node -> error with no result
	partial        map[string]bool  // node -> collector stopped early
	cleanupErr     map[string]error
}

func (f *fakeRun) run(ctx context.Context, cfg diagnose.Config) (*diagnose.Result, func() error, error) {
	node := cfg.Resolved.Node.Name
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	cleanup := func() error { f.cleaned.Store(node, true); return f.cleanupErr[node] }
	if cfg.Cluster == nil || cfg.Cluster.NodeName != node {
		return nil, cleanup, fmt.Errorf("node %s got no facts of its own", node)
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, cleanup, ctx.Err()
	}
	if err := f.fail[node]; err != nil {
		return nil, cleanup, err
	}
	rep := &report.Report{Node: report.Node{Name: node}, Findings: []analyze.Finding{}}
	if node == "win-003" {
		rep.Findings = append(rep.Findings, analyze.Finding{ID: "service-lb-missing", Severity: analyze.SeverityError, Title: "no LB",
			Objects: []analyze.ObjectRef{{Kind: "Service", Namespace: "kube-system", Name: "kube-dns"}}})
	}
	snap := &snapshot.Snapshot{OS: &wire.OSInfo{Build: "20348", UBR: 2849}}
	res := &diagnose.Result{Report: rep, Snapshot: snap}
	if f.partial[node] {
		return res, cleanup, &diagnose.PartialError{Node: node, Cause: errors.New("stream ended")}
	}
	return res, cleanup, nil
}

func runWith(t *testing.T, f *fakeRun, ctx context.Context, cfg Config) (*Result, error) {
	t.Helper()
	old := diagnoseNode
	diagnoseNode = f.run
	t.Cleanup(func() { diagnoseNode = old })
	var objs []corev1.Node
	for _, c := range cfg.Nodes {
		objs = append(objs, *c.Node)
	}
	cs := fake.NewClientset()
	for i := range objs {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &objs[i], metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Base.Client = cs
	return Run(ctx, cfg)
}

func TestRunBoundsConcurrencyAndCleansEveryNode(t *testing.T) {
	f := &fakeRun{delay: 5 * time.Millisecond}
	res, err := runWith(t, f, context.Background(), Config{Nodes: choices(40), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak of %d nodes at once, want at most 4 (and some overlap)", p)
	}
	for _, c := range choices(40) {
		if _, ok := f.cleaned.Load(c.Node.Name); !ok {
			t.Errorf("node %s's debug pod was not cleaned up", c.Node.Name)
		}
	}
	s := res.Report.Summary
	if s.Selected != 40 || s.Diagnosed != 40 || s.Worst != analyze.SeverityError {
		t.Errorf("summary = %+v", s)
	}
	if len(res.Report.Groups) != 1 || strings.Join(res.Report.Groups[0].Nodes, ",") != "win-003" || res.Report.Groups[0].Of != 40 {
		t.Errorf("groups = %+v, want service-lb-missing on win-003 of 40", res.Report.Groups)
	}
	if res.Runs[0].Result.Snapshot != nil || res.Runs[0].Result.Cluster != nil {
		t.Error("snapshots and facts are kept per node without KeepSnapshots")
	}
}

func TestRunMakesRowsOfFailures(t *testing.T) {
	nodes := choices(5)
	nodes[1].Err = errors.New("node win-001 is not Ready")
	f := &fakeRun{fail: map[string]error{"win-002": errors.New("the debug pod never started\nimage pull")},
		partial: map[string]bool{"win-004": true}}
	res, err := runWith(t, f, context.Background(), Config{Nodes: nodes, Concurrency: 2, KeepSnapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"win-000": report.NodeOK, "win-001": report.NodeFailed, "win-002": report.NodeFailed, "win-003": report.NodeOK, "win-004": report.NodeIncomplete}
	for _, row := range res.Report.Nodes {
		if row.Status != want[row.Name] {
			t.Errorf("row %s: status %s, want %s (error %q)", row.Name, row.Status, want[row.Name], row.Error)
		}
	}
	if _, ok := f.cleaned.Load("win-001"); ok {
		t.Error("a node not Ready got a diagnosis (and a cleanup)")
	}
	if s := res.Report.Summary; s.Failed != 2 || s.Incomplete != 1 || s.Diagnosed != 3 {
		t.Errorf("summary = %+v", s)
	}
	if res.Runs[0].Result.Snapshot == nil {
		t.Error("KeepSnapshots dropped the snapshot")
	}
	if got := res.Report.Groups[0].Of; got != 3 {
		t.Errorf("group judged on %d nodes, want 3 (two ok, one incomplete)", got)
	}
}

func TestRunCleanupFailureIsReported(t *testing.T) {
	f := &fakeRun{cleanupErr: map[string]error{"win-001": errors.New("delete refused")}}
	res, err := runWith(t, f, context.Background(), Config{Nodes: choices(3)})
	if !errors.Is(err, ErrCleanup) || !strings.Contains(err.Error(), "node win-001: delete refused") {
		t.Errorf("err = %v, want ErrCleanup naming win-001", err)
	}
	if res == nil || len(res.Report.Nodes) != 3 {
		t.Fatal("the report of every node is still returned")
	}
}

func TestRunInterruptedStartsNoMoreNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRun{delay: time.Hour}
	go func() {
		for f.inFlight.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := runWith(t, f, ctx, Config{Nodes: choices(10), Concurrency: 2})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	started := 0
	f.cleaned.Range(func(any, any) bool { started++; return true })
	if started != 2 {
		t.Errorf("%d nodes started (and cleaned up), want the 2 running when interrupted", started)
	}
	if res.Report.Summary.Failed != 10 {
		t.Errorf("summary = %+v, want all 10 rows failed (2 interrupted, 8 never started)", res.Report.Summary)
	}
}

func TestTraits(t *testing.T) {
	n := winNode("win-1")
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}}
	cni := snapshot.CNIConfig{Path: `C:\etc\cni\net.d\10-flannel.conf`, Name: "cbr0", Type: "flannel", DelegateType: "win-bridge",
		Subnets: []string{"10.244.1.0/24"}, OutBoundNATExceptions: []string{"10.244.0.0/16", "10.0.0.5/32"}}
	snap := &snapshot.Snapshot{OS: &wire.OSInfo{Build: "20348", UBR: 2849}, HNSVersion: "13.2", CNIConfigs: []snapshot.CNIConfig{cni}}
	got := Traits(snap, n)
	if got[TraitWindowsBuild] != "20348.2849" || got[TraitHNSVersion] != "13.2" || got[TraitKubeletVersion] != "v1.33.1" {
		t.Errorf("traits = %v", got)
	}
	if !strings.HasPrefix(got[TraitCNIConfig], "10-flannel.conf (flannel→win-bridge, digest ") {
		t.Errorf("CNI trait = %q", got[TraitCNIConfig])
	}
	// Another node of the pool: its own subnet and address, the same config otherwise.
	n2 := winNode("win-2")
	n2.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.50"}}
	cni2 := cni
	cni2.Subnets, cni2.OutBoundNATExceptions = []string{"10.244.7.0/24"}, []string{"10.244.0.0/16", "10.0.0.50/32"}
	snap2 := *snap
	snap2.CNIConfigs = []snapshot.CNIConfig{cni2}
	if a, b := got[TraitCNIConfig], Traits(&snap2, n2)[TraitCNIConfig]; a != b {
		t.Errorf("nodes differing only in their own subnet and address have CNI traits %q and %q", a, b)
	}
	cni2.OutBoundNATExceptions = []string{"10.0.0.50/32"} // the pod range is no longer excepted
	snap2.CNIConfigs = []snapshot.CNIConfig{cni2}
	if a, b := got[TraitCNIConfig], Traits(&snap2, n2)[TraitCNIConfig]; a == b {
		t.Errorf("a config that differs in substance has the same CNI trait %q", a)
	}
	if got := Traits(nil, nil); len(got) != 0 {
		t.Errorf("traits of nothing = %v", got)
	}
}
