package skew

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/version"
)

func TestWarning(t *testing.T) {
	for _, tc := range []struct {
		major, minor string
		client       int
		warn         bool
	}{
		{"1", "37", 37, false},
		{"1", "34", 37, false},
		{"1", "33", 37, true},
		{"1", "41+", 37, true},
		{"1", "40", 37, false},
		{"1", "27", 0, false},     // client version unknown
		{"1", "weird", 37, false}, // unreadable server minor
		{"2", "0", 37, false},
	} {
		got := Warning(&version.Info{Major: tc.major, Minor: tc.minor, GitVersion: "v" + tc.major + "." + tc.minor}, tc.client)
		if (got != "") != tc.warn {
			t.Errorf("server %s.%s, client 1.%d: warning %q, want one: %v", tc.major, tc.minor, tc.client, got, tc.warn)
		}
		if got != "" && !strings.Contains(got, "winnet release closer") {
			t.Errorf("warning %q does not say what to do", got)
		}
	}
	if Warning(nil, 37) != "" {
		t.Error("a missing server version warned")
	}
}
