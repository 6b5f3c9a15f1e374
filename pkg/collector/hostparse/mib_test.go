package hostparse

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// sockaddr builds a SOCKADDR_INET for an address (scope ID for IPv6).
func sockaddr(a string, scope uint32) []byte {
	b := make([]byte, SockaddrInetSize)
	if a == "" {
		return b // AF_UNSPEC
	}
	ip := netip.MustParseAddr(a)
	if ip.Is4() {
		binary.LittleEndian.PutUint16(b, afINET)
		v := ip.As4()
		copy(b[4:], v[:])
		return b
	}
	binary.LittleEndian.PutUint16(b, afINET6)
	v := ip.As16()
	copy(b[8:], v[:])
	binary.LittleEndian.PutUint32(b[24:], scope)
	return b
}

// table lays rows out as Windows does: the count, then the rows from off.
func table(off int, rows ...[]byte) []byte {
	b := make([]byte, off)
	binary.LittleEndian.PutUint32(b, uint32(len(rows)))
	for _, r := range rows {
		b = append(b, r...)
	}
	return b
}

func routeRow(dst string, plen uint8, hop string, ifIndex, metric uint32) []byte {
	r := make([]byte, IPForwardRow2Size)
	binary.LittleEndian.PutUint64(r, 0x6000000000000) // a NET_LUID, ignored
	binary.LittleEndian.PutUint32(r[IPForwardRow2IfIndex:], ifIndex)
	copy(r[IPForwardRow2Prefix:], sockaddr(dst, 0))
	r[IPForwardRow2PrefixLen] = plen
	copy(r[IPForwardRow2NextHop:], sockaddr(hop, 0))
	binary.LittleEndian.PutUint32(r[IPForwardRow2Metric:], metric)
	return r
}

func TestSockaddr(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
		ok   bool
	}{
		{"ipv4", sockaddr("10.0.0.5", 0), "10.0.0.5", true},
		{"ipv4 SOCKADDR_IN is 16 bytes", sockaddr("10.0.0.5", 0)[:16], "10.0.0.5", true},
		{"ipv6 global keeps no zone", sockaddr("2001:db8::5", 7), "2001:db8::5", true},
		{"ipv6 link-local gets its scope", sockaddr("fe80::215:5dff:fed1:8000", 5), "fe80::215:5dff:fed1:8000%5", true},
		{"unspecified family", sockaddr("", 0), "", false},
		{"too short for ipv6", sockaddr("2001:db8::5", 0)[:20], "", false},
		{"too short for a family", []byte{2}, "", false},
		{"empty", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := Sockaddr(tt.b)
			if ok != tt.ok || (ok && a.String() != tt.want) {
				t.Errorf("Sockaddr = %v, %v; want %s, %v", a, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	tbl := table(IPForwardTable2Rows,
		routeRow("0.0.0.0", 0, "10.0.0.1", 6, 0),
		routeRow("10.244.1.0", 24, "0.0.0.0", 12, 256),
		routeRow("", 0, "", 1, 0), // no destination family: skipped
		routeRow("fe80::", 64, "::", 6, 256),
		routeRow("2001:db8::", 32, "fe80::1", 6, 16),
	)
	got, err := Routes(tbl)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Route{
		{Destination: "0.0.0.0/0", NextHop: "10.0.0.1", IfIndex: 6, Compartment: 1},
		{Destination: "10.244.1.0/24", NextHop: "0.0.0.0", IfIndex: 12, Metric: 256, Compartment: 1},
		{Destination: "fe80::/64", NextHop: "::", IfIndex: 6, Metric: 256, Compartment: 1},
		{Destination: "2001:db8::/32", NextHop: "fe80::1", IfIndex: 6, Metric: 16, Compartment: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Routes =\n%+v\nwant\n%+v", got, want)
	}

	bad := []struct {
		name, want string
		b          []byte
	}{
		{"empty buffer", "too short", nil},
		{"count larger than the buffer", "claims 2 entries", table(IPForwardTable2Rows, routeRow("0.0.0.0", 0, "10.0.0.1", 6, 0))[:4+IPForwardRow2Size]},
		{"prefix length over 32", "prefix length 40", table(IPForwardTable2Rows, routeRow("10.0.0.0", 40, "", 6, 0))},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "count larger than the buffer" {
				binary.LittleEndian.PutUint32(tt.b, 2)
			}
			if _, err := Routes(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Routes = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if r, err := Routes(table(IPForwardTable2Rows)); err != nil || len(r) != 0 {
		t.Errorf("empty table = %v, %v", r, err)
	}
}

func neighborRow(addr string, scope uint32, mac []byte, ifIndex, state uint32) []byte {
	r := make([]byte, IPNetRow2Size)
	copy(r[IPNetRow2Address:], sockaddr(addr, scope))
	binary.LittleEndian.PutUint32(r[IPNetRow2IfIndex:], ifIndex)
	copy(r[IPNetRow2PhysAddr:], mac)
	binary.LittleEndian.PutUint32(r[IPNetRow2PhysAddrLen:], uint32(len(mac)))
	binary.LittleEndian.PutUint32(r[IPNetRow2State:], state)
	return r
}

func TestNeighbors(t *testing.T) {
	mac := []byte{0x00, 0x15, 0x5d, 0xd1, 0x80, 0x07}
	tbl := table(IPNetTable2Rows,
		neighborRow("10.0.0.1", 0, mac, 6, 5),
		neighborRow("10.244.1.9", 0, nil, 12, 0),
		neighborRow("fe80::1", 6, mac, 6, 4),
		neighborRow("", 0, nil, 1, 6),
	)
	got, err := Neighbors(tbl)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Neighbor{
		{Address: "10.0.0.1", MAC: "00-15-5D-D1-80-07", IfIndex: 6, State: "Reachable"},
		{Address: "10.244.1.9", IfIndex: 12, State: "Unreachable"},
		{Address: "fe80::1", MAC: "00-15-5D-D1-80-07", IfIndex: 6, State: "Stale"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Neighbors =\n%+v\nwant\n%+v", got, want)
	}
	// A length over the 32-byte field must not read past it.
	row := neighborRow("10.0.0.2", 0, mac, 6, 6)
	binary.LittleEndian.PutUint32(row[IPNetRow2PhysAddrLen:], 4000)
	got, err = Neighbors(table(IPNetTable2Rows, row))
	if err != nil || len(got) != 1 || len(got[0].MAC) != 32*3-1 || got[0].State != "Permanent" {
		t.Errorf("oversized MAC length: %+v, %v", got, err)
	}
	if _, err := Neighbors(table(IPNetTable2Rows, row)[:IPNetTable2Rows+10]); err == nil {
		t.Error("a truncated neighbor table was accepted")
	}
}

func TestCountTCP(t *testing.T) {
	v4 := func(state uint32) []byte {
		r := make([]byte, TCPRowOwnerPID)
		binary.LittleEndian.PutUint32(r, state)
		binary.LittleEndian.PutUint32(r[20:], 4242) // owning PID
		return r
	}
	v6 := func(state uint32) []byte {
		r := make([]byte, TCP6RowOwnerPID)
		binary.LittleEndian.PutUint32(r[TCP6RowStateField:], state)
		binary.LittleEndian.PutUint32(r[52:], 4242)
		return r
	}
	var c wire.TCPConnections
	if err := CountTCP(table(TCPTableRows, v4(5), v4(5), v4(2), v4(11), v4(99)), false, &c); err != nil {
		t.Fatal(err)
	}
	if err := CountTCP(table(TCPTableRows, v6(2), v6(11)), true, &c); err != nil {
		t.Fatal(err)
	}
	want := wire.TCPConnections{Total: 7, ByState: map[string]int{"ESTABLISHED": 2, "LISTEN": 2, "TIME_WAIT": 2, "UNKNOWN(99)": 1}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("counts = %+v, want %+v", c, want)
	}
	if err := CountTCP(table(TCPTableRows, v6(2))[:TCPTableRows+TCP6RowOwnerPID-1], true, &c); err == nil {
		t.Error("a truncated IPv6 table was accepted")
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{MAC([]byte{0, 0x15, 0x5d, 0xd1, 0x80, 0}), "00-15-5D-D1-80-00"},
		{MAC(nil), ""},
		{OperStatus(1), "Up"},
		{OperStatus(2), "Down"},
		{OperStatus(7), "LowerLayerDown"},
		{OperStatus(0), "Unknown"},
		{OperStatus(42), "Unknown"},
		{NeighborState(2), "Probe"},
		{NeighborState(9), "Unknown(9)"},
		{TCPState(1), "CLOSED"},
		{TCPState(12), "DELETE_TCB"},
		{TCPState(0), "UNKNOWN(0)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
