// Package nodeexec runs commands in the debug pod through pods/exec and drives the collector:
// check what the node already has, upload when needed, verify, run and hand back the stream.
package nodeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// Executor runs one command in a container and returns nil, an *ExitError for a non-zero exit,
// or another error when the command could not be run at all. Tests swap it for a fake.
type Executor interface {
	Exec(ctx context.Context, pod *corev1.Pod, container string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit code %d", e.Code) }

// APIExecutor executes through the API server's pods/exec, as kubectl exec does: WebSocket
// first (kubectl >= 1.29 servers), SPDY when the upgrade is refused.
type APIExecutor struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Exec implements Executor.
func (a *APIExecutor) Exec(ctx context.Context, pod *corev1.Pod, container string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := a.Client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   argv,
			Stdin:     stdin != nil,
			Stdout:    stdout != nil,
			Stderr:    stderr != nil,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(a.Config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("preparing exec into %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(a.Config, "GET", req.URL().String())
	if err != nil {
		return fmt.Errorf("preparing exec into %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("preparing exec into %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	if err != nil && ctx.Err() != nil {
		// We cut the stream ourselves (Ctrl-C, a deadline): say so, not that it dropped.
		return fmt.Errorf("exec into pod %s/%s stopped: %w", pod.Namespace, pod.Name, context.Cause(ctx))
	}
	return explainExecError(pod, err)
}

// explainExecError turns transport and API errors into sentences; exit codes become *ExitError.
func explainExecError(pod *corev1.Pod, err error) error {
	if err == nil {
		return nil
	}
	var code utilexec.CodeExitError
	if errors.As(err, &code) {
		return &ExitError{Code: code.Code}
	}
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) {
		return &ExitError{Code: exitErr.ExitStatus()}
	}
	msg := err.Error()
	switch {
	case apierrors.IsForbidden(err) || (strings.Contains(msg, "forbidden") && strings.Contains(msg, `resource "pods/exec"`)):
		return fmt.Errorf("exec into pod %s/%s was refused: %w\nwinnet needs `get` and `create` on pods/exec in namespace %s (a WebSocket exec is authorized as get); check with `kubectl auth can-i create pods --subresource=exec -n %s` and ask an admin to bind the Role in manifests/rbac.yaml",
			pod.Namespace, pod.Name, err, pod.Namespace, pod.Namespace)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "error dialing backend") || strings.Contains(msg, "no route to host"):
		return fmt.Errorf("the API server could not reach the kubelet on node %s to exec into %s/%s: %w\ncheck that the node is Ready and that the control plane can reach port 10250 on it",
			pod.Spec.NodeName, pod.Namespace, pod.Name, err)
	case streamDropped(err):
		return fmt.Errorf("%w: exec into pod %s/%s on node %s broke off (%v)\nthe API server restarted, a proxy or load balancer in front of it cut a long-lived stream, or the node went away; "+
			"check `kubectl get --raw /readyz` and the node, then rerun",
			ErrStreamDropped, pod.Namespace, pod.Name, pod.Spec.NodeName, err)
	}
	return fmt.Errorf("exec into pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// ErrStreamDropped: the exec stream ended without the command's exit status.
var ErrStreamDropped = errors.New("the connection to the node dropped")

// streamDropped reports a stream that ended abruptly: a WebSocket closed without its close
// frame (1006), a reset connection, an unexpected EOF. A command's own exit never looks like
// this: it arrives as a status on the error channel.
func streamDropped(err error) bool {
	msg := err.Error()
	return utilnet.IsConnectionReset(err) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(msg, "abnormal closure") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "use of closed network connection")
}
