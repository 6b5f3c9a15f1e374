package main

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// testCapture is the traffic the tests use: the README's example, an unrelated flow, an ICMPv6
// one and a VXLAN flow on a non-standard port.
const testCapture = `{"flows":[
  {"name":"dns","src":"10.244.1.5","dst":"10.96.0.10","proto":"udp","srcPort":50123,"dstPort":53,"payloadBytes":40,"everyMS":20},
  {"name":"overlay-web","src":"10.244.2.7","dst":"10.244.1.5","proto":"tcp","srcPort":8080,"dstPort":41000,"payloadBytes":1400,"everyMS":2,
   "vxlan":{"outerSrc":"10.240.0.5","outerDst":"10.240.0.4","vni":4096}},
  {"name":"blocked","src":"10.244.1.5","dst":"10.0.0.9","proto":"tcp","srcPort":41001,"dstPort":443,"everyMS":50,
   "drop":{"component":"VFP","reason":"Filtered VLAN"}},
  {"name":"other","src":"10.244.3.3","dst":"10.96.0.10","proto":"udp","srcPort":40000,"dstPort":53,"payloadBytes":30,"everyMS":20},
  {"name":"ping6","src":"fd00::5","dst":"fd00::9","proto":"icmpv6","payloadBytes":8,"everyMS":100,"direction":"tx","component":"Host vNIC"},
  {"name":"overlay-4790","src":"10.244.1.5","dst":"10.244.4.4","proto":"udp","srcPort":5000,"dstPort":6000,"payloadBytes":10,"everyMS":100,
   "vxlan":{"outerSrc":"10.240.0.4","outerDst":"10.240.0.6","vni":7,"port":4790}}
]}`

func testFlows(t *testing.T) map[string]flowSpec {
	t.Helper()
	flows, err := parseCapture([]byte(testCapture))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]flowSpec{}
	for _, f := range flows {
		m[f.Name] = f
	}
	return m
}

func onesSum(b []byte, sum uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func folded(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// checkFrame verifies a frame's lengths and checksums by hand (gopacket decodes without
// checking them), and those of a VXLAN frame's inner packet; it returns the layers.
func checkFrame(t *testing.T, name string, frame []byte) []gopacket.LayerType {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("%s: decoding: %v", name, el.Error())
	}
	var types []gopacket.LayerType
	for _, l := range p.Layers() {
		types = append(types, l.LayerType())
	}
	eth := frame[14:]
	var pseudo uint32
	var proto uint8
	var l4 []byte
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800:
		hl := int(eth[0]&0xf) * 4
		if folded(onesSum(eth[:hl], 0)) != 0xffff {
			t.Errorf("%s: bad IPv4 header checksum", name)
		}
		// Ethernet pads a frame to 60 bytes, after the IP packet.
		ipLen := int(binary.BigEndian.Uint16(eth[2:4]))
		if ipLen > len(eth) || (len(frame) > 60 && ipLen != len(eth)) {
			t.Errorf("%s: IPv4 length %d, frame holds %d", name, ipLen, len(eth))
		}
		eth = eth[:ipLen]
		proto, l4 = eth[9], eth[hl:]
		pseudo = onesSum(eth[12:20], uint32(proto)+uint32(len(l4)))
	case 0x86dd:
		eth = eth[:40+int(binary.BigEndian.Uint16(eth[4:6]))]
		proto, l4 = eth[6], eth[40:]
		pseudo = onesSum(eth[8:40], uint32(proto)+uint32(len(l4)))
	default:
		t.Fatalf("%s: not IP", name)
	}
	if proto == 1 {
		pseudo = 0 // ICMPv4's checksum has no pseudo-header
	}
	if folded(onesSum(l4, pseudo)) != 0xffff {
		t.Errorf("%s: bad protocol %d checksum", name, proto)
	}
	if proto == 17 && int(binary.BigEndian.Uint16(l4[4:6])) != len(l4) {
		t.Errorf("%s: UDP length %d, segment %d", name, binary.BigEndian.Uint16(l4[4:6]), len(l4))
	}
	if proto == 17 && (binary.BigEndian.Uint16(l4[2:4]) == 4789 || binary.BigEndian.Uint16(l4[2:4]) == 4790) {
		checkFrame(t, name+" (inner)", l4[16:])
	}
	return types
}

func TestFramesAreReal(t *testing.T) {
	flows := testFlows(t)
	want := map[string]string{
		"dns":          "Ethernet IPv4 UDP DNS",
		"overlay-web":  "Ethernet IPv4 UDP VXLAN Ethernet IPv4 TCP Payload",
		"blocked":      "Ethernet IPv4 TCP",
		"ping6":        "Ethernet IPv6 ICMPv6 ICMPv6Echo",
		"overlay-4790": "Ethernet IPv4 UDP Payload", // gopacket knows VXLAN only on 4789
	}
	for name, layersWant := range want {
		f := flows[name]
		frame, err := f.frame()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range checkFrame(t, name, frame) {
			got = append(got, l.String())
		}
		if strings.Join(got, " ") != layersWant {
			t.Errorf("%s: layers %q, want %q", name, got, layersWant)
		}
	}
	// The VXLAN frame: 14+20+8+8 outer bytes around 14+20+20+1400.
	f := flows["overlay-web"]
	frame, _ := f.frame()
	if len(frame) != 50+1454 {
		t.Errorf("overlay-web frame is %d bytes, want 1504", len(frame))
	}
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if vx, _ := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN); vx == nil || vx.VNI != 4096 || !vx.ValidIDFlag {
		t.Errorf("VXLAN layer %+v", vx)
	}
}

// TestPayloadsDecode: UDP port 53 carries a DNS message of exactly payloadBytes, TCP port
// 443 a TLS record; neither decodes as a malformed packet.
func TestPayloadsDecode(t *testing.T) {
	for _, n := range []int{0, 5, 12, 13, 16, 17, 18, 19, 20, 40, 80, 81, 82, 145, 270, 271, 272, 273, 512, 1400, 9000} {
		for _, f := range []flowSpec{
			{Name: "q", Src: "10.0.0.1", Dst: "10.0.0.2", Proto: "udp", SrcPort: 5000, DstPort: 53, PayloadBytes: n, EveryMS: 1},
			{Name: "r", Src: "10.0.0.2", Dst: "10.0.0.1", Proto: "udp", SrcPort: 53, DstPort: 5000, PayloadBytes: n, EveryMS: 1},
			{Name: "tls", Src: "10.0.0.1", Dst: "10.0.0.2", Proto: "tcp", SrcPort: 5000, DstPort: 443, PayloadBytes: n, EveryMS: 1},
		} {
			if n > 0 && n < 12 && f.Proto == "udp" {
				continue // too small for a DNS message: letters, which gopacket calls malformed
			}
			if err := f.normalise(); err != nil {
				t.Fatal(err)
			}
			frame, err := f.frame()
			if err != nil {
				t.Fatal(err)
			}
			p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Errorf("%s with %d payload bytes: %v", f.Name, n, el.Error())
				continue
			}
			if got := len(p.TransportLayer().LayerPayload()); got != n {
				t.Errorf("%s: payload %d bytes, want %d", f.Name, got, n)
			}
			if dns, ok := p.Layer(layers.LayerTypeDNS).(*layers.DNS); n >= 19 && f.Proto == "udp" &&
				(!ok || len(dns.Questions) != 1 || dns.QR != (f.SrcPort == 53)) {
				t.Errorf("%s with %d bytes: DNS layer %+v", f.Name, n, dns)
			}
		}
	}
}

func TestParseCaptureRefuses(t *testing.T) {
	flow := func(extra string) string {
		return `{"flows":[{"name":"f","src":"10.0.0.1","dst":"10.0.0.2","proto":"udp","srcPort":1,"dstPort":2,"everyMS":1` + extra + `}]}`
	}
	tests := []struct{ json, wantErr string }{
		{`{"flows":[], "extra": 1}`, "unknown field"},
		{flow(`,"every":5`), "unknown field"},
		{flow(`,"proto":"sctp"`), "proto"},
		{flow(`,"srcPort":0`), "srcPort"},
		{flow(`,"everyMS":0`), "everyMS"},
		{flow(`,"dst":"fd00::1"`), "different IP families"},
		{flow(`,"src":"nohost"`), "IP addresses"},
		{flow(`,"payloadBytes":9001`), "payloadBytes"},
		{flow(`,"count":-1`), "count"},
		{flow(`,"direction":"up"`), "direction"},
		{flow(`,"srcMac":"zz"`), "MAC"},
		{flow(`,"drop":{"component":"VFP"}`), "reason"},
		{flow(`,"component":"NIC","drop":{"component":"VFP","reason":"x"}`), "drop.component"},
		{flow(`,"vxlan":{"outerSrc":"10.1.1.1","outerDst":"10.1.1.2","vni":16777216}`), "vni"},
		{flow(`,"vxlan":{"outerSrc":"10.1.1.1"}`), "outerDst"},
		{`{"flows":[{"src":"10.0.0.1","dst":"10.0.0.2","proto":"icmp","srcPort":1,"everyMS":1}]}`, "no ports"},
		{`{"flows":[{"src":"fd00::1","dst":"fd00::2","proto":"icmp","everyMS":1}]}`, "icmpv6 for IPv6"},
		{`{"flows":[]} {}`, "text after"},
	}
	for _, tt := range tests {
		_, err := parseCapture([]byte(tt.json))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseCapture(%s) = %v, want an error with %q", tt.json, err, tt.wantErr)
		}
	}
	if _, err := parseCapture([]byte(flow(""))); err != nil {
		t.Errorf("the valid base flow: %v", err)
	}
}

func TestFilterMatching(t *testing.T) {
	flows := testFlows(t)
	frames := map[string][]byte{}
	for name, f := range flows {
		fr, err := f.frame()
		if err != nil {
			t.Fatal(err)
		}
		frames[name] = fr
	}
	tests := []struct {
		filters [][]string // `filter add` arguments, one filter each
		want    string     // the flows captured, sorted as in testCapture
	}{
		{nil, "dns overlay-web blocked other ping6 overlay-4790"},
		// Without -e only the outer headers count: the overlay flow is between the nodes.
		{[][]string{{"-i", "10.244.1.5"}}, "dns blocked"},
		{[][]string{{"-i", "10.244.1.5", "-e"}}, "dns overlay-web blocked"},
		{[][]string{{"-i", "10.244.1.5", "-e", "4790"}}, "dns blocked overlay-4790"},
		{[][]string{{"-i", "10.240.0.4"}}, "overlay-web overlay-4790"},
		// Two IPs: traffic between them, either direction.
		{[][]string{{"-i", "10.96.0.10", "10.244.1.5"}}, "dns"},
		{[][]string{{"-i", "10.244.1.5", "10.244.2.7", "-e"}}, "overlay-web"},
		{[][]string{{"-i", "10.244.1.5", "10.244.3.3"}}, ""},
		{[][]string{{"-p", "53"}}, "dns other"},
		{[][]string{{"-p", "53", "40000"}}, "other"},
		{[][]string{{"-p", "41000", "-e"}}, "overlay-web"},
		{[][]string{{"-p", "4789"}}, "overlay-web"},
		{[][]string{{"-t", "TCP"}}, "blocked"},
		{[][]string{{"-t", "TCP", "-e"}}, "overlay-web blocked"},
		{[][]string{{"-t", "icmpv6"}}, "ping6"},
		{[][]string{{"-t", "udp", "-i", "10.96.0.10", "-p", "50123"}}, "dns"},
		{[][]string{{"-d", "IPv6"}}, "ping6"},
		{[][]string{{"-m", "00:15:5d:f4:01:05"}}, "dns blocked"},
		{[][]string{{"-m", "00:15:5d:f4:01:05", "-e"}}, "dns overlay-web blocked"},
		// Several filters: a packet is captured when it matches any one of them.
		{[][]string{{"-p", "443"}, {"-i", "fd00::9"}}, "blocked ping6"},
	}
	order := []string{"dns", "overlay-web", "blocked", "other", "ping6", "overlay-4790"}
	for _, tt := range tests {
		var filters []filterSpec
		for _, args := range tt.filters {
			f, err := parseFilterAdd(args)
			if err != nil {
				t.Fatal(err)
			}
			filters = append(filters, f)
		}
		var got []string
		for _, name := range order {
			if capturedBy(filters, frames[name]) {
				got = append(got, name)
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("filters %q capture %q, want %q", tt.filters, got, tt.want)
		}
	}
}
