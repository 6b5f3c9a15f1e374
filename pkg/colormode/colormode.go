// Package colormode decides whether winnet's tables get colour: --color auto|always|never,
// with auto meaning a terminal that can show it (not NO_COLOR, not TERM=dumb, and on Windows a
// console that accepts ANSI sequences once asked to).
package colormode

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// The --color values.
const (
	Auto   = "auto"
	Always = "always"
	Never  = "never"
)

// Parse checks a --color value.
func Parse(s string) (string, error) {
	switch s {
	case Auto, Always, Never:
		return s, nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("unknown --color %q: use auto, always or never", s)
}

// Enabled reports whether output to w is coloured under mode. An explicit always wins over
// NO_COLOR (the flag is the more specific request); auto needs a terminal that takes colour.
func Enabled(mode string, w io.Writer, getenv func(string) string) bool {
	f, isFile := w.(*os.File)
	switch mode {
	case Never:
		return false
	case Always:
		if isFile {
			_ = enableANSI(f) // a console that refuses still gets what was asked for
		}
		return true
	}
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return enableANSI(f) == nil
}
