package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Size bounds. A record larger than MaxRecordBytes or a stream larger than MaxStreamBytes is
// refused: the plugin never lets a node make it allocate without limit.
const (
	MaxRecordBytes = 32 << 20
	MaxStreamBytes = 512 << 20
)

// Encoder writes records, one per line. It is safe for concurrent use: sources run in parallel.
type Encoder struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w, now: time.Now} }

// Write stamps r with the schema version and time (if unset) and writes it as one line.
func (e *Encoder) Write(r Record) error {
	r.V = SchemaMajor
	if r.Time.IsZero() {
		r.Time = e.now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding %s record: %w", r.Type, err)
	}
	if len(b) > MaxRecordBytes {
		return fmt.Errorf("encoding %s record %q: %d bytes is over the %d byte limit", r.Type, r.Kind, len(b), MaxRecordBytes)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(b)
	return err
}

// Emit marshals data and writes a record of the given type.
func (e *Encoder) Emit(typ, source, kind string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding %s %s: %w", typ, kind, err)
	}
	return e.Write(Record{Type: typ, Source: source, Kind: kind, Data: raw})
}

// ErrUnsupportedSchema is returned for a record whose schema major this build does not know.
var ErrUnsupportedSchema = errors.New("unsupported collector schema version")

// Decoder reads records from a stream, bounded in record size and total size.
type Decoder struct {
	r         *bufio.Reader
	total     int64
	maxRecord int
	maxStream int64
	line      int
}

// NewDecoder returns a Decoder with the default bounds.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), maxRecord: MaxRecordBytes, maxStream: MaxStreamBytes}
}

// SetLimits overrides the bounds (tests, and callers that know better).
func (d *Decoder) SetLimits(maxRecord int, maxStream int64) {
	d.maxRecord, d.maxStream = maxRecord, maxStream
}

// Next returns the next record, io.EOF at the end of the stream, or an error that names the line.
// Blank lines are skipped. A line that is not a JSON object is an error: stdout must carry only
// NDJSON, so anything else means the collector (or something in front of it) misbehaved.
func (d *Decoder) Next() (Record, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Record{}, err
		}
		d.line++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return Record{}, fmt.Errorf("collector output line %d is not a JSON record (%q): %w", d.line, preview(line), err)
		}
		if rec.V != SchemaMajor {
			return Record{}, fmt.Errorf("%w: the collector speaks schema v%d, this plugin reads v%d; use a plugin and collector from the same release", ErrUnsupportedSchema, rec.V, SchemaMajor)
		}
		return rec, nil
	}
}

func (d *Decoder) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		d.total += int64(len(chunk))
		if d.total > d.maxStream {
			return nil, fmt.Errorf("collector output exceeds %d bytes; refusing to read more", d.maxStream)
		}
		if len(buf)+len(chunk) > d.maxRecord {
			return nil, fmt.Errorf("collector record at line %d exceeds %d bytes; refusing it", d.line+1, d.maxRecord)
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}

func preview(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
