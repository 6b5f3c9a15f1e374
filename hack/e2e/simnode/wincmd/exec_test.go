package wincmd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

func newHost(t *testing.T) *Host {
	t.Helper()
	return &Host{Root: t.TempDir(), Env: map[string]string{"WINNET_COLLECTOR_REPLAY": "/scenarios/basic"}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("{exit %d, stdout %q, stderr %q}", r.code, r.stdout, r.stderr)
}

func run(t *testing.T, h *Host, argv []string, stdin io.Reader) result {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := h.Exec(context.Background(), argv, stdin, &out, &errb)
	if err != nil {
		t.Fatalf("Exec(%q): %v", argv, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func cmdC(script string) []string { return []string{"cmd.exe", "/d", "/s", "/c", script} }

// writeFile creates a file under the sandbox (rel uses /).
func writeFile(t *testing.T, h *Host, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(h.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

const notRecognized = "is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"

func TestCmdOperators(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   result
	}{
		{"echo", "echo hello world", result{0, "hello world\r\n", ""}},
		{"echo keeps trailing blank before operator", "echo a & echo b", result{0, "a \r\nb\r\n", ""}},
		{"echo without text", "echo", result{0, "ECHO is on.\r\n", ""}},
		{"echo dot", "echo.", result{0, "\r\n", ""}},
		{"sequence runs both", "nosuch&echo after", result{9009, "after\r\n", "'nosuch' " + notRecognized}},
		{"and runs on success", "echo a&&echo b", result{0, "a\r\nb\r\n", ""}},
		{"and skips on failure", "nosuch&&echo b", result{9009, "", "'nosuch' " + notRecognized}},
		// echo does not reset ERRORLEVEL, so cmd.exe still exits with the failure's code.
		{"or runs on failure", "nosuch||echo fallback", result{9009, "fallback\r\n", "'nosuch' " + notRecognized}},
		{"or skips on success", "echo a||echo b", result{0, "a\r\n", ""}},
		{"pipe into findstr", "echo abc| findstr.exe /x abc", result{0, "abc\r\n", ""}},
		{"pipe sees echo's trailing blank", "echo abc | findstr.exe /x abc", result{1, "", ""}},
		{"pipe code is the right side's", "nosuch 2>nul | echo right", result{0, "right\r\n", ""}},
		{"exit in a pipe ends only that side", "exit /b 5 | echo x & echo y", result{0, "x \r\ny\r\n", ""}},
		{"group with redirection", "(echo a & echo b) >nul && echo c", result{0, "c\r\n", ""}},
		{"group then or", "(nosuch 2>nul || exit /b 86) && echo never", result{86, "", ""}},
		{"exit ends the line", "exit /b 3 & echo never", result{3, "", ""}},
		{"exit without /b", "exit 7", result{7, "", ""}},
		{"exit keeps errorlevel", "nosuch 2>nul & exit /b", result{9009, "", ""}},
		{"stdout to nul", "echo quiet >NUL", result{0, "", ""}},
		{"stdout to nul with handle", "echo quiet 1>nul", result{0, "", ""}},
		{"stderr to nul", "nosuch 2>nul", result{9009, "", ""}},
		{"stderr to stdout", "nosuch 2>&1", result{9009, "'nosuch' " + notRecognized, ""}},
		{"caret escapes operator", "echo a^&b", result{0, "a&b\r\n", ""}},
		{"quotes protect operator", `echo "a&b"`, result{0, "\\\"a&b\\\"\r\n", ""}},
		{"unknown variable stays literal", "echo %NOPE%", result{0, "%NOPE%\r\n", ""}},
		{"sandbox variable", "echo %container_sandbox_mount_point%", result{0, "C:\\hpc\\\r\n", ""}},
		{"host env", "echo %WINNET_COLLECTOR_REPLAY%", result{0, "/scenarios/basic\r\n", ""}},
		{"errorlevel variable", "echo %ERRORLEVEL%", result{0, "0\r\n", ""}},
		{"lone percent", "echo 100%", result{0, "100%\r\n", ""}},
		{"if false body spans the line", "if exist C:\\hpc\\missing echo a & echo b", result{0, "", ""}},
		{"if not exist", "if not exist C:\\hpc\\missing echo absent", result{0, "absent\r\n", ""}},
		{"if exist sandbox", "if exist %CONTAINER_SANDBOX_MOUNT_POINT% echo present", result{0, "present\r\n", ""}},
		{"if string compare", "if /i ABC==abc echo same", result{0, "same\r\n", ""}},
		{"if else with groups", "if exist C:\\hpc\\missing (echo yes) else (echo no)", result{0, "no\r\n", ""}},
		{"if group ends the if", "if exist C:\\hpc\\missing (echo yes) & echo always", result{0, "always\r\n", ""}},
		{"else without group is echo text", "if not exist C:\\hpc\\missing echo a else echo b", result{0, "a else echo b\r\n", ""}},
		{"nested if in group", "if not exist C:\\hpc\\m (if exist C:\\hpc\\m (echo inner) else (echo inner-else)) else (echo outer-else)", result{0, "inner-else\r\n", ""}},
		{"pipe side starts at errorlevel 0", "nosuch 2>nul & echo x | echo y", result{0, "y\r\n", ""}},
		{"if errorlevel", "nosuch 2>nul & if errorlevel 9009 echo failed", result{9009, "failed\r\n", ""}},
		{"syntax error leading operator", "& echo a", result{255, "", "& was unexpected at this time.\r\n"}},
		{"syntax error dangling and", "echo a &&", result{255, "", "The syntax of the command is incorrect.\r\n"}},
		{"syntax error after group", "(echo a) echo b", result{255, "", "echo was unexpected at this time.\r\n"}},
		{"unclosed group", "(echo a", result{255, "", "The syntax of the command is incorrect.\r\n"}},
		{"trailing ampersand allowed", "echo a &", result{0, "a \r\n", ""}},
		{"unsimulated builtin says so", "type x", result{1, "", "wincmd: the cmd.exe internal command \"type\" is not simulated; add it to hack/e2e/simnode/wincmd if the plugin needs it\r\n"}},
		{"line feed ends the line", "echo a\necho b", result{0, "a\r\n", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, newHost(t), cmdC(tt.script), nil)
			if got != tt.want {
				t.Errorf("script %q:\n got %v\nwant %v", tt.script, got, tt.want)
			}
		})
	}
}

func TestCmdLinuxConstructsFail(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   result
	}{
		{"semicolon is not a separator", "echo a; echo b", result{0, "a; echo b\r\n", ""}},
		{"dollar variables are text", "echo $HOME ${PATH}", result{0, "$HOME ${PATH}\r\n", ""}},
		{"ls is not a command", "ls -la", result{9009, "", "'ls' " + notRecognized}},
		{"ls; is still ls", "ls; echo x", result{9009, "", "'ls' " + notRecognized}},
		{"linux path", "/usr/bin/env true", result{9009, "", "'/usr/bin/env' " + notRecognized}},
		{"sh", "sh -c true", result{9009, "", "'sh' " + notRecognized}},
		{"dev null redirection skips the command", "echo hidden 2>/dev/null", result{1, "", msgPathNotFound + "\r\n"}},
		{"dev null then and", "echo x >/dev/null && echo after", result{1, "", msgPathNotFound + "\r\n"}},
		{"posix test", "test -f /etc/passwd || echo no", result{9009, "no\r\n", "'test' " + notRecognized}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, newHost(t), cmdC(tt.script), nil)
			if got != tt.want {
				t.Errorf("script %q:\n got %v\nwant %v", tt.script, got, tt.want)
			}
		})
	}
}

func TestRuntimeRejectsNonWindowsPrograms(t *testing.T) {
	for _, argv0 := range []string{"/bin/sh", "sh", "bash", "ls", "/usr/bin/env", "C:\\Windows\\System32\\bash.exe", "D:\\tool.exe", "C:\\hpc\\missing.exe"} {
		t.Run(argv0, func(t *testing.T) {
			got := run(t, newHost(t), []string{argv0, "-c", "echo hi"}, nil)
			if got.code != 1 || got.stdout != "" || !strings.Contains(got.stderr, msgFileNotFound) {
				t.Errorf("Exec(%q) = %v; want exit 1 and %q", argv0, got, msgFileNotFound)
			}
		})
	}
}

func TestRuntimeFindsWindowsPrograms(t *testing.T) {
	for _, argv0 := range []string{"cmd.exe", "cmd", "CMD.EXE", `C:\Windows\System32\cmd.exe`, `c:/windows/system32/CMD.exe`} {
		t.Run(argv0, func(t *testing.T) {
			got := run(t, newHost(t), []string{argv0, "/c", "echo ok"}, nil)
			if got != (result{0, "ok\r\n", ""}) {
				t.Errorf("Exec(%q) = %v", argv0, got)
			}
		})
	}
}

func TestCmdSwitchesAndQuoteRules(t *testing.T) {
	h := newHost(t)
	writeFile(t, h, "my dir/tool.exe", "#!/bin/sh\necho tool ran \"$@\"\n", 0o755)
	writeFile(t, h, "tool.exe", "#!/bin/sh\necho plain tool \"$@\"\n", 0o755)
	tests := []struct {
		name string
		argv []string
		want result
	}{
		// Without /s, two quotes around an existing program with a space are kept.
		{"no /s keeps quotes around a program", []string{"cmd.exe", "/c", `C:\hpc\my dir\tool.exe`}, result{0, "tool ran\n", ""}},
		// With /s they are stripped, and the path splits at the space.
		{"/s strips them", []string{"cmd.exe", "/s", "/c", `C:\hpc\my dir\tool.exe`}, result{9009, "", `'C:\hpc\my' ` + notRecognized}},
		// The runtime escapes inner quotes as \" which cmd.exe does not understand: the
		// program name becomes \"C:\hpc\my dir\tool.exe\" and is not found, though it exists.
		{"escaped quotes break a quoted path", cmdC(`"C:\hpc\my dir\tool.exe" arg`), result{9009, "", `'\C:\hpc\my dir\tool.exe\' ` + notRecognized}},
		{"unquoted path works", cmdC(`C:\hpc\tool.exe arg`), result{0, "plain tool arg\n", ""}},
		{"glued switches", []string{"cmd", "/d/s/c", "echo glued"}, result{0, "glued\r\n", ""}},
		{"no /c", []string{"cmd.exe", "/d"}, result{1, "", "wincmd: cmd.exe without /c would be an interactive shell reading stdin, which is not simulated; pass /c <script>\r\n"}},
		{"/k refused", []string{"cmd.exe", "/k", "echo x"}, result{1, "", "wincmd: cmd.exe switch /k is not simulated; use /d /s /c as pkg/nodecmd does\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(t, h, tt.argv, nil); got != tt.want {
				t.Errorf("Exec(%q):\n got %v\nwant %v", tt.argv, got, tt.want)
			}
		})
	}
}

func TestMkdirAndFileRedirection(t *testing.T) {
	h := newHost(t)
	got := run(t, h, cmdC(`mkdir %CONTAINER_SANDBOX_MOUNT_POINT%\a\b && echo made>C:\hpc\a\b\note.txt && md C:\hpc\a`), nil)
	want := result{1, "", "A subdirectory or file C:\\hpc\\a already exists.\r\n"}
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(h.Root, "a", "b", "note.txt"))
	if err != nil || string(b) != "made \r\n" {
		// The blank before && belongs to echo's text, as on Windows.
		t.Fatalf("note.txt = %q, %v; want %q", b, err, "made \r\n")
	}
	got = run(t, h, cmdC(`mkdir C:\Windows\evil`), nil)
	if got != (result{1, "", msgPathNotFound + "\r\n"}) {
		t.Errorf("mkdir outside the sandbox: %v", got)
	}
	got = run(t, h, cmdC(`findstr.exe made <C:\hpc\a\b\note.txt`), nil)
	if got != (result{0, "made \r\n", ""}) {
		t.Errorf("input redirection: %v", got)
	}
}

func TestFindstr(t *testing.T) {
	input := "Alpha\r\nbeta\r\nALPHA beta\r\nlast"
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"alpha"}, result{1, "", ""}},
		{[]string{"/i", "alpha"}, result{0, "Alpha\r\nALPHA beta\r\n", ""}},
		{[]string{"/x", "/i", "alpha"}, result{0, "Alpha\r\n", ""}},
		{[]string{"/X", "/I", "ALPHA"}, result{0, "Alpha\r\n", ""}},
		{[]string{"/xi", "beta"}, result{0, "beta\r\n", ""}},
		{[]string{"/v", "beta"}, result{0, "Alpha\r\nlast\r\n", ""}},
		{[]string{"/b", "ALPHA"}, result{0, "ALPHA beta\r\n", ""}},
		{[]string{"Alpha last"}, result{0, "Alpha\r\nlast\r\n", ""}},
		{[]string{"/c:ALPHA beta"}, result{0, "ALPHA beta\r\n", ""}},
		{[]string{"/x", "missing"}, result{1, "", ""}},
		{nil, result{2, "", "FINDSTR: Bad command line\r\n"}},
		{[]string{"a.b"}, result{2, "", "wincmd: findstr regular expressions are not simulated; pass /L or a plain string\r\n"}},
		{[]string{"/l", "a.b"}, result{1, "", ""}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := run(t, newHost(t), append([]string{"findstr.exe"}, tt.args...), strings.NewReader(input))
			if got != tt.want {
				t.Errorf("findstr %q:\n got %v\nwant %v", tt.args, got, tt.want)
			}
		})
	}
}

func TestCertutil(t *testing.T) {
	h := newHost(t)
	writeFile(t, h, "data.bin", "hello", 0o644)
	sum := sha256.Sum256([]byte("hello"))
	tests := []struct {
		name string
		argv []string
		want result
	}{
		{"sha256", []string{"certutil.exe", "-hashfile", `C:\hpc\data.bin`, "SHA256"},
			result{0, "SHA256 hash of C:\\hpc\\data.bin:\r\n" + hex.EncodeToString(sum[:]) + "\r\nCertUtil: -hashfile command completed successfully.\r\n", ""}},
		{"default sha1", []string{"certutil", "-hashfile", `C:\hpc\data.bin`},
			result{0, "SHA1 hash of C:\\hpc\\data.bin:\r\naaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\r\nCertUtil: -hashfile command completed successfully.\r\n", ""}},
		{"missing file", []string{"certutil.exe", "-hashfile", `C:\hpc\nope.bin`, "SHA256"},
			result{0x80070002, "CertUtil: -hashfile command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\nCertUtil: The system cannot find the file specified.\r\n", ""}},
		{"missing folder", []string{"certutil.exe", "-hashfile", `C:\hpc\dir\nope.bin`, "SHA256"},
			result{0x80070003, "CertUtil: -hashfile command FAILED: 0x80070003 (WIN32: 3 ERROR_PATH_NOT_FOUND)\r\nCertUtil: The system cannot find the path specified.\r\n", ""}},
		{"bad algorithm", []string{"certutil.exe", "-hashfile", `C:\hpc\data.bin`, "SHA3"},
			result{0x80090008, "CertUtil: -hashfile command FAILED: 0x80090008 (-2146893816 NTE_BAD_ALGID)\r\nCertUtil: Invalid algorithm specified.\r\n", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(t, h, tt.argv, nil); got != tt.want {
				t.Errorf("%q:\n got %v\nwant %v", tt.argv, got, tt.want)
			}
		})
	}
}

// tarOf builds a tar stream; entries map names to contents, a trailing / makes a folder.
func tarOf(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e[0], "/") {
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTar(t *testing.T) {
	t.Run("extracts into -C with parents", func(t *testing.T) {
		h := newHost(t)
		got := run(t, h, []string{"tar.exe", "-x", "-f", "-", "-C", `C:\hpc\`}, bytes.NewReader(tarOf(t, [2]string{"a/b/c.txt", "deep"}, [2]string{"top/", ""})))
		if got != (result{0, "", ""}) {
			t.Fatalf("tar: %v", got)
		}
		b, err := os.ReadFile(filepath.Join(h.Root, "a", "b", "c.txt"))
		if err != nil || string(b) != "deep" {
			t.Errorf("a/b/c.txt = %q, %v", b, err)
		}
		if fi, err := os.Stat(filepath.Join(h.Root, "top")); err != nil || !fi.IsDir() {
			t.Errorf("top/ not a folder: %v", err)
		}
	})
	// bsdtar reads gzip with -z, and recognises it by content without: both forms, and the
	// bundled one, extract the same.
	for _, argv := range [][]string{
		{"tar.exe", "-x", "-z", "-f", "-", "-C", `C:\hpc`},
		{"tar.exe", "-xzf", "-", "-C", `C:\hpc`},
		{"tar.exe", "-x", "-f", "-", "-C", `C:\hpc`},
	} {
		t.Run("gzip: "+strings.Join(argv[1:], " "), func(t *testing.T) {
			h := newHost(t)
			got := run(t, h, argv, bytes.NewReader(tarGzOf(t, [2]string{"a/z.txt", "zipped"})))
			if got != (result{0, "", ""}) {
				t.Fatalf("tar: %v", got)
			}
			if b, err := os.ReadFile(filepath.Join(h.Root, "a", "z.txt")); err != nil || string(b) != "zipped" {
				t.Errorf("a/z.txt = %q, %v", b, err)
			}
		})
	}
	t.Run("refuses escaping entries", func(t *testing.T) {
		h := newHost(t)
		got := run(t, h, []string{"tar.exe", "-xf", "-", "-C", `C:\hpc`}, bytes.NewReader(tarOf(t, [2]string{"../escape.txt", "x"}, [2]string{"/abs.txt", "x"}, [2]string{"ok.txt", "fine"})))
		want := result{1, "", "tar.exe: ../escape.txt: Path contains '..'\r\ntar.exe: /abs.txt: Path is absolute\r\ntar.exe: Error exit delayed from previous errors.\r\n"}
		if got != want {
			t.Fatalf("got %v\nwant %v", got, want)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(h.Root), "escape.txt")); err == nil {
			t.Error("entry escaped the sandbox")
		}
		if b, err := os.ReadFile(filepath.Join(h.Root, "ok.txt")); err != nil || string(b) != "fine" {
			t.Errorf("ok.txt = %q, %v", b, err)
		}
	})
	t.Run("truncated stream", func(t *testing.T) {
		h := newHost(t)
		data := tarOf(t, [2]string{"big.bin", strings.Repeat("x", 4096)})
		got := run(t, h, []string{"tar.exe", "-x", "-f", "-", "-C", `C:\hpc`}, bytes.NewReader(data[:1024]))
		if got.code != 1 || !strings.Contains(got.stderr, "Truncated tar archive") {
			t.Errorf("got %v", got)
		}
	})
	t.Run("missing -C folder", func(t *testing.T) {
		got := run(t, newHost(t), []string{"tar.exe", "-x", "-f", "-", "-C", `C:\hpc\nope`}, bytes.NewReader(tarOf(t)))
		if got != (result{1, "", "tar.exe: could not chdir to 'C:\\hpc\\nope'\r\n"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("create refused", func(t *testing.T) {
		got := run(t, newHost(t), []string{"tar.exe", "-c", "-f", "-", "x"}, nil)
		if got.code != 1 || !strings.Contains(got.stderr, "not simulated") {
			t.Errorf("got %v", got)
		}
	})
}

// collectorScript stands in for the collector's Linux build: it reports its arguments and
// environment, copies stdin to stdout (so it only ends when stdin ends) and exits with the
// code in its first argument.
const collectorScript = `#!/bin/sh
echo "args=$*"
echo "replay=$WINNET_COLLECTOR_REPLAY sandbox=$CONTAINER_SANDBOX_MOUNT_POINT"
cat
exit "$1"
`

// tarGzOf gzips tarOf's stream, as hack/embed-collector.sh packs the collector.
func tarGzOf(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(tarOf(t, entries...)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func collectorUpload(t *testing.T, content string) []byte {
	return tarGzOf(t, [2]string{nodecmd.Dir + "/", ""}, [2]string{nodecmd.TarEntry, content})
}

func digestOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// uploadAndRun runs nodecmd.UploadAndRun for content (its digest) with stdin the upload.
func uploadAndRun(t *testing.T, h *Host, content, digest string, args ...string) result {
	t.Helper()
	argv, err := nodecmd.UploadAndRun(digest, args...)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, h, argv, bytes.NewReader(collectorUpload(t, content)))
}

// TestCertutilOnTheCollectorPath hashes the collector where the plugin puts it, as the
// verification in nodecmd.Run does, through cmd.exe and its variable expansion.
func TestCertutilOnTheCollectorPath(t *testing.T) {
	h := newHost(t)
	hash := cmdC(`certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256 || exit /b 1`)
	got := run(t, h, hash, nil)
	// The winnet folder does not exist yet: Windows says "path", not "file". certutil exits
	// 0x80070003, which "|| exit /b 1" folds into 1.
	want := result{1, "CertUtil: -hashfile command FAILED: 0x80070003 (WIN32: 3 ERROR_PATH_NOT_FOUND)\r\nCertUtil: The system cannot find the path specified.\r\n", ""}
	if got != want {
		t.Fatalf("certutil on an empty sandbox:\n got %v\nwant %v", got, want)
	}
	if err := os.Mkdir(filepath.Join(h.Root, nodecmd.Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := run(t, h, hash, nil); got.code != 1 || !strings.Contains(got.stdout, "0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)") {
		t.Errorf("certutil with the folder but no file: %v", got)
	}
	writeFile(t, h, nodecmd.TarEntry, collectorScript, 0o755)
	wantOut := "SHA256 hash of C:\\hpc\\\\winnet\\winnet-collector.exe:\r\n" + digestOf(collectorScript) + "\r\nCertUtil: -hashfile command completed successfully.\r\n"
	if got := run(t, h, hash, nil); got != (result{0, wantOut, ""}) {
		t.Fatalf("certutil with the file:\n got %v\nwant %v", got, result{0, wantOut, ""})
	}
}

func TestNodecmdUploadAndRun(t *testing.T) {
	h := newHost(t)
	digest := digestOf(collectorScript)
	// The script copies stdin until EOF: tar.exe read the gzip stream to its end, so the
	// collector sees stdin end at once, and nothing of the upload reaches its output.
	got := uploadAndRun(t, h, collectorScript, digest, "0", "-since", "5m")
	want := result{0, "args=0 -since 5m\nreplay=/scenarios/basic sandbox=C:\\hpc\\\n", ""}
	if got != want {
		t.Fatalf("UploadAndRun on a fresh sandbox:\n got %v\nwant %v", got, want)
	}

	t.Run("then Run verifies and runs, with stdin until EOF", func(t *testing.T) {
		argv, err := nodecmd.Run(strings.ToUpper(digest), "0", "-since", "5m")
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, h, argv, strings.NewReader("from stdin\n"))
		want := result{0, "args=0 -since 5m\nreplay=/scenarios/basic sandbox=C:\\hpc\\\nfrom stdin\n", ""}
		if got != want {
			t.Errorf("Run:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("collector exit code comes back", func(t *testing.T) {
		argv, err := nodecmd.Run(digest, "42")
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, h, argv, nil); got.code != 42 {
			t.Errorf("Run exit code = %d, want 42 (%v)", got.code, got)
		}
		if got := uploadAndRun(t, h, collectorScript, digest, "42"); got.code != 42 {
			t.Errorf("UploadAndRun exit code = %d, want 42 (%v)", got.code, got)
		}
	})
	t.Run("wrong hash refuses to run", func(t *testing.T) {
		argv, err := nodecmd.Run(strings.Repeat("0", 64), "0")
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, h, argv, strings.NewReader("ignored"))
		if got != (result{nodecmd.ExitHashMismatch, "", ""}) {
			t.Errorf("Run with a wrong hash: %v; want exit %d and no output", got, nodecmd.ExitHashMismatch)
		}
	})
	t.Run("missing collector refuses to run", func(t *testing.T) {
		argv, err := nodecmd.Run(digest)
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, newHost(t), argv, nil)
		if got != (result{nodecmd.ExitHashMismatch, "", ""}) {
			t.Errorf("Run on an empty sandbox: %v", got)
		}
	})
	t.Run("an upload that is not what was expected does not run", func(t *testing.T) {
		got := uploadAndRun(t, newHost(t), collectorScript+"# altered\n", digest, "0")
		if got != (result{nodecmd.ExitHashMismatch, "", ""}) {
			t.Errorf("UploadAndRun of other bytes: %v; want exit %d and no output", got, nodecmd.ExitHashMismatch)
		}
	})
	t.Run("re-upload replaces the file", func(t *testing.T) {
		v2 := collectorScript + "# v2\n"
		if got := uploadAndRun(t, h, v2, digestOf(v2), "0"); got.code != 0 || !strings.HasPrefix(got.stdout, "args=0\n") {
			t.Errorf("re-upload: %v", got)
		}
		argv, err := nodecmd.Run(digest, "0")
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, h, argv, nil); got.code != nodecmd.ExitHashMismatch {
			t.Errorf("Run of the replaced build: %v; want exit %d", got, nodecmd.ExitHashMismatch)
		}
	})
}

func TestUploadAndRunBadArchive(t *testing.T) {
	digest := digestOf(collectorScript)
	argv, err := nodecmd.UploadAndRun(digest, "0")
	if err != nil {
		t.Fatal(err)
	}
	upload := collectorUpload(t, collectorScript)
	for _, tt := range []struct {
		name, stdin, stderr string
	}{
		{"garbage", strings.Repeat("garbage!", 100), "tar.exe: "},
		{"gzip cut short", string(upload[:len(upload)/2]), "tar.exe: "},
		{"gzip with a bad checksum", string(upload[:len(upload)-8]) + "\x00\x00\x00\x00" + string(upload[len(upload)-4:]), "gzip decompression failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, newHost(t), argv, strings.NewReader(tt.stdin))
			if got.code != nodecmd.ExitUploadFailed || got.stdout != "" || !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("UploadAndRun of %s: %v; want exit %d, tar's complaint and no output", tt.name, got, nodecmd.ExitUploadFailed)
			}
		})
	}
}

// signalWriter reports the first write, so a test knows the program is running.
type signalWriter struct {
	once    sync.Once
	started chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	w.once.Do(func() { close(w.started) })
	return len(p), nil
}

func TestCancelKillsProgram(t *testing.T) {
	h := newHost(t)
	writeFile(t, h, "sleeper.exe", "#!/bin/sh\necho started\nexec sleep 1000\n", 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	out := &signalWriter{started: make(chan struct{})}
	go func() {
		<-out.started
		cancel()
	}()
	// stdin never ends: the exec must still return once cancelled.
	pr, pw := io.Pipe()
	defer pw.Close()
	_, err := h.Exec(ctx, cmdC(`C:\hpc\sleeper.exe`), pr, out, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec after cancel: err = %v, want context.Canceled", err)
	}
}

// The bytes a program did not read stay for the next one, as with an inherited handle.
func TestSharedStdin(t *testing.T) {
	h := newHost(t)
	data := tarOf(t, [2]string{"x.txt", "x"})
	stdin := io.MultiReader(bytes.NewReader(data), strings.NewReader("abc\r\n"))
	got := run(t, h, cmdC(`tar.exe -x -f - -C C:\hpc && findstr.exe /x abc`), stdin)
	if got != (result{0, "abc\r\n", ""}) {
		t.Errorf("got %v", got)
	}
}
