//go:build windows

package winsrc

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Entry points for package compartment, which finds a pod's network compartment in HNS and
// reads the IP Helper tables from a thread moved into it.

// ListHCN returns one HCN family's objects as a JSON array, as the HCN sources emit them;
// kind is wire.KindHCNEndpoints, KindHCNNamespaces, KindHCNNetworks or KindHCNLoadBalancers.
// Objects that could not be read are left out.
func ListHCN(ctx context.Context, kind string) ([]byte, error) {
	for _, f := range hcnFamilies {
		if f.kind != kind {
			continue
		}
		procs, err := loadHCN(f)
		if err != nil {
			return nil, err
		}
		objs, err := collector.Await(ctx, procs.list)
		if err != nil {
			return nil, err
		}
		return objs.array(), nil
	}
	return nil, fmt.Errorf("no HCN family emits %q; this is a collector bug, please report it", kind)
}

// ReadAdapters lists the adapters of the calling thread's network compartment.
func ReadAdapters() ([]wire.Adapter, error) { return readAdapters() }

// ReadRoutes reads the forwarding table, IPv4 and IPv6, of the calling thread's network
// compartment. The routes say compartment 1 (hostparse's default); a caller in another
// compartment sets its own.
func ReadRoutes() ([]wire.Route, error) {
	var tbl *windows.MibIpForwardTable2
	if err := windows.GetIpForwardTable2(windows.AF_UNSPEC, &tbl); err != nil {
		return nil, fmt.Errorf("reading the route table (GetIpForwardTable2): %w", err)
	}
	defer windows.FreeMibTable(unsafe.Pointer(tbl))
	b, err := mibBytes(unsafe.Pointer(tbl), hostparse.IPForwardTable2Rows, hostparse.IPForwardRow2Size, "route table")
	if err != nil {
		return nil, err
	}
	routes, err := hostparse.Routes(b)
	if err != nil {
		return nil, fmt.Errorf("decoding the route table: %w; this is a collector bug, please report it", err)
	}
	return routes, nil
}
