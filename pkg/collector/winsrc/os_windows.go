//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows/registry"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const currentVersionKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`

// osInfoSource reads the Windows build from the registry: the build and update revision (UBR)
// are what known-issue checks key on.
type osInfoSource struct{}

func (osInfoSource) Name() string { return wire.KindOSInfo }

func (osInfoSource) Collect(_ context.Context, out collector.Emitter) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, currentVersionKey, registry.QUERY_VALUE)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s to read the Windows build: %w", currentVersionKey, err)
	}
	defer k.Close()

	var info wire.OSInfo
	if info.ProductName, _, err = k.GetStringValue("ProductName"); err != nil {
		_ = out.Error(fmt.Errorf("reading ProductName under HKLM\\%s: %w", currentVersionKey, err))
	}
	if info.Build, _, err = k.GetStringValue("CurrentBuildNumber"); err != nil {
		_ = out.Error(fmt.Errorf("reading CurrentBuildNumber under HKLM\\%s: %w", currentVersionKey, err))
	}
	// UBR (the monthly update number) is missing on some builds and under Wine: not an error.
	ubr, _, err := k.GetIntegerValue("UBR")
	switch {
	case err == nil:
		info.UBR = int(ubr)
	case !errors.Is(err, registry.ErrNotExist):
		_ = out.Error(fmt.Errorf("reading UBR under HKLM\\%s: %w", currentVersionKey, err))
	}
	info.Hostname, _ = os.Hostname()
	return out.Artifact(wire.KindOSInfo, info)
}
