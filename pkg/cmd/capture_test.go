package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"100MB": 100e6, "100M": 100e6, "1GB": 1e9, "500Mi": 500 << 20, "500MiB": 500 << 20, "2048K": 2048e3, "1.5GB": 1.5e9,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "100 XB", "-5MB", "10KB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted it", in)
		}
	}
}

func TestCaptureFlagsAreCheckedBeforeAnythingRuns(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.pcapng")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pod/web", "--filter", "udp prot 53"}, `unknown word "prot"`},
		{[]string{"pod/web", "--duration", "2h"}, "between 1s and 1h0m0s"},
		{[]string{"pod/web", "--max-size", "5GB"}, "more than"},
		{[]string{"pod/web", "--max-size", "big"}, "not a size"},
		{[]string{"pod/web", "-w", existing}, "--force"},
		{[]string{"pod/web", "-w", filepath.Join(dir, "missing", "x.pcapng")}, "cannot be used"},
		{[]string{"frob/web"}, "frob"},
		{[]string{"pod/web", "--to", "api.example.com:443"}, "names a host: capture filters on addresses"},
		{[]string{"pod/web", "--to", "deploy/api:80"}, `"deploy" is not a kind`},
		{[]string{"pod/web", "--to", "pod/db"}, "needs a port"},
	} {
		cmd := newCaptureCmd(genericclioptions.NewConfigFlags(false), genericiooptions.IOStreams{Out: &strings.Builder{}, ErrOut: &strings.Builder{}})
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("capture %q: err = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
