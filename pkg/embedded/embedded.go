// Package embedded carries the node collector inside the plugin binary.
//
// `make` cross-builds cmd/winnet-collector for windows/amd64, gzips it into bin/ and writes its
// metadata next to it; go:embed then bakes both into kubectl-winnet. The embed pattern names the
// folder, not the files, so a fresh checkout (where bin/ holds only its README) still compiles;
// Collector then returns ErrNotEmbedded with the fix.
package embedded

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

const (
	gzName   = "winnet-collector.gz"
	metaName = "winnet-collector.json"
)

// ErrNotEmbedded means this plugin binary was built without the collector.
var ErrNotEmbedded = errors.New("this kubectl-winnet was built without the node collector: build it with `make build` (plain `go build` cannot cross-compile the Windows collector)")

// Meta describes the embedded collector. Written by hack/embed-collector.sh.
type Meta struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	SHA256  string `json:"sha256"` // of the uncompressed executable, hex
	Size    int64  `json:"size"`   // uncompressed bytes
	GzSize  int64  `json:"gzSize"`
}

// Collector is the embedded executable, compressed, with its metadata.
type Collector struct {
	Meta Meta
	gz   []byte
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
	gz, err := fs.ReadFile(fsys, gzName)
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
	m.GzSize = int64(len(gz))
	return &Collector{Meta: m, gz: gz}, nil
}

// Executable decompresses the collector and checks it against its recorded sha256, so a
// corrupted build is caught here rather than as a hash mismatch on a node.
func (c *Collector) Executable() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(c.gz))
	if err != nil {
		return nil, fmt.Errorf("decompressing the embedded collector: %w", err)
	}
	// The size is known from the metadata; cap the read so a bad archive cannot balloon.
	limit := c.Meta.Size + 1
	if limit <= 1 {
		limit = 64 << 20
	}
	exe, err := io.ReadAll(io.LimitReader(zr, limit))
	if err != nil {
		return nil, fmt.Errorf("decompressing the embedded collector: %w", err)
	}
	sum := sha256.Sum256(exe)
	if got := hex.EncodeToString(sum[:]); got != c.Meta.SHA256 {
		return nil, fmt.Errorf("the embedded collector is corrupt: sha256 %s, metadata says %s; rebuild with make", got, c.Meta.SHA256)
	}
	return exe, nil
}

// SHA256 is the hex digest of the uncompressed executable.
func (c *Collector) SHA256() string { return c.Meta.SHA256 }
