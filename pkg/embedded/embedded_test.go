package embedded

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"
)

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoad(t *testing.T) {
	exe := []byte("MZ pretend executable")
	sum := sha256.Sum256(exe)
	good := Meta{Version: "v1", OS: "windows", Arch: "amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(exe))}
	bad := good
	bad.SHA256 = "00"
	meta := func(m Meta) []byte { b, _ := json.Marshal(m); return b }

	t.Run("missing collector says build with make", func(t *testing.T) {
		_, err := load(fstest.MapFS{"README.md": {Data: []byte("x")}})
		if !errors.Is(err, ErrNotEmbedded) {
			t.Fatalf("err = %v, want ErrNotEmbedded", err)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		c, err := load(fstest.MapFS{gzName: {Data: gzipBytes(t, exe)}, metaName: {Data: meta(good)}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Executable()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exe) {
			t.Fatalf("got %q, want %q", got, exe)
		}
		if c.Meta.GzSize == 0 {
			t.Fatal("GzSize not set")
		}
	})
	t.Run("corrupt collector is refused", func(t *testing.T) {
		c, err := load(fstest.MapFS{gzName: {Data: gzipBytes(t, exe)}, metaName: {Data: meta(bad)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Executable(); err == nil {
			t.Fatal("want an error for a sha256 mismatch")
		}
	})
	t.Run("missing metadata", func(t *testing.T) {
		if _, err := load(fstest.MapFS{gzName: {Data: gzipBytes(t, exe)}}); err == nil {
			t.Fatal("want an error without metadata")
		}
	})
}
