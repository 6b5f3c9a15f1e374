package hostparse

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Layouts of the IP Helper tables on windows/amd64, from the Windows SDK headers (netioapi.h,
// ws2ipdef.h, tcpmib.h; mingw-w64 ships the same definitions). hack/winesmoke compiles a C
// program against mingw-w64's headers and checks every one of these under Wine.
const (
	// SOCKADDR_INET: a union of SOCKADDR_IN (16 bytes) and SOCKADDR_IN6 (28 bytes), family first.
	SockaddrInetSize = 28

	// MIB_IPFORWARD_TABLE2 { ULONG NumEntries; MIB_IPFORWARD_ROW2 Table[]; }: the rows start at
	// 8 because a row begins with a 64-bit NET_LUID.
	IPForwardTable2Rows    = 8
	IPForwardRow2Size      = 104
	IPForwardRow2IfIndex   = 8  // NET_IFINDEX InterfaceIndex
	IPForwardRow2Prefix    = 12 // IP_ADDRESS_PREFIX DestinationPrefix: SOCKADDR_INET Prefix ...
	IPForwardRow2PrefixLen = 40 // ... then UINT8 PrefixLength
	IPForwardRow2NextHop   = 44 // SOCKADDR_INET NextHop
	IPForwardRow2Metric    = 84 // ULONG Metric

	// MIB_IPNET_TABLE2 { ULONG NumEntries; MIB_IPNET_ROW2 Table[]; }.
	IPNetTable2Rows      = 8
	IPNetRow2Size        = 88
	IPNetRow2Address     = 0  // SOCKADDR_INET Address
	IPNetRow2IfIndex     = 28 // NET_IFINDEX InterfaceIndex
	IPNetRow2PhysAddr    = 40 // UCHAR PhysicalAddress[32]
	IPNetRow2PhysAddrLen = 72 // ULONG PhysicalAddressLength
	IPNetRow2State       = 76 // NL_NEIGHBOR_STATE State

	// MIB_TCPTABLE_OWNER_PID { DWORD dwNumEntries; MIB_TCPROW_OWNER_PID table[]; } and the
	// IPv6 one, as GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL) fills them.
	TCPTableRows      = 4
	TCPRowOwnerPID    = 24 // dwState is at 0
	TCP6RowOwnerPID   = 56
	TCP6RowStateField = 48 // dwState after the addresses, scope IDs and ports
)

// Address families as Windows numbers them (ws2def.h).
const (
	afINET  = 2
	afINET6 = 23
)

// Sockaddr reads a SOCKADDR_IN or SOCKADDR_IN6 (the SOCKADDR_INET union). IPv6 link-local
// addresses carry their scope ID as the zone, as Windows prints them (fe80::1%5). ok is false
// for another family (AF_UNSPEC) or a buffer too short for its family.
func Sockaddr(b []byte) (addr netip.Addr, ok bool) {
	if len(b) < 2 {
		return netip.Addr{}, false
	}
	switch binary.LittleEndian.Uint16(b) {
	case afINET:
		if len(b) < 8 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(b[4:8])), true
	case afINET6:
		if len(b) < 28 {
			return netip.Addr{}, false
		}
		a := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := binary.LittleEndian.Uint32(b[24:28]); scope != 0 && a.IsLinkLocalUnicast() {
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return a, true
	}
	return netip.Addr{}, false
}

// tableRows checks that a table of n rows of rowSize bytes starting at off fits in b.
func tableRows(b []byte, off, rowSize int, what string) (int, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("the %s is %d bytes, too short for its entry count", what, len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n == 0 {
		return 0, nil
	}
	if n > (len(b)-off)/rowSize {
		return 0, fmt.Errorf("the %s claims %d entries but holds %d bytes (%d a row from offset %d)", what, n, len(b), rowSize, off)
	}
	return n, nil
}

// Routes decodes a MIB_IPFORWARD_TABLE2 as GetIpForwardTable2 returns it. The metric is the
// route's own; Windows adds the interface metric when it chooses (route print shows the sum).
// The collector reads the host compartment only, so every route is in compartment 1.
func Routes(table []byte) ([]wire.Route, error) {
	n, err := tableRows(table, IPForwardTable2Rows, IPForwardRow2Size, "route table")
	if err != nil {
		return nil, err
	}
	routes := make([]wire.Route, 0, n)
	for i := range n {
		row := table[IPForwardTable2Rows+i*IPForwardRow2Size:][:IPForwardRow2Size]
		dst, ok := Sockaddr(row[IPForwardRow2Prefix : IPForwardRow2Prefix+SockaddrInetSize])
		if !ok {
			continue // no usable destination: nothing to report
		}
		prefix, err := dst.WithZone("").Prefix(int(row[IPForwardRow2PrefixLen]))
		if err != nil {
			return nil, fmt.Errorf("route %d: prefix length %d does not fit %s", i, row[IPForwardRow2PrefixLen], dst)
		}
		r := wire.Route{
			Destination: prefix.String(),
			IfIndex:     int(binary.LittleEndian.Uint32(row[IPForwardRow2IfIndex:])),
			Metric:      int(binary.LittleEndian.Uint32(row[IPForwardRow2Metric:])),
			Compartment: HostCompartment,
		}
		if hop, ok := Sockaddr(row[IPForwardRow2NextHop : IPForwardRow2NextHop+SockaddrInetSize]); ok {
			r.NextHop = hop.WithZone("").String() // on-link routes have 0.0.0.0 or ::
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// HostCompartment is the network compartment of the host; pods get their own.
const HostCompartment = 1

// Neighbors decodes a MIB_IPNET_TABLE2 as GetIpNetTable2 returns it.
func Neighbors(table []byte) ([]wire.Neighbor, error) {
	n, err := tableRows(table, IPNetTable2Rows, IPNetRow2Size, "neighbor table")
	if err != nil {
		return nil, err
	}
	out := make([]wire.Neighbor, 0, n)
	for i := range n {
		row := table[IPNetTable2Rows+i*IPNetRow2Size:][:IPNetRow2Size]
		addr, ok := Sockaddr(row[IPNetRow2Address : IPNetRow2Address+SockaddrInetSize])
		if !ok {
			continue
		}
		macLen := min(int(binary.LittleEndian.Uint32(row[IPNetRow2PhysAddrLen:])), IPNetRow2PhysAddrLen-IPNetRow2PhysAddr)
		out = append(out, wire.Neighbor{
			Address: addr.WithZone("").String(),
			MAC:     MAC(row[IPNetRow2PhysAddr : IPNetRow2PhysAddr+macLen]),
			IfIndex: int(binary.LittleEndian.Uint32(row[IPNetRow2IfIndex:])),
			State:   NeighborState(binary.LittleEndian.Uint32(row[IPNetRow2State:])),
		})
	}
	return out, nil
}

// NeighborState names an NL_NEIGHBOR_STATE as Get-NetNeighbor does.
func NeighborState(s uint32) string {
	names := []string{"Unreachable", "Incomplete", "Probe", "Delay", "Stale", "Reachable", "Permanent"}
	if int(s) < len(names) {
		return names[s]
	}
	return "Unknown(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// CountTCP adds the connections of a MIB_TCPTABLE_OWNER_PID (v6 false) or
// MIB_TCP6TABLE_OWNER_PID (v6 true) to c, by state.
func CountTCP(table []byte, v6 bool, c *wire.TCPConnections) error {
	rowSize, stateAt, what := TCPRowOwnerPID, 0, "IPv4 TCP table"
	if v6 {
		rowSize, stateAt, what = TCP6RowOwnerPID, TCP6RowStateField, "IPv6 TCP table"
	}
	n, err := tableRows(table, TCPTableRows, rowSize, what)
	if err != nil {
		return err
	}
	if c.ByState == nil {
		c.ByState = map[string]int{}
	}
	for i := range n {
		row := table[TCPTableRows+i*rowSize:][:rowSize]
		c.ByState[TCPState(binary.LittleEndian.Uint32(row[stateAt:]))]++
		c.Total++
	}
	return nil
}

// TCPState names a MIB_TCP_STATE as netstat prints it.
func TCPState(s uint32) string {
	names := []string{"", "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT1",
		"FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "DELETE_TCB"}
	if s > 0 && int(s) < len(names) {
		return names[s]
	}
	return "UNKNOWN(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// MAC formats a hardware address as Windows does (00-15-5D-D1-80-00); empty for none.
func MAC(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte('-')
		}
		fmt.Fprintf(&sb, "%02X", x)
	}
	return sb.String()
}

// OperStatus names an IF_OPER_STATUS as Get-NetAdapter does.
func OperStatus(s uint32) string {
	names := []string{"", "Up", "Down", "Testing", "Unknown", "Dormant", "NotPresent", "LowerLayerDown"}
	if s > 0 && int(s) < len(names) {
		return names[s]
	}
	return "Unknown"
}
