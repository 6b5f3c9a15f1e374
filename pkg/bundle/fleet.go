package bundle

// A many-node bundle holds every node of one many-node run (diagnose node/a node/b,
// nodes -l SELECTOR, --all-nodes) in one .tar.gz, written atomically as a one-node bundle is:
//
//	README.txt        says it is a many-node bundle and lists the nodes, each with its outcome
//	versions.json     FleetVersions: kind FleetBundleVersions, the format, the plugin and
//	                  collector, and every node with its status and error
//	fleet.json        the fleet report as `diagnose -o json` printed it (not needed to read)
//	nodes/NODE/       one folder per diagnosed node, holding exactly what a one-node bundle
//	                  holds for it: README.txt, versions.json, report.json, cluster.json,
//	                  records.ndjson (so an extracted folder is a one-node bundle of its own)
//
// A node that could not be diagnosed has no folder; versions.json, fleet.json and the README
// carry its error. The one-node layout and its reader are unchanged: a one-node reader refuses
// a many-node bundle (ErrFleetBundle) rather than mixing its nodes.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Names in a many-node bundle.
const (
	FileFleet = "fleet.json"
	DirNodes  = "nodes"
)

// FleetFormat is the many-node layout's version, in its versions.json. A change an older
// reader cannot read bumps it.
const FleetFormat = 1

// FleetVersionsKind is a many-node bundle's versions.json kind; it is what tells a many-node
// bundle from a one-node one.
const FleetVersionsKind = "FleetBundleVersions"

// FleetReadmeFirstLine starts a many-node bundle's README.txt.
const FleetReadmeFirstLine = "kubectl winnet many-node diagnosis bundle"

// ErrFleetBundle is returned by the one-node readers for a many-node bundle.
var ErrFleetBundle = errors.New("it is a many-node bundle")

// ErrNotFleet is returned by the many-node readers for anything else.
var ErrNotFleet = errors.New("it is not a many-node bundle")

func errFleetNotSingle() error {
	return fmt.Errorf("%w (one folder per node under %s/), not a one-node bundle; read it with ReadFleet, or analyze it with: kubectl winnet analyze FILE", ErrFleetBundle, DirNodes)
}

// FleetVersions says what made a many-node bundle and what became of each node.
type FleetVersions struct {
	APIVersion       string    `json:"apiVersion"`
	Kind             string    `json:"kind"`
	BundleFormat     int       `json:"bundleFormat"`
	CreatedAt        time.Time `json:"createdAt"`
	Plugin           string    `json:"plugin"`
	CollectorVersion string    `json:"collectorVersion,omitempty"`
	CollectorSHA256  string    `json:"collectorSHA256,omitempty"`
	WireSchema       string    `json:"wireSchema"`
	// Nodes lists every node the run selected, by name.
	Nodes []FleetNode `json:"nodes"`
	// Notes say what the selection left out, as the fleet report's summary does.
	Notes []string `json:"notes,omitempty"`
}

// FleetNode is one node of a many-node bundle.
type FleetNode struct {
	Name   string `json:"name"`
	Status string `json:"status"`          // report.NodeOK, NodeIncomplete or NodeFailed
	Error  string `json:"error,omitempty"` // why it failed, or why its collection stopped early
	Dir    string `json:"dir,omitempty"`   // its folder, nodes/NAME; empty when it has none
}

// NodeRun is one node of a finished many-node run, for FromFleet.
type NodeRun struct {
	Name     string
	Snapshot *snapshot.Snapshot // its raw records are what the bundle keeps
	Cluster  *facts.Cluster
	Report   *report.Report // nil when the node could not be diagnosed
	Err      error          // why not, or why its collection stopped early
}

// FleetContents is what a many-node bundle holds, for WriteFleet.
type FleetContents struct {
	Versions FleetVersions
	Report   *report.Fleet
	// Nodes are the diagnosed nodes' one-node contents, each named by its Versions.Node.
	Nodes []Contents
}

// FromFleet assembles a many-node bundle from a finished run: a folder per node with a report,
// the others listed with their error. Nodes are ordered by name.
func FromFleet(runs []NodeRun, rep *report.Fleet, pluginVersion string, now time.Time) FleetContents {
	rs := append([]NodeRun(nil), runs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	c := FleetContents{Report: rep, Versions: FleetVersions{APIVersion: report.APIVersion, Kind: FleetVersionsKind, BundleFormat: FleetFormat,
		CreatedAt: now.UTC(), Plugin: pluginVersion, WireSchema: wire.SchemaVersion, Nodes: []FleetNode{}}}
	if rep != nil {
		c.Versions.CollectorSHA256 = rep.Plugin.CollectorSHA256
		c.Versions.Notes = rep.Summary.Notes
	}
	for _, r := range rs {
		n := FleetNode{Name: r.Name, Status: report.NodeOK}
		if r.Err != nil {
			n.Error = r.Err.Error()
		}
		switch {
		case r.Report == nil:
			n.Status = report.NodeFailed
			if n.Error == "" {
				n.Error = "no diagnosis was made (no reason was recorded)"
			}
		case r.Err != nil:
			n.Status = report.NodeIncomplete
		}
		if r.Report != nil {
			n.Dir = path.Join(DirNodes, r.Name)
			nc := FromDiagnosis(r.Snapshot, r.Cluster, r.Report, pluginVersion, now)
			nc.Versions.Node = r.Name // the folder's name, whatever the report says
			c.Nodes = append(c.Nodes, nc)
			if c.Versions.CollectorVersion == "" {
				c.Versions.CollectorVersion = nc.Versions.CollectorVersion
			}
		}
		c.Versions.Nodes = append(c.Versions.Nodes, n)
	}
	return c
}

// WriteFleet writes c to dest as a .tar.gz, atomically, as Write does.
func WriteFleet(dest string, c FleetContents, force bool) error {
	return WriteFleetTracking(dest, c, force, nil)
}

// WriteFleetTracking is WriteFleet with WriteTracking's track.
func WriteFleetTracking(dest string, c FleetContents, force bool, track func(tmp string) (release func())) error {
	if err := checkFleet(c); err != nil {
		return fmt.Errorf("writing the bundle %s: %w", dest, err)
	}
	return writeAtomic(dest, force, track, func(w io.Writer) error {
		return writeMembers(w, c.Versions.CreatedAt, func(add addFunc) error {
			vers, err := json.MarshalIndent(c.Versions, "", "  ")
			if err != nil {
				return err
			}
			if err := add(FileReadme, []byte(fleetReadme(c))); err != nil {
				return err
			}
			if err := add(FileVersions, append(vers, '\n')); err != nil {
				return err
			}
			if c.Report != nil {
				var rep bytes.Buffer
				if err := report.RenderFleet(&rep, c.Report, "json"); err != nil {
					return err
				}
				if err := add(FileFleet, rep.Bytes()); err != nil {
					return err
				}
			}
			for _, n := range c.Nodes {
				if err := addNode(add, path.Join(DirNodes, n.Versions.Node), n); err != nil {
					return fmt.Errorf("node %s: %w", n.Versions.Node, err)
				}
			}
			return nil
		})
	})
}

// checkFleet refuses contents whose node names cannot be folder names or repeat.
func checkFleet(c FleetContents) error {
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		name := n.Versions.Node
		if err := checkNodeName(name); err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("node %s is in it twice", name)
		}
		seen[name] = true
	}
	return nil
}

// checkNodeName accepts what Kubernetes accepts as a node name (a DNS subdomain), which is
// also a safe folder name.
func checkNodeName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a node name (%s)", name, strings.Join(errs, "; "))
	}
	return nil
}

func fleetReadme(c FleetContents) string {
	var b strings.Builder
	v := c.Versions
	fmt.Fprintf(&b, "%s\n\n", FleetReadmeFirstLine)
	counts := map[string]int{}
	for _, n := range v.Nodes {
		counts[n.Status]++
	}
	fmt.Fprintf(&b, "Created %s by kubectl-winnet %s for %d nodes: %d diagnosed", v.CreatedAt.Format(time.RFC3339), v.Plugin, len(v.Nodes), counts[report.NodeOK]+counts[report.NodeIncomplete])
	if k := counts[report.NodeIncomplete]; k > 0 {
		fmt.Fprintf(&b, " (%d incomplete)", k)
	}
	if k := counts[report.NodeFailed]; k > 0 {
		fmt.Fprintf(&b, ", %d could not be diagnosed", k)
	}
	b.WriteString(".\n")
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	b.WriteString("\nNodes:\n")
	width := 0
	for _, n := range v.Nodes {
		width = max(width, len(n.Name))
	}
	for _, n := range v.Nodes {
		what := n.Dir + "/"
		if n.Dir == "" {
			what = "no folder"
		}
		if n.Error != "" {
			what += ": " + firstLine(n.Error)
		}
		fmt.Fprintf(&b, "  %-*s  %-10s  %s\n", width, n.Name, n.Status, what)
	}
	b.WriteString(`
What is inside:
  fleet.json      the many-node report as 'kubectl winnet diagnose -o json' printed it
  versions.json   the plugin, collector and format versions, and every node's outcome
  nodes/NODE/     one folder per diagnosed node, holding what a one-node bundle holds:
                  records.ndjson (the collector's output, verbatim), cluster.json (what the
                  API server said about the node), report.json, versions.json, README.txt
  A node that could not be diagnosed has no folder; its error is listed above.

Redaction: files and logs were redacted on each node, before they left it: tokens, keys and
passwords are masked. Names, IP addresses and cluster object specs are kept, because the
diagnosis needs them; review before sharing outside your organisation.

Re-analyze (no cluster needed; a newer plugin may find more):
  kubectl winnet analyze THIS-FILE.tar.gz               every node, one many-node report
  kubectl winnet analyze THIS-FILE.tar.gz --node NODE   one node's report
`)
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Limits on what the many-node readers accept (each member is bounded as in a one-node bundle).
const (
	maxFleetNodes   = 10000
	maxFleetMembers = 16 + 8*maxFleetNodes
	maxFleetBytes   = 2 << 30
)

// FleetBundle is a many-node bundle as read: each node's files are kept as they are in the
// bundle, so a node is decoded (Contents, or analyze's ingest) only when it is analyzed.
type FleetBundle struct {
	Versions FleetVersions
	// Report is fleet.json; nil when it is absent or damaged (Warnings then say so): it is
	// not needed, the nodes are re-analyzed from their own files.
	Report *report.Fleet
	// Nodes are the nodes versions.json lists, in its order, then any folder it does not list.
	Nodes    []NodeFiles
	Warnings []string
}

// NodeFiles is one node of a many-node bundle.
type NodeFiles struct {
	FleetNode
	// Files are its folder's files by name (records.ndjson, cluster.json, ...); nil when the
	// bundle has no folder for it.
	Files map[string][]byte
	// Problem says why the bundle's data of a node it lists as diagnosed cannot be used (its
	// folder or records are missing); "" when it can.
	Problem string
}

// Contents decodes the node's files as a one-node bundle's.
func (n NodeFiles) Contents() (*Contents, error) {
	if n.Problem != "" {
		return nil, errors.New(n.Problem)
	}
	if n.Files == nil {
		return nil, fmt.Errorf("node %s has no folder in the bundle: %s", n.Name, firstOf(n.Error, "it was not diagnosed"))
	}
	c, err := decode(n.Files)
	if err != nil {
		return nil, fmt.Errorf("node %s (%s/): %w", n.Name, n.Dir, err)
	}
	return c, nil
}

// FileNames lists a node folder's files in the order a bundle writes them; those present.
func (n NodeFiles) FileNames() []string {
	var out []string
	for _, name := range []string{FileReadme, FileVersions, FileReport, FileCluster, FileRecords} {
		if _, ok := n.Files[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// IsFleet says whether p, a .tar.gz or a folder, is a many-node bundle. It reads an archive
// only until it can tell (a bundle written by winnet: its first two members); anything it
// cannot read is not a many-node bundle, for the caller's other readers to judge.
func IsFleet(p string) bool {
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	if st.IsDir() {
		b, err := readBounded(filepath.Join(p, FileVersions), 1<<20)
		return err == nil && isFleetVersions(b)
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for n := 0; n < maxFleetMembers; n++ {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := cleanMember(h.Name)
		switch path.Base(name) {
		case FileVersions:
			if h.Size > 1<<20 {
				continue
			}
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return false
			}
			if isFleetVersions(b) {
				return true
			}
			if !inNodeFolder(name) {
				return false // a one-node bundle's own versions.json
			}
		case FileRecords:
			if !inNodeFolder(name) {
				return false
			}
		}
	}
	return false
}

// isFleetVersions says whether b is a many-node bundle's versions.json.
func isFleetVersions(b []byte) bool {
	var v struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(b, &v) == nil && v.Kind == FleetVersionsKind
}

// inNodeFolder says whether an archive member sits in a .../nodes/NODE/ folder.
func inNodeFolder(name string) bool {
	parts := strings.Split(name, "/")
	return len(parts) >= 3 && parts[len(parts)-3] == DirNodes
}

func cleanMember(name string) string {
	return strings.TrimLeft(path.Clean("/"+strings.ReplaceAll(name, `\`, "/")), "/")
}

// ReadFleet reads a many-node bundle from a .tar.gz file or from the folder it was extracted
// into.
func ReadFleet(p string) (*FleetBundle, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle %s: %w", p, err)
	}
	var fb *FleetBundle
	if st.IsDir() {
		fb, err = readFleetDir(p)
	} else {
		var f *os.File
		if f, err = os.Open(p); err != nil {
			return nil, fmt.Errorf("reading the bundle %s: %w", p, err)
		}
		defer f.Close()
		fb, err = ReadFleetArchive(f)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the many-node bundle %s: %w", p, err)
	}
	return fb, nil
}

// ReadFleetArchive reads a many-node bundle from a gzip-compressed tar stream. Its members
// may sit in a folder (a re-packed bundle); unknown members are ignored.
func ReadFleetArchive(r io.Reader) (*FleetBundle, error) {
	files, err := readMembers(r, maxFleetMembers, maxFleetBytes, func(name string) (string, bool) {
		name = cleanMember(name)
		return name, wanted(path.Base(name))
	})
	if errors.Is(err, errArchiveTooLarge) {
		return nil, fmt.Errorf("%w; extract it (tar -xzf) and analyze its nodes one by one: kubectl winnet analyze FOLDER/nodes/NODE", err)
	}
	if err != nil {
		return nil, err
	}
	return assembleFleet(files)
}

func wanted(base string) bool {
	switch base {
	case FileReadme, FileVersions, FileReport, FileCluster, FileRecords, FileFleet:
		return true
	}
	return false
}

func memberLimit(name string) int64 {
	if path.Base(name) == FileRecords {
		return wire.MaxStreamBytes
	}
	return maxMemberBytes
}

// readFleetDir reads an extracted many-node bundle: its top-level files and nodes/*/.
func readFleetDir(dir string) (*FleetBundle, error) {
	files := map[string][]byte{}
	var total int64
	read := func(rel string) error {
		b, err := readBounded(filepath.Join(dir, filepath.FromSlash(rel)), memberLimit(rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if total += int64(len(b)); total > maxFleetBytes {
			return fmt.Errorf("it holds more than %d bytes in all; analyze its nodes one by one: kubectl winnet analyze %s", int64(maxFleetBytes), filepath.Join(dir, DirNodes, "NODE"))
		}
		files[rel] = b
		return nil
	}
	for _, name := range []string{FileReadme, FileVersions, FileFleet} {
		if err := read(name); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, DirNodes))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing its %s folder: %w", DirNodes, err)
	}
	if len(entries) > maxFleetNodes {
		return nil, fmt.Errorf("its %s folder holds more than %d entries; it is not a winnet bundle", DirNodes, maxFleetNodes)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for _, name := range []string{FileReadme, FileVersions, FileReport, FileCluster, FileRecords} {
			if err := read(path.Join(DirNodes, e.Name(), name)); err != nil {
				return nil, err
			}
		}
	}
	return assembleFleet(files)
}

// readBounded reads a file of at most limit bytes.
func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes; refusing it", p, limit)
	}
	return b, nil
}

// assembleFleet makes a FleetBundle of an archive's or folder's files (path -> content).
func assembleFleet(files map[string][]byte) (*FleetBundle, error) {
	// The root is where the many-node versions.json is (the top level, or a re-packed
	// bundle's folder).
	var roots []string
	for name, b := range files {
		if path.Base(name) == FileVersions && !inNodeFolder(name) && isFleetVersions(b) {
			roots = append(roots, path.Dir(name))
		}
	}
	sort.Strings(roots)
	switch len(roots) {
	case 0:
		if _, ok := files[FileRecords]; ok {
			return nil, fmt.Errorf("%w: it is a one-node bundle (%s at its top level), to be read with Read", ErrNotFleet, FileRecords)
		}
		return nil, fmt.Errorf("%w: it has no versions.json of kind %s; a many-node bundle is what diagnose --bundle writes in a run over many nodes", ErrNotFleet, FleetVersionsKind)
	case 1:
	default:
		return nil, fmt.Errorf("it holds %d many-node bundles (in %s); extract it and analyze each folder on its own", len(roots), strings.Join(roots, ", "))
	}
	root := roots[0]
	at := func(rel string) string {
		if root == "." {
			return rel
		}
		return root + "/" + rel
	}

	fb := &FleetBundle{}
	if err := json.Unmarshal(files[at(FileVersions)], &fb.Versions); err != nil {
		return nil, fmt.Errorf("decoding %s: %w; the bundle is damaged: copy it again from where it was made", FileVersions, err)
	}
	if fb.Versions.BundleFormat > FleetFormat {
		return nil, fmt.Errorf("many-node bundle format %d is newer than this plugin reads (%d); use a newer kubectl-winnet", fb.Versions.BundleFormat, FleetFormat)
	}
	if len(fb.Versions.Nodes) > maxFleetNodes {
		return nil, fmt.Errorf("%s lists %d nodes, more than the %d a winnet bundle holds; it is not a winnet bundle", FileVersions, len(fb.Versions.Nodes), maxFleetNodes)
	}
	if b, ok := files[at(FileFleet)]; ok {
		var rep report.Fleet
		if err := json.Unmarshal(b, &rep); err != nil {
			fb.Warnings = append(fb.Warnings, fmt.Sprintf("%s could not be decoded (%v); it is not needed: every node is re-analyzed from its own folder", FileFleet, err))
		} else {
			fb.Report = &rep
		}
	}

	// The node folders: ROOT/nodes/NODE/FILE.
	folders := map[string]map[string][]byte{}
	prefix := at(DirNodes + "/")
	for name, b := range files {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		node, file, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(file, "/") {
			continue // not a node folder's own file
		}
		if err := checkNodeName(node); err != nil {
			return nil, fmt.Errorf("its folder %s%s: %w; the bundle is damaged or not a winnet bundle", prefix, node, err)
		}
		if folders[node] == nil {
			folders[node] = map[string][]byte{}
		}
		folders[node][file] = b
	}
	if len(folders) > maxFleetNodes {
		return nil, fmt.Errorf("it has %d node folders, more than the %d a winnet bundle holds; it is not a winnet bundle", len(folders), maxFleetNodes)
	}

	listed := map[string]bool{}
	for _, n := range fb.Versions.Nodes {
		if err := checkNodeName(n.Name); err != nil {
			return nil, fmt.Errorf("%s lists %w; the bundle is damaged or not a winnet bundle", FileVersions, err)
		}
		if listed[n.Name] {
			continue
		}
		listed[n.Name] = true
		fb.Nodes = append(fb.Nodes, nodeFiles(n, folders[n.Name]))
	}
	var extra []string
	for name := range folders {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		fb.Nodes = append(fb.Nodes, nodeFiles(FleetNode{Name: name, Status: report.NodeOK}, folders[name]))
		fb.Warnings = append(fb.Warnings, fmt.Sprintf("node %s has a folder but is not listed in %s; it is analyzed all the same", name, FileVersions))
	}
	return fb, nil
}

func nodeFiles(n FleetNode, files map[string][]byte) NodeFiles {
	dir := path.Join(DirNodes, n.Name)
	nf := NodeFiles{FleetNode: n, Files: files}
	switch {
	case files == nil && (n.Status == report.NodeFailed || n.Status == ""):
		if nf.Status == "" {
			nf.Status = report.NodeFailed
		}
	case files == nil:
		nf.Problem = fmt.Sprintf("its folder %s/ is missing from the bundle, though it was diagnosed (%s); the bundle is incomplete: copy it again from where it was made", dir, n.Status)
	case files[FileRecords] == nil:
		nf.Problem = fmt.Sprintf("its folder %s/ has no %s, which holds what the node's collector sent; the bundle is incomplete: copy it again from where it was made", dir, FileRecords)
	}
	if files != nil {
		nf.Dir = dir
		if nf.Status == report.NodeFailed {
			// A folder means a report was made: judge what it holds.
			nf.Status = report.NodeIncomplete
		}
	}
	return nf
}
