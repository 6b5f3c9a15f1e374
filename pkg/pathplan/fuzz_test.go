package pathplan

import "testing"

// FuzzParseTarget: any --to value parses or is refused with a message naming the flag; it
// never panics, and what parses prints a form that parses to the same target.
//
//	go test ./pkg/pathplan -run '^$' -fuzz FuzzParseTarget -fuzztime 60s
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"svc/web:80", "svc/shop/web", "pod/db-0:5432", "example.com:443", "10.0.0.1:53/udp", "[fd00::10]:443",
		"", ":", "svc/", "pod/x", "10.0.0.1:99999", "[fd00::10:443", "host:80/sctp", "svc/a/b/c:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseTarget(%q): an error without a message", s)
			}
			return
		}
		again, err := ParseTarget(tg.String())
		if err != nil || again.String() != tg.String() {
			t.Fatalf("ParseTarget(%q) prints %q, which parses to %q, %v", s, tg.String(), again.String(), err)
		}
	})
}
