package report

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
)

// fleetListCap is how many node names a table prints in one list; -o wide prints them all.
const fleetListCap = 5

// RenderFleet writes the many-node report in format to w. JSON and YAML carry each node's
// full report; the table groups the findings across nodes and lists a row per node.
func RenderFleet(w io.Writer, f *Fleet, format string) error {
	return RenderFleetStyled(w, f, format, Style{})
}

// RenderFleetStyled is RenderFleet with the table drawn in style.
func RenderFleetStyled(w io.Writer, f *Fleet, format string, style Style) error {
	if format == "html" {
		return renderFleetHTML(w, f)
	}
	return renderAs(w, f, format, func(wide bool) error { return renderFleetTable(w, f, wide, style) })
}

func renderFleetTable(out io.Writer, f *Fleet, wide bool, style Style) error {
	// Each section gets its own tab writer, so one wide column does not stretch the others.
	w := printers.GetNewTabWriter(out)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	section := func() {
		_ = w.Flush()
		w = printers.GetNewTabWriter(out)
	}
	s := f.Summary
	judged := s.Diagnosed // incomplete ones included: every "on 7 of N nodes" below is out of it

	nodes := fmt.Sprintf("%s selected: %d diagnosed", fleetPlural(s.Selected, "Windows node", "Windows nodes"), judged)
	if s.Incomplete > 0 {
		nodes += fmt.Sprintf(" (%d incomplete)", s.Incomplete)
	}
	if s.Failed > 0 {
		nodes += fmt.Sprintf(", %d failed", s.Failed)
	}
	p("Nodes:\t%s\n", nodes)
	for _, n := range s.Notes {
		p("\t%s\n", n)
	}
	versions := "plugin " + f.Plugin.Version
	if f.Plugin.CollectorSHA256 != "" {
		versions += ", collector sha256 " + short(f.Plugin.CollectorSHA256, 12)
	}
	p("Versions:\t%s\n", versions)
	p("\n")

	section()
	switch {
	case len(f.Groups) == 0 && judged == 0:
		p("FINDINGS ACROSS NODES: none, because no node could be diagnosed.\n")
	case len(f.Groups) == 0:
		p("FINDINGS ACROSS NODES: none of the checks that ran found a problem on any node.\n")
	default:
		p("FINDINGS ACROSS NODES (%d)\n", len(f.Groups))
		var incomplete []string
		for _, n := range f.Nodes {
			if n.Status == NodeIncomplete {
				incomplete = append(incomplete, n.Name)
			}
		}
		if len(incomplete) > 0 {
			p("(collection stopped early on %s: a finding not made there was not ruled out)\n", fleetNodeList(incomplete, wide))
		}
		section()
		// Findings are blocks, not table rows: titles and fixes are sentences.
		for _, g := range f.Groups {
			fmt.Fprintf(out, "%s %s %s: %s\n", style.severity(g.Severity), g.ID, fleetSpread(g, s.Selected), g.Title)
			if len(g.Objects) > 0 {
				fmt.Fprintf(out, "        about: %s\n", fleetObjects(g.Objects))
			}
			if !g.Everywhere {
				fmt.Fprintf(out, "        nodes: %s\n", fleetNodeList(g.Nodes, wide))
			}
			if g.Remediation != "" {
				fmt.Fprintf(out, "        fix: %s\n", g.Remediation)
			}
		}
	}
	p("\n")

	if len(f.Divergences) > 0 {
		section()
		p("NODES THAT DIFFER\n")
		p("TRAIT\tVALUE\tNODES\n")
		for _, d := range f.Divergences {
			for i, v := range d.Variants {
				trait := d.Trait
				if i > 0 {
					trait = ""
				}
				p("%s\t%s\t%d: %s\n", trait, dash(v.Value), len(v.Nodes), fleetNodeList(v.Nodes, wide))
			}
		}
		p("\n")
	}

	section()
	p("NODES (%d)\n", len(f.Nodes))
	if len(f.Nodes) > 0 {
		if wide {
			p("NODE\tSTATUS\tWORST\tFINDINGS\tFINDING IDS\tERROR\n")
		} else {
			p("NODE\tSTATUS\tWORST\tFINDINGS\tERROR\n")
		}
		for _, n := range f.Nodes {
			count := "-"
			if n.Report != nil {
				count = itoa(n.Findings)
			}
			// The first line names the cause; the rest (a log tail, say) is in -o json.
			first, _, _ := strings.Cut(n.Error, "\n")
			first = strings.Join(strings.Fields(first), " ")
			if wide {
				p("%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Status, dash(n.Worst), count, dash(fleetFindingIDs(n.Report)), dash(first))
			} else {
				p("%s\t%s\t%s\t%s\t%s\n", n.Name, n.Status, dash(n.Worst), count, dash(short(first, 100)))
			}
		}
	}
	return w.Flush()
}

// fleetSpread says on how many of the diagnosed nodes a finding was made.
func fleetSpread(g FindingGroup, selected int) string {
	switch {
	case g.Everywhere && g.Of == selected:
		return fmt.Sprintf("on every node (%d)", g.Of)
	case g.Everywhere:
		return fmt.Sprintf("on every diagnosed node (%d)", g.Of)
	}
	return fmt.Sprintf("on %d of %s", len(g.Nodes), fleetPlural(g.Of, "node", "nodes"))
}

// fleetNodeList joins node names, at most fleetListCap of them unless wide.
func fleetNodeList(names []string, wide bool) string {
	if wide || len(names) <= fleetListCap {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … and %d more (-o wide lists all)", strings.Join(names[:fleetListCap], ", "), len(names)-fleetListCap)
}

// fleetObjects reads "Service shop/web, Pod shop/web-0".
func fleetObjects(objs []analyze.ObjectRef) string {
	var out []string
	for _, o := range objs {
		name := o.Name
		if o.Namespace != "" {
			name = o.Namespace + "/" + o.Name
		}
		out = append(out, strings.TrimSpace(o.Kind+" "+name))
	}
	return strings.Join(out, ", ")
}

// fleetFindingIDs lists a node's finding ids once each, in the report's order.
func fleetFindingIDs(r *Report) string {
	if r == nil {
		return ""
	}
	var ids []string
	seen := map[string]bool{}
	for _, fd := range r.Findings {
		if !seen[fd.ID] {
			seen[fd.ID] = true
			ids = append(ids, fd.ID)
		}
	}
	return strings.Join(ids, ",")
}

func fleetPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
