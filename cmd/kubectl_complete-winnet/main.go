// Command kubectl_complete-winnet lets kubectl (>= 1.26) complete `kubectl winnet ...`: kubectl
// runs `kubectl_complete-winnet __complete ARGS` from PATH, and this forwards to the plugin's
// own cobra completion. A Go binary rather than a shell script so it works for krew users on
// Windows too.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

func main() {
	plugin := "kubectl-winnet"
	if runtime.GOOS == "windows" {
		plugin += ".exe"
	}
	// Prefer the plugin installed next to this shim (krew installs both together).
	path := plugin
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), plugin); fileExists(p) {
			path = p
		}
	}
	cmd := exec.Command(path, append([]string{"__complete"}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "kubectl_complete-winnet: running %s: %v (is kubectl-winnet on PATH?)\n", plugin, err)
		os.Exit(1)
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
