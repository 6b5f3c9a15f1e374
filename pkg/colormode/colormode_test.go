package colormode

import (
	"os"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnabled(t *testing.T) {
	var buf strings.Builder
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for _, tc := range []struct {
		name string
		mode string
		env  map[string]string
		want bool
	}{
		{"never", Never, nil, false},
		{"always, even piped and with NO_COLOR", Always, map[string]string{"NO_COLOR": "1"}, true},
		{"auto, piped", Auto, nil, false},
		{"auto, NO_COLOR", Auto, map[string]string{"NO_COLOR": "1"}, false},
		{"auto, TERM=dumb", Auto, map[string]string{"TERM": "dumb"}, false},
	} {
		if got := Enabled(tc.mode, &buf, env(tc.env)); got != tc.want {
			t.Errorf("%s: Enabled = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A file that is not a terminal gets no colour under auto.
	if Enabled(Auto, devnull, env(nil)) {
		t.Error("auto coloured output to a file that is not a terminal")
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"": Auto, "auto": Auto, "always": Always, "never": Never} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := Parse("yes"); err == nil || !strings.Contains(err.Error(), "auto, always or never") {
		t.Errorf("Parse(yes) = %v", err)
	}
}
