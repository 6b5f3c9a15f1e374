package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
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

Recognised formats:
` + strings.Join(formats, "\n") + `

Exit codes: 0 analysis made, 1 it could not be made, 3 findings at or above --fail-on.`,
		Example: `  # A bundle from 'kubectl winnet diagnose pod/web-0 --bundle web-0.tar.gz'
  kubectl winnet analyze web-0.tar.gz

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
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, wide, json or yaml")
	f.StringVar(&o.failOn, "fail-on", "none", "Exit with code 3 when a finding of this severity or worse is reported: error, warning or none")
	f.StringVar(&o.pod, "pod", "", "The target pod, NAMESPACE/NAME (or NAME when unique in the files)")
	f.StringVar(&o.podIP, "pod-ip", "", "The target pod's IP (enough to check its HNS endpoint when its object is not in the files)")
	f.StringVar(&o.node, "node", "", "The node the files are from (default: inferred from the files)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Do not list the files read on stderr")
	return cmd
}

func (o *analyzeOptions) validate() error {
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
	res, err := ingest.Load(o.paths, ingest.Options{Node: o.node, Pod: o.pod, PodIP: o.podIP})
	if err != nil {
		return err
	}
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

	b := snapshot.NewBuilder(res.Node)
	for _, r := range res.Records {
		b.Add(r)
	}
	snap := b.Snapshot()
	result := analyze.Run(analyze.Input{Snapshot: snap, Cluster: res.Cluster, Pod: res.Target})
	tgt := report.Target{Input: strings.Join(o.paths, " "), Node: res.Node, Note: res.TargetNote}
	if res.Target != nil {
		tgt.Namespace, tgt.Pod, tgt.PodIP = res.Target.Namespace, res.Target.Name, res.Target.Status.PodIP
	}
	rep := report.Build(snap, result, tgt, report.Versions{Version: Version})

	switch o.output {
	case "json", "yaml":
		if err := printStructured(o.streams.Out, o.output, AnalysisReport{Report: rep, Input: in}); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	default:
		if err := report.Render(o.streams.Out, rep, o.output); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	return failOn(rep.Worst(), o.failOn)
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
