package cluster

import (
	"os"
	"syscall"
)

// sysProcAttr puts each child in its own process group, so a Ctrl-C on the test's terminal does
// not reach etcd before the API server is stopped, and asks Linux to kill the child if the test
// process dies without calling Stop. (Pdeathsig fires when the forking OS thread exits; the Go
// runtime keeps its threads for the life of the process unless a locked goroutine exits, which
// this package never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate asks the process group to shut down gracefully.
func terminate(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGTERM); err != nil {
		_ = p.Signal(syscall.SIGTERM)
	}
}

// kill ends the process group at once.
func kill(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		_ = p.Kill()
	}
}
