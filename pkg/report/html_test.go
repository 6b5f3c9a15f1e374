package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
)

// sampleWithPath is sample() after a --to walk whose load balancer hop failed.
func sampleWithPath() *Report {
	r := sample()
	fail := pathexplain.Hop{Name: pathexplain.HopLoadBalancer, Verdict: pathexplain.Fail, Evidence: "no HNS load balancer for 10.96.12.34:80/TCP", Detail: "restart kube-proxy"}
	r.Path = &pathexplain.Path{From: "pod shop/web-0", To: "svc/web:80", Headline: &fail,
		Hops: []pathexplain.Hop{
			{Name: pathexplain.HopPodDNS, Verdict: pathexplain.OK, Evidence: "10.96.0.10 (kube-dns ClusterIP)"},
			{Name: pathexplain.HopLookup, Verdict: pathexplain.OK, Evidence: "web.shop.svc.cluster.local -> 10.96.12.34"},
			fail,
			{Name: pathexplain.HopConnect, Verdict: pathexplain.Skipped, Evidence: "not tried: the VIP has no load balancer"},
		}}
	return r
}

func renderHTMLDoc(t *testing.T, r *Report) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return b.String(), doc
}

// walk calls f on every element of the tree.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return strings.Contains(" "+v+" ", " "+class+" ")
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// The page must open anywhere without fetching or running anything: no script, no external
// reference, no event handler, and a policy that forbids them should one slip in.
func TestHTMLIsSelfContained(t *testing.T) {
	for name, r := range map[string]*Report{"placement": sample(), "path": sampleWithPath()} {
		t.Run(name, func(t *testing.T) {
			_, doc := renderHTMLDoc(t, r)
			csp := false
			walk(doc, func(n *html.Node) {
				switch n.Data {
				case "script", "link", "iframe", "img", "object", "embed", "form", "base":
					t.Errorf("the page has a <%s> element", n.Data)
				case "meta":
					if v, _ := attr(n, "http-equiv"); v == "Content-Security-Policy" {
						c, _ := attr(n, "content")
						csp = strings.Contains(c, "default-src 'none'")
					}
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("<%s> has an event handler %s", n.Data, a.Key)
					}
					if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") {
						t.Errorf("<%s %s=%q> points outside the page", n.Data, a.Key, a.Val)
					}
				}
			})
			if !csp {
				t.Error("the page has no Content-Security-Policy forbidding fetches")
			}
		})
	}
}

// Everything on the page comes from a node or a cluster and may be hostile: it must land as
// text, never as markup.
func TestHTMLEscapesWhatTheNodeSent(t *testing.T) {
	r := sampleWithPath()
	hostile := `<img src=x onerror="document.title='owned'"></title><script>alert(1)</script>`
	r.Findings[0].Title = hostile
	r.Findings[0].Evidence = append(r.Findings[0].Evidence, analyze.Evidence{Artifact: "hns", Detail: `"/><script>alert(2)</script>`})
	r.Path.Hops[1].Evidence = `</text></svg><script>alert(3)</script>`
	r.Target.Pod = `web"><b>0`
	page, doc := renderHTMLDoc(t, r)
	walk(doc, func(n *html.Node) {
		if n.Data == "script" || n.Data == "img" || n.Data == "b" {
			t.Errorf("hostile text became a <%s> element", n.Data)
		}
	})
	body := text(doc)
	for _, want := range []string{hostile, `</text></svg><script>alert(3)</script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("a raw <script> tag is in the page")
	}
}

// The diagram draws one box per hop between the two ends, says each verdict in words beside
// its colour, and marks the first failing hop.
func TestHTMLPathDiagram(t *testing.T) {
	r := sampleWithPath()
	_, doc := renderHTMLDoc(t, r)
	var boxes []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Data == "g" && hasClass(n, "box") {
			boxes = append(boxes, n)
		}
	})
	if want := len(r.Path.Hops) + 2; len(boxes) != want {
		t.Fatalf("the diagram has %d boxes, want %d (the hops and both ends)", len(boxes), want)
	}
	if !strings.Contains(text(boxes[0]), "from pod shop/web-0") || !strings.Contains(text(boxes[len(boxes)-1]), "to svc/web:80") {
		t.Errorf("the ends read %q and %q", text(boxes[0]), text(boxes[len(boxes)-1]))
	}
	headlines := 0
	for i, h := range r.Path.Hops {
		b := boxes[i+1]
		if v, _ := attr(b, "data-verdict"); v != h.Verdict {
			t.Errorf("box %d verdict = %q, want %q", i+1, v, h.Verdict)
		}
		if !strings.Contains(text(b), strings.ToUpper(h.Verdict)) {
			t.Errorf("box %q does not spell its verdict out: %q", h.Name, text(b))
		}
		if _, ok := attr(b, "data-headline"); ok {
			headlines++
			if h.Name != r.Path.Headline.Name {
				t.Errorf("hop %q is marked as the first failing hop, want %q", h.Name, r.Path.Headline.Name)
			}
		}
	}
	if headlines != 1 {
		t.Errorf("%d boxes are marked as the first failing hop, want 1", headlines)
	}
	var arrows int
	walk(doc, func(n *html.Node) {
		if n.Data == "line" && hasClass(n, "arrow") {
			arrows++
		}
	})
	if arrows != len(boxes)-1 {
		t.Errorf("%d arrows join %d boxes", arrows, len(boxes))
	}
}

// Without a walked path the diagram shows where the pod sits, and says what the dump lacked.
func TestHTMLPlacementSaysWhatWasNotSeen(t *testing.T) {
	r := sample()
	r.Collected.Endpoints = r.Collected.Endpoints[1:] // the pod's own endpoint was not collected
	_, doc := renderHTMLDoc(t, r)
	var names []string
	walk(doc, func(n *html.Node) {
		if n.Data == "g" && hasClass(n, "box") {
			names = append(names, text(n))
		}
	})
	got := strings.Join(names, " | ")
	for _, want := range []string{"pod shop/web-0", "HNS endpoint", "NOT SEEN", "HNS network cbr0", "node win-1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the placement diagram lacks %q: %s", want, got)
		}
	}
}

func TestHTMLFleetHoldsEveryNode(t *testing.T) {
	a, b := sample(), sampleWithPath()
	b.Target.Node = "win-2"
	f := BuildFleet([]NodeResult{{Name: "win-1", Report: a}, {Name: "win-2", Report: b}, {Name: "win-3", Err: errString("exec refused")}}, Versions{Version: "v0.1.0"}, nil)
	var buf bytes.Buffer
	if err := RenderFleet(&buf, f, "html"); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var reports, rows int
	markers := map[string]bool{}
	walk(doc, func(n *html.Node) {
		switch {
		case n.Data == "details" && hasClass(n, "node-report"):
			reports++
		case n.Data == "tr" && hasClass(n, "node-row"):
			rows++
		case n.Data == "marker":
			id, _ := attr(n, "id")
			if markers[id] {
				t.Errorf("marker id %q repeats", id)
			}
			markers[id] = true
		}
	})
	if reports != 2 || rows != 3 {
		t.Errorf("%d node reports and %d node rows, want 2 and 3", reports, rows)
	}
	if body := text(doc); !strings.Contains(body, "exec refused") || !strings.Contains(body, "service-lb-missing") {
		t.Error("the fleet page lacks the failed node's error or the grouped finding")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestHTMLGolden(t *testing.T) {
	r := sampleWithPath()
	r.GeneratedAt = time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	var b bytes.Buffer
	if err := Render(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "report", "sample-path-html.golden"), b.String())
}

func TestCutCountsColumns(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly-10", 10, "exactly-10"},
		{"eleven-long", 10, "eleven-lo…"},
		{"ネットワークが見つかりません", 10, "ネットワ…"},
		{"ab日本", 5, "ab日…"},
	} {
		if got := cut(c.in, c.n); got != c.want {
			t.Errorf("cut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if got := columns(cut(c.in, c.n)); got > c.n {
			t.Errorf("cut(%q, %d) takes %d columns", c.in, c.n, got)
		}
	}
}

func TestWrapBreaksAtSpaces(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"fits here", []string{"fits here"}},
		{"ten chars and then more words here", []string{"ten chars", "and then…"}},
		{"abcdefghijklmnop qr", []string{"abcdefghij", "klmnop qr"}},
	} {
		got := wrap(c.in, 10, 2)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, l := range got {
			if columns(l) > 10 {
				t.Errorf("wrap(%q): line %q is %d columns", c.in, l, columns(l))
			}
		}
	}
}
