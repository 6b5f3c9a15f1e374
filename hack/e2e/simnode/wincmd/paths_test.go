package wincmd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMapPath(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "Winnet"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &Host{Root: root}
	tests := []struct {
		win     string
		want    string // relative to root; "" with wantErr
		wantErr string
	}{
		{win: `C:\hpc\`, want: "."},
		{win: `C:\hpc`, want: "."},
		{win: `c:\HPC\\winnet\x.exe`, want: "Winnet/x.exe"},
		{win: `C:/hpc/winnet/x.exe`, want: "Winnet/x.exe"},
		{win: `C:\hpc\\\new\dir`, want: "new/dir"},
		{win: `winnet\x.exe`, want: "Winnet/x.exe"},
		{win: `C:winnet`, want: "Winnet"},
		{win: `\hpc\a`, want: "a"},
		{win: `C:\hpc\a\..\b`, want: "b"},
		{win: `C:\hpc\..\Windows`, wantErr: msgPathNotFound},
		{win: `C:\Windows\System32\drivers\etc\hosts`, wantErr: msgPathNotFound},
		{win: `D:\hpc\x`, wantErr: msgPathNotFound},
		{win: `/dev/null`, wantErr: msgPathNotFound},
		{win: `/usr/bin/env`, wantErr: msgPathNotFound},
		{win: `\\?\C:\hpc\x`, wantErr: msgPathNotFound},
		{win: `C:\hpc\a:b`, wantErr: msgBadSyntax},
		{win: `C:\hpc\what?`, wantErr: msgBadSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.win, func(t *testing.T) {
			got, err := h.MapPath(tt.win)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("MapPath(%q) = %q, %v; want error %q", tt.win, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MapPath(%q): %v", tt.win, err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("MapPath(%q) = %q, want %q", tt.win, got, want)
			}
		})
	}
}

func TestIsNulDevice(t *testing.T) {
	for target, want := range map[string]bool{
		"nul": true, "NUL": true, "nul:": true, `C:\hpc\nul`: true, `\\.\NUL`: true,
		"/dev/null": false, "null": false, "nul.txt": false,
	} {
		if got := isNulDevice(target); got != want {
			t.Errorf("isNulDevice(%q) = %v, want %v", target, got, want)
		}
	}
}
