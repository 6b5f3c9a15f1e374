package report

import (
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
)

// renderPath writes the hop table: one row per hop, the first failing hop named above it and
// its detail (what to do) below, since that is the hop to fix first.
func renderPath(p func(string, ...any), path *pathexplain.Path, wide bool) {
	if path == nil || len(path.Hops) == 0 {
		return
	}
	title := "PATH from " + path.From
	if path.To != "" {
		title += " to " + path.To
	}
	if path.Headline != nil {
		title += " (first failing hop: " + path.Headline.Name + ")"
	} else {
		title += " (no hop failed)"
	}
	p("%s\n", title)
	p("HOP\tVERDICT\tEVIDENCE\n")
	for _, h := range path.Hops {
		ev := strings.Join(strings.Fields(h.Evidence), " ")
		if !wide {
			ev = short(ev, 160)
		}
		p("%s\t%s\t%s\n", h.Name, strings.ToUpper(h.Verdict), ev)
		if wide && h.Detail != "" {
			p("\t\t%s\n", h.Detail)
		}
	}
	if path.Headline != nil && path.Headline.Detail != "" && !wide {
		p("fix first:\t%s\n", path.Headline.Detail)
	}
	for _, n := range path.Notes {
		p("note:\t%s\n", n)
	}
	p("\n")
}
