package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"
)

// Formats accepted by Render.
//
// html is one self-contained page (no script, nothing fetched) with the path drawn, for
// attaching to a ticket.
var Formats = []string{"table", "wide", "json", "yaml", "html"}

// ValidateFormat checks an -o value before any work is done.
func ValidateFormat(f string) error {
	for _, ok := range Formats {
		if f == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q: use one of %s", f, strings.Join(Formats, ", "))
}

// Render writes the report in format to w, in plain text.
func Render(w io.Writer, r *Report, format string) error {
	return RenderStyled(w, r, format, Style{})
}

// RenderStyled is Render with the table drawn in style (json and yaml are never styled).
func RenderStyled(w io.Writer, r *Report, format string, style Style) error {
	if format == "html" {
		return renderHTML(w, r)
	}
	return renderAs(w, r, format, func(wide bool) error { return renderTable(w, r, wide, style) })
}

// renderAs writes v as JSON or YAML, or as the table drawn by table.
func renderAs(w io.Writer, v any, format string, table func(wide bool) error) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("rendering the report as YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	case "table", "wide", "":
		return table(format == "wide")
	}
	return ValidateFormat(format)
}

func renderTable(out io.Writer, r *Report, wide bool, style Style) error {
	// Each section gets its own tab writer, so one wide column does not stretch the others.
	w := printers.GetNewTabWriter(out)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	section := func() {
		_ = w.Flush()
		w = printers.GetNewTabWriter(out)
	}

	p("Target:\t%s on node %s\n", targetName(r), r.Target.Node)
	if r.Target.Note != "" {
		p("\t%s\n", r.Target.Note)
	}
	if r.Node.OS != "" || r.Node.HNSVersion != "" {
		p("Node:\t%s\n", strings.Trim(r.Node.OS+", HNS "+r.Node.HNSVersion, ", HNS"))
	}
	coll := "unknown"
	if r.Collector != nil {
		coll = r.Collector.CollectorVersion + " (" + r.Collector.Backend + ", sha256 " + short(r.Collector.SHA256, 12) + ")"
	}
	p("Versions:\tplugin %s, collector %s\n", r.Plugin.Version, coll)
	if r.Incomplete != "" {
		// First line of the cause: the collector's log tail is in the error on stderr.
		cause, _, _ := strings.Cut(r.Incomplete, "\n")
		p("INCOMPLETE:\tcollection stopped early (%s); what was not received is not proven absent\n", cause)
	}
	p("\n")

	section()
	renderPodNetwork(p, r.PodNetwork)
	section()
	renderPath(p, r.Path, wide)
	section()
	if len(r.Findings) == 0 {
		p("FINDINGS: none of the checks that ran found a problem.\n")
	} else {
		p("FINDINGS (%d)\n", len(r.Findings))
		section()
		// Findings are blocks, not table rows: evidence and fixes are sentences.
		for _, f := range r.Findings {
			fmt.Fprintf(out, "%s %s: %s\n", style.severity(f.Severity), f.ID, f.Title)
			limit := 3
			if wide {
				limit = len(f.Evidence)
			}
			for i, e := range f.Evidence {
				if i == limit {
					fmt.Fprintf(out, "        … %d more evidence item(s): -o wide or -o json\n", len(f.Evidence)-limit)
					break
				}
				fmt.Fprintf(out, "        evidence: %s\n", evidence(e.Artifact, e.Object, e.Detail))
			}
			if wide && len(f.JudgedOn) > 0 {
				fmt.Fprintf(out, "        judged on: %s\n", strings.Join(f.JudgedOn, ", "))
			}
			if len(f.Lacking) > 0 {
				fmt.Fprintf(out, "        not seen: %s (collect to confirm or rule out)\n", strings.Join(f.Lacking, ", "))
			}
			fmt.Fprintf(out, "        fix: %s\n", f.Remediation)
		}
	}
	p("\n")
	section()
	p("NETWORKS (%d)\n", len(r.Collected.Networks))
	if len(r.Collected.Networks) > 0 {
		p("NAME\tTYPE\tSUBNETS\tID\n")
		for _, n := range r.Collected.Networks {
			var subs []string
			for _, s := range n.Subnets {
				sub := s.Prefix
				if s.Gateway != "" {
					sub += " gw " + s.Gateway
				}
				subs = append(subs, sub)
			}
			p("%s\t%s\t%s\t%s\n", n.Name, n.Type, dash(strings.Join(subs, ", ")), n.ID)
		}
	}
	p("\n")

	local, remote := 0, 0
	for _, e := range r.Collected.Endpoints {
		if e.Remote {
			remote++
		} else {
			local++
		}
	}
	section()
	p("ENDPOINTS (%d local, %d remote; * = the target pod)\n", local, remote)
	if len(r.Collected.Endpoints) > 0 {
		if wide {
			p("\tIP\tKIND\tNAME\tDNS SERVERS\tDNS SEARCH\tID\n")
		} else {
			p("\tIP\tKIND\tNAME\tDNS SERVERS\n")
		}
		for _, e := range r.Collected.Endpoints {
			mark := ""
			if e.Target {
				mark = "*"
			}
			kind := "local"
			if e.Remote {
				kind = "remote"
			}
			if e.State != "" {
				kind += " (" + e.State + ")"
			}
			if wide {
				p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, dash(e.IP), kind, dash(e.Name), dash(strings.Join(e.DNSServers, ",")), dash(strings.Join(e.DNSSearch, ",")), e.ID)
			} else {
				p("%s\t%s\t%s\t%s\t%s\n", mark, dash(e.IP), kind, dash(e.Name), dash(strings.Join(e.DNSServers, ",")))
			}
		}
	}
	p("\n")

	section()
	p("LOAD BALANCERS (%d)\n", len(r.Collected.LoadBalancers))
	if len(r.Collected.LoadBalancers) > 0 {
		p("FRONTEND\tPORTS\tBACKENDS\tFLAGS\n")
		for _, lb := range r.Collected.LoadBalancers {
			var ports []string
			for _, pm := range lb.Ports {
				ports = append(ports, fmt.Sprintf("%d->%d/%s", pm.ExternalPort, pm.InternalPort, pm.Protocol))
			}
			front := strings.Join(lb.FrontendVIPs, ",")
			if front == "" {
				front = "(node port)"
			}
			var flags []string
			if lb.DSR {
				flags = append(flags, "DSR")
			}
			if lb.IPv6 {
				flags = append(flags, "IPv6")
			}
			p("%s\t%s\t%d\t%s\n", front, dash(strings.Join(ports, ",")), len(lb.EndpointIDs), dash(strings.Join(flags, ",")))
		}
	}
	p("\n")

	section()
	p("RECENT HNS EVENTS (%d)\n", len(r.Collected.HNSEvents))
	if len(r.Collected.HNSEvents) > 0 {
		p("TIME\tLEVEL\tID\tMESSAGE\n")
		for _, e := range r.Collected.HNSEvents {
			p("%s\t%s\t%d\t%s\n", e.Time.Format("2006-01-02 15:04:05"), e.Level, e.ID, short(strings.Join(strings.Fields(e.Message), " "), 100))
		}
	}

	section()
	if len(r.NotChecked) > 0 {
		p("\nNOT CHECKED (evidence missing)\n")
		for _, n := range r.NotChecked {
			p("  %s:\t%s\n", n.Check, n.Missing)
		}
	}
	section()
	if len(r.Errors) > 0 {
		p("\nCOLLECTOR ERRORS (the rest of the run is still valid)\n")
		for _, e := range r.Errors {
			p("  %s:\t%s\n", e.Source, short(e.Error, 200))
		}
	}
	if r.DebugPod != nil && r.DebugPod.Kept {
		p("\nDebug pod %s/%s was kept (--keep); delete it with: kubectl delete pod -n %s %s\n", r.DebugPod.Namespace, r.DebugPod.Name, r.DebugPod.Namespace, r.DebugPod.Name)
	}
	return w.Flush()
}

// targetName is what was diagnosed: the pod with its IP, else what the user typed.
func targetName(r *Report) string {
	if r.Target.Pod == "" {
		return r.Target.Input
	}
	t := "pod " + r.Target.Namespace + "/" + r.Target.Pod
	if r.Target.PodIP != "" {
		t += " (" + r.Target.PodIP + ")"
	}
	return t
}

func evidence(parts ...string) string {
	var keep []string
	for _, s := range parts {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, ": ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
