package report

import (
	"fmt"
	"strings"
)

// Style is how a table is drawn for its terminal. The zero Style is plain text; Color adds
// ANSI colour to the severity words, which stay spelled out, so nothing depends on colour.
type Style struct {
	Color bool
}

// ANSI SGR sequences: bold red, yellow, cyan, reset.
const (
	sgrError   = "\x1b[1;31m"
	sgrWarning = "\x1b[33m"
	sgrInfo    = "\x1b[36m"
	sgrReset   = "\x1b[0m"
)

// severity is the severity word in upper case, padded to its column (the padding outside the
// colour, so columns line up either way).
func (s Style) severity(sev string) string {
	word := fmt.Sprintf("%-7s", strings.ToUpper(sev))
	if !s.Color {
		return word
	}
	var sgr string
	switch sev {
	case "error":
		sgr = sgrError
	case "warning":
		sgr = sgrWarning
	case "info":
		sgr = sgrInfo
	default:
		return word
	}
	trimmed := strings.TrimRight(word, " ")
	return sgr + trimmed + sgrReset + word[len(trimmed):]
}
