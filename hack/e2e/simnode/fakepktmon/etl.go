package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The capture file: see the package comment. Only this program reads it; the name "ETL" is
// kept because the collector handles it as pktmon's .etl.
const (
	etlMagic   = "WNPKTSIM"
	etlVersion = 1
	recHeader  = 26 // bytes of a record before the logged frame, its length field included
	maxMetaLen = 1 << 20
	maxLogged  = 1 << 20
)

// Record flags.
const (
	flagDrop = 1
	flagTx   = 2
)

const noReason = 0xffff

// etlMeta is the file's header: what the records' numbers mean.
type etlMeta struct {
	Started    time.Time    `json:"started"`
	Components []component  `json:"components"` // ids 1..n
	Reasons    []string     `json:"reasons"`    // drop reasons, by index
	VXLANPorts []uint16     `json:"vxlanPorts"` // the UDP ports VXLAN flows use, for etl2txt
	Options    startOptions `json:"options"`
	Filters    []filterSpec `json:"filters"`
}

type component struct {
	ID   uint16 `json:"id"`
	Name string `json:"name"`
}

func (m *etlMeta) componentName(id uint16) string {
	if id >= 1 && int(id) <= len(m.Components) {
		return m.Components[id-1].Name
	}
	return "?"
}

func writeETLHeader(w io.Writer, meta *etlMeta) error {
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	b := make([]byte, 0, 16+len(js))
	b = append(b, etlMagic...)
	b = binary.LittleEndian.AppendUint32(b, etlVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	_, err = w.Write(append(b, js...))
	return err
}

// encodeRecord is one record; the capture time is patched in later (setRecordTime), so a
// flow's record is built once and copied for each of its packets.
func encodeRecord(ts int64, comp uint16, flags uint8, reason uint16, origLen int, logged []byte) []byte {
	b := make([]byte, recHeader, recHeader+len(logged))
	binary.LittleEndian.PutUint32(b[0:], uint32(recHeader-4+len(logged)))
	binary.LittleEndian.PutUint64(b[4:], uint64(ts))
	binary.LittleEndian.PutUint16(b[12:], comp)
	b[14] = flags
	binary.LittleEndian.PutUint16(b[16:], reason)
	binary.LittleEndian.PutUint32(b[18:], uint32(origLen))
	binary.LittleEndian.PutUint32(b[22:], uint32(len(logged)))
	return append(b, logged...)
}

func setRecordTime(rec []byte, ts int64) { binary.LittleEndian.PutUint64(rec[4:], uint64(ts)) }

// etlRecord is one decoded record.
type etlRecord struct {
	Time    time.Time
	Comp    uint16
	Drop    bool
	Tx      bool
	Reason  string
	OrigLen int
	Data    []byte // valid until the next record is read
}

// etlReader reads a capture file.
type etlReader struct {
	Meta etlMeta
	r    *bufio.Reader
	buf  []byte
}

func openETL(path string) (*etlReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := newETLReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, f, nil
}

func newETLReader(rd io.Reader) (*etlReader, error) {
	r := &etlReader{r: bufio.NewReaderSize(rd, 1<<16)}
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(r.r, hdr); err != nil || string(hdr[:8]) != etlMagic {
		return nil, errors.New("not a capture file of the simulated pktmon")
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != etlVersion {
		return nil, fmt.Errorf("capture file version %d; this program reads %d", v, etlVersion)
	}
	n := binary.LittleEndian.Uint32(hdr[12:])
	if n > maxMetaLen {
		return nil, errors.New("capture file header is corrupt")
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r.r, js); err != nil {
		return nil, errors.New("capture file header is cut short")
	}
	if err := json.Unmarshal(js, &r.Meta); err != nil {
		return nil, fmt.Errorf("capture file header: %w", err)
	}
	return r, nil
}

// next is the next record; io.EOF at the end, including a last record cut short (the file of
// a capture still writing, or of one killed mid-write).
func (r *etlReader) next() (etlRecord, error) {
	var rec etlRecord
	var h [recHeader]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return rec, io.EOF
	}
	size := binary.LittleEndian.Uint32(h[0:])
	logged := binary.LittleEndian.Uint32(h[22:])
	if logged > maxLogged || size != recHeader-4+logged {
		return rec, errors.New("capture file is corrupt: bad record length")
	}
	if cap(r.buf) < int(logged) {
		r.buf = make([]byte, logged)
	}
	r.buf = r.buf[:logged]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return rec, io.EOF
	}
	rec.Time = time.Unix(0, int64(binary.LittleEndian.Uint64(h[4:])))
	rec.Comp = binary.LittleEndian.Uint16(h[12:])
	if rec.Comp < 1 || int(rec.Comp) > len(r.Meta.Components) {
		return rec, errors.New("capture file is corrupt: bad component id")
	}
	rec.Drop, rec.Tx = h[14]&flagDrop != 0, h[14]&flagTx != 0
	if rec.Drop {
		idx := int(binary.LittleEndian.Uint16(h[16:]))
		if idx >= len(r.Meta.Reasons) {
			return rec, errors.New("capture file is corrupt: bad drop reason")
		}
		rec.Reason = r.Meta.Reasons[idx]
	}
	rec.OrigLen = int(binary.LittleEndian.Uint32(h[18:]))
	rec.Data = r.buf
	return rec, nil
}
