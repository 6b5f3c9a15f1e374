//go:build windows

package compartment

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/collector/winsrc"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// The compartment functions of the IP Helper API, resolved lazily: Wine lacks them.
var (
	iphlpapi                          = windows.NewLazySystemDLL("iphlpapi.dll")
	procSetCurrentThreadCompartmentId = iphlpapi.NewProc("SetCurrentThreadCompartmentId")
	procGetCurrentThreadCompartmentId = iphlpapi.NewProc("GetCurrentThreadCompartmentId")
)

// New returns the source for the pod with podIP, running targets from its compartment.
func New(podIP netip.Addr, targets []probe.Target, o probe.Options) *Source {
	return &Source{PodIP: podIP, Targets: targets, Probe: o, Sys: windowsSystem{}}
}

type windowsSystem struct{}

func (windowsSystem) Supported() error {
	for _, p := range []*windows.LazyProc{procSetCurrentThreadCompartmentId, procGetCurrentThreadCompartmentId} {
		if err := p.Find(); err != nil {
			return fmt.Errorf("iphlpapi.dll has no %s, so this system cannot move a thread into another network compartment (Windows Server 2019 and later can; Wine cannot)", p.Name)
		}
	}
	return nil
}

func (windowsSystem) List(ctx context.Context, kind string) ([]byte, error) {
	return winsrc.ListHCN(ctx, kind)
}

func (windowsSystem) Enter(id uint32) error {
	// NETIO_STATUS SetCurrentThreadCompartmentId(NET_IF_COMPARTMENT_ID CompartmentId)
	if r, _, _ := procSetCurrentThreadCompartmentId.Call(uintptr(id)); r != 0 {
		return fmt.Errorf("SetCurrentThreadCompartmentId(%d) failed: %w", id, status(r))
	}
	// NET_IF_COMPARTMENT_ID GetCurrentThreadCompartmentId(void)
	if got, _, _ := procGetCurrentThreadCompartmentId.Call(); uint32(got) != id {
		return fmt.Errorf("the thread is in compartment %d after SetCurrentThreadCompartmentId(%d) succeeded", uint32(got), id)
	}
	return nil
}

// status words a NETIO_STATUS: a Win32 error code, or an NTSTATUS on some builds.
func status(r uintptr) error {
	if r < 0x10000 {
		return syscall.Errno(r)
	}
	return fmt.Errorf("status 0x%08X", uint32(r))
}

func (windowsSystem) Adapters() ([]wire.Adapter, error) { return winsrc.ReadAdapters() }
func (windowsSystem) Routes() ([]wire.Route, error)     { return winsrc.ReadRoutes() }
