package cmd

import (
	"encoding/json"
	"io"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/colormode"
	"github.com/kubectl-winnet/winnet/pkg/report"
)

func printStructured(w io.Writer, format string, v any) error {
	if format == "yaml" {
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tableStyle is how tables are drawn on out under --color.
func tableStyle(mode string, out io.Writer) report.Style {
	return report.Style{Color: colormode.Enabled(mode, out, os.Getenv)}
}
