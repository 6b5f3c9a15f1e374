//go:build !windows

package winsrc

import (
	"fmt"
	"io"
	"os"
)

// startChild starts path with os.StartProcess. Off Windows only the tests run inbox tools
// (this package is not linked into a non-Windows collector), so they exercise runChild with a
// real process here; Windows has its own CreateProcess starter.
func startChild(path string, args []string) (childProcess, io.ReadCloser, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("creating the output pipe of %s: %w", path, err)
	}
	defer w.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("opening %s as the input of %s: %w", os.DevNull, path, err)
	}
	defer null.Close()
	p, err := os.StartProcess(path, append([]string{path}, args...), &os.ProcAttr{Files: []*os.File{null, w, w}})
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return osProcess{p}, r, nil
}

type osProcess struct{ p *os.Process }

func (p osProcess) wait() (int, error) {
	st, err := p.p.Wait()
	if err != nil {
		return 0, fmt.Errorf("waiting for the process to exit: %w", err)
	}
	if code := st.ExitCode(); code >= 0 {
		return code, nil
	}
	return 1, nil // killed by a signal: as TerminateProcess(h, 1) leaves it on Windows
}

func (p osProcess) kill() error { return p.p.Kill() }

func (p osProcess) release() { _ = p.p.Release() }
