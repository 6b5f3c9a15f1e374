//go:build windows

package winsrc

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows/registry"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const cbsPackagesKey = `SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages`

// hotfixesSource lists the installed updates (KBs) from the component store's package keys:
// registry reads only, no child process (Get-HotFix and systeminfo are slow and need WMI).
type hotfixesSource struct{}

func (hotfixesSource) Name() string { return wire.KindHotfixes }

func (hotfixesSource) Collect(ctx context.Context, out collector.Emitter) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, cbsPackagesKey, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s to list the installed updates: %w; this Windows has no component store (a stripped image, or Wine), so no updates are reported", cbsPackagesKey, err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return fmt.Errorf("listing the servicing packages under HKLM\\%s: %w", cbsPackagesKey, err)
	}
	var pkgs []hostparse.ServicingPackage
	for _, name := range names {
		if hostparse.KBFromPackage(name) == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pkgs = append(pkgs, readPackage(k, name))
	}
	return out.Artifact(wire.KindHotfixes, hostparse.Hotfixes(pkgs))
}

// readPackage reads a package's state and install time. Both are best effort: a package whose
// key cannot be read still names its KB.
func readPackage(parent registry.Key, name string) hostparse.ServicingPackage {
	p := hostparse.ServicingPackage{Name: name}
	k, err := registry.OpenKey(parent, name, registry.QUERY_VALUE)
	if err != nil {
		return p
	}
	defer k.Close()
	if v, _, err := k.GetIntegerValue("CurrentState"); err == nil {
		p.State, p.HasState = uint32(v), true
	}
	high, _, errH := k.GetIntegerValue("InstallTimeHigh")
	low, _, errL := k.GetIntegerValue("InstallTimeLow")
	if errH == nil && errL == nil {
		p.InstallTime = hostparse.FileTime(uint32(high), uint32(low))
	}
	return p
}
