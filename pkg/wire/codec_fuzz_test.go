package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzDecoder: the NDJSON stream from the node, however truncated, malformed or oversized,
// never panics the decoder, never makes it read past its stream bound, and every error it
// returns says what it is.
//
//	go test ./pkg/wire -run '^$' -fuzz FuzzDecoder -fuzztime 60s
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"hello","ts":"2025-11-26T01:02:03Z","data":{"collectorVersion":"v1"}}` + "\n",
		`{"v":1,"type":"artifact","kind":"hcn.endpoints","ts":"2025-11-26T01:02:03Z","data":[]}` + "\n" + `{"v":1,"type":"done"}`,
		`{"v":2,"type":"hello"}`, `{"v":1,"type":"artifact","data":[` + "\n", "\n\n  \n", `[1,2]`, "{\"v\":1}\r\n{\"v\":1",
		"\xff\xfe{\x00", `{"v":1,"type":"error","error":"` + string(bytes.Repeat([]byte("x"), 300)) + `"}`,
	} {
		f.Add([]byte(s))
	}
	const maxRecord, maxStream = 256, 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		d := NewDecoder(src)
		d.SetLimits(maxRecord, maxStream)
		for i := 0; ; i++ {
			rec, err := d.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if err.Error() == "" {
					t.Fatal("an error without a message")
				}
				return
			}
			if rec.V != SchemaMajor {
				t.Fatalf("record %d of schema v%d passed the check", i, rec.V)
			}
			// Reading is bounded: the decoder may buffer ahead, never past its limit plus a buffer.
			if read := int64(len(data)) - int64(src.Len()); read > maxStream+64<<10 {
				t.Fatalf("read %d bytes, bound %d", read, maxStream)
			}
			if i > len(data) {
				t.Fatalf("%d records from %d bytes", i, len(data))
			}
		}
	})
}
