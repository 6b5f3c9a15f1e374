package env

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PluginBinary is WINNET_E2E_PLUGIN (set by make e2e) or a fresh build with a Linux collector.
func PluginBinary() (string, error) {
	if p := os.Getenv("WINNET_E2E_PLUGIN"); p != "" {
		return p, nil
	}
	root := RepoRoot()
	out := filepath.Join(root, "_output", "e2e", "kubectl-winnet")
	for _, c := range [][]string{
		{filepath.Join(root, "hack", "embed-collector.sh"), "linux"},
		{"go", "build", "-tags", "winnet_linux_collector", "-o", out, "./cmd/kubectl-winnet"},
		{"go", "build", "-o", filepath.Join(filepath.Dir(out), "kubectl_complete-winnet"), "./cmd/kubectl_complete-winnet"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("building the e2e plugin (%s): %w", strings.Join(c, " "), err)
		}
	}
	return out, nil
}

// PktmonBinary builds the simulated pktmon (hack/e2e/simnode/fakepktmon) into dir: the
// program the collector's captures run on simulated nodes.
func PktmonBinary(dir string) (string, error) {
	out := filepath.Join(dir, "pktmon")
	cmd := exec.Command("go", "build", "-o", out, "./hack/e2e/simnode/fakepktmon")
	cmd.Dir, cmd.Stderr = RepoRoot(), os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the simulated pktmon: %w", err)
	}
	return out, nil
}
