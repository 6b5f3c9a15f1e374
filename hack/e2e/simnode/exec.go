package simnode

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/kubectl-winnet/winnet/hack/e2e/simnode/wincmd"
)

// The kubelet's defaults for streaming connections.
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// kubeletMux serves the parts of the kubelet API the API server proxies to for exec.
func (s *Sim) kubeletMux(n *simNode) http.Handler {
	mux := http.NewServeMux()
	exec := func(w http.ResponseWriter, r *http.Request) { s.serveExec(n, w, r) }
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /exec/{namespace}/{pod}/{container}", exec)
		mux.HandleFunc(m+" /exec/{namespace}/{pod}/{uid}/{container}", exec)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

// serveExec answers /exec/{namespace}/{pod}[/{uid}]/{container}?command=...&input=1&... with
// the kubelet's stream handling (SPDY, or WebSocket), then runs the command in the pod.
func (s *Sim) serveExec(n *simNode, w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	pod, err := s.lookupPod(r.Context(), ns, name)
	if err != nil || pod.Spec.NodeName != n.spec.Name || (r.PathValue("uid") != "" && r.PathValue("uid") != string(pod.UID)) {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return
	}
	if !hasContainer(pod, container) || !s.isRunning(pod.UID) {
		// What a kubelet says for a container that does not exist or has not started.
		http.Error(w, fmt.Sprintf("container not found (%q)", container), http.StatusNotFound)
		return
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := r.URL.Query()["command"]
	ex := &executor{sim: s, node: n, pod: pod}
	remotecommand.ServeExec(w, r, ex, name, string(pod.UID), container, cmd, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// lookupPod reads the pod from the cache, or from the API server when the cache lags.
func (s *Sim) lookupPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	if obj, ok, err := s.informer.GetIndexer().GetByKey(ns + "/" + name); err == nil && ok {
		return obj.(*corev1.Pod), nil
	}
	return s.cfg.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range allContainers(pod) {
		if c == name {
			return true
		}
	}
	return false
}

func (s *Sim) isRunning(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pods[uid]
	return st != nil && st.running && !st.gone
}

// executor runs one exec command in a pod of a simulated node.
type executor struct {
	sim  *Sim
	node *simNode
	pod  *corev1.Pod
}

// ExecInContainer implements remotecommand.Executor. A non-zero exit is returned as
// utilexec.CodeExitError, the one error type ServeExec turns into an exit code for the client.
func (e *executor) ExecInContainer(ctx context.Context, _, _, container string, cmd []string, in io.Reader, out, errw io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	s := e.sim
	s.mu.Lock()
	st := s.pods[e.pod.UID]
	if s.stopped || st == nil || st.gone || !st.running {
		s.mu.Unlock()
		return fmt.Errorf("container %q of pod %s/%s is not running on simulated node %s", container, e.pod.Namespace, e.pod.Name, e.node.spec.Name)
	}
	idx := len(s.execs)
	s.execs = append(s.execs, ExecRecord{
		Node: e.node.spec.Name, Namespace: e.pod.Namespace, Pod: e.pod.Name, Container: container,
		Argv: append([]string(nil), cmd...), ExitCode: -1,
	})
	st.execs.Add(1)
	s.execWG.Add(1)
	s.mu.Unlock()
	defer s.execWG.Done()
	defer st.execs.Done()

	if e.node.spec.OS != "windows" {
		return fmt.Errorf("simulated linux node %s does not run commands; only simulated windows nodes run exec", e.node.spec.Name)
	}
	// The exec ends when the client goes, the pod is deleted, or the simulator stops.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(st.ctx, cancel)
	defer stop()

	host := &wincmd.Host{Root: filepath.Join(st.sandbox, "hpc"), Hostname: e.node.spec.Name, Env: map[string]string{}}
	if e.node.spec.Scenario != "" {
		host.Env["WINNET_COLLECTOR_REPLAY"] = e.node.spec.Scenario
		if s.cfg.Pktmon != "" {
			state := filepath.Join(s.cfg.WorkDir, "pktmon", e.node.spec.Name)
			if err := os.MkdirAll(state, 0o755); err != nil {
				return fmt.Errorf("simulated node %s: pktmon state folder: %w", e.node.spec.Name, err)
			}
			host.Env["WINNET_PKTMON"] = s.cfg.Pktmon
			host.Env["WINNET_PKTMON_STATE"] = state
		}
	}
	if !isHostProcess(e.pod) {
		if err := imageFromAnnotations(e.pod, host); err != nil {
			return err
		}
	}
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errw != nil {
		stderr = errw
	}
	var stdin io.Reader
	counted := &countingReader{r: in}
	if in != nil {
		stdin = counted
	}
	code, err := host.Exec(ctx, cmd, stdin, stdout, stderr)
	s.mu.Lock()
	s.execs[idx].ExitCode = code
	s.execs[idx].StdinBytes = counted.n.Load()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("exec in pod %s/%s on simulated node %s: %w", e.pod.Namespace, e.pod.Name, e.node.spec.Name, err)
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// isHostProcess reports whether the pod runs as HostProcess containers (set at pod level, as
// the debug pod does, or on every container).
func isHostProcess(pod *corev1.Pod) bool {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil {
		return *sc.WindowsOptions.HostProcess
	}
	for _, c := range pod.Spec.Containers {
		if c.SecurityContext == nil || c.SecurityContext.WindowsOptions == nil || c.SecurityContext.WindowsOptions.HostProcess == nil || !*c.SecurityContext.WindowsOptions.HostProcess {
			return false
		}
	}
	return len(pod.Spec.Containers) > 0
}

// imageFromAnnotations gives an ordinary pod's container the tools, DNS answers and open TCP
// ports its AnnotationTools, AnnotationDNS and AnnotationOpen describe.
func imageFromAnnotations(pod *corev1.Pod, h *wincmd.Host) error {
	list := func(key string) []string {
		var out []string
		for _, f := range strings.Split(pod.Annotations[key], ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	for _, t := range list(AnnotationTools) {
		h.Tools = append(h.Tools, strings.ToLower(t))
	}
	h.Open = list(AnnotationOpen)
	for _, e := range list(AnnotationDNS) {
		name, ips, ok := strings.Cut(e, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("pod %s/%s: annotation %s entry %q is not NAME=IP[ IP...]", pod.Namespace, pod.Name, AnnotationDNS, e)
		}
		if h.DNS == nil {
			h.DNS = map[string][]string{}
		}
		h.DNS[strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))] = strings.Fields(ips)
	}
	return nil
}

// countingReader counts what is read through it; the count may be read while it is in use.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
