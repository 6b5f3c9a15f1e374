package cmd

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDiagnoseRefusesBadPathFlags: --to and --external are checked before anything touches
// the cluster, with errors that say what to type instead.
func TestDiagnoseRefusesBadPathFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kind", []string{"--to", "deploy/web"}, `--to "deploy/web": "deploy" is not a kind this can test`},
		{"pod without a port", []string{"--to", "pod/web-1"}, "a pod target needs a port"},
		{"external Service", []string{"--external", "svc/web"}, "use --to for Services and pods"},
		{"external without a port", []string{"--external", "example.com"}, `--external "example.com": no port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An empty kubeconfig: nothing may be contacted before the flags are refused.
			t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
			_, _, err := runWinnet(t, append([]string{"diagnose", "pod/web-0"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
