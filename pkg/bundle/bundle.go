// Package bundle writes and reads winnet's diagnosis bundle: one .tar.gz holding the
// collector's raw records verbatim, the cluster facts they were judged against, the report,
// the versions that made it, and a README saying so. A bundle can be re-analyzed offline by
// `kubectl winnet analyze` (a newer plugin may find more in the same records).
//
// Layout (all at the archive's top level):
//
//	README.txt      what is inside, and that it was redacted on the node
//	versions.json   Versions: plugin, collector, wire schema, bundle format
//	report.json     the report as `diagnose -o json` printed it
//	cluster.json    facts.Cluster: the node, its pods, Services, EndpointSlices, NetworkPolicies
//	records.ndjson  the collector's records, one JSON object a line, as received
//
// Writing is atomic: the archive is written to a temporary file in the destination folder and
// renamed into place, so an interrupted run never leaves a half-written bundle.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/outfile"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// File names inside a bundle.
const (
	FileReadme   = "README.txt"
	FileVersions = "versions.json"
	FileReport   = "report.json"
	FileCluster  = "cluster.json"
	FileRecords  = "records.ndjson"
)

// Format is the bundle layout's version, in versions.json. A change an older reader cannot
// read bumps it.
const Format = 1

// VersionsKind is versions.json's kind (its apiVersion is report.APIVersion).
const VersionsKind = "BundleVersions"

// ReadmeFirstLine starts every bundle's README.txt; readers recognise it by content.
const ReadmeFirstLine = "kubectl winnet diagnosis bundle"

// Versions says what made a bundle.
type Versions struct {
	APIVersion       string    `json:"apiVersion"`
	Kind             string    `json:"kind"`
	BundleFormat     int       `json:"bundleFormat"`
	CreatedAt        time.Time `json:"createdAt"`
	Plugin           string    `json:"plugin"`
	CollectorVersion string    `json:"collectorVersion,omitempty"`
	CollectorSHA256  string    `json:"collectorSHA256,omitempty"`
	WireSchema       string    `json:"wireSchema"`
	Node             string    `json:"node,omitempty"`
	Target           string    `json:"target,omitempty"`
}

// Contents is what a bundle holds.
type Contents struct {
	Versions Versions
	Report   *report.Report
	Cluster  *facts.Cluster
	Records  []wire.Record
}

// FromDiagnosis assembles a bundle's contents from a finished diagnosis.
func FromDiagnosis(snap *snapshot.Snapshot, cl *facts.Cluster, rep *report.Report, pluginVersion string, now time.Time) Contents {
	v := Versions{APIVersion: report.APIVersion, Kind: VersionsKind, BundleFormat: Format, CreatedAt: now.UTC(),
		Plugin: pluginVersion, WireSchema: wire.SchemaVersion}
	if rep != nil {
		v.Node, v.Target = rep.Target.Node, rep.Target.Input
		v.CollectorSHA256 = rep.Plugin.CollectorSHA256
	}
	c := Contents{Versions: v, Report: rep, Cluster: cl}
	if snap != nil {
		c.Records = snap.Raw
		if snap.Collector != nil {
			c.Versions.CollectorVersion = snap.Collector.CollectorVersion
			if c.Versions.CollectorSHA256 == "" {
				c.Versions.CollectorSHA256 = snap.Collector.SHA256
			}
		}
		if c.Versions.Node == "" {
			c.Versions.Node = snap.Node
		}
	}
	return c
}

// ErrExists is returned when the destination exists and overwriting was not asked for.
var ErrExists = outfile.ErrExists

// Write writes c to path as a .tar.gz, atomically. Without force an existing file is left
// alone and ErrExists returned.
func Write(dest string, c Contents, force bool) error {
	return WriteTracking(dest, c, force, nil)
}

// WriteTracking is Write that hands the temporary file's path to track before writing it and
// calls the returned release once the file is gone or in place: a caller that may exit
// abruptly (a second Ctrl-C) removes what is still tracked on its way out. track may be nil.
func WriteTracking(dest string, c Contents, force bool, track func(tmp string) (release func())) error {
	return writeAtomic(dest, force, track, func(w io.Writer) error {
		return writeMembers(w, c.Versions.CreatedAt, func(add addFunc) error { return addNode(add, "", c) })
	})
}

// writeAtomic writes what write produces to dest all or nothing (package outfile).
func writeAtomic(dest string, force bool, track func(tmp string) (release func()), write func(io.Writer) error) error {
	return outfile.Write("the bundle", dest, force, track, write)
}

// addFunc adds one file to the archive being written.
type addFunc func(name string, b []byte) error

// writeMembers writes a .tar.gz to w whose members members adds, each stamped mtime.
func writeMembers(w io.Writer, mtime time.Time, members func(add addFunc) error) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := members(add); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// addNode adds one node's bundle files (README.txt, versions.json, report.json, cluster.json,
// records.ndjson) under dir ("" for the archive's top level).
func addNode(add addFunc, dir string, c Contents) error {
	vers, err := json.MarshalIndent(c.Versions, "", "  ")
	if err != nil {
		return err
	}
	rep, err := json.MarshalIndent(c.Report, "", "  ")
	if err != nil {
		return err
	}
	cl, err := json.MarshalIndent(c.Cluster, "", "  ")
	if err != nil {
		return err
	}
	var recs bytes.Buffer
	for _, r := range c.Records {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encoding a %s record: %w", r.Type, err)
		}
		recs.Write(b)
		recs.WriteByte('\n')
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{FileReadme, []byte(readme(c))},
		{FileVersions, append(vers, '\n')},
		{FileReport, append(rep, '\n')},
		{FileCluster, append(cl, '\n')},
		{FileRecords, recs.Bytes()},
	} {
		if err := add(path.Join(dir, f.name), f.b); err != nil {
			return err
		}
	}
	return nil
}

func readme(c Contents) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", ReadmeFirstLine)
	fmt.Fprintf(&b, "Created %s by kubectl-winnet %s", c.Versions.CreatedAt.Format(time.RFC3339), c.Versions.Plugin)
	if c.Versions.Target != "" {
		fmt.Fprintf(&b, " for %s", c.Versions.Target)
	}
	if c.Versions.Node != "" {
		fmt.Fprintf(&b, " on node %s", c.Versions.Node)
	}
	b.WriteString(".\n\n")
	b.WriteString(`What is inside:
  records.ndjson  the node collector's output, verbatim: one JSON record a line (HNS networks,
                  endpoints, load balancers, event log entries, service states, CNI and
                  kube-proxy files and logs, probe results)
  cluster.json    what the API server said about the node: its pods, the Services,
                  EndpointSlices and NetworkPolicies, kube-dns
  report.json     the findings as 'kubectl winnet diagnose -o json' printed them
  versions.json   the plugin, collector and format versions that wrote this bundle

Redaction: files and logs were redacted on the node, before they left it: tokens, keys and
passwords are masked. Names, IP addresses and cluster object specs are kept, because the
diagnosis needs them; review before sharing outside your organisation.

Re-analyze (no cluster needed; a newer plugin may find more):
  kubectl winnet analyze THIS-FILE.tar.gz
`)
	return b.String()
}

// Limits on what Read accepts: a bundle comes from elsewhere and is not trusted.
const (
	maxMemberBytes = 64 << 20
	maxMembers     = 64
)

// Read reads a bundle from a .tar.gz file or from a folder it was extracted into.
func Read(p string) (*Contents, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle %s: %w", p, err)
	}
	if st.IsDir() {
		return readDir(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle %s: %w", p, err)
	}
	defer f.Close()
	c, err := ReadArchive(f)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle %s: %w", p, err)
	}
	return c, nil
}

// ReadArchive reads a bundle from a gzip-compressed tar stream. Members may sit in a folder
// (a re-packed bundle); unknown members are ignored.
func ReadArchive(r io.Reader) (*Contents, error) {
	// Five members at most, each within its limit: the total needs no bound of its own. The
	// first of each name counts: in a many-node bundle that is the top-level versions.json,
	// which says so, not a node's.
	seen := map[string]bool{}
	files, err := readMembers(r, maxMembers*16, math.MaxInt64, func(name string) (string, bool) {
		base := path.Base(name)
		switch base {
		case FileReadme, FileVersions, FileReport, FileCluster, FileRecords:
			if !seen[base] {
				seen[base] = true
				return base, true
			}
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	if isFleetVersions(files[FileVersions]) {
		return nil, errFleetNotSingle()
	}
	return decode(files)
}

// errArchiveTooLarge: the kept members add up to more than the reader's total bound.
var errArchiveTooLarge = errors.New("the archive holds too many bytes in all")

// readMembers reads the regular members of a gzip-compressed tar stream that keep accepts,
// under the key it returns: each within memberLimit, at most maxMembers members (kept or
// not) and maxTotal bytes kept. It then reads gzip's trailer, which the tar stream ends
// before, so its checksum and length catch a file cut short or damaged.
func readMembers(r io.Reader, maxMembers int, maxTotal int64, keep func(name string) (key string, ok bool)) (map[string][]byte, error) {
	const damaged = "the file is damaged or was cut short: copy it again from where it was made"
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file (%w); a bundle is the .tar.gz that diagnose --bundle writes", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %w; %s", err, damaged)
		}
		if n > maxMembers {
			return nil, fmt.Errorf("the archive has more than %d members; it is not a winnet bundle", maxMembers)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		key, ok := keep(h.Name)
		if !ok {
			continue
		}
		limit := memberLimit(key)
		b, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w; %s", h.Name, err, damaged)
		}
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%s is larger than %d bytes; refusing it", h.Name, limit)
		}
		if total += int64(len(b)); total > maxTotal {
			return nil, fmt.Errorf("%w (more than %d)", errArchiveTooLarge, maxTotal)
		}
		files[key] = b
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(gz, 1<<20)); err != nil {
		return nil, fmt.Errorf("reading the archive: %w; %s", err, damaged)
	}
	return files, nil
}

func readDir(dir string) (*Contents, error) {
	files := map[string][]byte{}
	for _, name := range []string{FileReadme, FileVersions, FileReport, FileCluster, FileRecords} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the bundle folder %s: %w", dir, err)
		}
		files[name] = b
	}
	return decode(files)
}

func decode(files map[string][]byte) (*Contents, error) {
	if isFleetVersions(files[FileVersions]) {
		return nil, errFleetNotSingle()
	}
	recs, ok := files[FileRecords]
	if !ok {
		return nil, fmt.Errorf("no %s in it; a bundle is what diagnose --bundle writes (to analyze raw dumps, pass the files or folder to kubectl winnet analyze)", FileRecords)
	}
	c := &Contents{}
	var err error
	if c.Records, err = DecodeRecords(recs); err != nil {
		return nil, err
	}
	if b, ok := files[FileVersions]; ok {
		if err := json.Unmarshal(b, &c.Versions); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", FileVersions, err)
		}
		if c.Versions.BundleFormat > Format {
			return nil, fmt.Errorf("bundle format %d is newer than this plugin reads (%d); use a newer kubectl-winnet", c.Versions.BundleFormat, Format)
		}
	}
	if b, ok := files[FileCluster]; ok {
		if c.Cluster, err = DecodeCluster(b); err != nil {
			return nil, err
		}
	}
	if b, ok := files[FileReport]; ok && len(bytes.TrimSpace(b)) > 0 && string(bytes.TrimSpace(b)) != "null" {
		c.Report = &report.Report{}
		if err := json.Unmarshal(b, c.Report); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", FileReport, err)
		}
	}
	return c, nil
}

// DecodeRecords reads records.ndjson, bounded as the collector's stream is.
func DecodeRecords(b []byte) ([]wire.Record, error) {
	dec := wire.NewDecoder(bytes.NewReader(b))
	var out []wire.Record
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", FileRecords, err)
		}
		out = append(out, r)
	}
}

// DecodeCluster reads cluster.json; "null" (a diagnosis without cluster facts) is nil.
func DecodeCluster(b []byte) (*facts.Cluster, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var cl facts.Cluster
	if err := json.Unmarshal(b, &cl); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", FileCluster, err)
	}
	return &cl, nil
}

// CheckDestination says early whether Write can create dest: the folder exists, and the file
// does not unless force.
func CheckDestination(dest string, force bool) error {
	return outfile.Check("--bundle", dest, force)
}
