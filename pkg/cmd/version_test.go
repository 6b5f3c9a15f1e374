package cmd

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestVersionPrintsTheStampedCommitAndDate(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, BuildDate = v, c, d }(Version, Commit, BuildDate)
	Version, Commit, BuildDate = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "1765100000"

	var out strings.Builder
	cmd := newVersionCmd(genericiooptions.IOStreams{Out: &out, ErrOut: &strings.Builder{}})
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl-winnet v1.2.3 (" + runtime.GOOS + "/" + runtime.GOARCH, "commit 0123456789abcdef0123456789abcdef01234567 of 2025-12-07T09:33:20Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	cmd = newVersionCmd(genericiooptions.IOStreams{Out: &out, ErrOut: &strings.Builder{}})
	cmd.SetArgs([]string{"-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var info VersionInfo
	if err := json.Unmarshal([]byte(out.String()), &info); err != nil || info.Commit != Commit || info.BuildDate != "2025-12-07T09:33:20Z" || info.GoVersion != runtime.Version() {
		t.Errorf("version -o json = %+v (%v)", info, err)
	}
}

func TestBuildDateIgnoresWhatIsNotUnixSeconds(t *testing.T) {
	for _, in := range []string{"", "0", "yesterday", "-5"} {
		if got := buildDate(in); got != "" {
			t.Errorf("buildDate(%q) = %q, want empty", in, got)
		}
	}
}
