package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxFileBytes is how much of a file (its tail) a file record keeps. A JSON string can be up
// to six times longer than its text (control characters become \u00XX), and 6 × 4 MiB stays
// under wire.MaxRecordBytes.
const MaxFileBytes = 4 << 20

type textEncoding int

const (
	encUTF8 textEncoding = iota
	encUTF8BOM
	encUTF16LE
	encUTF16BE
)

func sniffEncoding(b []byte) (textEncoding, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return encUTF8BOM, 3
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return encUTF16LE, 2
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return encUTF16BE, 2
	}
	return encUTF8, 0
}

// DecodeText returns b as UTF-8. A UTF-8 byte order mark is dropped; UTF-16 with a byte order
// mark is converted (Windows PowerShell 5.1's `>` and Out-File write UTF-16LE with one); invalid
// UTF-8 becomes U+FFFD. Text without a byte order mark is taken as UTF-8.
func DecodeText(b []byte) []byte {
	enc, n := sniffEncoding(b)
	return decodeAs(b[n:], enc)
}

func decodeAs(b []byte, enc textEncoding) []byte {
	switch enc {
	case encUTF16LE, encUTF16BE:
		units := make([]uint16, len(b)/2) // an odd trailing byte is a torn code unit: dropped
		for i := range units {
			if enc == encUTF16LE {
				units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		return []byte(string(utf16.Decode(units)))
	}
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// ReadText reads a text file as UTF-8 (see DecodeText). A file larger than limit bytes is cut
// to its last limit bytes, starting at a line boundary, and truncated is true: for logs the
// newest lines matter. size is the file's size on disk.
func ReadText(path string, limit int64) (text string, size int64, truncated bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, false, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, false, fmt.Errorf("%s is not a regular file", path)
	}
	size = st.Size()
	if size <= limit {
		b, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return "", size, false, err
		}
		if int64(len(b)) > limit { // it grew while we read: keep the tail
			return string(tail(b[int64(len(b))-limit:], encUTF8)), size, true, nil
		}
		return string(DecodeText(b)), size, false, nil
	}

	head := make([]byte, 3)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", size, false, err
	}
	enc, _ := sniffEncoding(head[:n])
	off := size - limit
	if (enc == encUTF16LE || enc == encUTF16BE) && off%2 == 1 {
		off++ // stay on a code unit boundary: units start at even offsets after the 2-byte mark
	}
	b := make([]byte, size-off)
	n, err = f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", size, false, err
	}
	if enc == encUTF8BOM {
		enc = encUTF8
	}
	return string(tail(b[:n], enc)), size, true, nil
}

// tail decodes the end of a file, dropping its torn first line. UTF-8 is cut before decoding
// so a torn character does not become U+FFFD; UTF-16 is cut after.
func tail(b []byte, enc textEncoding) []byte {
	if enc == encUTF8 {
		return decodeAs(dropPartialLine(b), enc)
	}
	return dropPartialLine(decodeAs(b, enc))
}

// dropPartialLine drops the torn first line of a tail; without a newline it drops only torn
// UTF-8 bytes.
func dropPartialLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
		return b[i+1:]
	}
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return b
}
