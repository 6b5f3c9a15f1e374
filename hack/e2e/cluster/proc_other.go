//go:build !linux

package cluster

import (
	"os"
	"syscall"
)

// The harness runs the Linux binaries hack/build-cluster.sh builds; elsewhere it only has to
// compile (GOOS=windows go vet ./...), so processes get no special attributes.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate asks for a graceful shutdown where signals exist, and kills elsewhere.
func terminate(p *os.Process) {
	if err := p.Signal(os.Interrupt); err != nil {
		_ = p.Kill()
	}
}

func kill(p *os.Process) { _ = p.Kill() }
