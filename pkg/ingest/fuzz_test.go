package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecognize runs the whole registry on arbitrary bytes. A recogniser that panics is turned
// into an error by Recognize, so the fuzzer fails on any error; every record it makes must
// encode. The seed corpus is every fixture (and testdata/fuzz/FuzzRecognize).
//
//	go test ./pkg/ingest -run '^$' -fuzz FuzzRecognize -fuzztime 60s
func FuzzRecognize(f *testing.F) {
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "SOURCE.md" || filepath.Base(filepath.Dir(p)) == "FuzzRecognize" {
			return nil
		}
		// Seeds past 16 KB mutate too slowly to explore anything in a short run.
		if b, err := os.ReadFile(p); err == nil && len(b) < 16<<10 {
			f.Add(b)
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Recognize("fuzz", data)
		for _, err := range r.Errors {
			t.Fatalf("a recogniser failed: %v", err)
		}
		for _, o := range r.Outputs {
			for _, rec := range o.Records {
				if len(rec.Data) > 0 && !json.Valid(rec.Data) {
					t.Fatalf("%s record holds invalid JSON", rec.Kind)
				}
			}
			for _, h := range o.HNS {
				if !json.Valid(h.Raw) {
					t.Fatalf("%s object holds invalid JSON", h.Kind)
				}
			}
		}
	})
}

// FuzzCollection runs the whole pipeline (dedupe, merges, cluster facts) on one fuzzed file.
func FuzzCollection(f *testing.F) {
	for _, p := range []string{"testdata/hns-v1-endpoints/endpoint.txt", "testdata/kube-objects-yaml/objects.yaml", "testdata/transcripts/session.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCollection(Options{})
		c.Add("a", data, "")
		c.Add("b", data, "")
		if _, err := c.Finish(); err != nil {
			// Only target selection may fail, and only when asked for a pod.
			t.Fatalf("Finish failed without --pod: %v", err)
		}
	})
}
