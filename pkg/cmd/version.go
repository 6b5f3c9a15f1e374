package cmd

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-winnet/winnet/pkg/embedded"
	"github.com/kubectl-winnet/winnet/pkg/report"
)

// VersionInfo is what `version -o json|yaml` prints.
type VersionInfo struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Plugin     string         `json:"plugin"`
	Commit     string         `json:"commit,omitempty"`
	BuildDate  string         `json:"buildDate,omitempty"` // RFC 3339, UTC: the commit's time
	GoVersion  string         `json:"goVersion"`
	Platform   string         `json:"platform"`
	Collector  *embedded.Meta `json:"collector,omitempty"`
	// CollectorError says why no collector is embedded, when none is.
	CollectorError string `json:"collectorError,omitempty"`
}

func newVersionCmd(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and the embedded collector's version and sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := VersionInfo{APIVersion: report.APIVersion, Kind: "Version", Plugin: Version, Commit: Commit,
				BuildDate: buildDate(BuildDate), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			c, err := embedded.Load()
			switch {
			case err == nil:
				info.Collector = &c.Meta
			case errors.Is(err, embedded.ErrNotEmbedded):
				info.CollectorError = err.Error()
			default:
				return err
			}
			switch output {
			case "json", "yaml":
				return printStructured(streams.Out, output, info)
			case "":
				fmt.Fprintf(streams.Out, "kubectl-winnet %s (%s, %s)\n", info.Plugin, info.Platform, info.GoVersion)
				if info.Commit != "" {
					fmt.Fprintf(streams.Out, "commit %s of %s\n", info.Commit, info.BuildDate)
				}
				if info.Collector != nil {
					fmt.Fprintf(streams.Out, "collector %s (%s/%s, sha256 %s, %d bytes gzipped)\n",
						c.Meta.Version, c.Meta.OS, c.Meta.Arch, c.Meta.SHA256, c.Meta.GzSize)
				} else {
					fmt.Fprintf(streams.Out, "collector: none (%s)\n", info.CollectorError)
				}
				return nil
			}
			return fmt.Errorf("unknown output format %q for version: use json or yaml, or leave -o out", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// buildDate turns the stamped Unix seconds into RFC 3339; empty or unreadable stays empty.
func buildDate(unix string) string {
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}
