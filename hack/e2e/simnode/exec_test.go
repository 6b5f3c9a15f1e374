package simnode

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// collectorScript stands in for the collector's Linux build: it reports its arguments and
// scenario, copies stdin to stdout (so it ends only when stdin ends), then exits with the
// code given as its first argument.
const collectorScript = `#!/bin/sh
echo "args=$*"
echo "replay=$WINNET_COLLECTOR_REPLAY"
cat
exit "$1"
`

type execResult struct {
	stdout, stderr string
	err            error
}

// kubeletExec execs through the simulator's kubelet endpoint the way the API server does:
// SPDY with a client certificate.
func kubeletExec(t *testing.T, sim *Sim, pki *testPKI, node, ns, pod string, argv []string, stdin io.Reader, withCert bool) execResult {
	t.Helper()
	port, ok := sim.NodePort(node)
	if !ok {
		t.Fatalf("no node %s", node)
	}
	q := url.Values{"command": argv, "output": {"1"}, "error": {"1"}}
	if stdin != nil {
		q.Set("input", "1")
	}
	u := &url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", port), Path: fmt.Sprintf("/exec/%s/%s/debug", ns, pod), RawQuery: q.Encode()}
	cfg := &rest.Config{Host: "https://" + u.Host, TLSClientConfig: rest.TLSClientConfig{CAData: pki.caPEM}}
	if withCert {
		cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = pki.clientCertPEM, pki.clientKeyPEM
	}
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		t.Fatalf("NewSPDYExecutor: %v", err)
	}
	var out, errb bytes.Buffer
	err = ex.StreamWithContext(t.Context(), remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Stderr: &errb})
	return execResult{stdout: out.String(), stderr: errb.String(), err: err}
}

func exitCode(err error) (int, bool) {
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}

// uploadTarGz packs content as hack/embed-collector.sh packs the collector.
func uploadTarGz(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: nodecmd.Dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: nodecmd.TarEntry, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func createRunning(t *testing.T, client *fake.Clientset, ns, name, node string, annotations map[string]string) *corev1.Pod {
	t.Helper()
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), newPod(ns, name, "uid-"+name, node, annotations), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if annotations[AnnotationState] != "" {
		return waitPod(t, client, ns, name, "reported", func(p *corev1.Pod, err error) bool { return err == nil && len(p.Status.ContainerStatuses) > 0 })
	}
	return waitPod(t, client, ns, name, "Running", isRunning)
}

func TestExecThroughKubeletEndpoint(t *testing.T) {
	pki := newPKI(t)
	scenario := t.TempDir()
	sim, client := startSim(t, pki,
		NodeSpec{Name: "win", OS: "windows", Scenario: scenario},
		NodeSpec{Name: "lin", OS: "linux"})
	createRunning(t, client, "dbg", "collector", "win", nil)
	sum := sha256.Sum256([]byte(collectorScript))
	digest := hex.EncodeToString(sum[:])

	t.Run("run before upload is a hash mismatch", func(t *testing.T) {
		argv, err := nodecmd.Run(digest, "0")
		if err != nil {
			t.Fatal(err)
		}
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", argv, nil, true)
		if code, ok := exitCode(r.err); !ok || code != nodecmd.ExitHashMismatch || r.stdout != "" {
			t.Fatalf("Run on a fresh pod: err %v, stdout %q; want exit %d and no output", r.err, r.stdout, nodecmd.ExitHashMismatch)
		}
	})
	t.Run("upload and run through stdin", func(t *testing.T) {
		argv, err := nodecmd.UploadAndRun(digest, "0", "-v")
		if err != nil {
			t.Fatal(err)
		}
		upload := uploadTarGz(t, collectorScript)
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", argv, bytes.NewReader(upload), true)
		if r.err != nil {
			t.Fatalf("UploadAndRun: %v (stderr %q)", r.err, r.stderr)
		}
		// tar.exe read stdin to its end, so the script's cat sees none of it.
		if want := "args=0 -v\nreplay=" + scenario + "\n"; r.stdout != want {
			t.Errorf("UploadAndRun stdout = %q, want %q", r.stdout, want)
		}
		if got := sim.Execs(); got[len(got)-1].StdinBytes != int64(len(upload)) {
			t.Errorf("the node received %d bytes of stdin, the client sent %d", got[len(got)-1].StdinBytes, len(upload))
		}
	})
	t.Run("run sees stdin end and the scenario", func(t *testing.T) {
		argv, err := nodecmd.Run(digest, "0", "-v")
		if err != nil {
			t.Fatal(err)
		}
		// The script copies stdin until EOF: it returns only if the pipe to it is closed.
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", argv, strings.NewReader("line from client\n"), true)
		if r.err != nil {
			t.Fatalf("Run: %v (stderr %q)", r.err, r.stderr)
		}
		if want := "args=0 -v\nreplay=" + scenario + "\nline from client\n"; r.stdout != want {
			t.Errorf("Run stdout = %q, want %q", r.stdout, want)
		}
	})
	t.Run("exit code reaches the client", func(t *testing.T) {
		argv, err := nodecmd.Run(digest, "42")
		if err != nil {
			t.Fatal(err)
		}
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", argv, strings.NewReader(""), true)
		if code, ok := exitCode(r.err); !ok || code != 42 {
			t.Errorf("Run: err %v; want exit code 42", r.err)
		}
	})
	t.Run("wrong hash", func(t *testing.T) {
		argv, err := nodecmd.Run(strings.Repeat("a", 64), "0")
		if err != nil {
			t.Fatal(err)
		}
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", argv, strings.NewReader("x"), true)
		if code, ok := exitCode(r.err); !ok || code != nodecmd.ExitHashMismatch || r.stdout != "" {
			t.Errorf("Run with a wrong hash: err %v, stdout %q; want exit %d and no output", r.err, r.stdout, nodecmd.ExitHashMismatch)
		}
	})
	t.Run("linux shell is refused", func(t *testing.T) {
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", []string{"/bin/sh", "-c", "echo hi"}, nil, true)
		if code, ok := exitCode(r.err); !ok || code != 1 || !strings.Contains(r.stderr, "The system cannot find the file specified.") {
			t.Errorf("/bin/sh: err %v, stderr %q", r.err, r.stderr)
		}
	})
	t.Run("client certificate required", func(t *testing.T) {
		r := kubeletExec(t, sim, pki, "win", "dbg", "collector", []string{"cmd.exe", "/c", "echo hi"}, nil, false)
		if r.err == nil {
			t.Fatal("exec without a client certificate succeeded")
		}
		if _, ok := exitCode(r.err); ok {
			t.Errorf("exec without a client certificate ran: %v", r.err)
		}
	})
	t.Run("linux node does not run commands", func(t *testing.T) {
		createRunning(t, client, "dbg", "linpod", "lin", nil)
		r := kubeletExec(t, sim, pki, "lin", "dbg", "linpod", []string{"cmd.exe", "/c", "echo hi"}, nil, true)
		if r.err == nil || !strings.Contains(r.err.Error(), "simulated linux node lin does not run commands") {
			t.Errorf("exec on the linux node: %v", r.err)
		}
	})
	t.Run("pod not started", func(t *testing.T) {
		createRunning(t, client, "dbg", "pulling", "win", map[string]string{AnnotationState: "ErrImagePull"})
		r := kubeletExec(t, sim, pki, "win", "dbg", "pulling", []string{"cmd.exe", "/c", "echo hi"}, nil, true)
		if r.err == nil || !strings.Contains(r.err.Error(), `container not found ("debug")`) {
			t.Errorf("exec into a pending pod: %v", r.err)
		}
	})
	t.Run("wrong node", func(t *testing.T) {
		r := kubeletExec(t, sim, pki, "lin", "dbg", "collector", []string{"cmd.exe", "/c", "echo hi"}, nil, true)
		if r.err == nil || !strings.Contains(r.err.Error(), "pod does not exist") {
			t.Errorf("exec through another node's kubelet: %v", r.err)
		}
	})
	t.Run("records", func(t *testing.T) {
		execs := sim.Execs()
		if sim.ExecCount() != len(execs) || len(execs) < 6 {
			t.Fatalf("ExecCount %d, %d records", sim.ExecCount(), len(execs))
		}
		first := execs[0]
		run, _ := nodecmd.Run(digest, "0")
		if first.Node != "win" || first.Namespace != "dbg" || first.Pod != "collector" || first.Container != "debug" ||
			strings.Join(first.Argv, "\x00") != strings.Join(run, "\x00") || first.ExitCode != nodecmd.ExitHashMismatch || first.StdinBytes != 0 {
			t.Errorf("first record = %+v", first)
		}
	})
}

func TestExecWebSocket(t *testing.T) {
	pki := newPKI(t)
	sim, client := startSim(t, pki, NodeSpec{Name: "win", OS: "windows"})
	createRunning(t, client, "dbg", "ws", "win", nil)
	port, _ := sim.NodePort("win")
	q := url.Values{"command": {"cmd.exe", "/d", "/s", "/c", "echo over websocket & exit /b 3"}, "output": {"1"}, "error": {"1"}}
	u := fmt.Sprintf("https://127.0.0.1:%d/exec/dbg/ws/debug?%s", port, q.Encode())
	cfg := &rest.Config{Host: fmt.Sprintf("https://127.0.0.1:%d", port), TLSClientConfig: rest.TLSClientConfig{
		CAData: pki.caPEM, CertData: pki.clientCertPEM, KeyData: pki.clientKeyPEM,
	}}
	// A kubelet speaks WebSocket up to v4 (the API server adds v5 in front of it).
	ex, err := remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u, "v4.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = ex.StreamWithContext(t.Context(), remotecommand.StreamOptions{Stdout: &out, Stderr: io.Discard})
	if code, ok := exitCode(err); !ok || code != 3 || out.String() != "over websocket \r\n" {
		t.Errorf("websocket exec: err %v, stdout %q; want exit 3 and %q", err, out.String(), "over websocket \r\n")
	}
}

// lineWriter signals when a line holding want was written.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestDeletingPodEndsItsExec(t *testing.T) {
	pki := newPKI(t)
	sim, client := startSim(t, pki, NodeSpec{Name: "win", OS: "windows"})
	pod := createRunning(t, client, "dbg", "sleeper", "win", nil)
	dir := sim.SandboxDir(pod)
	if err := os.WriteFile(filepath.Join(dir, "sleeper.exe"), []byte("#!/bin/sh\necho started\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	port, _ := sim.NodePort("win")
	q := url.Values{"command": {"cmd.exe", "/c", `C:\hpc\sleeper.exe`}, "output": {"1"}, "error": {"1"}, "input": {"1"}}
	u := &url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", port), Path: "/exec/dbg/sleeper/debug", RawQuery: q.Encode()}
	cfg := &rest.Config{Host: "https://" + u.Host, TLSClientConfig: rest.TLSClientConfig{CAData: pki.caPEM, CertData: pki.clientCertPEM, KeyData: pki.clientKeyPEM}}
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{want: "started", seen: make(chan struct{})}
	stdinR, stdinW := io.Pipe() // stdin stays open: only the deletion can end the exec
	defer stdinW.Close()
	done := make(chan error, 1)
	go func() {
		done <- ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: stdinR, Stdout: out, Stderr: io.Discard})
	}()
	select {
	case <-out.seen:
	case err := <-done:
		t.Fatalf("exec ended before the program started: %v", err)
	}
	now := metav1.Now()
	pod.DeletionTimestamp = &now
	if _, err := client.CoreV1().Pods("dbg").Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("exec into a deleted pod ended without an error")
	}
	waitPod(t, client, "dbg", "sleeper", "deleted", func(_ *corev1.Pod, err error) bool { return apierrors.IsNotFound(err) })
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("sandbox still there: %v", err)
	}
}
