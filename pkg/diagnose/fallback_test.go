package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// podExec stands in for pods/exec into the target pod: cmd.exe answers the tool detection,
// nslookup.exe one answer.
type podExec struct {
	err   error
	mu    sync.Mutex // the fallback runs probes concurrently
	calls []string
}

func (f *podExec) Exec(_ context.Context, pod *corev1.Pod, container string, argv []string, _ io.Reader, stdout, _ io.Writer) error {
	f.mu.Lock()
	f.calls = append(f.calls, pod.Name+"/"+container+":"+argv[0])
	f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	switch argv[0] {
	case "cmd.exe":
		fmt.Fprint(stdout, "nslookup.exe\r\n")
	case "nslookup.exe":
		fmt.Fprint(stdout, "Server:  UnKnown\r\nAddress:  10.96.0.10\r\n\r\nName:    kubernetes.default.svc.cluster.local\r\nAddress:  10.96.0.1\r\n\r\n")
	}
	return nil
}

func TestFallbackProbes(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}}}}
	skippedDNS := wire.ProbeData{Target: "kubernetes.default.svc.cluster.local@10.96.0.10:53", Protocol: "dns", Verdict: "skipped",
		Method: wire.ProbeMethodPodCompartment, Error: "cannot enter the network compartment: Hyper-V"}
	hostOK := wire.ProbeData{Target: "10.96.0.1:443", Protocol: "tcp", Verdict: "ok", Method: wire.ProbeMethodHostTCP}
	for _, tt := range []struct {
		name        string
		exec        *podExec
		probes      []wire.ProbeData
		wantVerdict string // of probe 0 afterwards
		wantMethod  string
		wantNote    string // "" means no note
		wantCalls   int
	}{
		{"answered by nslookup", &podExec{}, []wire.ProbeData{skippedDNS, hostOK}, "ok", wire.ProbeMethodExecNslookup, "ran inside container app instead (exec:nslookup)", 2},
		{"exec refused is a note", &podExec{err: errors.New(`pods "web" is forbidden`)}, []wire.ProbeData{skippedDNS}, "skipped", wire.ProbeMethodPodCompartment, "forbidden", 1},
		{"nothing skipped, no exec", &podExec{}, []wire.ProbeData{hostOK}, "ok", wire.ProbeMethodHostTCP, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := &snapshot.Snapshot{Probes: append([]wire.ProbeData(nil), tt.probes...)}
			notes := fallbackProbes(context.Background(), tt.exec, pod, snap, progress.New(nil, true))
			if got := snap.Probes[0]; got.Verdict != tt.wantVerdict || got.Method != tt.wantMethod {
				t.Errorf("probe 0 = %+v, want verdict %s method %s", got, tt.wantVerdict, tt.wantMethod)
			}
			if len(snap.Probes) != len(tt.probes) {
				t.Errorf("%d probes after the fallback, want %d (replaced in place)", len(snap.Probes), len(tt.probes))
			}
			if tt.wantNote == "" && len(notes) > 0 || tt.wantNote != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.wantNote)) {
				t.Errorf("notes = %q, want one containing %q", notes, tt.wantNote)
			}
			if len(tt.exec.calls) != tt.wantCalls {
				t.Errorf("exec calls %q, want %d", tt.exec.calls, tt.wantCalls)
			}
			for _, c := range tt.exec.calls {
				if !strings.HasPrefix(c, "web/app:") {
					t.Errorf("exec went to %s, want the target pod's first container", c)
				}
			}
		})
	}
}
