package nodeexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// Collector is what the runner needs of the embedded collector.
type Collector interface {
	SHA256() string
	// Upload is the gzipped tar stream that nodecmd.UploadAndRun extracts.
	Upload() ([]byte, error)
}

// Runner puts the collector on the debug pod's node and runs it there, in one exec whenever
// it can: a freshly created pod holds no collector, so the upload goes with the run; a reused
// pod is asked to verify and run what it holds, and only when that is not this plugin's
// collector is it uploaded, in a second exec.
type Runner struct {
	Exec      Executor
	Pod       *corev1.Pod
	Container string
	Collector Collector
	// Fresh says the debug pod was just created, so it holds no collector yet.
	Fresh bool
	// Progress receives one sentence per stage; may be nil.
	Progress func(string)

	// What Run did, for the report: exec calls made, whether the collector was uploaded and
	// how many bytes of stdin were sent.
	RoundTrips  int
	Uploaded    bool
	UploadBytes int64
}

// ErrHashMismatch means the node holds a collector other than the one this plugin carries,
// even right after uploading it: something on the node changed or corrupted the file.
var ErrHashMismatch = errors.New("the collector on the node does not match the one this plugin uploaded")

// ErrUploadFailed means tar.exe on the node could not extract the upload.
var ErrUploadFailed = errors.New("the node could not unpack the collector")

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

// Run runs the collector with args on the node, uploading it first when the node does not hold
// this plugin's build, and streams its stdout (NDJSON) to stdout and its stderr (logs, and
// tar.exe's complaints) to stderr. It returns when the collector exits or ctx ends.
func (r *Runner) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sha := r.Collector.SHA256()
	if !r.Fresh {
		argv, err := nodecmd.Run(sha, args...)
		if err != nil {
			return err
		}
		r.progress("verifying the collector kept on the node (sha256 %s…) and running it", sha[:12])
		err = r.exec(ctx, argv, nil, stdout, stderr)
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != nodecmd.ExitHashMismatch {
			return r.explain(err)
		}
		// Not ours, or none: nothing reached stdout, so the upload can run into the same stream.
		r.progress("the kept debug pod holds another collector build (or none); uploading this one")
	}
	archive, err := r.Collector.Upload()
	if err != nil {
		return err
	}
	argv, err := nodecmd.UploadAndRun(sha, args...)
	if err != nil {
		return err
	}
	r.progress("uploading the collector (%.1f MB gzipped) and running it", float64(len(archive))/1e6)
	r.Uploaded = true
	r.UploadBytes += int64(len(archive))
	return r.explain(r.exec(ctx, argv, bytes.NewReader(archive), stdout, stderr))
}

func (r *Runner) exec(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	r.RoundTrips++
	return r.Exec.Exec(ctx, r.Pod, r.Container, argv, stdin, stdout, stderr)
}

// explain turns the exit codes of nodecmd.Run and UploadAndRun into sentences.
func (r *Runner) explain(err error) error {
	var exit *ExitError
	if !errors.As(err, &exit) {
		return err
	}
	node := r.Pod.Spec.NodeName
	switch exit.Code {
	case nodecmd.ExitHashMismatch:
		// Only after an upload: a mismatch before one is answered by uploading.
		return fmt.Errorf("%w: certutil on node %s reports another sha256 than %s right after the upload, so winnet refused to run it; something on the node (antivirus, a full disk) altered the file — check the node, then rerun", ErrHashMismatch, node, r.Collector.SHA256())
	case nodecmd.ExitUploadFailed:
		return fmt.Errorf("%w: tar.exe on node %s exited with an error while extracting it into the debug pod's sandbox (its message is in the collector log below); check the node's free disk space and that a collector from an earlier run is not still running in pod %s/%s, then rerun", ErrUploadFailed, node, r.Pod.Namespace, r.Pod.Name)
	}
	return fmt.Errorf("the collector on node %s exited with code %d", node, exit.Code)
}

// RunWithInput runs the collector with args and stdin (a capture's control channel). stdin
// cannot share an exec with the upload, whose archive is stdin, so a node that lacks this
// collector gets it in an exec of its own first (extract, verify, `version`); newStdin is
// called once per run attempt, since a refused attempt may have read from its reader.
func (r *Runner) RunWithInput(ctx context.Context, args []string, newStdin func() io.Reader, stdout, stderr io.Writer) error {
	sha := r.Collector.SHA256()
	argv, err := nodecmd.Run(sha, args...)
	if err != nil {
		return err
	}
	if !r.Fresh {
		r.progress("verifying the collector kept on the node (sha256 %s…) and running it", sha[:12])
		err := r.exec(ctx, argv, newStdin(), stdout, stderr)
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != nodecmd.ExitHashMismatch {
			return r.explain(err)
		}
		r.progress("the kept debug pod holds another collector build (or none); uploading this one")
	}
	archive, err := r.Collector.Upload()
	if err != nil {
		return err
	}
	upload, err := nodecmd.UploadAndRun(sha, "version")
	if err != nil {
		return err
	}
	r.progress("uploading the collector (%.1f MB gzipped)", float64(len(archive))/1e6)
	r.Uploaded = true
	r.UploadBytes += int64(len(archive))
	if err := r.explain(r.exec(ctx, upload, bytes.NewReader(archive), io.Discard, stderr)); err != nil {
		return err
	}
	return r.explain(r.exec(ctx, argv, newStdin(), stdout, stderr))
}
