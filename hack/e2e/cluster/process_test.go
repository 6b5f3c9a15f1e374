package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    uint64
		wantErr error
	}{
		{
			name:   "typical status",
			status: "Name:\tetcd\nVmPeak:\t  900000 kB\nVmRSS:\t   40960 kB\nRssAnon:\t 30000 kB\n",
			want:   40960 * 1024,
		},
		{name: "last line without newline", status: "VmRSS:\t12 kB", want: 12 * 1024},
		{name: "zombie has no VmRSS", status: "Name:\tx\nState:\tZ (zombie)\n", wantErr: errNoRSS},
		{name: "garbled value", status: "VmRSS:\tlots kB\n", wantErr: errAny},
		{name: "unexpected unit", status: "VmRSS:\t12 MB\n", wantErr: errAny},
		{name: "empty", status: "", wantErr: errNoRSS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmRSS(tt.status)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("parseVmRSS = %d, want %d", got, tt.want)
			}
		})
	}
}

// errAny in a table means "some error"; nil means none; anything else must match errors.Is.
var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errAny && err == nil, want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	n, err := rssBytes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("resident memory of a running process read as 0")
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		name string
		buf  string
		n    int
		cut  bool
		want string
	}{
		{name: "fewer lines than asked", buf: "a\nb\n", n: 5, want: "a\nb"},
		{name: "keeps the last n", buf: "a\nb\nc\nd\n", n: 2, want: "c\nd"},
		{name: "drops a partial first line when cut", buf: "tial\nb\nc", n: 5, cut: true, want: "b\nc"},
		{name: "keeps a single cut line", buf: "only", n: 5, cut: true, want: "only"},
		{name: "trailing blank lines ignored", buf: "a\n\n\n", n: 1, want: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastLines([]byte(tt.buf), tt.n, tt.cut); got != tt.want {
				t.Errorf("lastLines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	big := filepath.Join(dir, "big.log")
	if err := os.WriteFile(big, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := logTail(big)
	lines := strings.Split(got, "\n")
	if len(lines) != tailLines || lines[len(lines)-1] != "line 4999" || lines[0] != fmt.Sprintf("line %d", 5000-tailLines) {
		t.Errorf("logTail of a big file = %d lines from %q to %q, want the last %d", len(lines), lines[0], lines[len(lines)-1], tailLines)
	}
	if got := logTail(filepath.Join(dir, "missing.log")); !strings.Contains(got, "cannot read the log") {
		t.Errorf("logTail of a missing file = %q, want a note that it cannot be read", got)
	}
}

func TestAddrInUse(t *testing.T) {
	tests := []struct {
		log  string
		want bool
	}{
		{`{"level":"fatal","msg":"listen tcp 127.0.0.1:2380: bind: address already in use"}`, true},
		{"E0101 failed to listen on 127.0.0.1:6443: listen tcp 127.0.0.1:6443: bind: address already in use", true},
		{"error: invalid flag --bogus", false},
	}
	for _, tt := range tests {
		t.Run(tt.log, func(t *testing.T) {
			if got := addrInUse(tt.log); got != tt.want {
				t.Errorf("addrInUse = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports %v: want three distinct positive ports", ports)
		}
		seen[p] = true
	}
}

func TestCheckBinaries(t *testing.T) {
	write := func(t *testing.T, dir, name string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{
			name: "both present",
			setup: func(t *testing.T, dir string) {
				write(t, dir, "etcd", 0o755)
				write(t, dir, "kube-apiserver", 0o755)
			},
		},
		{
			name:    "apiserver missing",
			setup:   func(t *testing.T, dir string) { write(t, dir, "etcd", 0o755) },
			wantErr: "looking for the kube-apiserver binary",
		},
		{
			name: "not executable",
			setup: func(t *testing.T, dir string) {
				write(t, dir, "etcd", 0o644)
				write(t, dir, "kube-apiserver", 0o755)
			},
			wantErr: "is not an executable file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			err := checkBinaries(dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolveBinDirPrecedence(t *testing.T) {
	explicit, fromEnv := t.TempDir(), t.TempDir()
	for _, dir := range []string{explicit, fromEnv} {
		for _, name := range []string{etcdBinary, apiserverBinary} {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv(EnvBinDir, fromEnv)
	tests := []struct {
		name     string
		explicit string
		want     string
	}{
		{"option wins over the environment", explicit, explicit},
		{"environment when no option", "", fromEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveBinDir(context.Background(), tt.explicit, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("resolveBinDir = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFindBuildScript(t *testing.T) {
	path, err := findBuildScript()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(filepath.ToSlash(path), buildScript) || !isFile(path) {
		t.Errorf("findBuildScript = %s, want an existing .../%s", path, buildScript)
	}
}

func TestLastLine(t *testing.T) {
	tests := map[string]string{
		"/cache/dir\n":              "/cache/dir",
		"noise\n/cache/dir\n\n":     "/cache/dir",
		"":                          "",
		"  /with/space/around  \n ": "/with/space/around",
	}
	for in, want := range tests {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if got := lastLine(in); got != want {
				t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
