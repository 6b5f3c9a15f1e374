package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A DNS client of our own, just big enough for one probe: it writes a query and reads the
// reply's header and answer section (RFC 1035 §4). Package net's resolver cannot ask one given
// server from a given compartment, and other DNS libraries are too large for the collector.
// Every read is bounds-checked: a reply is untrusted input and must never panic.

// DNS record types and the one class we ask for.
const (
	dnsTypeA     = 1
	dnsTypeCNAME = 5
	dnsTypeAAAA  = 28
	dnsClassIN   = 1
)

const dnsHeaderLen = 12

// maxDNSMessage bounds a reply over TCP (its length prefix is 16 bits) and the UDP read buffer
// (EDNS0 replies can exceed 512 bytes; we send no OPT record, so a server should not).
const maxDNSMessage = 65535

// buildQuery writes a standard query for name's A record, recursion desired, with the given ID.
// name must have passed checkName.
func buildQuery(id uint16, name string) []byte {
	q := make([]byte, dnsHeaderLen, dnsHeaderLen+len(name)+6)
	binary.BigEndian.PutUint16(q[0:], id)
	q[2] = 0x01                          // RD: recursion desired; opcode 0 (QUERY)
	binary.BigEndian.PutUint16(q[4:], 1) // QDCOUNT
	for _, label := range strings.Split(name, ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, dnsTypeA)
	return binary.BigEndian.AppendUint16(q, dnsClassIN)
}

// frameTCP puts the 2-byte length before a message, as DNS over TCP sends it.
func frameTCP(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

// readFramed reads one length-prefixed DNS message from a stream through read, which works
// like io.Reader's Read.
func readFramed(read func([]byte) (int, error)) ([]byte, error) {
	var lenBuf [2]byte
	if err := readFull(read, lenBuf[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint16(lenBuf[:])
	if n < dnsHeaderLen {
		return nil, fmt.Errorf("the server framed a %d-byte reply, shorter than a DNS header", n)
	}
	msg := make([]byte, n)
	if err := readFull(read, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

var errClosedEarly = errors.New("the server closed the connection before a whole reply arrived")

func readFull(read func([]byte) (int, error), b []byte) error {
	for len(b) > 0 {
		n, err := read(b)
		if n < 0 || n > len(b) {
			return fmt.Errorf("the socket read returned %d bytes for a %d-byte buffer", n, len(b))
		}
		b = b[n:]
		if err != nil {
			return err
		}
		if n == 0 {
			return errClosedEarly
		}
	}
	return nil
}

// dnsReply is what a probe needs from a reply.
type dnsReply struct {
	Rcode     int
	Truncated bool
	Addrs     []netip.Addr // A and AAAA records of the answer section, in order
	Aliases   int          // CNAME records of the answer section
	Records   int          // answer records read
}

// errNotAReply and the other parse errors say what is wrong with a reply, for the probe's error.
var errNotAReply = errors.New("the message is a query, not a reply")

// parseReply reads a reply to the query with the given ID. It reads the header, skips the
// question section and reads the answer section; the authority and additional sections are
// not needed. A truncated reply (TC) keeps the answers read before the message ran out.
func parseReply(msg []byte, id uint16) (dnsReply, error) {
	var r dnsReply
	if len(msg) < dnsHeaderLen {
		return r, fmt.Errorf("the reply is %d bytes, shorter than a DNS header", len(msg))
	}
	if got := binary.BigEndian.Uint16(msg); got != id {
		return r, fmt.Errorf("the reply answers query %d, not ours (%d)", got, id)
	}
	if msg[2]&0x80 == 0 {
		return r, errNotAReply
	}
	r.Truncated = msg[2]&0x02 != 0
	r.Rcode = int(msg[3] & 0x0F)
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	off := dnsHeaderLen
	for i := 0; i < qd; i++ {
		next, err := skipName(msg, off)
		if err == nil && next+4 > len(msg) {
			err = errShort
		}
		if err != nil {
			return r, r.partial(fmt.Errorf("question %d: %w", i+1, err))
		}
		off = next + 4 // type and class
	}
	for i := 0; i < an; i++ {
		next, err := r.readRecord(msg, off)
		if err != nil {
			return r, r.partial(fmt.Errorf("answer %d: %w", i+1, err))
		}
		off = next
		r.Records++
	}
	return r, nil
}

// partial forgives a reply cut short when the server said it truncated it.
func (r *dnsReply) partial(err error) error {
	if r.Truncated && errors.Is(err, errShort) {
		return nil
	}
	return err
}

var errShort = errors.New("the message ends in the middle of a record")

// readRecord reads one resource record at off and returns the offset after it.
func (r *dnsReply) readRecord(msg []byte, off int) (int, error) {
	off, err := skipName(msg, off)
	if err != nil {
		return 0, err
	}
	if off+10 > len(msg) {
		return 0, errShort
	}
	typ := binary.BigEndian.Uint16(msg[off:])
	class := binary.BigEndian.Uint16(msg[off+2:])
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	rdata := off + 10
	end := rdata + rdlen
	if end > len(msg) {
		return 0, errShort
	}
	if class != dnsClassIN {
		return end, nil
	}
	switch {
	case typ == dnsTypeA && rdlen == 4:
		r.Addrs = append(r.Addrs, netip.AddrFrom4([4]byte(msg[rdata:end])))
	case typ == dnsTypeAAAA && rdlen == 16:
		r.Addrs = append(r.Addrs, netip.AddrFrom16([16]byte(msg[rdata:end])))
	case typ == dnsTypeA || typ == dnsTypeAAAA:
		return 0, fmt.Errorf("an address record holds %d bytes", rdlen)
	case typ == dnsTypeCNAME:
		next, err := skipName(msg, rdata)
		if err == nil && next > end {
			err = errors.New("the name runs past its record")
		}
		if err != nil {
			return 0, fmt.Errorf("CNAME: %w", err)
		}
		r.Aliases++
	}
	return end, nil
}

// maxPointers bounds the compression pointers followed in one name: a name has at most 127
// labels, so more pointers than that can only be a loop.
const maxPointers = 127

// skipName checks the domain name at off, following its compression pointers, and returns
// the offset just after the name where it started. The probe needs no name's text: the
// answers it reports are addresses.
func skipName(msg []byte, off int) (int, error) {
	end, hops, length := -1, 0, 0
	for {
		if off >= len(msg) {
			return 0, errShort
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				return end, nil
			}
			if length += c + 1; length > 255 {
				return 0, errors.New("a name is longer than the 255 bytes DNS allows")
			}
			off += 1 + c
		case 0xC0:
			if off+1 >= len(msg) {
				return 0, errShort
			}
			if end < 0 {
				end = off + 2
			}
			if hops++; hops > maxPointers {
				return 0, errors.New("the name's compression pointers loop")
			}
			off = (c&0x3F)<<8 | int(msg[off+1])
		default:
			return 0, fmt.Errorf("unknown label type 0x%02X", c&0xC0)
		}
	}
}

// rcodeName names a response code (RFC 1035 §4.1.1, RFC 6895).
func rcodeName(rc int) string {
	switch rc {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	}
	return "RCODE" + strconv.Itoa(rc)
}
