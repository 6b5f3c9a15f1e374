//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// netStateSources are the host network state sources: adapters, routes, neighbors, the DNS
// client, TCP connection counts, port ranges, the firewall and installed updates. Each reads
// the host compartment (1), where the HostProcess pod runs; pods' compartments are HNS's.
func netStateSources() []collector.Source {
	return []collector.Source{
		adaptersSource{}, routesSource{}, neighborsSource{}, dnsClientSource{},
		tcpConnectionsSource{}, portRangesSource{}, firewallSource{}, hotfixesSource{},
	}
}

// The IP Helper functions x/sys/windows does not wrap.
var (
	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetIpNetTable2      = iphlpapi.NewProc("GetIpNetTable2")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

// maxMIBRows bounds a table's claimed size before it is turned into a slice: no node has a
// million routes, so a larger count means a layout mistake, not data.
const maxMIBRows = 1 << 20

// mibBytes views a table that an IP Helper function allocated as bytes: the count, then
// count rows of rowSize from rowsAt. The view is valid until FreeMibTable.
func mibBytes(p unsafe.Pointer, rowsAt, rowSize int, what string) ([]byte, error) {
	n := *(*uint32)(p)
	if n > maxMIBRows {
		return nil, fmt.Errorf("the %s claims %d entries, which cannot be right; this is a collector bug, please report it", what, n)
	}
	return unsafe.Slice((*byte)(p), rowsAt+int(n)*rowSize), nil
}

// adaptersSource lists the network adapters with GetAdaptersAddresses.
type adaptersSource struct{}

func (adaptersSource) Name() string { return wire.KindHostAdapters }

func (adaptersSource) Collect(_ context.Context, out collector.Emitter) error {
	adapters, err := readAdapters()
	if err != nil {
		return err
	}
	return out.Artifact(wire.KindHostAdapters, adapters)
}

// readAdapters calls GetAdaptersAddresses for both families, with gateways, and converts the
// linked list it fills while its buffer is still alive.
func readAdapters() ([]wire.Adapter, error) {
	const flags = windows.GAA_FLAG_INCLUDE_GATEWAYS | windows.GAA_FLAG_SKIP_ANYCAST | windows.GAA_FLAG_SKIP_MULTICAST
	size := uint32(16 << 10)
	for range 4 { // the list can grow between the sizing call and the next
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, flags, 0, first, &size)
		switch {
		case err == nil:
			adapters := convertAdapters(first)
			runtime.KeepAlive(buf)
			return adapters, nil
		case errors.Is(err, windows.ERROR_NO_DATA):
			return []wire.Adapter{}, nil
		case errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) && size > uint32(len(buf)):
			continue
		default:
			return nil, fmt.Errorf("listing the network adapters (GetAdaptersAddresses): %w", err)
		}
	}
	return nil, errors.New("listing the network adapters (GetAdaptersAddresses): the list kept growing while it was read; run the collector again")
}

func convertAdapters(first *windows.IpAdapterAddresses) []wire.Adapter {
	adapters := []wire.Adapter{}
	for a := first; a != nil; a = a.Next {
		ad := wire.Adapter{
			Name:        windows.UTF16PtrToString(a.FriendlyName),
			Description: windows.UTF16PtrToString(a.Description),
			IfIndex:     int(a.IfIndex),
			Compartment: hostparse.HostCompartment,
			MAC:         hostparse.MAC(a.PhysicalAddress[:min(int(a.PhysicalAddressLength), len(a.PhysicalAddress))]),
			MTU:         int(a.Mtu),
			Status:      hostparse.OperStatus(a.OperStatus),
			DNSSuffix:   windows.UTF16PtrToString(a.DnsSuffix),
		}
		if ad.IfIndex == 0 { // an IPv6-only adapter has only its IPv6 index
			ad.IfIndex = int(a.Ipv6IfIndex)
		}
		// The structure grew over Windows versions; Length says how much of it is there.
		if uintptr(a.Length) > unsafe.Offsetof(a.CompartmentId) && a.CompartmentId != 0 {
			ad.Compartment = int(a.CompartmentId)
		}
		for u := a.FirstUnicastAddress; u != nil; u = u.Next {
			if ip, ok := socketAddress(u.Address); ok {
				ad.Addresses = append(ad.Addresses, wire.IPAddress{Address: ip, PrefixLength: int(u.OnLinkPrefixLength)})
			}
		}
		for g := a.FirstGatewayAddress; g != nil; g = g.Next {
			if ip, ok := socketAddress(g.Address); ok {
				ad.Gateways = append(ad.Gateways, ip)
			}
		}
		for d := a.FirstDnsServerAddress; d != nil; d = d.Next {
			if ip, ok := socketAddress(d.Address); ok {
				ad.DNSServers = append(ad.DNSServers, ip)
			}
		}
		adapters = append(adapters, ad)
	}
	return adapters
}

// socketAddress reads a SOCKET_ADDRESS as an address without its zone (the adapter says it).
func socketAddress(sa windows.SocketAddress) (string, bool) {
	if sa.Sockaddr == nil || sa.SockaddrLength <= 0 || sa.SockaddrLength > 128 {
		return "", false
	}
	ip, ok := hostparse.Sockaddr(unsafe.Slice((*byte)(unsafe.Pointer(sa.Sockaddr)), sa.SockaddrLength))
	if !ok {
		return "", false
	}
	return ip.WithZone("").String(), true
}

// routesSource reads the forwarding table, IPv4 and IPv6, with GetIpForwardTable2.
type routesSource struct{}

func (routesSource) Name() string { return wire.KindHostRoutes }

func (routesSource) Collect(_ context.Context, out collector.Emitter) error {
	routes, err := ReadRoutes()
	if err != nil {
		return err
	}
	return out.Artifact(wire.KindHostRoutes, routes)
}

// neighborsSource reads the ARP and neighbor discovery cache with GetIpNetTable2.
type neighborsSource struct{}

func (neighborsSource) Name() string { return wire.KindHostNeighbors }

func (neighborsSource) Collect(_ context.Context, out collector.Emitter) error {
	if err := procGetIpNetTable2.Find(); err != nil {
		return fmt.Errorf("iphlpapi.dll has no GetIpNetTable2 (%w); this Windows is older than the collector supports", err)
	}
	// NETIOAPI_API GetIpNetTable2(ADDRESS_FAMILY Family, PMIB_IPNET_TABLE2 *Table)
	var tbl unsafe.Pointer
	r, _, _ := procGetIpNetTable2.Call(uintptr(windows.AF_UNSPEC), uintptr(unsafe.Pointer(&tbl)))
	if r != 0 {
		return fmt.Errorf("reading the neighbor cache (GetIpNetTable2): %w; the ARP and neighbor entries are not reported", syscall.Errno(r))
	}
	defer windows.FreeMibTable(tbl)
	b, err := mibBytes(tbl, hostparse.IPNetTable2Rows, hostparse.IPNetRow2Size, "neighbor table")
	if err != nil {
		return err
	}
	neighbors, err := hostparse.Neighbors(b)
	if err != nil {
		return fmt.Errorf("decoding the neighbor cache: %w; this is a collector bug, please report it", err)
	}
	return out.Artifact(wire.KindHostNeighbors, neighbors)
}

const tcpipParametersKey = `SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`

// dnsClientSource reports the host resolver: the DNS servers of the adapters that are up,
// and the suffix search list and primary suffix from the Tcpip parameters.
type dnsClientSource struct{}

func (dnsClientSource) Name() string { return wire.KindDNSClient }

func (dnsClientSource) Collect(_ context.Context, out collector.Emitter) error {
	adapters, err := readAdapters()
	if err != nil {
		return err
	}
	var servers [][]string
	for _, a := range adapters {
		if a.Status == "Up" {
			servers = append(servers, a.DNSServers)
		}
	}
	var p hostparse.TcpipParameters
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, tcpipParametersKey, registry.QUERY_VALUE)
	if err != nil {
		_ = out.Error(fmt.Errorf("opening HKLM\\%s to read the DNS suffixes: %w; the servers are reported without them", tcpipParametersKey, err))
	} else {
		defer k.Close()
		for name, dst := range map[string]*string{"SearchList": &p.SearchList, "Domain": &p.Domain, "NV Domain": &p.NVDomain} {
			v, _, err := k.GetStringValue(name)
			if err != nil && !errors.Is(err, registry.ErrNotExist) {
				_ = out.Error(fmt.Errorf("reading %s under HKLM\\%s: %w", name, tcpipParametersKey, err))
			}
			*dst = v
		}
	}
	return out.Artifact(wire.KindDNSClient, hostparse.DNSClient(servers, p))
}

// tcpConnectionsSource counts TCP connections, IPv4 and IPv6, by state: port exhaustion and
// piles of TIME_WAIT show here.
type tcpConnectionsSource struct{}

func (tcpConnectionsSource) Name() string { return wire.KindTCPConnections }

func (tcpConnectionsSource) Collect(_ context.Context, out collector.Emitter) error {
	if err := procGetExtendedTcpTable.Find(); err != nil {
		return fmt.Errorf("iphlpapi.dll has no GetExtendedTcpTable (%w); this Windows is older than the collector supports", err)
	}
	c := wire.TCPConnections{ByState: map[string]int{}}
	for _, v6 := range []bool{false, true} {
		b, err := extendedTCPTable(v6)
		if err == nil {
			err = hostparse.CountTCP(b, v6, &c)
		}
		if err != nil {
			return err
		}
	}
	return out.Artifact(wire.KindTCPConnections, c)
}

// extendedTCPTable calls GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL) for one family.
func extendedTCPTable(v6 bool) ([]byte, error) {
	const tcpTableOwnerPIDAll = 5
	family, name := uintptr(windows.AF_INET), "IPv4"
	if v6 {
		family, name = uintptr(windows.AF_INET6), "IPv6"
	}
	size := uint32(64 << 10)
	for range 4 { // connections come and go between the sizing call and the next
		buf := make([]byte, size)
		// DWORD GetExtendedTcpTable(PVOID pTcpTable, PDWORD pdwSize, BOOL bOrder, ULONG ulAf,
		//                           TCP_TABLE_CLASS TableClass, ULONG Reserved)
		r, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, family, tcpTableOwnerPIDAll, 0)
		switch syscall.Errno(r) {
		case 0:
			return buf, nil
		case windows.ERROR_INSUFFICIENT_BUFFER:
			size += size / 4 // room for the connections opened meanwhile
			continue
		}
		return nil, fmt.Errorf("reading the %s TCP connection table (GetExtendedTcpTable): %w", name, syscall.Errno(r))
	}
	return nil, fmt.Errorf("reading the %s TCP connection table (GetExtendedTcpTable): it kept growing while it was read; run the collector again", name)
}
