package ingest

import (
	"regexp"
	"strings"
)

// underlineSpans reads a table underline ("------- -----------" from PowerShell's Format-Table,
// "========= ========" from tasklist) into column start and end offsets.
func underlineSpans(l string, ch byte) ([]int, []int, bool) {
	t := strings.TrimRight(l, " ")
	if t == "" {
		return nil, nil, false
	}
	var starts, ends []int
	in := false
	for i := 0; i < len(t); i++ {
		switch {
		case t[i] == ch && !in:
			starts, in = append(starts, i), true
		case t[i] == ' ' && in:
			ends, in = append(ends, i), false
		case t[i] != ch && t[i] != ' ':
			return nil, nil, false
		}
	}
	if in {
		ends = append(ends, len(t))
	}
	return starts, ends, len(starts) > 0
}

// findUnderlinedTables finds tables whose header line is followed by an underline of ch groups
// and whose column names include all of want; rows run to a blank line or a prompt.
func findUnderlinedTables(ls []string, ch byte, want ...string) []*table {
	var out []*table
	for _, t := range underlinedTables(ls, ch) {
		if containsAll(t.cols, want) {
			out = append(out, t.table)
		}
	}
	return out
}

// psTable is an underlined table with where it sits in the text: the header's line, and each
// row's line, so a reader can tell the last row of a paste (often cut off mid-line) and look
// above the header for the command that printed it.
type psTable struct {
	*table
	header  int   // index of the header line
	rowAt   []int // index of each row's line
	ends    []int // where each column's underline ends
	lastEnd int   // index after the last row
}

// underlinedTables finds every table whose header line is followed by an underline of ch
// groups; rows run to a blank line or a prompt.
func underlinedTables(ls []string, ch byte) []psTable {
	var out []psTable
	for i := 1; i < len(ls); i++ {
		starts, ends, ok := underlineSpans(ls[i], ch)
		if !ok {
			continue
		}
		hdr := ls[i-1]
		cols := make([]string, len(starts))
		for k := range starts {
			e := len(hdr)
			if k+1 < len(starts) {
				e = starts[k+1]
			}
			if starts[k] < len(hdr) {
				cols[k] = strings.TrimSpace(hdr[starts[k]:min(e, len(hdr))])
			}
		}
		t := psTable{table: &table{cols: cols, starts: starts}, header: i - 1, ends: ends}
		j := i + 1
		for ; j < len(ls); j++ {
			l := ls[j]
			if strings.TrimSpace(l) == "" || isPrompt(l) {
				break
			}
			t.rows = append(t.rows, assignTokens(l, starts, ends))
			t.rowAt = append(t.rowAt, j)
		}
		t.lastEnd = j
		out = append(out, t)
		i = j
	}
	return out
}

var tokenRe = regexp.MustCompile(`\S+`)

// assignTokens puts each word of a row into the column it overlaps. PowerShell underlines only
// the header's width: right-aligned values (numbers) end where the underline ends but may
// start before it, and left-aligned values start with it but may run past it, so a word that
// overlaps no underline continues the column to its left.
func assignTokens(l string, starts, ends []int) []string {
	out := make([]string, len(starts))
	for _, loc := range tokenRe.FindAllStringIndex(l, -1) {
		s, e := loc[0], loc[1]
		col := -1
		for k := range starts {
			if s < ends[k] && e > starts[k] {
				col = k
				break
			}
		}
		if col < 0 {
			col = 0
			for k := range starts {
				if starts[k] <= s {
					col = k
				}
			}
		}
		if out[col] != "" {
			out[col] += " "
		}
		out[col] += l[s:e]
	}
	return out
}
