package diagnose

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// streamExec plays a collector run: it writes stdout and stderr, then ends with err.
type streamExec struct {
	stdout, stderr string
	err            error
}

func (s streamExec) Exec(_ context.Context, _ *corev1.Pod, _ string, _ []string, _ io.Reader, stdout, stderr io.Writer) error {
	_, _ = io.WriteString(stdout, s.stdout)
	_, _ = io.WriteString(stderr, s.stderr)
	return s.err
}

type keptCollector struct{}

func (keptCollector) SHA256() string          { return strings.Repeat("ab", 32) }
func (keptCollector) Upload() ([]byte, error) { return []byte("tar.gz"), nil }

func records(t *testing.T, write func(e *wire.Encoder)) string {
	t.Helper()
	var b bytes.Buffer
	write(wire.NewEncoder(&b))
	return b.String()
}

func hello(e *wire.Encoder) {
	_ = e.Emit(wire.TypeHello, "collector", "", wire.HelloData{CollectorVersion: "test", SchemaVersion: "1", Backend: "replay"})
}

func osInfo(e *wire.Encoder) {
	_ = e.Emit(wire.TypeArtifact, "os", wire.KindOSInfo, wire.OSInfo{Hostname: "win-node-1"})
}

func done(e *wire.Encoder) { _ = e.Emit(wire.TypeDone, "collector", "", wire.DoneData{Artifacts: 1}) }

// A stream that stops early still yields what arrived once the collector said hello; before
// hello there is nothing to analyze. Each error names what happened.
func TestCollectStopsEarly(t *testing.T) {
	full := records(t, func(e *wire.Encoder) { hello(e); osInfo(e); done(e) })
	head := records(t, func(e *wire.Encoder) { hello(e); osInfo(e) })
	tests := []struct {
		name     string
		run      streamExec
		partial  bool   // a snapshot (with the os artifact) comes back with the error
		wantErr  string // "" for success
		wantMore string
	}{
		{name: "complete", run: streamExec{stdout: full}},
		{name: "crash after an artifact", run: streamExec{stdout: head, stderr: "panic: runtime error: invalid memory address\ngoroutine 1 [running]:\n", err: &nodeexec.ExitError{Code: 2}},
			partial: true, wantErr: "exited with code 2", wantMore: "panic: runtime error"},
		{name: "killed: no done record", run: streamExec{stdout: head},
			partial: true, wantErr: "no done record"},
		{name: "truncated mid-record", run: streamExec{stdout: head + `{"v":1,"type":"artifact","kind":"os.info","data":{"hostn`},
			partial: true, wantErr: "is not a JSON record"},
		{name: "a line that is not NDJSON", run: streamExec{stdout: head + "Access is denied.\n" + records(t, done)},
			partial: true, wantErr: `"Access is denied."`},
		{name: "unknown schema before hello", run: streamExec{stdout: `{"v":9,"type":"hello","data":{}}` + "\n"},
			wantErr: "use a plugin and collector from the same release"},
		{name: "garbage before hello", run: streamExec{stdout: "The system cannot find the path specified.\n"},
			wantErr: "is not a JSON record"},
		{name: "nothing at all", run: streamExec{},
			wantErr: "no hello record"},
		{name: "oversized record", run: streamExec{stdout: head + `{"v":1,"type":"artifact","kind":"file","data":"` + strings.Repeat("x", wire.MaxRecordBytes+1) + `"}` + "\n"},
			partial: true, wantErr: "exceeds"},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "winnet-system", Name: "winnet-x"}, Spec: corev1.PodSpec{NodeName: "win-node-1"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &nodeexec.Runner{Exec: tt.run, Pod: pod, Container: "debug", Collector: keptCollector{}}
			snap, err := collect(context.Background(), r, []string{"collect"}, "win-node-1", nil, progress.New(nil, true))
			if tt.wantErr == "" {
				if err != nil || snap == nil || snap.Done == nil {
					t.Fatalf("collect() = %v, %v; want a complete snapshot", snap, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantMore) {
				t.Fatalf("error %v; want one saying %q %q", err, tt.wantErr, tt.wantMore)
			}
			if !tt.partial {
				if snap != nil {
					t.Errorf("a snapshot came back with nothing to analyze: %+v", snap)
				}
				return
			}
			if snap == nil || snap.OS == nil || snap.OS.Hostname != "win-node-1" {
				t.Fatalf("the records that arrived were lost: %+v", snap)
			}
			if errors.Is(err, context.Canceled) {
				t.Errorf("not a cancellation: %v", err)
			}
		})
	}
}

// A target that does not resolve makes no debug pod, so Run gives no cleanup: nothing then
// tells the user it is removing a pod that never existed.
func TestRunWithoutATargetMakesNoCleanup(t *testing.T) {
	client := kubefake.NewClientset()
	res, cleanup, err := Run(context.Background(), Config{Client: client, Namespace: "shop", Target: "pod/nope"})
	if err == nil || res != nil {
		t.Fatalf("Run = %v, %v; want the resolution error", res, err)
	}
	if cleanup != nil {
		t.Error("Run returned a cleanup although no debug pod was made")
	}
}
