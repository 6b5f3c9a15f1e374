package nodeexec

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// Collector is what the runner needs of the embedded collector.
type Collector interface {
	SHA256() string
	Executable() ([]byte, error)
}

// Runner puts the collector on the debug pod's node and runs it there.
type Runner struct {
	Exec      Executor
	Pod       *corev1.Pod
	Container string
	Collector Collector
	// Progress receives one sentence per stage; may be nil.
	Progress func(string)
	// RoundTrips counts exec calls, for the report's timings.
	RoundTrips int
}

// ErrHashMismatch means the node holds a collector other than the one this plugin carries,
// even right after uploading it: something on the node changed or corrupted the file.
var ErrHashMismatch = errors.New("the collector on the node does not match the one this plugin uploaded")

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

func (r *Runner) exec(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	r.RoundTrips++
	return r.Exec.Exec(ctx, r.Pod, r.Container, argv, stdin, stdout, stderr)
}

// nodeHash asks the node for the SHA-256 of the collector it holds; "" when it holds none.
func (r *Runner) nodeHash(ctx context.Context, argv []string, stdin io.Reader) (string, error) {
	var out, errOut bytes.Buffer
	err := r.exec(ctx, argv, stdin, &out, &errOut)
	var exit *ExitError
	if errors.As(err, &exit) {
		return "", &CommandError{Argv: argv, Code: exit.Code, Output: out.String() + errOut.String()}
	}
	if err != nil {
		return "", err
	}
	sum, ok := nodecmd.ParseHash(out.String())
	if !ok {
		return "", &CommandError{Argv: argv, Output: out.String() + errOut.String()}
	}
	return sum, nil
}

// CommandError is a node command that failed; it carries what the node printed.
type CommandError struct {
	Argv   []string
	Code   int
	Output string
}

func (e *CommandError) Error() string {
	out := strings.TrimSpace(e.Output)
	if len(out) > 600 {
		out = out[:600] + "…"
	}
	return fmt.Sprintf("node command %q exited %d: %s", strings.Join(e.Argv, " "), e.Code, out)
}

// Ensure makes sure the node holds this plugin's collector, uploading it when it does not.
// It reports whether an upload happened.
func (r *Runner) Ensure(ctx context.Context) (bool, error) {
	want := r.Collector.SHA256()
	have, err := r.nodeHash(ctx, nodecmd.Hash(), nil)
	if err == nil && have == want {
		r.progress("collector already on the node (sha256 %s…)", want[:12])
		return false, nil
	}
	var cmdErr *CommandError
	if err != nil && !errors.As(err, &cmdErr) {
		return false, fmt.Errorf("checking for the collector on node %s: %w", r.Pod.Spec.NodeName, err)
	}
	exe, err := r.Collector.Executable()
	if err != nil {
		return false, err
	}
	stream, err := tarStream(exe)
	if err != nil {
		return false, err
	}
	r.progress("uploading the collector (%.1f MB)", float64(len(exe))/1e6)
	have, err = r.nodeHash(ctx, nodecmd.Upload(), bytes.NewReader(stream))
	if err != nil {
		return true, fmt.Errorf("uploading the collector to node %s: %w", r.Pod.Spec.NodeName, err)
	}
	if have != want {
		return true, fmt.Errorf("%w: node reports sha256 %s, expected %s", ErrHashMismatch, have, want)
	}
	return true, nil
}

// tarStream wraps the executable in the tar stream that nodecmd.Upload extracts. A tar stream,
// not raw bytes, because tar.exe reads binary stdin faithfully and creates the folder itself.
func tarStream(exe []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: nodecmd.Dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: nodecmd.TarEntry, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe)), ModTime: now}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(exe); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Run starts the verified collector with args, streaming its stdout (NDJSON) to stdout and its
// stderr (logs) to stderr. It returns when the collector exits or ctx ends.
func (r *Runner) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	argv, err := nodecmd.Run(r.Collector.SHA256(), args...)
	if err != nil {
		return err
	}
	err = r.exec(ctx, argv, nil, stdout, stderr)
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Code == nodecmd.ExitHashMismatch {
			return fmt.Errorf("%w: refusing to run it on node %s; rerun to upload it again", ErrHashMismatch, r.Pod.Spec.NodeName)
		}
		return fmt.Errorf("the collector on node %s exited with code %d", r.Pod.Spec.NodeName, exit.Code)
	}
	return err
}
