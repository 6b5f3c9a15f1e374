package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// collectorBudget is the most the gzipped windows/amd64 collector may weigh, in bytes, as
// hack/embed-collector.sh builds it. The plugin carries it and uploads it, gzipped, through
// pods/exec. The collector uses the standard library (crypto/sha256, regexp, os/exec,
// encoding/xml) rather than hand-written stand-ins: it measured 1,619,838 bytes when it went
// back to them, and an exec round trip costs more than the bytes they add; 1,694,417 with the
// pktmon capture (archive/tar for its stream, the capture loop). The budget keeps about 5%
// above that, so it catches accidental bloat (a package such as net/http pulled in by
// a dependency) rather than ordinary growth; the contract is 2 MB. The Makefile's
// COLLECTOR_BUDGET must say the same: `make test` checks the embedded file against it.
const collectorBudget = 1_780_000

// heavyImports are packages the collector has no use for, each with why it stays out. A
// match is a package or a path prefix ending in a slash.
var heavyImports = []struct{ pkg, why string }{
	{"net/http", "a web client and server; the collector talks to nothing over HTTP"},
	{"text/template", "reflection-heavy templating; format with fmt or strings.Builder"},
	{"html/template", "reflection-heavy templating; format with fmt or strings.Builder"},
	{"time/tzdata", "an embedded time zone database; the collector reports UTC"},
}

const slimHelp = "find what grew with `go tool nm -size -sort size` on a build without -s -w " +
	"(CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -trimpath ./cmd/winnet-collector), or by building with " +
	"the new code stubbed out; look for a heavy package pulled in by a dependency (net/http, templates, " +
	"k8s.io modules) or large generic or reflection-driven code. Raise the budget (collectorBudget in " +
	"cmd/winnet-collector/size_test.go and COLLECTOR_BUDGET in the Makefile) only if the gain is worth the bytes " +
	"every cold diagnosis uploads, and never past the 2 MB contract"

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no go command on PATH or in GOROOT to build the windows collector: %v", err)
	}
	return p
}

func windowsEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
}

// TestCollectorImports keeps packages the collector has no use for out of its windows build.
func TestCollectorImports(t *testing.T) {
	cmd := exec.Command(goTool(t), "list", "-deps", ".")
	cmd.Env = windowsEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps of the windows collector: %v\n%s", err, stderrOf(err))
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, h := range heavyImports {
			if dep == h.pkg || (strings.HasSuffix(h.pkg, "/") && strings.HasPrefix(dep, h.pkg)) {
				t.Errorf("the windows collector imports %s, which it has no use for (%s); find who pulls it in with "+
					"`GOOS=windows go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/winnet-collector` and keep it out of the windows build",
					dep, h.why)
			}
		}
	}
}

// TestCollectorSize builds the windows/amd64 collector as hack/embed-collector.sh does and
// fails when, gzipped, it is over collectorBudget.
func TestCollectorSize(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "winnet-collector.exe")
	// The version is stamped in, so give one as long as a release's.
	cmd := exec.Command(goTool(t), "build", "-trimpath", "-ldflags", "-s -w -X main.version=v0.0.0-0123456789ab", "-o", exe, ".")
	cmd.Env = windowsEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the windows collector: %v\n%s", err, out)
	}
	size, how, err := gzipSize(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gzipped windows/amd64 collector: %d bytes (%s), budget %d", size, how, collectorBudget)
	if size > collectorBudget {
		t.Errorf("the gzipped windows/amd64 collector is %d bytes (%s), %d over its budget of %d; %s",
			size, how, size-collectorBudget, collectorBudget, slimHelp)
	}
}

// gzipSize measures the file as the embed script does, with gzip -9 -n. Without a gzip
// command it uses compress/gzip, which comes out about 2% larger: the check errs on the safe side.
func gzipSize(path string) (int, string, error) {
	if gz, err := exec.LookPath("gzip"); err == nil {
		out, err := exec.Command(gz, "-9", "-n", "-c", path).Output()
		if err != nil {
			return 0, "", fmt.Errorf("gzip -9 -n %s: %w", path, err)
		}
		return len(out), "gzip -9 -n", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, "", err
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, "", err
	}
	if _, err := w.Write(data); err != nil {
		return 0, "", err
	}
	if err := w.Close(); err != nil {
		return 0, "", err
	}
	return buf.Len(), "compress/gzip level 9, about 2% above gzip -9: no gzip command here", nil
}

// TestMakefileBudget keeps `make test`'s check of the embedded collector on the same budget.
func TestMakefileBudget(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COLLECTOR_BUDGET\s*:?=\s*(\d+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the Makefile sets no COLLECTOR_BUDGET; it must be %d, as collectorBudget here", collectorBudget)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != collectorBudget {
		t.Errorf("the Makefile's COLLECTOR_BUDGET is %d and collectorBudget in size_test.go is %d; make them agree", n, collectorBudget)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
