package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvBinDir names a folder holding etcd and kube-apiserver, used when Options.BinDir is empty,
// for example to run against binaries built elsewhere without running the build script.
const EnvBinDir = "WINNET_E2E_BIN"

// buildScript is the script that builds the binaries, relative to the repository root.
const buildScript = "hack/build-cluster.sh"

// Binary names inside the bin folder.
const (
	etcdBinary      = "etcd"
	apiserverBinary = "kube-apiserver"
)

// resolveBinDir finds the folder with the binaries: the explicit option, then EnvBinDir, then
// whatever the build script prints (it builds on first use, which takes minutes, and is free
// afterwards).
func resolveBinDir(ctx context.Context, explicit string, log io.Writer) (string, error) {
	dir := explicit
	if dir == "" {
		dir = os.Getenv(EnvBinDir)
	}
	if dir == "" {
		script, err := findBuildScript()
		if err != nil {
			return "", err
		}
		if dir, err = runBuildScript(ctx, script, log); err != nil {
			return "", err
		}
	}
	if err := checkBinaries(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// checkBinaries makes sure dir holds both executables, so a wrong folder is reported as such and
// not as a failed exec later.
func checkBinaries(dir string) error {
	for _, name := range []string{etcdBinary, apiserverBinary} {
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("looking for the %s binary in %s: %w; run %s (it prints the folder holding etcd and kube-apiserver) and pass that folder in Options.BinDir or %s",
				name, dir, err, buildScript, EnvBinDir)
		}
		if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file; rebuild it with %s or fix its permissions", path, buildScript)
		}
	}
	return nil
}

// findBuildScript locates hack/build-cluster.sh: from this source file's path when the test
// binary was built without -trimpath, else by walking up from the working directory (go test
// runs in the package folder) to the folder that has it.
func findBuildScript() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		candidate := filepath.Join(filepath.Dir(file), "..", "..", "..", buildScript)
		if isFile(candidate) {
			return candidate, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding %s: reading the working directory: %w", buildScript, err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if candidate := filepath.Join(dir, buildScript); isFile(candidate) {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", fmt.Errorf("cannot find %s above %s: run the tests from inside the repository, or set %s to a folder holding etcd and kube-apiserver",
		buildScript, wd, EnvBinDir)
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// runBuildScript runs the build script and returns the folder it prints as its last stdout line.
// Its progress (stderr) goes to log.
func runBuildScript(ctx context.Context, script string, log io.Writer) (string, error) {
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stdout = &stdout
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("building the control plane with %s: %w (a cold build takes several minutes; give the context more time or run the script once beforehand)", script, errors.Join(ctxErr, err))
		}
		return "", fmt.Errorf("building the control plane with %s: %w; run the script by hand to see the whole output", script, err)
	}
	dir := lastLine(stdout.String())
	if dir == "" {
		return "", fmt.Errorf("%s printed no folder on stdout; it should print the folder holding etcd and kube-apiserver", script)
	}
	return dir, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
