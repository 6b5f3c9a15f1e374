package nodeexec

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

type fakeCollector struct{ exe []byte }

func (f fakeCollector) SHA256() string {
	s := sha256.Sum256(f.exe)
	return hex.EncodeToString(s[:])
}
func (f fakeCollector) Executable() ([]byte, error) { return f.exe, nil }

// fakeNode answers the nodecmd commands the way a Windows node would, from a file map.
type fakeNode struct {
	files   map[string][]byte // tar entry -> content
	corrupt bool              // what lands on disk differs from what was sent
	calls   [][]string
}

func (n *fakeNode) Exec(_ context.Context, _ *corev1.Pod, _ string, argv []string, stdin io.Reader, stdout, _ io.Writer) error {
	n.calls = append(n.calls, argv)
	hash := func() error {
		b, ok := n.files[nodecmd.TarEntry]
		if !ok {
			fmt.Fprint(stdout, "CertUtil: -hashfile command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\n")
			return &ExitError{Code: 2}
		}
		s := sha256.Sum256(b)
		fmt.Fprintf(stdout, "SHA256 hash of C:\\hpc\\winnet\\winnet-collector.exe:\r\n%s\r\nCertUtil: -hashfile command completed successfully.\r\n", hex.EncodeToString(s[:]))
		return nil
	}
	switch strings.Join(argv, " ") {
	case strings.Join(nodecmd.Hash(), " "):
		return hash()
	case strings.Join(nodecmd.Upload(), " "):
		tr := tar.NewReader(stdin)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return &ExitError{Code: 1}
			}
			b, _ := io.ReadAll(tr)
			if n.corrupt && h.Typeflag == tar.TypeReg {
				b = append(b, 'X')
			}
			n.files[h.Name] = b
		}
		return hash()
	}
	if strings.Contains(argv[len(argv)-1], "findstr.exe") {
		fmt.Fprintln(stdout, `{"v":1,"type":"hello"}`)
		return nil
	}
	return fmt.Errorf("unexpected command %q", argv)
}

func newRunner(n *fakeNode) *Runner {
	return &Runner{Exec: n, Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n1"}},
		Container: "winnet", Collector: fakeCollector{exe: []byte("MZ collector")}}
}

func TestEnsureUploadsOnceThenReuses(t *testing.T) {
	node := &fakeNode{files: map[string][]byte{}}
	r := newRunner(node)
	uploaded, err := r.Ensure(context.Background())
	if err != nil || !uploaded {
		t.Fatalf("cold Ensure = %v, %v; want an upload", uploaded, err)
	}
	if got := string(node.files[nodecmd.TarEntry]); got != "MZ collector" {
		t.Fatalf("node holds %q", got)
	}
	if r.RoundTrips != 2 {
		t.Errorf("cold Ensure took %d round trips, want 2 (hash, upload+hash)", r.RoundTrips)
	}
	r2 := newRunner(node)
	uploaded, err = r2.Ensure(context.Background())
	if err != nil || uploaded {
		t.Fatalf("warm Ensure = %v, %v; want no upload", uploaded, err)
	}
	if r2.RoundTrips != 1 {
		t.Errorf("warm Ensure took %d round trips, want 1", r2.RoundTrips)
	}
}

func TestEnsureReplacesAStaleCollector(t *testing.T) {
	node := &fakeNode{files: map[string][]byte{nodecmd.TarEntry: []byte("old build")}}
	uploaded, err := newRunner(node).Ensure(context.Background())
	if err != nil || !uploaded {
		t.Fatalf("Ensure = %v, %v; want a fresh upload over the stale file", uploaded, err)
	}
}

func TestEnsureDetectsCorruptionOnTheNode(t *testing.T) {
	node := &fakeNode{files: map[string][]byte{}, corrupt: true}
	_, err := newRunner(node).Ensure(context.Background())
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("err = %v, want ErrHashMismatch", err)
	}
}

func TestRunStreamsAndMapsHashMismatch(t *testing.T) {
	node := &fakeNode{files: map[string][]byte{}}
	r := newRunner(node)
	var out bytes.Buffer
	if err := r.Run(context.Background(), []string{"collect"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"hello"`) {
		t.Fatalf("stdout = %q", out.String())
	}
	mismatch := &Runner{Exec: execFunc(func([]string) error { return &ExitError{Code: nodecmd.ExitHashMismatch} }), Pod: r.Pod, Collector: r.Collector}
	if err := mismatch.Run(context.Background(), nil, io.Discard, io.Discard); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("err = %v, want ErrHashMismatch", err)
	}
	crash := &Runner{Exec: execFunc(func([]string) error { return &ExitError{Code: 2} }), Pod: r.Pod, Collector: r.Collector}
	if err := crash.Run(context.Background(), nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exited with code 2") {
		t.Fatalf("err = %v, want the exit code", err)
	}
}

type execFunc func(argv []string) error

func (f execFunc) Exec(_ context.Context, _ *corev1.Pod, _ string, argv []string, _ io.Reader, _, _ io.Writer) error {
	return f(argv)
}
