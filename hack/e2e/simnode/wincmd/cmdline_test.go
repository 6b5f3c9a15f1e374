package wincmd

import (
	"reflect"
	"testing"
)

func TestEscapeArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", "plain"},
		{`C:\hpc\x.exe`, `C:\hpc\x.exe`},
		{"a b", `"a b"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\"b`, `a\\\"b`},
		{`dir\ with space\`, `"dir\ with space\\"`},
		{"tab\there", "\"tab\there\""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := EscapeArg(tt.in); got != tt.want {
				t.Errorf("EscapeArg(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitCommandLineRoundTrip(t *testing.T) {
	tests := [][]string{
		{"cmd.exe", "/d", "/s", "/c", `certutil.exe -hashfile %CONTAINER_SANDBOX_MOUNT_POINT%\winnet\winnet-collector.exe SHA256`},
		{"prog.exe", "", "a b", `quote"inside`, `trailing\`, `both\ "x"\`, `\\server\share\`},
		{"x.exe", "--flag=1", "-v"},
	}
	for _, argv := range tests {
		t.Run(argv[0], func(t *testing.T) {
			line := JoinCommandLine(argv)
			if got := SplitCommandLine(line); !reflect.DeepEqual(got, argv) {
				t.Errorf("SplitCommandLine(%q) = %q, want %q", line, got, argv)
			}
		})
	}
}

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`"C:\Program Files\x.exe" a`, []string{`C:\Program Files\x.exe`, "a"}},
		{`x.exe "a ""quoted"" b"`, []string{"x.exe", `a "quoted" b`}},
		{`x.exe a\\\"b c\\d`, []string{"x.exe", `a\"b`, `c\\d`}},
		{`findstr.exe /x \"a b\"`, []string{"findstr.exe", "/x", `"a`, `b"`}},
		{"   ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := SplitCommandLine(tt.line); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitCommandLine(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}
