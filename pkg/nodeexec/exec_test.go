package nodeexec

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/client-go/util/exec"
)

func TestExplainExecError(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "winnet-system", Name: "winnet-n1-abcde"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	for _, tt := range []struct {
		name     string
		err      error
		dropped  bool
		contains string
	}{
		{name: "websocket closed without a close frame",
			err:     errors.New("error reading from error stream: next reader: websocket: close 1006 (abnormal closure): unexpected EOF"),
			dropped: true, contains: "broke off"},
		{name: "reset connection", err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
			dropped: true, contains: "node n1"},
		{name: "unexpected EOF", err: fmt.Errorf("reading stdout: %w", io.ErrUnexpectedEOF), dropped: true, contains: "rerun"},
		{name: "kubelet unreachable is not a drop", err: errors.New("error dialing backend: dial tcp 10.0.0.4:10250: connect: connection refused"),
			contains: "port 10250"},
		{name: "other", err: errors.New("something else"), contains: "exec into pod winnet-system/winnet-n1-abcde: something else"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := explainExecError(pod, tt.err)
			if errors.Is(got, ErrStreamDropped) != tt.dropped {
				t.Errorf("errors.Is(ErrStreamDropped) = %v, want %v: %v", !tt.dropped, tt.dropped, got)
			}
			if !strings.Contains(got.Error(), tt.contains) {
				t.Errorf("%q lacks %q", got, tt.contains)
			}
		})
	}
	var ee *ExitError
	if err := explainExecError(pod, utilexec.CodeExitError{Err: errors.New("exit"), Code: 3}); !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("exit code 3 became %v", err)
	}
}
