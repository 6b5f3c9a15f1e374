package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/bundle"
	"github.com/kubectl-winnet/winnet/pkg/colormode"
	"github.com/kubectl-winnet/winnet/pkg/fleet"
	"github.com/kubectl-winnet/winnet/pkg/ingest"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// AnalysisInput is what `analyze -o json|yaml` adds to the report under "input": the files
// read, what each was recognised as, and the files ignored.
type AnalysisInput struct {
	Node       string              `json:"node,omitempty"`
	NodeFrom   string              `json:"nodeFrom,omitempty"`
	TargetNote string              `json:"targetNote,omitempty"`
	Layouts    []string            `json:"layouts,omitempty"`
	Read       []ingest.FileReport `json:"read"`
	Ignored    []ingest.FileReport `json:"ignored"`
}

// AnalysisReport is the report of an offline analysis: the DiagnosisReport's fields, plus the
// input files.
type AnalysisReport struct {
	*report.Report
	Input AnalysisInput `json:"input"`
}

type analyzeOptions struct {
	streams genericiooptions.IOStreams

	output string
	color  string
	failOn string
	pod    string
	podIP  string
	node   string
	quiet  bool

	paths []string
}

func newAnalyzeCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &analyzeOptions{streams: streams}
	var formats []string
	for _, r := range ingest.Formats() {
		formats = append(formats, "  "+r.Describe)
	}
	cmd := &cobra.Command{
		Use:   "analyze PATH...",
		Short: "Analyze a diagnosis bundle or a folder of raw dumps, without a cluster",
		Long: `Analyze a bundle written by 'diagnose --bundle', or the raw dumps someone sent you: a
folder written by Microsoft's collectlogs.ps1, pasted command output, kubectl dumps, logs.
No cluster is needed; the same checks as 'diagnose' run on what the files hold.

Each PATH is a bundle or archive (.tar.gz, .tgz, .tar, .zip, .gz), a folder (read
recursively), or a single file. Files are recognised by their content, not their names;
UTF-8 and UTF-16 (what Windows PowerShell's '>' writes), CRLF or LF. Files winnet does not
know are listed and skipped, never fatal. What each file was recognised as is printed on
stderr (and under "input" with -o json|yaml).

The target pod is --pod (or --pod-ip), else the target of a bundle's report, else the only
pod in the files; otherwise the node is analyzed. The node is --node, else what a bundle or
the dumps' host name say.

A many-node bundle (from a run over many nodes: diagnose node/a node/b --bundle FILE) is
analyzed on its own: every node is re-analyzed from its own folder, as a one-node bundle is,
into one many-node report (the findings grouped across nodes, the traits in which they
differ, a row per node). --node NODE analyzes that node alone (with --pod, a pod on it). The
bundle's folder, once extracted, works the same; each nodes/NODE folder in it is a one-node
bundle.

Recognised formats:
` + strings.Join(formats, "\n") + `

Exit codes: 0 analysis made, 1 it could not be made, 3 findings at or above --fail-on.`,
		Example: `  # A bundle from 'kubectl winnet diagnose pod/web-0 --bundle web-0.tar.gz'
  kubectl winnet analyze web-0.tar.gz

  # The same as one page to attach to a ticket (opens offline, runs no script)
  kubectl winnet analyze web-0.tar.gz -o html > web-0.html

  # A many-node bundle ('kubectl winnet diagnose nodes -l agentpool=win22 --bundle pool.tar.gz'),
  # whole or one node of it
  kubectl winnet analyze pool.tar.gz -o wide
  kubectl winnet analyze pool.tar.gz --node akswin000001

  # What a customer sent: a collectlogs.ps1 folder, kube-proxy's log and the cluster's objects
  kubectl winnet analyze ./collectlogs-out kube-proxy.log cluster-objects.yaml --pod shop/web-0

  # In CI: fail when an error-level finding is found
  kubectl winnet analyze dumps/ -o json --fail-on error`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			if err := o.validate(); err != nil {
				return err
			}
			return o.run()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, wide, json, yaml, or html (one self-contained page with the path drawn: -o html > report.html)")
	f.StringVar(&o.color, "color", colormode.Auto, "Colour the severities in tables: auto (a terminal, unless NO_COLOR or TERM=dumb), always or never")
	f.StringVar(&o.failOn, "fail-on", "none", "Exit with code 3 when a finding of this severity or worse is reported: error, warning or none")
	f.StringVar(&o.pod, "pod", "", "The target pod, NAMESPACE/NAME (or NAME when unique in the files)")
	f.StringVar(&o.podIP, "pod-ip", "", "The target pod's IP (enough to check its HNS endpoint when its object is not in the files)")
	f.StringVar(&o.node, "node", "", "The node the files are from (default: inferred from the files); with a many-node bundle, the one node of it to analyze")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Do not list the files read on stderr")
	return cmd
}

func (o *analyzeOptions) validate() error {
	if _, err := colormode.Parse(o.color); err != nil {
		return err
	}
	if err := report.ValidateFormat(o.output); err != nil {
		return err
	}
	switch o.failOn {
	case "error", "warning", "none":
	default:
		return fmt.Errorf("unknown --fail-on %q: use error, warning or none", o.failOn)
	}
	return nil
}

// errNothingUsable means no file held anything to analyze.
var errNothingUsable = errors.New("none of the files holds anything winnet can analyze")

func (o *analyzeOptions) run() error {
	for _, p := range o.paths {
		if !bundle.IsFleet(p) {
			continue
		}
		if len(o.paths) > 1 {
			return fmt.Errorf("%s is a many-node bundle, and a many-node bundle is analyzed on its own (its nodes must not be mixed with other files): kubectl winnet analyze %s", p, p)
		}
		return o.runFleet(p)
	}
	res, err := ingest.Load(o.paths, ingest.Options{Node: o.node, Pod: o.pod, PodIP: o.podIP})
	if err != nil {
		return err
	}
	return o.analyzeOne(res, strings.Join(o.paths, " "))
}

// analyzeOne analyzes what one node's files held and prints its report.
func (o *analyzeOptions) analyzeOne(res *ingest.Result, input string) error {
	in := AnalysisInput{Node: res.Node, NodeFrom: res.NodeFrom, TargetNote: res.TargetNote, Layouts: res.Layouts,
		Read: []ingest.FileReport{}, Ignored: []ingest.FileReport{}}
	for _, f := range res.Files {
		if f.Used {
			in.Read = append(in.Read, f)
		} else {
			in.Ignored = append(in.Ignored, f)
		}
	}
	if !o.quiet {
		printInput(o.streams.ErrOut, in)
	}
	if len(in.Read) == 0 {
		return fmt.Errorf("%w (%d file(s) looked at); pass a bundle, a collectlogs.ps1 folder, HNS dumps (Get-HnsEndpoint | ConvertTo-Json), logs or kubectl output", errNothingUsable, len(res.Files))
	}

	rep, _ := analyzeLoaded(res, input)

	switch o.output {
	case "json", "yaml":
		if err := printStructured(o.streams.Out, o.output, AnalysisReport{Report: rep, Input: in}); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	default:
		if err := report.RenderStyled(o.streams.Out, rep, o.output, tableStyle(o.color, o.streams.Out)); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	return failOn(rep.Worst(), o.failOn)
}

// analyzeLoaded runs the checks on what ingest read, as a live diagnosis runs them on what
// the collector sent, and builds the report; input is what the report names as its target.
func analyzeLoaded(res *ingest.Result, input string) (*report.Report, *snapshot.Snapshot) {
	b := snapshot.NewBuilder(res.Node)
	for _, r := range res.Records {
		b.Add(r)
	}
	snap := b.Snapshot()
	result := analyze.Run(analyze.Input{Snapshot: snap, Cluster: res.Cluster, Pod: res.Target})
	tgt := report.Target{Input: input, Node: res.Node, Note: res.TargetNote}
	if res.Target != nil {
		tgt.Namespace, tgt.Pod, tgt.PodIP = res.Target.Namespace, res.Target.Name, res.Target.Status.PodIP
	}
	rep := report.Build(snap, result, tgt, report.Versions{Version: Version})
	rep.Path = res.Path // walked live by the run that made the bundle
	return rep, snap
}

// runFleet analyzes a many-node bundle: every node from its own folder, exactly as a one-node
// bundle is analyzed, into one many-node report; with --node, that node alone.
func (o *analyzeOptions) runFleet(p string) error {
	fb, err := bundle.ReadFleet(p)
	if err != nil {
		return err
	}
	if o.node != "" {
		return o.analyzeFleetNode(p, fb)
	}
	if o.pod != "" || o.podIP != "" {
		return fmt.Errorf("--pod and --pod-ip pick a pod on one node, and %s holds %d nodes: add --node NODE (one of: %s)", p, len(fb.Nodes), nodeNames(fb))
	}
	if !o.quiet {
		printFleetInput(o.streams.ErrOut, p, fb)
	}
	results := make([]report.NodeResult, 0, len(fb.Nodes))
	var unreadable []string
	for _, nf := range fb.Nodes {
		nr := report.NodeResult{Name: nf.Name}
		if nf.Error != "" {
			nr.Err = errors.New(nf.Error) // why it failed, or why its collection stopped early
		}
		if nf.Files == nil && nf.Problem == "" {
			results = append(results, nr) // not diagnosed when the bundle was made
			continue
		}
		res, err := loadFleetNode(p, nf, ingest.Options{})
		if err != nil {
			nr.Err = fmt.Errorf("not analyzed: %w", err)
			unreadable = append(unreadable, nf.Name)
			results = append(results, nr)
			continue
		}
		rep, snap := analyzeLoaded(res, "node/"+nf.Name)
		nr.Report = rep
		var node *corev1.Node
		if res.Cluster != nil {
			node = res.Cluster.Node
		}
		nr.Traits = fleet.Traits(snap, node)
		results = append(results, nr)
	}
	f := report.BuildFleet(results, report.Versions{Version: Version}, fb.Versions.Notes)
	if err := report.RenderFleetStyled(o.streams.Out, f, o.output, tableStyle(o.color, o.streams.Out)); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if len(unreadable) > 0 {
		return fmt.Errorf("%d of %d nodes in %s could not be analyzed (%s): their files in the bundle are damaged or missing, their rows above say how; copy the bundle again from where it was made",
			len(unreadable), len(fb.Nodes), p, strings.Join(unreadable, ", "))
	}
	return failOn(f.Worst(), o.failOn)
}

// analyzeFleetNode analyzes one node of a many-node bundle (--node) into a one-node report.
func (o *analyzeOptions) analyzeFleetNode(p string, fb *bundle.FleetBundle) error {
	for _, nf := range fb.Nodes {
		if nf.Name != o.node {
			continue
		}
		if nf.Files == nil && nf.Problem == "" {
			return fmt.Errorf("node %s could not be diagnosed when %s was made (%s), so the bundle holds no data of it; diagnose it again: kubectl winnet diagnose node/%s",
				nf.Name, p, firstOf(nf.Error, "no reason was recorded"), nf.Name)
		}
		res, err := loadFleetNode(p, nf, ingest.Options{Node: o.node, Pod: o.pod, PodIP: o.podIP})
		if err != nil {
			return err
		}
		return o.analyzeOne(res, p+" --node "+nf.Name)
	}
	return fmt.Errorf("--node %s: the many-node bundle %s has no such node; it holds: %s", o.node, p, nodeNames(fb))
}

// loadFleetNode reads one node's folder of a many-node bundle through ingest, as the files of
// a one-node bundle are read. A node whose records cannot be read is an error: what is left
// (its cluster facts alone) would be judged as a node with no HNS state at all.
func loadFleetNode(p string, nf bundle.NodeFiles, opts ingest.Options) (*ingest.Result, error) {
	if nf.Problem != "" {
		return nil, fmt.Errorf("node %s: %s", nf.Name, nf.Problem)
	}
	c := ingest.NewCollection(opts)
	for _, name := range nf.FileNames() {
		c.Add(p+":"+nf.Dir+"/"+name, nf.Files[name], "")
	}
	res, err := c.Finish()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", nf.Name, err)
	}
	for _, f := range res.Files {
		if strings.HasSuffix(f.Path, "/"+bundle.FileRecords) && !f.Used {
			why := strings.Join(append([]string{f.Reason}, f.Notes...), "; ")
			return nil, fmt.Errorf("node %s: its %s/%s could not be read (%s); the bundle is damaged: copy it again from where it was made", nf.Name, nf.Dir, bundle.FileRecords, strings.Trim(why, "; "))
		}
	}
	return res, nil
}

func nodeNames(fb *bundle.FleetBundle) string {
	var names []string
	for _, n := range fb.Nodes {
		names = append(names, n.Name)
	}
	if len(names) == 0 {
		return "no nodes"
	}
	return strings.Join(names, ", ")
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// printFleetInput says on stderr what the many-node bundle is and holds.
func printFleetInput(w io.Writer, p string, fb *bundle.FleetBundle) {
	v := fb.Versions
	failed := 0
	for _, n := range fb.Nodes {
		if n.Files == nil && n.Problem == "" {
			failed++
		}
	}
	fmt.Fprintf(w, "Recognised %s: a winnet many-node diagnosis bundle, made %s by kubectl-winnet %s\n", p, v.CreatedAt.Format(time.RFC3339), dashIfEmpty(v.Plugin))
	fmt.Fprintf(w, "Nodes: %d, each re-analyzed from its own folder (%s/NODE/)", len(fb.Nodes), bundle.DirNodes)
	if failed > 0 {
		fmt.Fprintf(w, "; %d could not be diagnosed when the bundle was made (their rows say why)", failed)
	}
	fmt.Fprintln(w)
	for _, warn := range fb.Warnings {
		fmt.Fprintf(w, "  note: %s\n", warn)
	}
	fmt.Fprintln(w)
}

// printInput lists the files read and ignored, for the user to see what the analysis saw.
func printInput(w io.Writer, in AnalysisInput) {
	tw := printers.GetNewTabWriter(w)
	for _, l := range in.Layouts {
		fmt.Fprintf(tw, "Recognised %s\n", l)
	}
	node := in.Node
	if node == "" {
		node = "(unknown)"
	}
	fmt.Fprintf(tw, "Node:\t%s (%s)\n", node, in.NodeFrom)
	if in.TargetNote != "" {
		fmt.Fprintf(tw, "Target:\t%s\n", in.TargetNote)
	}
	fmt.Fprintf(tw, "\nFILES READ (%d)\n", len(in.Read))
	if len(in.Read) > 0 {
		fmt.Fprintf(tw, "PATH\tRECOGNISED AS\tWHAT\n")
		for _, f := range in.Read {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Path, f.Format, dashIfEmpty(f.Detail))
		}
	}
	_ = tw.Flush()
	for _, f := range in.Read {
		for _, n := range f.Notes {
			fmt.Fprintf(w, "  note: %s: %s\n", f.Path, n)
		}
	}
	if len(in.Ignored) > 0 {
		tw = printers.GetNewTabWriter(w)
		fmt.Fprintf(tw, "\nFILES IGNORED (%d)\n", len(in.Ignored))
		for _, f := range in.Ignored {
			why := f.Reason
			if f.Format != "" {
				why = f.Format + ": " + why
			}
			if len(f.Notes) > 0 {
				why += " (" + strings.Join(f.Notes, "; ") + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\n", f.Path, why)
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
