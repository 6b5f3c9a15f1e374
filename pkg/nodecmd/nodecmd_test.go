package nodecmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The exact command lines are a contract with every Windows node: a change here must be
// deliberate, so they are spelled out in full.
func TestCommandLines(t *testing.T) {
	sha := strings.Repeat("AB", 32)
	run, err := Run(sha, "collect", "--since", "1h0m0s", "--pod-ip", "10.244.1.5")
	if err != nil {
		t.Fatal(err)
	}
	upload, err := UploadAndRun(sha, "collect", "--since", "1h0m0s")
	if err != nil {
		t.Fatal(err)
	}
	verify := `(certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256 | findstr.exe /x /i ` + strings.ToLower(sha) +
		` >nul || exit /b 86) && %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe collect --since 1h0m0s`
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"run", run, []string{"cmd.exe", "/d", "/s", "/c", verify + ` --pod-ip 10.244.1.5`}},
		{"upload and run", upload, []string{"cmd.exe", "/d", "/s", "/c",
			`(tar.exe -x -z -f - -C %CONTAINER_SANDBOX_MOUNT_POINT% || exit /b 87) && ` + verify}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// No quotes anywhere: the runtime would escape them as \" and cmd.exe would choke.
			if strings.Contains(tt.got[4], `"`) {
				t.Fatalf("script holds a quote: %s", tt.got[4])
			}
		})
	}
}

func TestRunRefusesUnsafeInput(t *testing.T) {
	good := strings.Repeat("a", 64)
	for _, tt := range []struct {
		name string
		sha  string
		args []string
	}{
		{"short hash", "abc", nil},
		{"non-hex hash", strings.Repeat("z", 64), nil},
		{"ampersand", good, []string{"a&b"}},
		{"space", good, []string{"a b"}},
		{"percent", good, []string{"%PATH%"}},
		{"quote", good, []string{`"x"`}},
		{"empty", good, []string{""}},
		{"pipe", good, []string{"x|y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(tt.sha, tt.args...); err == nil {
				t.Fatal("Run: want an error")
			}
			if _, err := UploadAndRun(tt.sha, tt.args...); err == nil {
				t.Fatal("UploadAndRun: want an error")
			}
		})
	}
}
