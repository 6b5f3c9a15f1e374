// Command krewmanifest packs the per-platform builds in a dist folder into release archives
// (tar.gz, or zip for Windows, as krew expects) and renders the krew manifest template with
// each archive's SHA256. Archives are byte-for-byte reproducible: fixed order, times and owners.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

// Platform is one archive in the manifest.
type Platform struct {
	OS, Arch, Archive, SHA256, Bin string
	Files                          []string
}

func main() {
	version := flag.String("version", "", "release version, e.g. v0.1.0")
	dist := flag.String("dist", "_output/dist", "folder holding OS_ARCH build folders")
	tmpl := flag.String("template", "krew/winnet.yaml.tmpl", "manifest template")
	base := flag.String("base-url", "https://github.com/kubectl-winnet/winnet/releases/download", "release download URL prefix")
	flag.Parse()
	if err := run(*version, *dist, *tmpl, *base); err != nil {
		fmt.Fprintln(os.Stderr, "krewmanifest:", err)
		os.Exit(1)
	}
}

func run(version, dist, tmplPath, base string) error {
	if version == "" {
		return fmt.Errorf("-version is required")
	}
	dirs, err := filepath.Glob(filepath.Join(dist, "*_*"))
	if err != nil {
		return err
	}
	var plats []Platform
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			continue
		}
		osName, arch, _ := strings.Cut(filepath.Base(dir), "_")
		p, err := pack(dir, dist, version, osName, arch)
		if err != nil {
			return err
		}
		plats = append(plats, p)
	}
	if len(plats) == 0 {
		return fmt.Errorf("no OS_ARCH build folders in %s: run hack/krew-manifest.sh", dist)
	}
	t, err := template.ParseFiles(tmplPath)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	data := struct {
		Version, BaseURL string
		Platforms        []Platform
	}{version, strings.TrimSuffix(base, "/") + "/" + version, plats}
	if err := t.Execute(&out, data); err != nil {
		return err
	}
	dest := filepath.Join(dist, "winnet.yaml")
	if err := os.WriteFile(dest, out.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Println(dest)
	return nil
}

func pack(dir, dist, version, osName, arch string) (Platform, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Platform{}, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	p := Platform{OS: osName, Arch: arch, Files: files, Bin: "kubectl-winnet"}
	if osName == "windows" {
		p.Bin += ".exe"
	}
	var buf bytes.Buffer
	name := fmt.Sprintf("kubectl-winnet_%s_%s_%s", version, osName, arch)
	if osName == "windows" {
		p.Archive = name + ".zip"
		err = writeZip(&buf, dir, files)
	} else {
		p.Archive = name + ".tar.gz"
		err = writeTarGz(&buf, dir, files)
	}
	if err != nil {
		return p, fmt.Errorf("packing %s: %w", p.Archive, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	p.SHA256 = hex.EncodeToString(sum[:])
	return p, os.WriteFile(filepath.Join(dist, p.Archive), buf.Bytes(), 0o644)
}

var epoch = time.Unix(0, 0).UTC()

func writeTarGz(w io.Writer, dir string, files []string) error {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o755, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, dir string, files []string) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: f, Method: zip.Deflate, Modified: epoch}
		h.SetMode(0o755)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
	}
	return zw.Close()
}
