package wincmd

import (
	"bytes"
	"context"
	"testing"
)

// FuzzCmdScript feeds arbitrary scripts to cmd.exe: whatever the text, the interpreter
// must answer with an exit code, never panic or hang. Programs that would read stdin get an
// empty one.
func FuzzCmdScript(f *testing.F) {
	for _, s := range []string{
		"echo a & echo b", "(a || exit /b 86) && b", "echo ^", "if exist x (echo a) else (echo b)",
		"x 2>&1 >nul", "echo %A%%B%", `"quoted" arg`, "((", "))", "if", "if /i", "if a==", ">", "2>",
		"echo a | | b", "certutil.exe -hashfile C:\\hpc\\x SHA256 | findstr.exe /x /i abc >nul",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		h := &Host{Root: t.TempDir()}
		var out, errb bytes.Buffer
		if _, err := h.Exec(context.Background(), cmdC(script), bytes.NewReader(nil), &out, &errb); err != nil {
			t.Fatalf("Exec(%q): %v", script, err)
		}
	})
}
