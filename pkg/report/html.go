package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"golang.org/x/text/width"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// The HTML report is one self-contained file for support engineers: no script, no fetched
// style, font or image (its Content-Security-Policy forbids them), so it opens the same from a
// ticket attachment, an air-gapped laptop or a mail client. Everything it shows comes from the
// node and the cluster, which may hold hostile text (a pod named like markup), so the page is
// written by html/template, which escapes every value for where it lands.

//go:embed html.tmpl
var htmlSource string

var htmlPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"upper":    strings.ToUpper,
	"join":     strings.Join,
	"evidence": func(e analyze.Evidence) string { return evidence(e.Artifact, e.Object, e.Detail) },
	"ports":    ports,
	"subnets":  subnets,
	"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"flags":    lbFlags,
	// verdictClass makes a verdict a class token ("not seen" has a space).
	"verdictClass": func(v string) string { return strings.ReplaceAll(v, " ", "") },
}).Parse(htmlSource))

// htmlDoc is what the template draws: one node's report, or a many-node report with each
// node's report below it.
type htmlDoc struct {
	Title  string
	Worst  string
	Report *htmlNode
	Fleet  *Fleet
	Nodes  []*htmlNode // the fleet's diagnosed nodes
}

// htmlNode is one node's report with its diagram laid out.
type htmlNode struct {
	*Report
	TargetText string
	Diagram    *diagram
}

func renderHTML(w io.Writer, r *Report) error {
	n := newHTMLNode(r)
	doc := htmlDoc{Title: "winnet: " + n.TargetText, Worst: r.Worst(), Report: n}
	doc.Title += " — " + findingsSummary(r.Findings)
	return htmlPage.Execute(w, doc)
}

func renderFleetHTML(w io.Writer, f *Fleet) error {
	doc := htmlDoc{Title: fmt.Sprintf("winnet: %d Windows nodes — %d findings", f.Summary.Selected, len(f.Groups)), Worst: f.Summary.Worst, Fleet: f}
	for _, fn := range f.Nodes {
		if fn.Report != nil {
			n := newHTMLNode(fn.Report)
			n.Diagram.ID = fmt.Sprintf("arrowhead-%d", len(doc.Nodes))
			doc.Nodes = append(doc.Nodes, n)
		}
	}
	return htmlPage.Execute(w, doc)
}

func newHTMLNode(r *Report) *htmlNode {
	n := &htmlNode{Report: r, TargetText: targetText(r)}
	if r.Path != nil && len(r.Path.Hops) > 0 {
		n.Diagram = pathDiagram(r.Path)
	} else {
		n.Diagram = placementDiagram(r)
	}
	n.Diagram.ID = "arrowhead"
	return n
}

// targetText names the target and its node, as the table's first line does.
func targetText(r *Report) string {
	t := targetName(r)
	if r.Target.Node != "" {
		t += " on node " + r.Target.Node
	}
	return t
}

func findingsSummary(fs []analyze.Finding) string {
	if len(fs) == 0 {
		return "no findings"
	}
	count := map[string]int{}
	for _, f := range fs {
		count[f.Severity]++
	}
	var parts []string
	for _, sev := range []string{"error", "warning", "info"} {
		if c := count[sev]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, sev))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d findings", len(fs))
	}
	return strings.Join(parts, ", ")
}

// Diagram geometry, in SVG user units. Boxes are stacked top to bottom so a path of any
// length reads down the page, and the column is narrow enough that a phone shows it at a
// readable size (the browser test checks its text is at least 9 px there).
const (
	diagramWidth  = 440
	boxX          = 20
	boxWidth      = 400
	boxGap        = 26
	diagramMargin = 12
	lineHeight    = 16
	// lineChars and maxLines bound the text under a box's name; the full text is in the table
	// under the diagram and in the box's tooltip.
	lineChars = 50
	maxLines  = 2
	// nameChars bounds a name beside a verdict, endNameChars one alone (an end's pod name).
	// Names are drawn in a monospace font too, so a count of columns is a width: in a
	// proportional font a name of W's would overflow where one of i's fits.
	nameChars    = 30
	endNameChars = 44
)

// diagram is a column of boxes joined by arrows.
type diagram struct {
	ID     string // its arrowhead marker's id, unique in the page
	Title  string
	Width  int
	Height int
	// BoxX and BoxWidth place every box; VerdictX is where a verdict's text ends.
	BoxX, BoxWidth, VerdictX int
	Boxes                    []box
	Arrows                   []arrow
}

type box struct {
	Y, Height int
	Kind      string // "end" (where the path starts or ends), "hop" or "place"
	Name      string
	Verdict   string // a hop's verdict, spelled out beside the colour
	Text      string // the evidence, whole: the tooltip
	Lines     []textLine
	Headline  bool // the first failing hop
}

type textLine struct {
	Y    int
	Text string
}

type arrow struct{ X, Y1, Y2 int }

// pathDiagram draws the walk from the source to the destination, one box per hop.
func pathDiagram(p *pathexplain.Path) *diagram {
	d := &diagram{Title: "Path from " + p.From}
	if p.To != "" {
		d.Title += " to " + p.To
	}
	d.add(box{Kind: "end", Name: "from " + p.From})
	for _, h := range p.Hops {
		d.add(box{Kind: "hop", Name: h.Name, Verdict: h.Verdict, Text: h.Evidence,
			Headline: p.Headline != nil && p.Headline.Name == h.Name && h.Verdict == pathexplain.Fail})
	}
	if p.To != "" {
		d.add(box{Kind: "end", Name: "to " + p.To})
	}
	return d
}

// placementDiagram draws where the target sits on the node when no path was walked: the pod,
// its HNS endpoint, the endpoint's network and the node. A part the dump did not show is
// drawn as such, since a missing endpoint is itself the answer to many questions.
func placementDiagram(r *Report) *diagram {
	d := &diagram{Title: "Where the target sits on node " + r.Target.Node}
	var ep *Endpoint
	for i := range r.Collected.Endpoints {
		if r.Collected.Endpoints[i].Target {
			ep = &r.Collected.Endpoints[i]
			break
		}
	}
	if r.Target.Pod != "" {
		text := "IP " + dash(r.Target.PodIP)
		if r.PodNetwork != nil && len(r.PodNetwork.DNSServers) > 0 {
			text += ", DNS servers " + strings.Join(r.PodNetwork.DNSServers, ", ") + " (from the " + r.PodNetwork.From + ")"
		}
		d.add(box{Kind: "place", Name: "pod " + r.Target.Namespace + "/" + r.Target.Pod, Text: text})
		if ep != nil {
			text := "ID " + ep.ID
			if ep.Name != "" {
				text = ep.Name + ", " + text
			}
			d.add(box{Kind: "place", Name: "HNS endpoint " + ep.IP, Text: text})
		} else {
			d.add(box{Kind: "place", Name: "HNS endpoint", Verdict: "not seen", Text: "no local HNS endpoint with the pod's IP was collected"})
		}
	}
	found := false
	for _, n := range r.Collected.Networks {
		if ep == nil || ep.NetworkID == "" || strings.EqualFold(ep.NetworkID, n.ID) {
			text := n.Type
			if s := subnets(n.Subnets); s != "" {
				text += ", " + s
			}
			d.add(box{Kind: "place", Name: "HNS network " + n.Name, Text: text})
			found = true
			break
		}
	}
	if !found {
		d.add(box{Kind: "place", Name: "HNS network", Verdict: "not seen", Text: "no HNS network was collected"})
	}
	d.add(box{Kind: "end", Name: "node " + r.Target.Node, Text: strings.Trim(r.Node.OS+", HNS "+r.Node.HNSVersion, ", HNS")})
	return d
}

// add lays b out under the last box, with an arrow from it: its name cut to fit beside its
// verdict, its text wrapped into at most maxLines lines.
func (d *diagram) add(b box) {
	d.Width, d.BoxX, d.BoxWidth, d.VerdictX = diagramWidth, boxX, boxWidth, boxWidth-12
	y := diagramMargin
	if n := len(d.Boxes); n > 0 {
		last := d.Boxes[n-1]
		y = last.Y + last.Height + boxGap
		d.Arrows = append(d.Arrows, arrow{X: diagramWidth / 2, Y1: last.Y + last.Height, Y2: y - 2})
	}
	b.Y = y
	if b.Verdict != "" {
		b.Name = cut(b.Name, nameChars)
	} else {
		b.Name = cut(b.Name, endNameChars)
	}
	b.Text = strings.Join(strings.Fields(b.Text), " ")
	for i, l := range wrap(b.Text, lineChars, maxLines) {
		b.Lines = append(b.Lines, textLine{Y: 42 + i*lineHeight, Text: l})
	}
	b.Height = 36 + len(b.Lines)*lineHeight
	if len(b.Lines) > 0 {
		b.Height += 4
	}
	d.Boxes = append(d.Boxes, b)
	d.Height = y + b.Height + diagramMargin
}

// wrap breaks s into lines of at most n columns at spaces (a word longer than a line is cut),
// at most max of them; a text that does not fit ends in an ellipsis.
func wrap(s string, n, max int) []string {
	var lines []string
	for s != "" && len(lines) < max {
		if columns(s) <= n {
			return append(lines, s)
		}
		line := prefix(s, n)
		if rest := s[len(line):]; !strings.HasPrefix(rest, " ") {
			if i := strings.LastIndexByte(line, ' '); i > 0 { // break at the last space, not in a word
				line = line[:i]
			}
		}
		lines = append(lines, line)
		s = strings.TrimLeft(s[len(line):], " ")
	}
	if s != "" && len(lines) > 0 {
		last := lines[len(lines)-1] + " " + s
		lines[len(lines)-1] = cut(last, n)
	}
	return lines
}

// cut shortens s to n columns of a monospace font, marking the cut. East Asian wide
// characters take two columns (an event message from a Japanese Windows node is made of them),
// so counting runes or bytes would overflow the box or cut it short.
func cut(s string, n int) string {
	if columns(s) <= n {
		return s
	}
	return strings.TrimRight(prefix(s, n-1), " ") + "…" // one column is left for the ellipsis
}

// prefix is the longest start of s that takes at most n columns.
func prefix(s string, n int) string {
	cols := 0
	for i, r := range s {
		if cols += runeColumns(r); cols > n {
			return s[:i]
		}
	}
	return s
}

// columns is how many monospace columns s takes.
func columns(s string) int {
	cols := 0
	for _, r := range s {
		cols += runeColumns(r)
	}
	return cols
}

func runeColumns(r rune) int {
	if k := width.LookupRune(r).Kind(); k == width.EastAsianWide || k == width.EastAsianFullwidth {
		return 2
	}
	return 1
}

// ports is a load balancer's frontend ports as the table prints them: 80->8080/TCP.
func ports(pms []snapshot.PortMapping) string {
	var out []string
	for _, pm := range pms {
		out = append(out, fmt.Sprintf("%d->%d/%s", pm.ExternalPort, pm.InternalPort, pm.Protocol))
	}
	return strings.Join(out, ", ")
}

// subnets is a network's prefixes with their gateways.
func subnets(ss []snapshot.Subnet) string {
	var out []string
	for _, s := range ss {
		sub := s.Prefix
		if s.Gateway != "" {
			sub += " gw " + s.Gateway
		}
		out = append(out, sub)
	}
	return strings.Join(out, ", ")
}

func lbFlags(lb snapshot.LoadBalancer) string {
	var flags []string
	if lb.DSR {
		flags = append(flags, "DSR")
	}
	if lb.IPv6 {
		flags = append(flags, "IPv6")
	}
	return strings.Join(flags, ", ")
}
