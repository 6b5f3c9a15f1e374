package target

import "testing"

// FuzzParse: any argument either parses to a target whose normalised form parses back to
// itself, or is refused with a message; it never panics.
//
//	go test ./pkg/target -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, s := range []string{"web-0", "pod/web-0", "deploy/web", "deployments.apps/web", "jobs.v1.batch/x", "svc/kube-dns",
		"node/win-1", "", "/", "a/b/c", "Pod/", "DS/x", " sts/db ", "ns/x/y", "pod/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		r, err := Parse(arg)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): an error without a message", arg)
			}
			return
		}
		again, err := Parse(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("Parse(%q) = %q, which parses to %q, %v", arg, r.String(), again.String(), err)
		}
	})
}
