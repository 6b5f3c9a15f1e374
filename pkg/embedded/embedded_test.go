package embedded

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// tarGz packs name -> content as hack/embed-collector.sh does: a folder entry, then the files.
func tarGz(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: nodecmd.Dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for name, b := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
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
	archive := tarGz(t, map[string][]byte{nodecmd.TarEntry: exe})

	t.Run("missing collector says build with make", func(t *testing.T) {
		_, err := load(fstest.MapFS{"README.md": {Data: []byte("x")}})
		if !errors.Is(err, ErrNotEmbedded) {
			t.Fatalf("err = %v, want ErrNotEmbedded", err)
		}
	})
	t.Run("the upload is the archive as embedded", func(t *testing.T) {
		c, err := load(fstest.MapFS{archiveName: {Data: archive}, metaName: {Data: meta(good)}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Upload()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, archive) {
			t.Fatal("Upload returned other bytes than the embedded archive")
		}
		if c.Meta.GzSize != int64(len(archive)) {
			t.Fatalf("GzSize = %d, want the archive's %d bytes", c.Meta.GzSize, len(archive))
		}
	})
	for _, tt := range []struct {
		name    string
		archive []byte
		meta    Meta
		want    string
	}{
		{"a sha256 other than recorded", archive, bad, "the metadata says"},
		{"the entry under another name", tarGz(t, map[string][]byte{"winnet/other.exe": exe}), good, "holds no " + nodecmd.TarEntry},
		{"not gzip", exe, good, "not gzip"},
		{"cut short", archive[:len(archive)/2], good, "does not read"},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			c, err := load(fstest.MapFS{archiveName: {Data: tt.archive}, metaName: {Data: meta(tt.meta)}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Upload(); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rebuild with make") {
				t.Fatalf("Upload err = %v, want one saying %q and how to fix it", err, tt.want)
			}
		})
	}
	t.Run("missing metadata", func(t *testing.T) {
		if _, err := load(fstest.MapFS{archiveName: {Data: archive}}); err == nil {
			t.Fatal("want an error without metadata")
		}
	})
}

// TestEmbeddedCollector checks what hack/embed-collector.sh wrote, when this build carries
// it: the archive must hold the collector where nodecmd.UploadAndRun runs it from.
func TestEmbeddedCollector(t *testing.T) {
	c, err := Load()
	if errors.Is(err, ErrNotEmbedded) {
		t.Skip("no collector embedded in this build (make collector writes it)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upload(); err != nil {
		t.Fatal(err)
	}
	if c.Meta.GzSize >= c.Meta.Size {
		t.Errorf("the upload is %d bytes, the executable %d: it is not compressed", c.Meta.GzSize, c.Meta.Size)
	}
}
