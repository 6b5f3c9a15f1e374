package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// captureSpec is capture.json: the traffic the simulated node sees while a capture runs.
type captureSpec struct {
	Flows []flowSpec `json:"flows"`
}

// flowSpec is one stream of identical packets.
type flowSpec struct {
	Name  string `json:"name"`  // for messages (optional)
	Src   string `json:"src"`   // IP address
	Dst   string `json:"dst"`   // IP address of the same family
	Proto string `json:"proto"` // tcp, udp, icmp (IPv4) or icmpv6 (IPv6)
	// SrcPort and DstPort are required for tcp and udp, and not allowed for icmp.
	SrcPort      int `json:"srcPort"`
	DstPort      int `json:"dstPort"`
	PayloadBytes int `json:"payloadBytes"` // 0-9000
	EveryMS      int `json:"everyMS"`      // one packet every this many ms, the first at once
	Count        int `json:"count"`        // packets in all; 0 = until the capture stops
	// Component is where the packet is logged (default "NIC"; a name holding "nic" counts as
	// a NIC for --comp nics). Not allowed with Drop, which names its own.
	Component string `json:"component"`
	Direction string `json:"direction"` // rx (default) or tx
	// SrcMAC and DstMAC default to 00:15:5d (Hyper-V's prefix) + the IP's last three bytes.
	SrcMAC string     `json:"srcMac"`
	DstMAC string     `json:"dstMac"`
	VXLAN  *vxlanSpec `json:"vxlan"` // wrap the packet in VXLAN between two nodes
	Drop   *dropSpec  `json:"drop"`  // every packet is dropped: a drop event, not a flow packet
}

type vxlanSpec struct {
	OuterSrc string `json:"outerSrc"` // the sending node's IP
	OuterDst string `json:"outerDst"` // the receiving node's IP
	VNI      uint32 `json:"vni"`      // 0 to 2^24-1
	Port     int    `json:"port"`     // outer UDP destination port; default 4789
}

type dropSpec struct {
	Component string `json:"component"` // the component that drops, e.g. VFP
	Reason    string `json:"reason"`    // pktmon's drop reason text, e.g. "Filtered VLAN"
}

// loadCapture reads a capture.json; no path or no file is no traffic.
func loadCapture(path string) ([]flowSpec, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseCapture(b)
}

func parseCapture(b []byte) ([]flowSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var spec captureSpec
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s: %w", captureFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: text after the JSON object", captureFile)
	}
	for i := range spec.Flows {
		f := &spec.Flows[i]
		if err := f.normalise(); err != nil {
			name := f.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("%s: flow %s: %w", captureFile, name, err)
		}
	}
	return spec.Flows, nil
}

// normalise checks a flow and fills its defaults.
func (f *flowSpec) normalise() error {
	src, err1 := netip.ParseAddr(f.Src)
	dst, err2 := netip.ParseAddr(f.Dst)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("src %q and dst %q must be IP addresses", f.Src, f.Dst)
	}
	if src.Unmap().Is4() != dst.Unmap().Is4() {
		return errors.New("src and dst are of different IP families")
	}
	f.Proto = strings.ToLower(f.Proto)
	switch f.Proto {
	case "tcp", "udp":
		if f.SrcPort < 1 || f.SrcPort > 65535 || f.DstPort < 1 || f.DstPort > 65535 {
			return fmt.Errorf("%s needs srcPort and dstPort (1-65535)", f.Proto)
		}
	case "icmp", "icmpv6":
		if f.SrcPort != 0 || f.DstPort != 0 {
			return fmt.Errorf("%s has no ports", f.Proto)
		}
		if (f.Proto == "icmp") != src.Unmap().Is4() {
			return errors.New("icmp is for IPv4 and icmpv6 for IPv6")
		}
	default:
		return fmt.Errorf("proto %q: use tcp, udp, icmp or icmpv6", f.Proto)
	}
	if f.PayloadBytes < 0 || f.PayloadBytes > 9000 {
		return errors.New("payloadBytes must be 0-9000")
	}
	if f.EveryMS < 1 {
		return errors.New("everyMS must be at least 1")
	}
	if f.Count < 0 {
		return errors.New("count must not be negative")
	}
	switch strings.ToLower(f.Direction) {
	case "", "rx":
		f.Direction = "rx"
	case "tx":
		f.Direction = "tx"
	default:
		return fmt.Errorf("direction %q: use rx or tx", f.Direction)
	}
	for _, m := range []string{f.SrcMAC, f.DstMAC} {
		if m == "" {
			continue
		}
		if hw, err := net.ParseMAC(m); err != nil || len(hw) != 6 {
			return fmt.Errorf("%q is not a MAC address", m)
		}
	}
	if f.Drop != nil {
		if f.Component != "" {
			return errors.New("a drop flow names its component in drop.component, not component")
		}
		if strings.TrimSpace(f.Drop.Component) == "" || strings.TrimSpace(f.Drop.Reason) == "" {
			return errors.New("drop needs a component and a reason")
		}
	} else if f.Component == "" {
		f.Component = "NIC"
	}
	if v := f.VXLAN; v != nil {
		osrc, err1 := netip.ParseAddr(v.OuterSrc)
		odst, err2 := netip.ParseAddr(v.OuterDst)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("vxlan outerSrc %q and outerDst %q must be IP addresses", v.OuterSrc, v.OuterDst)
		}
		if osrc.Unmap().Is4() != odst.Unmap().Is4() {
			return errors.New("vxlan outerSrc and outerDst are of different IP families")
		}
		if v.VNI >= 1<<24 {
			return errors.New("vxlan vni must be below 2^24")
		}
		if v.Port == 0 {
			v.Port = defaultVXLANPort
		}
		if v.Port < 1 || v.Port > 65535 {
			return errors.New("vxlan port must be 1-65535")
		}
	}
	return nil
}

// component is where a record was logged.
func (f *flowSpec) component() string {
	if f.Drop != nil {
		return f.Drop.Component
	}
	return f.Component
}

// frame is the flow's packet as it appears on the wire, built once: every packet of a flow is
// the same bytes, only the capture time differs (which keeps the generator cheap).
func (f *flowSpec) frame() ([]byte, error) {
	src, dst := netip.MustParseAddr(f.Src).Unmap(), netip.MustParseAddr(f.Dst).Unmap()
	inner := ipLayers(src, dst, protocols[f.Proto].num, f.SrcMAC, f.DstMAC)
	payload := f.payload()
	netLayer := inner[1].(gopacket.NetworkLayer)
	switch f.Proto {
	case "tcp":
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.SrcPort), DstPort: layers.TCPPort(f.DstPort),
			Seq: 1000, Ack: 1, ACK: true, PSH: len(payload) > 0, Window: 64240}
		_ = tcp.SetNetworkLayerForChecksum(netLayer)
		inner = append(inner, tcp)
	case "udp":
		udp := &layers.UDP{SrcPort: layers.UDPPort(f.SrcPort), DstPort: layers.UDPPort(f.DstPort)}
		_ = udp.SetNetworkLayerForChecksum(netLayer)
		inner = append(inner, udp)
	case "icmp":
		inner = append(inner, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1})
	case "icmpv6":
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		_ = icmp.SetNetworkLayerForChecksum(netLayer)
		inner = append(inner, icmp, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 1})
	}
	inner = append(inner, gopacket.Payload(payload))
	all := inner
	if v := f.VXLAN; v != nil {
		osrc, odst := netip.MustParseAddr(v.OuterSrc).Unmap(), netip.MustParseAddr(v.OuterDst).Unmap()
		outer := ipLayers(osrc, odst, protocols["udp"].num, "", "")
		// VXLAN senders pick the outer source port from a hash of the inner flow, so that
		// the underlay spreads flows over paths; the same is done here, deterministically.
		h := fnv.New32a()
		fmt.Fprintf(h, "%s %s %s %d %d", f.Src, f.Dst, f.Proto, f.SrcPort, f.DstPort)
		udp := &layers.UDP{SrcPort: layers.UDPPort(49152 + h.Sum32()%16384), DstPort: layers.UDPPort(v.Port)}
		_ = udp.SetNetworkLayerForChecksum(outer[1].(gopacket.NetworkLayer))
		all = append(append(outer, udp, &layers.VXLAN{ValidIDFlag: true, VNI: v.VNI}), inner...)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return nil, fmt.Errorf("building flow %s's packet: %w", f.Name, err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// payload is payloadBytes of application data. Decoders (Wireshark's, gopacket's) read some
// ports as a protocol, and letters there show as a malformed packet; so UDP port 53 carries a
// DNS message and TCP port 443 a TLS application-data record, each exactly payloadBytes long
// when it is big enough for one. Other ports carry letters.
func (f *flowSpec) payload() []byte {
	n := f.PayloadBytes
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	port := func(p int) bool { return f.SrcPort == p || f.DstPort == p }
	switch {
	case f.Proto == "udp" && port(53) && n >= 12:
		return dnsMessage(n, f.SrcPort == 53)
	case f.Proto == "tcp" && port(443) && n > 5:
		b[0], b[1], b[2] = 0x17, 0x03, 0x03 // application data, TLS 1.2 framing
		binary.BigEndian.PutUint16(b[3:5], uint16(n-5))
	}
	return b
}

// dnsMessage is a query (or an answerless response) for one A record, size bytes long
// (at least 12): the question's name is as long as the size needs, and beyond the longest
// name (255 bytes) an EDNS(0) Padding option (RFC 7830) takes the rest.
func dnsMessage(size int, response bool) []byte {
	b := make([]byte, 12, size)
	binary.BigEndian.PutUint16(b[0:], 0x5a5a) // id
	flags := uint16(0x0100)                   // recursion desired
	if response {
		flags |= 0x8080 // a response, recursion available
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	label := func(n int) {
		b = append(b, byte(n))
		for j := 0; j < n; j++ {
			b = append(b, byte('a'+j%26))
		}
	}
	const header, qtail, opt, maxName = 12, 4, 15, 255
	switch rest := size - header - qtail - 1; {
	case rest == 0 || (rest >= 2 && rest <= maxName-1):
		// The labels take rest bytes: each a length byte and 1-63 letters (2-64 bytes),
		// rest split evenly over as few labels as fit.
		binary.BigEndian.PutUint16(b[4:], 1)
		k := (rest + 63) / 64
		for i := 0; i < k; i++ {
			n := rest/k - 1
			if i < rest%k {
				n++
			}
			label(n)
		}
		b = append(b, 0, 0, 1, 0, 1) // end of name, type A, class IN
	case rest > maxName-1:
		binary.BigEndian.PutUint16(b[4:], 1)  // one question
		binary.BigEndian.PutUint16(b[10:], 1) // one additional record: the OPT
		label(6)
		label(4)
		b = append(b, 0, 0, 1, 0, 1)
		pad := size - len(b) - opt
		b = append(b, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0) // root, OPT, 1232-byte UDP size, no flags
		b = binary.BigEndian.AppendUint16(b, uint16(4+pad))
		b = append(b, 0, 12) // option Padding
		b = binary.BigEndian.AppendUint16(b, uint16(pad))
		b = append(b, make([]byte, pad)...)
	default:
		// 13-16 or 18 bytes hold no question: a header without one, zeros after.
		b = append(b, make([]byte, size-header)...)
	}
	return b
}

// ipLayers is the Ethernet and IP header between two addresses.
func ipLayers(src, dst netip.Addr, proto uint8, srcMAC, dstMAC string) []gopacket.SerializableLayer {
	mac := func(given string, ip netip.Addr) net.HardwareAddr {
		if given != "" {
			hw, _ := net.ParseMAC(given)
			return hw
		}
		b := ip.AsSlice()
		return net.HardwareAddr{0x00, 0x15, 0x5d, b[len(b)-3], b[len(b)-2], b[len(b)-1]}
	}
	eth := &layers.Ethernet{SrcMAC: mac(srcMAC, src), DstMAC: mac(dstMAC, dst)}
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		return []gopacket.SerializableLayer{eth, &layers.IPv4{Version: 4, TTL: 128, Id: 1, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocol(proto), SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}}
	}
	eth.EthernetType = layers.EthernetTypeIPv6
	return []gopacket.SerializableLayer{eth, &layers.IPv6{Version: 6, HopLimit: 128, NextHeader: layers.IPProtocol(proto), SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}}
}
