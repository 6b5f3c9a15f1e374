package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// headers are the fields of one packet (outer or inner) that filters look at.
type headers struct {
	hasEth         bool
	srcMAC, dstMAC net.HardwareAddr
	ethType        layers.EthernetType
	hasIP          bool
	src, dst       netip.Addr
	proto          uint8
	hasPorts       bool
	sport, dport   uint16
	l4Payload      []byte // after the TCP/UDP header, for finding VXLAN
}

// parseHeaders reads a frame's Ethernet, IP and TCP/UDP headers, as far as they are there (a
// truncated frame yields what it holds).
func parseHeaders(frame []byte) headers {
	var h headers
	var eth layers.Ethernet
	if eth.DecodeFromBytes(frame, gopacket.NilDecodeFeedback) != nil {
		return h
	}
	h.hasEth, h.srcMAC, h.dstMAC, h.ethType = true, eth.SrcMAC, eth.DstMAC, eth.EthernetType
	var rest []byte
	switch eth.EthernetType {
	case layers.EthernetTypeIPv4:
		var ip layers.IPv4
		if ip.DecodeFromBytes(eth.Payload, gopacket.NilDecodeFeedback) != nil {
			return h
		}
		h.src, _ = netip.AddrFromSlice(ip.SrcIP)
		h.dst, _ = netip.AddrFromSlice(ip.DstIP)
		h.proto, rest = uint8(ip.Protocol), ip.Payload
	case layers.EthernetTypeIPv6:
		var ip layers.IPv6
		if ip.DecodeFromBytes(eth.Payload, gopacket.NilDecodeFeedback) != nil {
			return h
		}
		h.src, _ = netip.AddrFromSlice(ip.SrcIP)
		h.dst, _ = netip.AddrFromSlice(ip.DstIP)
		h.proto, rest = uint8(ip.NextHeader), ip.Payload
	default:
		return h
	}
	h.hasIP = true
	switch h.proto {
	case 6:
		var tcp layers.TCP
		if tcp.DecodeFromBytes(rest, gopacket.NilDecodeFeedback) == nil {
			h.hasPorts, h.sport, h.dport, h.l4Payload = true, uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Payload
		}
	case 17:
		if len(rest) >= 8 {
			h.hasPorts = true
			h.sport, h.dport = binary.BigEndian.Uint16(rest[0:2]), binary.BigEndian.Uint16(rest[2:4])
			h.l4Payload = rest[8:]
		}
	}
	return h
}

// vxlanInner is the packet a VXLAN frame carries, when h is UDP to port and holds one.
func vxlanInner(h headers, port uint16) (inner []byte, vni uint32, ok bool) {
	p := h.l4Payload
	if !h.hasPorts || h.proto != 17 || h.dport != port || len(p) < 8 || p[0]&0x08 == 0 {
		return nil, 0, false
	}
	return p[8:], binary.BigEndian.Uint32(p[4:8]) >> 8, true
}

// matches reports whether the packet meets all of f's conditions, on its outer headers or,
// with -e, on those of the packet VXLAN carries inside.
func (f filterSpec) matches(frame []byte) bool {
	outer := parseHeaders(frame)
	if f.matchHeaders(outer) {
		return true
	}
	if !f.Encap {
		return false
	}
	inner, _, ok := vxlanInner(outer, f.VXLANPort)
	return ok && f.matchHeaders(parseHeaders(inner))
}

func (f filterSpec) matchHeaders(h headers) bool {
	if len(f.MACs) > 0 {
		if !h.hasEth || !pairMatch(f.MACs, h.srcMAC.String(), h.dstMAC.String()) {
			return false
		}
	}
	if f.DataLink != "" {
		want := layers.EthernetTypeIPv4
		if f.DataLink == "IPv6" {
			want = layers.EthernetTypeIPv6
		}
		if !h.hasEth || h.ethType != want {
			return false
		}
	}
	if f.Protocol != "" {
		if !h.hasIP || h.proto != protocols[strings.ToLower(f.Protocol)].num {
			return false
		}
	}
	if len(f.IPs) > 0 {
		if !h.hasIP || !pairMatch(f.IPs, h.src.Unmap().String(), h.dst.Unmap().String()) {
			return false
		}
	}
	if len(f.Ports) > 0 {
		var want []string
		for _, p := range f.Ports {
			want = append(want, strconv.Itoa(int(p)))
		}
		if !h.hasPorts || !pairMatch(want, strconv.Itoa(int(h.sport)), strconv.Itoa(int(h.dport))) {
			return false
		}
	}
	return true
}

// pairMatch is pktmon's rule for -m, -i and -p: one value matches either end of the packet,
// two match a packet between them in either direction.
func pairMatch(want []string, src, dst string) bool {
	if len(want) == 1 {
		return src == want[0] || dst == want[0]
	}
	return (src == want[0] && dst == want[1]) || (src == want[1] && dst == want[0])
}

// capturedBy reports whether any filter takes the frame; with none, every frame is taken.
func capturedBy(filters []filterSpec, frame []byte) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f.matches(frame) {
			return true
		}
	}
	return false
}
