package analyze_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/ingest"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// fuzzSeedMaxBytes keeps seeds small: the fuzzer mutates every byte of a seed, and a 64 KB
// dump mutates too slowly to explore anything within a short CI run.
const fuzzSeedMaxBytes = 16 << 10

// FuzzAnalyzeDump runs the whole offline path (ingest, snapshot, rules) over one pasted file,
// as `kubectl winnet analyze FILE` does. Seeds are the public corpus' real dumps, so the
// fuzzer starts from every layout users paste. Whatever the bytes, analyze must not panic and
// must report only catalogued ids at a known severity.
func FuzzAnalyzeDump(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "public", "*", "input", "*"))
	for _, p := range inputs {
		data, err := os.ReadFile(p)
		if err != nil || len(data) > fuzzSeedMaxBytes {
			continue
		}
		f.Add(filepath.Base(p), data)
	}
	f.Add("get-hnsendpoint.json", []byte(`[{"ID":"1","IPAddress":"10.0.0.1","Policies":[{"Type":"L2Driver"}]}]`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		c := ingest.NewCollection(ingest.Options{})
		c.Add(name, data, "")
		res, err := c.Finish()
		if err != nil {
			return // refused with a message: the command prints it and exits
		}
		b := snapshot.NewBuilder(res.Node)
		for _, r := range res.Records {
			b.Add(r)
		}
		out := analyze.Run(analyze.Input{Snapshot: b.Snapshot(), Cluster: res.Cluster, Pod: res.Target})
		for _, fd := range out.Findings {
			if !slices.Contains(analyze.IDs, fd.ID) {
				t.Errorf("finding id %q is not in the catalog (FINDINGS.md)", fd.ID)
			}
			switch fd.Severity {
			case analyze.SeverityError, analyze.SeverityWarning, analyze.SeverityInfo:
			default:
				t.Errorf("finding %s has severity %q", fd.ID, fd.Severity)
			}
			if fd.Title == "" {
				t.Errorf("finding %s has no title", fd.ID)
			}
		}
	})
}
