package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// reply builds DNS replies for the tests: the query's header and question, then records.
type reply struct {
	id      uint16
	flags   uint16 // QR is added
	qname   string
	answers [][]byte
}

// rr is one answer record whose owner is a pointer to the question's name (offset 12).
func rr(typ uint16, rdata []byte) []byte {
	b := []byte{0xC0, 12}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, dnsClassIN)
	b = binary.BigEndian.AppendUint32(b, 30)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

func aRecord(ip string) []byte { a := netip.MustParseAddr(ip); return rr(dnsTypeA, a.AsSlice()) }

func wireName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(name, ".") {
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0)
}

func (r reply) bytes() []byte {
	b := binary.BigEndian.AppendUint16(nil, r.id)
	b = binary.BigEndian.AppendUint16(b, r.flags|0x8000)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.answers)))
	b = append(b, 0, 0, 0, 0)
	b = append(b, wireName(r.qname)...)
	b = append(b, 0, dnsTypeA, 0, dnsClassIN)
	for _, a := range r.answers {
		b = append(b, a...)
	}
	return b
}

func TestBuildQuery(t *testing.T) {
	q := buildQuery(0xBEEF, "kubernetes.default.svc.cluster.local")
	want := append([]byte{0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0},
		append(wireName("kubernetes.default.svc.cluster.local"), 0, 1, 0, 1)...)
	if !bytes.Equal(q, want) {
		t.Errorf("query = % x\nwant    % x", q, want)
	}
}

func TestParseReply(t *testing.T) {
	const name = "web.shop.svc.cluster.local"
	// A CNAME whose target is compressed into the question name's tail ("svc.cluster.local"
	// starts 9 bytes into the name at offset 12).
	cname := rr(dnsTypeCNAME, append(append([]byte{3}, "alt"...), 0xC0, 12+9))
	aaaa := rr(dnsTypeAAAA, netip.MustParseAddr("fd00::5").AsSlice())
	mx := rr(15, []byte{0, 10, 0xC0, 12})
	good := reply{id: 7, qname: name, answers: [][]byte{cname, aRecord("10.244.1.5"), aaaa, mx}}.bytes()
	truncated := reply{id: 7, flags: 0x0200, qname: name, answers: [][]byte{aRecord("10.244.1.5"), aRecord("10.244.1.6")}}.bytes()
	selfLoop := reply{id: 7, qname: name, answers: [][]byte{rr(dnsTypeCNAME, []byte{0xC0, byte(12 + len(name) + 2 + 4 + 12)})}}.bytes()
	pingPong := append(reply{id: 7, qname: name}.bytes(), 0xC0, byte(12+len(name)+2+4+2), 0xC0, byte(12+len(name)+2+4))
	binary.BigEndian.PutUint16(pingPong[6:], 1)
	tests := []struct {
		name    string
		msg     []byte
		id      uint16
		want    dnsReply
		wantErr string
	}{
		{name: "answers", msg: good, id: 7, want: dnsReply{
			Addrs:   []netip.Addr{netip.MustParseAddr("10.244.1.5"), netip.MustParseAddr("fd00::5")},
			Aliases: 1,
			Records: 4,
		}},
		{name: "nxdomain", msg: reply{id: 9, flags: 3, qname: name}.bytes(), id: 9, want: dnsReply{Rcode: 3}},
		{name: "truncated keeps what it read", msg: truncated[:len(truncated)-5], id: 7, want: dnsReply{
			Truncated: true, Addrs: []netip.Addr{netip.MustParseAddr("10.244.1.5")}, Records: 1,
		}},
		{name: "cut short without TC", msg: good[:len(good)-3], id: 7, wantErr: "answer 4: the message ends in the middle of a record"},
		{name: "wrong id", msg: good, id: 8, wantErr: "answers query 7, not ours (8)"},
		{name: "a query", msg: buildQuery(7, name), id: 7, wantErr: "a query, not a reply"},
		{name: "short header", msg: good[:11], id: 7, wantErr: "shorter than a DNS header"},
		{name: "bad A length", msg: reply{id: 7, qname: name, answers: [][]byte{rr(dnsTypeA, []byte{1, 2, 3})}}.bytes(), id: 7, wantErr: "an address record holds 3 bytes"},
		{name: "pointer loop in a CNAME", msg: selfLoop, id: 7, wantErr: "compression pointers loop"},
		{name: "two pointers in a ring", msg: pingPong, id: 7, wantErr: "compression pointers loop"},
		{name: "pointer past the end", msg: reply{id: 7, qname: name, answers: [][]byte{{0xC0, 0xFF}}}.bytes(), id: 7, wantErr: "ends in the middle"},
		{name: "reserved label type", msg: reply{id: 7, qname: name, answers: [][]byte{{0x80}}}.bytes(), id: 7, wantErr: "unknown label type 0x80"},
		{name: "rdata past the end", msg: reply{id: 7, qname: name, answers: [][]byte{rr(dnsTypeA, []byte{1, 2, 3, 4})[:13]}}.bytes(), id: 7, wantErr: "ends in the middle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseReply(tt.msg, tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseReply = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Rcode != tt.want.Rcode || got.Truncated != tt.want.Truncated || got.Records != tt.want.Records ||
				!slices.Equal(got.Addrs, tt.want.Addrs) || got.Aliases != tt.want.Aliases {
				t.Errorf("parseReply = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSkipName(t *testing.T) {
	long := bytes.Repeat(append([]byte{63}, bytes.Repeat([]byte{'a'}, 63)...), 5)
	tests := []struct {
		name    string
		msg     []byte
		off     int
		wantEnd int
		wantErr string
	}{
		{name: "root", msg: []byte{0}, wantEnd: 1},
		{name: "plain", msg: wireName("a.bc"), wantEnd: 6},
		{name: "a pointer ends the name where it stands", msg: append(wireName("x.y"), 1, 'z', 0xC0, 0), off: 5, wantEnd: 9},
		{name: "any bytes in a label", msg: []byte{4, 'a', '.', 0, '\\', 0}, wantEnd: 6},
		{name: "too long", msg: append(long, 0), wantErr: "longer than the 255 bytes"},
		{name: "too long through pointers", msg: append(slices.Clone(long[:64*3]), 0xC0, 0), wantErr: "longer than the 255 bytes"},
		{name: "label past the end", msg: []byte{5, 'a', 'b'}, wantErr: "ends in the middle"},
		{name: "offset past the end", msg: []byte{0}, off: 3, wantErr: "ends in the middle"},
		{name: "half a pointer", msg: []byte{0xC0}, wantErr: "ends in the middle"},
		{name: "a pointer to itself", msg: []byte{0xC0, 0}, wantErr: "pointers loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, err := skipName(tt.msg, tt.off)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("skipName = %d, %v; want error %q", end, err, tt.wantErr)
				}
				return
			}
			if err != nil || end != tt.wantEnd {
				t.Errorf("skipName = %d, %v; want %d", end, err, tt.wantEnd)
			}
		})
	}
}

func TestReadFramed(t *testing.T) {
	msg := reply{id: 1, qname: "a.b", answers: [][]byte{aRecord("10.0.0.1")}}.bytes()
	tests := []struct {
		name    string
		stream  []byte
		chunk   int // bytes per read
		want    []byte
		wantErr string
	}{
		{name: "whole", stream: frameTCP(msg), chunk: 1 << 16, want: msg},
		{name: "a byte at a time", stream: frameTCP(msg), chunk: 1, want: msg},
		{name: "closed in the body", stream: frameTCP(msg)[:20], chunk: 7, wantErr: "closed the connection before a whole reply"},
		{name: "closed in the length", stream: []byte{0}, chunk: 7, wantErr: "closed the connection"},
		{name: "tiny frame", stream: []byte{0, 3, 1, 2, 3}, chunk: 7, wantErr: "shorter than a DNS header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(tt.stream)
			got, err := readFramed(func(b []byte) (int, error) {
				n, err := r.Read(b[:min(len(b), tt.chunk)])
				if errors.Is(err, io.EOF) {
					err = nil // a socket reports the end as 0 bytes
				}
				return n, err
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("readFramed = %v; want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("readFramed = % x, %v", got, err)
			}
		})
	}
}

// FuzzParseReply: any bytes must parse or fail, never panic or hang, and what parses must be
// consistent. Seeds cover compression, truncation and loops.
func FuzzParseReply(f *testing.F) {
	name := "kubernetes.default.svc.cluster.local"
	f.Add(reply{id: 1, qname: name, answers: [][]byte{aRecord("10.96.0.1")}}.bytes())
	f.Add(reply{id: 1, flags: 0x0203, qname: name}.bytes())
	f.Add(reply{id: 1, qname: name, answers: [][]byte{rr(dnsTypeCNAME, []byte{0xC0, 12}), rr(dnsTypeCNAME, []byte{0xC0, 0x40})}}.bytes())
	f.Add([]byte{0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12})
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := parseReply(msg, 1)
		if err != nil {
			return
		}
		if r.Records > int(binary.BigEndian.Uint16(msg[6:])) || len(r.Addrs)+r.Aliases > r.Records {
			t.Errorf("parsed %+v from a message claiming %d answers", r, binary.BigEndian.Uint16(msg[6:]))
		}
	})
}
