package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// generate runs a generator over the test traffic for elapsed, in flushes of step, and
// returns the file it writes.
func generate(t *testing.T, o startOptions, filters []filterSpec, elapsed, step time.Duration) ([]byte, *generator) {
	t.Helper()
	flows, err := parseCapture([]byte(testCapture))
	if err != nil {
		t.Fatal(err)
	}
	if o.FileSizeMB == 0 {
		o.FileSizeMB = 512
	}
	g, meta, err := newGenerator(flows, &session{Options: o, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	meta.Started = start
	var buf bytes.Buffer
	if err := writeETLHeader(&buf, meta); err != nil {
		t.Fatal(err)
	}
	g.startNS, g.written = start.UnixNano(), int64(buf.Len())
	for at := step; at <= elapsed; at += step {
		if err := g.flush(&buf, at); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), g
}

func readAll(t *testing.T, file []byte) (*etlReader, []etlRecord) {
	t.Helper()
	r, err := newETLReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var recs []etlRecord
	for {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			return r, recs
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.Data = append([]byte(nil), rec.Data...)
		recs = append(recs, rec)
	}
}

func TestGeneratorSchedule(t *testing.T) {
	file, g := generate(t, startOptions{Comp: "all", Type: "all", PktSize: 0}, nil, time.Second, 50*time.Millisecond)
	r, recs := readAll(t, file)
	// Packets at 0, every, 2*every ... up to 1s inclusive.
	byComp := map[string]int{}
	var drops, overlay int
	for i, rec := range recs {
		if i > 0 && rec.Time.Before(recs[i-1].Time) {
			t.Fatalf("record %d at %s is before the one ahead of it", i, rec.Time)
		}
		byComp[r.Meta.componentName(rec.Comp)]++
		if rec.Drop {
			drops++
			if rec.Reason != "Filtered VLAN" {
				t.Errorf("drop reason %q", rec.Reason)
			}
		}
		if rec.OrigLen == 1504 {
			overlay++
		}
	}
	// dns 51 + overlay 501 + other 51 + overlay-4790 11 at the NIC; ping6 11 at the vNIC;
	// blocked 21 at VFP.
	if byComp["NIC"] != 51+501+51+11 || byComp["VFP"] != 21 || byComp["Host vNIC"] != 11 || drops != 21 || overlay != 501 {
		t.Errorf("records per component %v, drops %d, overlay %d", byComp, drops, overlay)
	}
	if g.recs != int64(len(recs)) || g.lost != 0 {
		t.Errorf("generator counted %d records, %d lost; file holds %d", g.recs, g.lost, len(recs))
	}
	if first, last := recs[0].Time, recs[len(recs)-1].Time; !first.Equal(r.Meta.Started) || last.Sub(first) != time.Second {
		t.Errorf("records from %s to %s, started %s", first, last, r.Meta.Started)
	}
}

func TestGeneratorTypeCompPktSize(t *testing.T) {
	tests := []struct {
		o    startOptions
		want map[string]int // records per component over 100ms
	}{
		{startOptions{Comp: "all", Type: "flow"}, map[string]int{"NIC": 6 + 51 + 6 + 2, "Host vNIC": 2}},
		{startOptions{Comp: "all", Type: "drop"}, map[string]int{"VFP": 3}},
		{startOptions{Comp: "nics", Type: "all"}, map[string]int{"NIC": 6 + 51 + 6 + 2, "Host vNIC": 2}},
		{startOptions{Comp: "nics", Type: "drop"}, map[string]int{}},
	}
	for _, tt := range tests {
		tt.o.PktSize = 100
		file, _ := generate(t, tt.o, nil, 100*time.Millisecond, 50*time.Millisecond)
		r, recs := readAll(t, file)
		got := map[string]int{}
		for _, rec := range recs {
			got[r.Meta.componentName(rec.Comp)]++
			if len(rec.Data) > 100 || (rec.OrigLen > 100 && len(rec.Data) != 100) || (rec.OrigLen <= 100 && len(rec.Data) != rec.OrigLen) {
				t.Errorf("logged %d of %d bytes with --pkt-size 100", len(rec.Data), rec.OrigLen)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%+v: records %v, want %v", tt.o, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%+v: records %v, want %v", tt.o, got, tt.want)
			}
		}
	}
}

func TestGeneratorSizeCap(t *testing.T) {
	file, g := generate(t, startOptions{Comp: "all", Type: "all", PktSize: 0, FileSizeMB: 1}, nil, 2*time.Second, 50*time.Millisecond)
	if len(file) > 1<<20 || len(file) < 1<<20-2000 {
		t.Errorf("file of %d bytes with a 1 MB cap", len(file))
	}
	if g.lost == 0 || !g.full {
		t.Errorf("nothing lost (%d) with 1.5 MB generated into 1 MB", g.lost)
	}
	_, recs := readAll(t, file)
	if int64(len(recs)) != g.recs {
		t.Errorf("%d records read, %d written", len(recs), g.recs)
	}
}

func TestETLReaderCutShort(t *testing.T) {
	file, g := generate(t, startOptions{Comp: "all", Type: "all", PktSize: 0}, nil, 100*time.Millisecond, 50*time.Millisecond)
	_, recs := readAll(t, file[:len(file)-7]) // a capture still writing its last record
	if int64(len(recs)) != g.recs-1 {
		t.Errorf("%d records from a file cut in its last one, want %d", len(recs), g.recs-1)
	}
	if _, err := newETLReader(strings.NewReader("MZ not a capture")); err == nil {
		t.Error("a file that is no capture was read")
	}
	// A bad component id in the first record is corruption, not the end.
	bad := append([]byte(nil), file...)
	first := 16 + int(binary.LittleEndian.Uint32(bad[12:16]))
	binary.LittleEndian.PutUint16(bad[first+12:], 99)
	r, err := newETLReader(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("a record of component 99 read as %v", err)
	}
}
