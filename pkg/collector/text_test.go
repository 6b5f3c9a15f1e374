package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16le(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func utf16be(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"plain UTF-8", []byte(`{"a":"é"}`), `{"a":"é"}`},
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, `[1]`...), `[1]`},
		{"UTF-16LE with BOM (PowerShell 5.1 >)", utf16le("[{\"Name\":\"hns\"}]\r\n", true), "[{\"Name\":\"hns\"}]\r\n"},
		{"UTF-16LE odd trailing byte", append(utf16le("ab", true), 'x'), "ab"},
		{"UTF-16LE surrogate pair", utf16le("x😀", true), "x😀"},
		{"UTF-16BE with BOM", utf16be("Ünïcode"), "Ünïcode"},
		{"invalid UTF-8", []byte{'a', 0xFF, 'b'}, "a\uFFFDb"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(DecodeText(tt.in)); got != tt.want {
				t.Errorf("DecodeText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadText(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lines := "line one\nline two\nline three\n"
	tests := []struct {
		name      string
		data      []byte
		limit     int64
		want      string
		truncated bool
	}{
		{"small", []byte(lines), 1 << 10, lines, false},
		{"tail starts at a line", []byte(lines), 15, "line three\n", true},
		{"tail of UTF-16LE", utf16le(lines, true), 30, "line three\n", true},
		{"tail of UTF-16LE, odd cut", utf16le(lines, true), 31, "line three\n", true},
		{"tail without newline keeps whole characters", []byte("ééééé"), 5, "éé", true},
		{"BOM file fits", append([]byte{0xEF, 0xBB, 0xBF}, "x\n"...), 10, "x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "_"), tt.data)
			got, size, truncated, err := ReadText(p, tt.limit)
			if err != nil {
				t.Fatalf("ReadText: %v", err)
			}
			if got != tt.want || truncated != tt.truncated || size != int64(len(tt.data)) {
				t.Errorf("ReadText = %q, size %d, truncated %v; want %q, size %d, truncated %v",
					got, size, truncated, tt.want, len(tt.data), tt.truncated)
			}
		})
	}
	if _, _, _, err := ReadText(dir, 10); err == nil {
		t.Errorf("ReadText of a folder succeeded")
	}
	if _, _, _, err := ReadText(filepath.Join(dir, "missing"), 10); err == nil {
		t.Errorf("ReadText of a missing file succeeded")
	}
}
