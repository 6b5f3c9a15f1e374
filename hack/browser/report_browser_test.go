//go:build browser

// Package browser opens winnet's HTML reports in a real headless Chromium and checks what only
// a browser can tell: the page loads nothing and runs nothing, hostile text from a node stays
// text, and the path diagram is laid out (every box's text fits in it, boxes do not overlap,
// nothing scrolls sideways on a laptop or a phone).
//
//	make browser-test
//
// or, with Chromium installed (hack/chromium.sh) and the plugin built (make e2e-plugin):
//
//	WINNET_BROWSER_PLUGIN=$PWD/_output/e2e/kubectl-winnet go test -tags browser ./hack/browser/
//
// WINNET_BROWSER_OUT=DIR keeps each page and a screenshot of it there, for a person to look at.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const scenarios = "../scenarios"

// viewports are a laptop and a phone: support engineers read tickets on both.
var viewports = []struct {
	name          string
	width, height int64
}{{"laptop", 1280, 900}, {"phone", 400, 800}}

// minTextPx is the smallest text a diagram may draw: a diagram scaled down to fit a phone
// must stay readable there.
const minTextPx = 9

// page is one HTML report to open, and what it must show.
type page struct {
	name     string
	html     []byte
	findings int    // article.finding elements (one node's findings)
	groups   int    // article.finding.group elements (many-node groups)
	boxes    int    // diagram boxes in all, when known exactly
	minBoxes int    // else at least this many
	mustShow string // text the page must show as text (hostile markup)
}

func TestReportsInChromium(t *testing.T) {
	chromium := os.Getenv("WINNET_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s (%v): install it with hack/chromium.sh, or set WINNET_CHROMIUM", chromium, err)
	}
	pages := append(pluginPages(t), builtPages(t)...)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// The machine has no internet: without these Chromium keeps dialling Google.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // start the browser once for all pages
		t.Fatalf("starting %s: %v", chromium, err)
	}

	out := os.Getenv("WINNET_BROWSER_OUT")
	dir := t.TempDir()
	for _, p := range pages {
		file := filepath.Join(dir, p.name+".html")
		if err := os.WriteFile(file, p.html, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, vp := range viewports {
			t.Run(p.name+"/"+vp.name, func(t *testing.T) {
				checkPage(t, bctx, p, "file://"+file, vp.width, vp.height, out)
			})
		}
	}
}

// pluginPages are `kubectl-winnet analyze SCENARIO -o html` for every scenario: the plugin's
// own output, through the command a user runs.
func pluginPages(t *testing.T) []page {
	plugin := os.Getenv("WINNET_BROWSER_PLUGIN")
	if plugin == "" {
		t.Fatal("WINNET_BROWSER_PLUGIN is not set: build the plugin (make e2e-plugin) and point it at _output/e2e/kubectl-winnet, or run make browser-test")
	}
	entries, err := os.ReadDir(scenarios)
	if err != nil {
		t.Fatal(err)
	}
	var pages []page
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(scenarios, e.Name())
		html := runPlugin(t, plugin, "analyze", dir, "-o", "html")
		var rep struct {
			Findings []json.RawMessage `json:"findings"`
		}
		if err := json.Unmarshal(runPlugin(t, plugin, "analyze", dir, "-o", "json"), &rep); err != nil {
			t.Fatalf("analyze %s -o json: %v", dir, err)
		}
		// Without a walked path the diagram is where the pod sits: at least the network and
		// the node; its exact count depends on the scenario, so it is only bounded below.
		pages = append(pages, page{name: "scenario-" + e.Name(), html: html, findings: len(rep.Findings), minBoxes: 2})
	}
	if len(pages) < 5 {
		t.Fatalf("only %d scenarios under %s", len(pages), scenarios)
	}
	return pages
}

func runPlugin(t *testing.T, plugin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(plugin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 { // findings at or above --fail-on: still a report
		err = nil
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", plugin, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// builtPages are reports made here for what the scenarios do not hold: a walked path with
// every verdict and evidence too long for its box (in ASCII and in Japanese, as a localised
// node writes its event messages), markup in every field a node or cluster fills, and a
// many-node report.
func builtPages(t *testing.T) []page {
	long := "web.shop.svc.cluster.local -> 10.96.12.34 via 10.96.0.10 (kube-dns ClusterIP) answered in 3 ms, then again WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"
	japanese := "ネットワークが見つかりません。HNS エンドポイントの作成に失敗しました (0x803b0013): 要求されたポリシーは既に存在します"
	fail := pathexplain.Hop{Name: pathexplain.HopLoadBalancer, Verdict: pathexplain.Fail, Evidence: japanese, Detail: "restart kube-proxy"}
	path := &pathexplain.Path{From: "pod shop/web-0", To: "svc/shop/web:80", Headline: &fail, Hops: []pathexplain.Hop{
		{Name: pathexplain.HopPodDNS, Verdict: pathexplain.OK, Evidence: "10.96.0.10 (kube-dns ClusterIP)"},
		{Name: pathexplain.HopLookup, Verdict: pathexplain.OK, Evidence: long},
		fail,
		{Name: pathexplain.HopBackends, Verdict: pathexplain.Warn, Evidence: strings.Repeat("10.244.1.17:8080 ", 12)},
		{Name: pathexplain.HopPolicy, Verdict: pathexplain.Unknown, Evidence: "no NetworkPolicy was collected"},
		{Name: pathexplain.HopConnect, Verdict: pathexplain.Skipped, Evidence: "not tried: the VIP has no load balancer"},
	}}
	withPath := nodeReport("win-1", "error")
	withPath.Path = path

	hostileText := `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`
	hostile := nodeReport("win-1", "warning")
	hostile.Findings[0].Title = hostileText
	hostile.Findings[0].Remediation = `"><svg onload="window.__pwned=3">`
	hostile.Target.Pod = `web"><iframe src="https://example.com/">`
	hostile.Path = &pathexplain.Path{From: `pod </text><script>window.__pwned=4</script>`, Hops: []pathexplain.Hop{
		{Name: pathexplain.HopConnect, Verdict: pathexplain.Fail, Evidence: `</text></svg><img src=x onerror="window.__pwned=5">`}}}
	hostile.Collected.HNSEvents = []wire.Event{{Channel: "Microsoft-Windows-Host-Network-Service-Admin", Level: "Error", ID: 1, Message: `<style>body{display:none}</style>`}}

	nodes := []report.NodeResult{
		{Name: "win-1", Report: withPath},
		{Name: "win-2", Report: nodeReport("win-2", "error")},
		{Name: "win-3", Report: nodeReport("win-3", "")},
		{Name: "win-4", Err: errors.New("node win-4 is not Ready")},
	}
	fleet := report.BuildFleet(nodes, report.Versions{Version: "v0.test"}, []string{"1 Linux node skipped"})

	render := func(r *report.Report) []byte {
		var b strings.Builder
		if err := report.Render(&b, r, "html"); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	var fb strings.Builder
	if err := report.RenderFleet(&fb, fleet, "html"); err != nil {
		t.Fatal(err)
	}
	placementBoxes := 4 // pod, endpoint, network, node
	return []page{
		{name: "built-path", html: render(withPath), findings: 1, boxes: len(path.Hops) + 2},
		{name: "built-hostile", html: render(hostile), findings: 1, boxes: 2, mustShow: hostileText},
		{name: "built-fleet", html: []byte(fb.String()), findings: 2, groups: len(fleet.Groups),
			boxes: len(path.Hops) + 2 + 2*placementBoxes},
	}
}

// nodeReport is a small report of one node with one finding of severity sev ("" for none).
func nodeReport(node, sev string) *report.Report {
	snap := &snapshot.Snapshot{
		Networks:  []snapshot.Network{{ID: "n1", Name: "cbr0", Type: "L2Bridge", Subnets: []snapshot.Subnet{{Prefix: "10.244.1.0/24", Gateway: "10.244.1.1"}}}},
		Endpoints: []snapshot.Endpoint{{ID: "e1", IP: "10.244.1.5", Name: "web-0_eth0", NetworkID: "n1", DNSServers: []string{"10.96.0.10"}}},
		OS:        &wire.OSInfo{ProductName: "Windows Server 2022 Datacenter", Build: "20348", UBR: 2700},
	}
	var res analyze.Result
	if sev != "" {
		res.Findings = []analyze.Finding{{ID: "service-lb-missing", Severity: sev, Title: "kube-dns has no HNS load balancer",
			Remediation: "restart kube-proxy", Evidence: []analyze.Evidence{{Artifact: "hcn.loadbalancers", Detail: "none for 10.96.0.10"}}}}
	}
	return report.Build(snap, res, report.Target{Input: "pod/web-0", Namespace: "shop", Pod: "web-0", PodIP: "10.244.1.5", Node: node}, report.Versions{Version: "v0.test"})
}

// layout is what the page reports of itself, measured by Chromium.
type layout struct {
	Title       string  `json:"title"`
	Findings    int     `json:"findings"`
	Groups      int     `json:"groups"`
	Images      int     `json:"images"`
	Scripts     int     `json:"scripts"`
	Frames      int     `json:"frames"`
	Pwned       bool    `json:"pwned"`
	ScrollWidth float64 `json:"scrollWidth"`
	InnerWidth  float64 `json:"innerWidth"`
	Body        string  `json:"body"`
	Diagrams    []struct {
		Width        float64 `json:"width"`
		SmallestText float64 `json:"smallestText"` // px, as drawn
		Boxes        []struct {
			Name    string   `json:"name"`
			Top     float64  `json:"top"`
			Bottom  float64  `json:"bottom"`
			Height  float64  `json:"height"`
			Width   float64  `json:"width"`
			Outside []string `json:"outside"` // texts that stick out of the box
			Overlap bool     `json:"overlap"` // the name runs into the verdict
		} `json:"boxes"`
	} `json:"diagrams"`
}

// measure opens every collapsed section (a closed <details> lays nothing out) and reports
// each diagram box's geometry against its texts'.
const measure = `(() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const r = {title: document.title,
    findings: document.querySelectorAll('article.finding:not(.group)').length,
    groups: document.querySelectorAll('article.finding.group').length,
    images: document.images.length, scripts: document.scripts.length,
    frames: document.querySelectorAll('iframe, object, embed').length,
    pwned: typeof window.__pwned !== 'undefined',
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    body: document.body.innerText, diagrams: []};
  for (const svg of document.querySelectorAll('svg.diagram')) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const d = {width: svg.getBoundingClientRect().width, smallestText: Infinity, boxes: []};
    for (const t of svg.querySelectorAll('text')) {
      d.smallestText = Math.min(d.smallestText, parseFloat(getComputedStyle(t).fontSize) * scale);
    }
    for (const g of svg.querySelectorAll('g.box')) {
      const box = g.querySelector('rect').getBoundingClientRect();
      const name = g.querySelector('text.name'), verdict = g.querySelector('text.verdict');
      const b = {name: name.textContent, top: box.top, bottom: box.bottom, height: box.height, width: box.width, outside: [], overlap: false};
      for (const t of g.querySelectorAll('text')) {
        const tb = t.getBoundingClientRect();
        if (tb.left < box.left - 0.5 || tb.right > box.right + 0.5 || tb.top < box.top - 0.5 || tb.bottom > box.bottom + 0.5) {
          b.outside.push(t.textContent);
        }
      }
      if (verdict) {
        b.overlap = name.getBoundingClientRect().right > verdict.getBoundingClientRect().left - 4;
      }
      d.boxes.push(b);
    }
    r.diagrams.push(d);
  }
  return r;
})()`

func checkPage(t *testing.T, bctx context.Context, p page, url string, width, height int64, out string) {
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var requests, problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			problems = append(problems, fmt.Sprintf("console.%s called", e.Type))
		case *log.EventEntryAdded:
			// A Content-Security-Policy refusal is logged here: the page tried to load or run something.
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("browser log %s: %s", e.Entry.Level, e.Entry.Text))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	var shot []byte
	var got layout
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, log.Enable, struct{}{})
			return err
		}),
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(url),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measure))
			got = v
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			shot = b
			return err
		}),
	); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	if out != "" {
		_ = os.MkdirAll(out, 0o755)
		base := filepath.Join(out, fmt.Sprintf("%s-%dpx", p.name, width))
		_ = os.WriteFile(base+".png", shot, 0o644)
		_ = os.WriteFile(base+".html", mustRead(t, strings.TrimPrefix(url, "file://")), 0o644)
	}

	mu.Lock()
	defer mu.Unlock()
	// Self-contained: the only load is the page itself, and nothing was refused or thrown.
	for _, u := range requests {
		if u != url {
			t.Errorf("the page loaded %s", u)
		}
	}
	for _, pr := range problems {
		t.Errorf("%s", pr)
	}
	if got.Images != 0 || got.Scripts != 0 || got.Frames != 0 || got.Pwned {
		t.Errorf("the page has %d images, %d scripts, %d frames; hostile script ran: %v", got.Images, got.Scripts, got.Frames, got.Pwned)
	}
	if p.mustShow != "" && !strings.Contains(got.Body, p.mustShow) {
		t.Errorf("the page does not show %q as text", p.mustShow)
	}
	if !strings.HasPrefix(got.Title, "winnet: ") {
		t.Errorf("title %q", got.Title)
	}

	if got.Findings != p.findings || got.Groups != p.groups {
		t.Errorf("the page shows %d findings and %d groups, want %d and %d", got.Findings, got.Groups, p.findings, p.groups)
	}
	for _, sev := range []string{"ERROR", "WARNING", "INFO"} { // severity words never depend on colour
		if strings.Contains(strings.ToUpper(string(p.html)), `CLASS="FINDING SEV-`+sev+`"`) && !strings.Contains(got.Body, sev) {
			t.Errorf("a %s finding does not spell its severity out", sev)
		}
	}

	// Laid out: no sideways scroll, each diagram within the page, boxes stacked without
	// overlap, every text inside its box and the name clear of the verdict.
	if got.ScrollWidth > got.InnerWidth {
		t.Errorf("the page scrolls sideways: %v px wide in a %v px window", got.ScrollWidth, got.InnerWidth)
	}
	boxes := 0
	for _, d := range got.Diagrams {
		if d.Width > got.InnerWidth {
			t.Errorf("a diagram is %v px wide in a %v px window", d.Width, got.InnerWidth)
		}
		if d.SmallestText < minTextPx {
			t.Errorf("a diagram's text is drawn at %.1f px, below the %v px a person can read", d.SmallestText, minTextPx)
		}
		for i, b := range d.Boxes {
			boxes++
			if b.Height <= 0 || b.Width <= 0 {
				t.Errorf("box %q is not drawn (%vx%v)", b.Name, b.Width, b.Height)
			}
			if i > 0 && b.Top < d.Boxes[i-1].Bottom {
				t.Errorf("box %q overlaps %q", b.Name, d.Boxes[i-1].Name)
			}
			for _, o := range b.Outside {
				t.Errorf("box %q: text %q sticks out of it", b.Name, o)
			}
			if b.Overlap {
				t.Errorf("box %q: its name runs into its verdict", b.Name)
			}
		}
	}
	switch {
	case p.minBoxes == 0 && boxes != p.boxes:
		t.Errorf("the diagrams have %d boxes, want %d", boxes, p.boxes)
	case boxes < p.minBoxes:
		t.Errorf("the diagrams have %d boxes, want at least %d", boxes, p.minBoxes)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
