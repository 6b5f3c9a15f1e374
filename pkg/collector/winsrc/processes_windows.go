//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// processesSource lists every process (name and PID) from a toolhelp snapshot: the analyzer
// looks for kube-proxy.exe, flanneld.exe, calico-node.exe and the like, which may run as
// HostProcess containers rather than services.
type processesSource struct{}

func (processesSource) Name() string { return wire.KindProcesses }

func (processesSource) Collect(_ context.Context, out collector.Emitter) error {
	procs, err := listProcesses()
	if err != nil {
		return err
	}
	return out.Artifact(wire.KindProcesses, procs)
}

func listProcesses() ([]wire.ProcessInfo, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("taking a snapshot of the process list: %w", err)
	}
	defer windows.CloseHandle(snap) //nolint:errcheck // a read-only snapshot

	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	procs := []wire.ProcessInfo{}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		procs = append(procs, wire.ProcessInfo{Name: windows.UTF16ToString(e.ExeFile[:]), PID: int(e.ProcessID)})
		if len(procs) >= maxProcesses {
			break
		}
	}
	if err != nil && !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("reading the process list: %w", err)
	}
	return procs, nil
}
