package ingest

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding names what a file's bytes were, for the list of files read.
type Encoding string

// Encodings recognised. Windows PowerShell 5.1's `>` and Out-File write UTF-16 LE with a byte
// order mark; cmd.exe and PowerShell 7 write UTF-8; copies through editors add or drop marks.
const (
	EncUTF8      Encoding = "utf-8"
	EncUTF8BOM   Encoding = "utf-8-bom"
	EncUTF16LE   Encoding = "utf-16le"
	EncUTF16BE   Encoding = "utf-16be"
	EncUTF16LENo Encoding = "utf-16le-nobom"
	EncUTF16BENo Encoding = "utf-16be-nobom"
	EncBinary    Encoding = "binary"
)

// DecodeText returns b as UTF-8 text with LF line ends, and the encoding it was in. UTF-16
// without a byte order mark is recognised when it is evident (ASCII-range text leaves every
// other byte zero). Text that is neither UTF-16 nor valid UTF-8 but mostly printable is kept
// with U+FFFD for the bad bytes; anything else is binary and yields "".
func DecodeText(b []byte) (string, Encoding) {
	var (
		s   string
		enc Encoding
	)
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		s, enc = toValidUTF8(b[3:]), EncUTF8BOM
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		s, enc = decodeUTF16(b[2:], false), EncUTF16LE
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		s, enc = decodeUTF16(b[2:], true), EncUTF16BE
	default:
		switch sniffUTF16(b) {
		case 1:
			s, enc = decodeUTF16(b, false), EncUTF16LENo
		case 2:
			s, enc = decodeUTF16(b, true), EncUTF16BENo
		default:
			if looksBinary(b) {
				return "", EncBinary
			}
			s, enc = toValidUTF8(b), EncUTF8
		}
	}
	// CRLF and lone CR (old Mac, or `\r` progress lines) both become LF.
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	// A UTF-16 file appended to with `>>` by another shell can carry a second mark mid-text.
	s = strings.ReplaceAll(s, "\uFEFF", "")
	return s, enc
}

func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

func decodeUTF16(b []byte, bigEndian bool) string {
	units := make([]uint16, len(b)/2) // an odd trailing byte is a torn code unit: dropped
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return string(utf16.Decode(units))
}

// sniffUTF16 says 1 for little-endian, 2 for big-endian, 0 for neither. It looks at the first
// 1 KiB: text in the ASCII range encoded as UTF-16 has a zero in every other byte.
func sniffUTF16(b []byte) int {
	n := min(len(b), 1024) &^ 1
	if n < 4 {
		return 0
	}
	var zeroEven, zeroOdd int
	for i := 0; i < n; i++ {
		if b[i] == 0 {
			if i%2 == 0 {
				zeroEven++
			} else {
				zeroOdd++
			}
		}
	}
	half := n / 2
	switch {
	case zeroOdd*10 >= half*7 && zeroEven*20 <= half:
		return 1
	case zeroEven*10 >= half*7 && zeroOdd*20 <= half:
		return 2
	}
	return 0
}

// looksBinary is true when the first 4 KiB hold NUL bytes or mostly control characters
// (evtx, etl, pcap, zip members that are not text).
func looksBinary(b []byte) bool {
	n := min(len(b), 4096)
	if n == 0 {
		return false
	}
	ctl := 0
	for _, c := range b[:n] {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b:
			ctl++
		}
	}
	return ctl*10 > n
}

// lines splits text into lines without their ends.
func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// fields splits on runs of spaces and tabs.
func fields(s string) []string { return strings.Fields(s) }

// cut is strings.Cut with both halves trimmed.
func cut(s, sep string) (string, string, bool) {
	a, b, ok := strings.Cut(s, sep)
	return strings.TrimSpace(a), strings.TrimSpace(b), ok
}

// hasAll reports whether s contains every one of subs.
func hasAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// head returns at most n bytes of s, cut at a line end when one is near.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i > n/2 {
		s = s[:i]
	}
	return s
}

// commandOutput returns text without what a paste carries around one command's output: blank
// and prompt lines before it (the command echo, "PS C:\k> cat .\cni.conf") and after it (the
// next, empty prompt). Text without a prompt at either end is returned as it is.
func commandOutput(text string) string {
	ls := strings.Split(text, "\n")
	i, j, prompts := 0, len(ls), 0
	for i < j && (strings.TrimSpace(ls[i]) == "" || isPrompt(ls[i])) {
		if isPrompt(ls[i]) {
			prompts++
		}
		i++
	}
	for j > i && (strings.TrimSpace(ls[j-1]) == "" || isBarePrompt(ls[j-1])) {
		if isBarePrompt(ls[j-1]) {
			prompts++
		}
		j--
	}
	if prompts == 0 {
		return text
	}
	return strings.Join(ls[i:j], "\n") + "\n"
}

// isBarePrompt is a prompt with no command after it.
func isBarePrompt(l string) bool {
	loc := promptRe.FindStringIndex(l)
	return loc != nil && strings.TrimSpace(l[loc[1]:]) == ""
}

// jsonFileText is the text of a file that holds one JSON value, as the program reading the
// file would see it: without the prompts of a paste, and without other commands' output when
// the paste holds more than the file.
func jsonFileText(d *Doc) string {
	vals := d.JSONValues()
	if len(vals) != 1 || strings.TrimSpace(commandOutput(d.rest)) == "" {
		return commandOutput(d.Text)
	}
	return string(vals[0])
}

// echoedFile is the file a `cat`/`type`/`Get-Content` command echoed at the top of a paste
// names ("" when there is none).
func echoedFile(text string) string {
	for _, l := range strings.SplitN(text, "\n", 4) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		loc := promptRe.FindStringIndex(l)
		if loc == nil {
			return ""
		}
		if m := catCommandRe.FindStringSubmatch(strings.TrimSpace(l[loc[1]:])); m != nil {
			return strings.Trim(m[1], `"'`)
		}
		return ""
	}
	return ""
}

var catCommandRe = regexp.MustCompile(`(?i)^(?:cat|type|gc|more|Get-Content)\s+(?:-Path\s+)?("[^"]+"|'[^']+'|\S+)\s*$`)
