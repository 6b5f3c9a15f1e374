// Package embedded carries the node collector inside the plugin binary.
//
// `make` cross-builds cmd/winnet-collector for windows/amd64 and packs it as the gzipped tar
// stream the plugin uploads (winnet/winnet-collector.exe, see nodecmd.UploadAndRun) into bin/,
// with its metadata next to it; go:embed then bakes both into kubectl-winnet. The upload sends
// these bytes as they are: nothing is decompressed or compressed again on a diagnosis. The
// embed pattern names the folder, not the files, so a fresh checkout (where bin/ holds only
// its README) still compiles; Load then returns ErrNotEmbedded with the fix.
package embedded

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

const (
	archiveName = "winnet-collector.tar.gz"
	metaName    = "winnet-collector.json"
)

// ErrNotEmbedded means this plugin binary was built without the collector.
var ErrNotEmbedded = errors.New("this kubectl-winnet was built without the node collector: build it with `make build` (plain `go build` cannot cross-compile the Windows collector)")

// Meta describes the embedded collector. Written by hack/embed-collector.sh.
type Meta struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	SHA256  string `json:"sha256"` // of the uncompressed executable, hex
	Size    int64  `json:"size"`   // uncompressed bytes of the executable
	GzSize  int64  `json:"gzSize"` // bytes of the gzipped tar stream: what an upload sends
}

// Collector is the embedded collector, as the gzipped tar stream it is uploaded as, with its
// metadata.
type Collector struct {
	Meta    Meta
	archive []byte

	checkOnce sync.Once
	checkErr  error
}

// Load returns the embedded collector or ErrNotEmbedded.
func Load() (*Collector, error) {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded collector: %w", err)
	}
	return load(sub)
}

func load(fsys fs.FS) (*Collector, error) {
	archive, err := fs.ReadFile(fsys, archiveName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotEmbedded
	}
	if err != nil {
		return nil, fmt.Errorf("reading the embedded collector: %w", err)
	}
	raw, err := fs.ReadFile(fsys, metaName)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded collector's metadata (rebuild with make): %w", err)
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding the embedded collector's metadata (rebuild with make): %w", err)
	}
	m.GzSize = int64(len(archive))
	return &Collector{Meta: m, archive: archive}, nil
}

// Upload returns the gzipped tar stream to send, once it has checked (on the first call) that
// it holds nodecmd.TarEntry with the recorded sha256: a corrupted build is caught here rather
// than as a hash mismatch on a node. It costs one decompression, a few milliseconds.
func (c *Collector) Upload() ([]byte, error) {
	c.checkOnce.Do(func() { c.checkErr = c.check() })
	if c.checkErr != nil {
		return nil, c.checkErr
	}
	return c.archive, nil
}

func (c *Collector) check() error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("the embedded collector is corrupt: %s; rebuild with make", fmt.Sprintf(format, args...))
	}
	zr, err := gzip.NewReader(bytes.NewReader(c.archive))
	if err != nil {
		return corrupt("its archive is not gzip (%v)", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return corrupt("its archive holds no %s", nodecmd.TarEntry)
		}
		if err != nil {
			return corrupt("its archive does not read (%v)", err)
		}
		if h.Name != nodecmd.TarEntry {
			continue
		}
		sum := sha256.New()
		// The size is known from the metadata; cap the read so a bad archive cannot balloon.
		n, err := io.Copy(sum, io.LimitReader(tr, c.Meta.Size+1))
		if err != nil {
			return corrupt("its archive does not read (%v)", err)
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != c.Meta.SHA256 || n != c.Meta.Size {
			return corrupt("%s is %d bytes with sha256 %s, the metadata says %d bytes with %s", nodecmd.TarEntry, n, got, c.Meta.Size, c.Meta.SHA256)
		}
		return nil
	}
}

// SHA256 is the hex digest of the uncompressed executable.
func (c *Collector) SHA256() string { return c.Meta.SHA256 }
