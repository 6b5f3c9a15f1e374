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
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"hash", Hash(), []string{"cmd.exe", "/d", "/s", "/c",
			`certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256 || exit /b 1`}},
		{"upload", Upload(), []string{"cmd.exe", "/d", "/s", "/c",
			`tar.exe -x -f - -C %CONTAINER_SANDBOX_MOUNT_POINT% && certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256 || exit /b 1`}},
		{"run", run, []string{"cmd.exe", "/d", "/s", "/c",
			`(certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256 | findstr.exe /x /i ` + strings.ToLower(sha) +
				` >nul || exit /b 86) && %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe collect --since 1h0m0s --pod-ip 10.244.1.5`}},
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
				t.Fatal("want an error")
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, tt := range []struct {
		name, out string
		ok        bool
	}{
		{"server 2019+", "SHA256 hash of C:\\hpc\\winnet\\winnet-collector.exe:\r\n" + want + "\r\nCertUtil: -hashfile command completed successfully.\r\n", true},
		{"older builds space the bytes", "SHA256 hash of file x:\r\ne3 b0 c4 42 98 fc 1c 14 9a fb f4 c8 99 6f b9 24 27 ae 41 e4 64 9b 93 4c a4 95 99 1b 78 52 b8 55\r\nCertUtil: ok\r\n", true},
		{"upper case", strings.ToUpper(want) + "\n", true},
		{"missing file", "CertUtil: -hashfile command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\n", false},
		{"empty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseHash(tt.out)
			if ok != tt.ok || (ok && got != want) {
				t.Fatalf("ParseHash = %q, %v; want %q, %v", got, ok, want, tt.ok)
			}
		})
	}
}
