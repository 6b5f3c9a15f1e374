// Package ingest turns files a user has (a winnet bundle, a folder written by Microsoft's
// collectlogs.ps1, pasted command output, kubectl dumps, logs) into the same inputs a live
// diagnosis has: wire records for the snapshot, and cluster facts. It is what
// `kubectl winnet analyze` runs on.
//
// Files are recognised by content, never by name: a registry of recognisers (formats.go), each a
// small pure function from text to records or objects, is tried on every file. Whole-file
// formats (JSON, YAML, XML, logs, configs) claim a file; console outputs are found anywhere in
// a text, so a pasted terminal session with several commands yields them all. Files nobody
// recognises are listed, never fatal.
//
// Text may be UTF-8 (with or without a byte order mark), or UTF-16 LE/BE with a mark (what
// Windows PowerShell 5.1's `>` writes) or without one when that is evident; CRLF or LF.
//
// Kinds this package adds to wire's (the analyzer may use them; unknown kinds are tolerated):
//
//	cloud.addressspaces  []CloudAddressSpace  cloud network prefixes that must not be NATed
//	kube.events          []KubeEvent          Kubernetes events (kubectl get events, describe)
//	pod.network          PodNetwork           ipconfig /all run inside a pod
//	hnsdiag.list         HNSDiagList          hnsdiag's text, parsed
//
// and file roles cni-state (azure-vnet.json) and resolv-conf (a Linux resolv.conf). HNS v1
// dumps become hcn.* artifacts (the snapshot decodes both schemas); a v1 endpoint whose ID a
// v2 dump also holds goes to hns.endpoints.v1. Probes read from transcripts carry Method
// "transcript".
package ingest

import (
	"archive/tar"
	"archive/zip"
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

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Limits. Input comes from elsewhere and is not trusted.
const (
	// DefaultMaxFileBytes is the most read of one file; a larger file is read from its tail
	// (logs: the newest lines matter), which a JSON dump will not survive.
	DefaultMaxFileBytes = 64 << 20
	// tailBytes is how much of an over-large file is read.
	tailBytes = 8 << 20
	// DefaultMaxTotalBytes bounds everything read, archives decompressed included.
	DefaultMaxTotalBytes = 1 << 30
	// DefaultMaxFiles bounds the files looked at.
	DefaultMaxFiles = 20000
)

// Options steer Load.
type Options struct {
	Node  string // the node the files are from; inferred when empty
	Pod   string // the target pod, NAMESPACE/NAME or NAME; inferred when empty
	PodIP string // the target pod's IP, alone or with Pod

	MaxFileBytes  int64
	MaxTotalBytes int64
	MaxFiles      int
}

// FileReport says what one file was recognised as, or why it was not used.
type FileReport struct {
	Path     string   `json:"path"`
	Format   string   `json:"format,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	Encoding string   `json:"encoding,omitempty"`
	Used     bool     `json:"used"`
	Reason   string   `json:"reason,omitempty"` // why it was ignored
	Notes    []string `json:"notes,omitempty"`
}

// Collection accumulates recognised files. Add files, then call Finish.
type Collection struct {
	opts    Options
	files   []FileReport
	outs    []sourced
	total   int64
	count   int
	layouts []string
}

type sourced struct {
	path string
	out  *Output
}

// NewCollection starts an empty collection.
func NewCollection(opts Options) *Collection {
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxTotalBytes <= 0 {
		opts.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	return &Collection{opts: opts}
}

// Load reads every path (a file, a folder walked recursively, or an archive: .tar.gz, .tgz,
// .tar, .zip, .gz, recognised by content) and returns what they hold. It fails only when a
// path cannot be read at all; unknown files are listed in Result.Files.
func Load(paths []string, opts Options) (*Result, error) {
	c := NewCollection(opts)
	for _, p := range paths {
		if err := c.AddPath(p); err != nil {
			return nil, err
		}
	}
	return c.Finish()
}

// AddPath adds a file, folder or archive.
func (c *Collection) AddPath(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w; pass a bundle (.tar.gz), a folder or a file", p, err)
	}
	if !st.IsDir() {
		return c.addFile(p, st.Size())
	}
	var names []string
	err = filepath.WalkDir(p, func(fp string, de fs.DirEntry, err error) error {
		if err != nil {
			c.ignore(fp, "could not be read: "+err.Error())
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			if fp != p && strings.HasPrefix(de.Name(), ".") {
				return fs.SkipDir // .git and the like
			}
			return nil
		}
		if !de.Type().IsRegular() {
			c.ignore(fp, "not a regular file")
			return nil
		}
		names = append(names, de.Name())
		info, err := de.Info()
		if err != nil {
			c.ignore(fp, "could not be read: "+err.Error())
			return nil
		}
		return c.addFile(fp, info.Size())
	})
	if err != nil {
		return fmt.Errorf("walking %s: %w", p, err)
	}
	if l := folderLayout(names); l != "" {
		c.layouts = append(c.layouts, fmt.Sprintf("%s: %s", p, l))
	}
	return nil
}

func (c *Collection) addFile(p string, size int64) error {
	if c.count >= c.opts.MaxFiles {
		c.ignore(p, fmt.Sprintf("more than %d files; the rest were not read", c.opts.MaxFiles))
		return nil
	}
	if c.total >= c.opts.MaxTotalBytes {
		c.ignore(p, fmt.Sprintf("more than %d bytes read in all; the rest were not read", c.opts.MaxTotalBytes))
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		c.ignore(p, "could not be read: "+err.Error())
		return nil
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		c.ignore(p, "could not be read: "+err.Error())
		return nil
	}
	switch archiveKind(head) {
	case "gzip":
		return c.addGzip(p, f)
	case "tar":
		return c.addTar(p, f)
	case "zip":
		return c.addZip(p, f, size)
	}
	data, note, err := c.read(f, size)
	if err != nil {
		c.ignore(p, "could not be read: "+err.Error())
		return nil
	}
	c.Add(p, data, note)
	return nil
}

func archiveKind(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")):
		return "zip"
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return "tar"
	}
	return ""
}

// read reads r, or its tail when size is over the per-file limit.
func (c *Collection) read(r io.Reader, size int64) ([]byte, string, error) {
	limit := c.opts.MaxFileBytes
	if size >= 0 && size <= limit {
		b, _, err := readLimited(r, limit)
		c.total += int64(len(b))
		return b, "", err
	}
	if size < 0 { // unknown size (a compressed member): keep a sliding tail
		var buf bytes.Buffer
		var skipped int64
		chunk := make([]byte, 1<<20)
		for {
			n, err := r.Read(chunk)
			c.total += int64(n)
			buf.Write(chunk[:n])
			if buf.Len() > int(limit) {
				drop := buf.Len() - tailBytes
				skipped += int64(drop)
				buf.Next(drop)
				rest := append([]byte(nil), buf.Bytes()...)
				buf.Reset()
				buf.Write(rest)
			}
			if c.total > c.opts.MaxTotalBytes {
				return nil, "", fmt.Errorf("%w: more than %d bytes read in all", errLimit, c.opts.MaxTotalBytes)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, "", err
			}
		}
		if skipped > 0 {
			return tailFromLine(buf.Bytes()), fmt.Sprintf("over %d MiB: only its last %d MiB were read", limit>>20, tailBytes>>20), nil
		}
		return buf.Bytes(), "", nil
	}
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(size-tailBytes, io.SeekStart); err != nil {
			return nil, "", err
		}
		b, _, err := readLimited(r, tailBytes)
		c.total += int64(len(b))
		return tailFromLine(b), fmt.Sprintf("%d MiB: only its last %d MiB were read", size>>20, tailBytes>>20), err
	}
	if _, err := io.CopyN(io.Discard, r, size-tailBytes); err != nil {
		return nil, "", err
	}
	c.total += size - tailBytes
	b, _, err := readLimited(r, tailBytes)
	c.total += int64(len(b))
	return tailFromLine(b), fmt.Sprintf("%d MiB: only its last %d MiB were read", size>>20, tailBytes>>20), err
}

func tailFromLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
		return b[i+1:]
	}
	return b
}

func (c *Collection) addGzip(p string, f io.Reader) error {
	zr, err := gzip.NewReader(f)
	if err != nil {
		c.ignore(p, "a damaged gzip file: "+err.Error())
		return nil
	}
	defer zr.Close()
	br := &peekReader{r: zr}
	head, _ := br.peek(512)
	if archiveKind(head) == "tar" {
		return c.addTar(p, br)
	}
	data, note, err := c.read(br, -1)
	if err != nil {
		c.ignore(p, "could not be decompressed: "+err.Error())
		return nil
	}
	c.Add(p, data, note)
	return nil
}

// peekReader lets the first bytes of a stream be looked at and then read again.
type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) ([]byte, error) {
	for len(p.buf) < n {
		chunk := make([]byte, n-len(p.buf))
		m, err := p.r.Read(chunk)
		p.buf = append(p.buf, chunk[:m]...)
		if err != nil {
			return p.buf, err
		}
	}
	return p.buf, nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

func (c *Collection) addTar(p string, r io.Reader) error {
	tr := tar.NewReader(r)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.ignore(p, "a damaged tar archive: "+err.Error())
			break
		}
		name := p + ":" + h.Name
		if h.Typeflag != tar.TypeReg {
			continue
		}
		names = append(names, path.Base(h.Name))
		if c.addEntry(name, func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }, h.Size) {
			break
		}
	}
	if l := folderLayout(names); l != "" {
		c.layouts = append(c.layouts, fmt.Sprintf("%s: %s", p, l))
	}
	return nil
}

func (c *Collection) addZip(p string, f io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		c.ignore(p, "a damaged zip archive: "+err.Error())
		return nil
	}
	var names []string
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		name := p + ":" + zf.Name
		names = append(names, path.Base(zf.Name))
		// The declared size is not trusted (zip bombs): read as a stream of unknown size.
		if c.addEntry(name, zf.Open, -1) {
			break
		}
	}
	if l := folderLayout(names); l != "" {
		c.layouts = append(c.layouts, fmt.Sprintf("%s: %s", p, l))
	}
	return nil
}

// addEntry reads one archive member within the collection's limits and adds it. It reports
// whether the archive's remaining members must be skipped (a limit was reached).
func (c *Collection) addEntry(name string, open func() (io.ReadCloser, error), size int64) (stop bool) {
	if c.count >= c.opts.MaxFiles || c.total >= c.opts.MaxTotalBytes {
		c.ignore(name, "a size or file-count limit was reached; the rest were not read")
		return false
	}
	rc, err := open()
	if err != nil {
		c.ignore(name, "could not be read: "+err.Error())
		return false
	}
	data, note, err := c.read(rc, size)
	_ = rc.Close()
	if err != nil {
		c.ignore(name, "could not be read: "+err.Error())
		return errors.Is(err, errLimit)
	}
	c.Add(name, data, note)
	return false
}

func (c *Collection) ignore(p, reason string) {
	c.files = append(c.files, FileReport{Path: p, Reason: reason})
}

// Add recognises one file's content. name is shown to the user and kept as the records'
// source; it does not steer recognition.
func (c *Collection) Add(name string, data []byte, note string) {
	c.count++
	rec := Recognize(path.Base(filepath.ToSlash(name)), data)
	fr := FileReport{Path: name, Encoding: string(rec.Encoding)}
	if note != "" {
		fr.Notes = append(fr.Notes, note)
	}
	for _, err := range rec.Errors {
		fr.Notes = append(fr.Notes, err.Error())
	}
	switch {
	case rec.Encoding == EncBinary:
		fr.Reason = "binary content" + binaryHint(data)
	case len(rec.Outputs) == 0 && len(bytes.TrimSpace(data)) == 0:
		fr.Reason = "empty"
	case len(rec.Outputs) == 0:
		fr.Reason = "not a format winnet knows (kubectl winnet analyze --help lists them)"
	}
	var formats, details []string
	for _, o := range rec.Outputs {
		formats = append(formats, o.Format)
		if o.Detail != "" {
			details = append(details, o.Detail)
		}
		fr.Notes = append(fr.Notes, o.Notes...)
		if !o.Unused {
			fr.Used = true
		}
		c.outs = append(c.outs, sourced{path: name, out: o})
	}
	fr.Format = strings.Join(formats, ", ")
	fr.Detail = strings.Join(details, "; ")
	if len(rec.Outputs) > 0 && !fr.Used {
		fr.Reason = "recognised, but it holds nothing to analyze"
	}
	c.files = append(c.files, fr)
}

func binaryHint(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("ElfFile")):
		return " (an .evtx event log: export it as text with `wevtutil qe LOG /f:xml > log.xml` or Get-WinEvent | ConvertTo-Json)"
	case bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}), bytes.HasPrefix(data, []byte{0xd4, 0xc3, 0xb2, 0xa1}):
		return " (a packet capture: open it in Wireshark)"
	}
	return ""
}

// folderLayout names known folder layouts by the files they hold.
func folderLayout(names []string) string {
	have := map[string]bool{}
	for _, n := range names {
		have[strings.ToLower(n)] = true
	}
	count := func(ns ...string) int {
		k := 0
		for _, n := range ns {
			if have[n] {
				k++
			}
		}
		return k
	}
	switch {
	case have["records.ndjson"] && count("cluster.json", "report.json", "versions.json") >= 1:
		return "a winnet diagnosis bundle"
	case count("network.txt", "endpoint.txt", "policy.txt", "ip.txt", "routes.txt", "hnsdiag.txt", "scqueryex.txt", "winver.txt", "excludedportrange.txt", "vfpoutput.txt", "ports.txt", "mtu.txt") >= 3:
		return "a folder written by Microsoft's collectlogs.ps1 (SDN/Kubernetes/windows/debug)"
	case count("hns-networks.json", "hns-endpoints.json", "hns-loadbalancers.json", "cluster.yaml") >= 2:
		return "a winnet replay scenario folder"
	}
	return ""
}

// Result is everything the files held, ready for the snapshot and the analyzer.
type Result struct {
	// Node is the node the files describe ("" when it could not be told), and NodeFrom how
	// that was decided.
	Node     string
	NodeFrom string
	// Records are for snapshot.Builder, a hello record first.
	Records []wire.Record
	// Cluster is nil when the files held no Kubernetes objects.
	Cluster *facts.Cluster
	// Target is the pod the analysis is about (nil: node analysis), and TargetNote why.
	Target     *corev1.Pod
	TargetNote string
	// Path is the path a bundle's live run walked from the same target (nil when none).
	Path *pathexplain.Path
	// Files lists every file looked at.
	Files []FileReport
	// Layouts names recognised folder layouts (collectlogs.ps1, a bundle).
	Layouts []string
}

// Finish deduplicates and merges what was added, builds the cluster facts and picks the node
// and the target pod.
func (c *Collection) Finish() (*Result, error) {
	res := &Result{Files: c.files, Layouts: c.layouts}
	sort.SliceStable(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	recs := c.records()
	kube := c.kubeObjects()
	hints := c.hints()
	if err := res.decide(c.opts, kube, hints, recs); err != nil {
		return nil, err
	}
	recs = append(recs, targetPodNetwork(res.Target, hints.podNets)...)
	res.Records = withHello(recs, res.Node)
	if hints.path != nil && sameTarget(res.Target, hints.target) {
		res.Path = hints.path
	}
	return res, nil
}

// targetPodNetwork turns an `ipconfig /all` run inside the target pod into the records the
// collector sends from the pod's network compartment (pod.adapters, pod.dns), so the analyzer
// judges a pasted in-pod transcript exactly as a live run. A pod's hostname is its name; with
// one in-pod transcript and a target of unknown name it is taken as the target's.
func targetPodNetwork(target *corev1.Pod, nets []PodNetwork) []wire.Record {
	if len(nets) == 0 {
		return nil
	}
	pick := -1
	for i, pn := range nets {
		if target != nil && strings.EqualFold(pn.Hostname, target.Name) {
			pick = i
		}
	}
	if pick < 0 && len(nets) == 1 {
		pick = 0
	}
	if pick < 0 {
		return nil
	}
	pn := nets[pick]
	return []wire.Record{artifact(wire.KindPodAdapters, pn.Adapters), artifact(wire.KindPodDNS, pn.DNS)}
}

// records assembles the artifact and probe records: HNS objects deduplicated, host facts
// merged, fallbacks used only where nothing better exists.
func (c *Collection) records() []wire.Record {
	var out []wire.Record
	var fallback []wire.Record
	var hns []sourcedHNS
	for _, s := range c.outs {
		for _, r := range s.out.Records {
			if !s.out.verbatim {
				r.Source = s.path
				if r.Kind == wire.KindFile {
					setFilePathIfEmpty(&r, s.path)
				}
			}
			out = append(out, r)
		}
		for _, r := range s.out.Fallback {
			r.Source = s.path
			fallback = append(fallback, r)
		}
		for _, h := range s.out.HNS {
			hns = append(hns, sourcedHNS{path: s.path, obj: h})
		}
	}
	out = append(out, hnsRecords(hns)...)
	have := map[string]bool{}
	for _, r := range out {
		have[r.Kind] = true
	}
	for _, r := range fallback {
		if !have[r.Kind] {
			out = append(out, r)
		}
	}
	return mergeHostRecords(out)
}

func setFilePathIfEmpty(r *wire.Record, p string) {
	var f wire.FileData
	if json.Unmarshal(r.Data, &f) != nil || f.Path != "" {
		return
	}
	f.Path = p
	r.Data, _ = json.Marshal(f)
}

type sourcedHNS struct {
	path string
	obj  HNSObject
}

// hnsRecords deduplicates HNS objects by kind and ID: JSON beats text, and text-derived
// objects of a kind are dropped when any JSON dump has that kind. A v1 endpoint whose ID a v2
// dump also has becomes part of hns.endpoints.v1 (merged by ID), the v1 view that carries
// IsRemoteEndpoint and State.
func hnsRecords(objs []sourcedHNS) []wire.Record {
	jsonKinds := map[string]bool{}
	wholeKinds := map[string]bool{} // kinds listed unfiltered somewhere
	v2IDs := map[string]bool{}
	for _, s := range objs {
		if s.obj.Rank >= rankJSON {
			jsonKinds[s.obj.Kind] = true
		}
		if !s.obj.Subset {
			wholeKinds[s.obj.Kind] = true
		}
		if s.obj.Schema == 2 && s.obj.ID != "" {
			v2IDs[s.obj.Kind+"/"+s.obj.ID] = true
		}
	}
	type group struct {
		path, kind string
		subset     bool
		items      []json.RawMessage
	}
	var groups []*group
	index := map[string]*group{}
	seen := map[string]bool{}
	for _, s := range objs {
		o := s.obj
		if o.Rank < rankJSON && jsonKinds[o.Kind] {
			continue
		}
		if o.Subset && wholeKinds[o.Kind] {
			// A filtered view of objects another file lists whole: those are the same
			// objects, known better, and counting both would double them.
			continue
		}
		kind := o.Kind
		if o.Schema == 1 && kind == wire.KindHCNEndpoints && v2IDs[kind+"/"+o.ID] {
			kind = wire.KindHNSEndpointsV1
		}
		if o.ID != "" {
			key := kind + "/" + o.ID
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		gk := s.path + "\x00" + kind + "\x00" + fmt.Sprint(o.Subset)
		g := index[gk]
		if g == nil {
			g = &group{path: s.path, kind: kind, subset: o.Subset}
			index[gk] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, o.Raw)
	}
	var out []wire.Record
	for _, g := range groups {
		b, err := json.Marshal(g.items)
		if err != nil {
			continue
		}
		r := rawArtifact(g.kind, b)
		r.Source = g.path
		r.Partial = g.subset
		out = append(out, r)
	}
	return out
}

// mergeHostRecords folds records of the kinds the snapshot keeps one of (os.info) or that
// several files describe in parts (host.adapters from ipconfig and netsh, port ranges from
// two netsh commands, services from sc and Get-Service) into one record each.
func mergeHostRecords(in []wire.Record) []wire.Record {
	var out []wire.Record
	var (
		osi      *wire.OSInfo
		osAt     = -1
		adapters []wire.Adapter
		adAt     = -1
		ports    *wire.PortRanges
		portsAt  = -1
		svcs     []wire.ServiceState
		svcAt    = -1
		sources  = map[string][]string{}
	)
	n := map[string]int{}
	for _, r := range in {
		if r.Type == wire.TypeArtifact {
			n[r.Kind]++
		}
	}
	for _, r := range in {
		// A kind given once stays verbatim: a newer collector's fields must survive.
		if r.Type != wire.TypeArtifact || n[r.Kind] < 2 {
			out = append(out, r)
			continue
		}
		switch r.Kind {
		case wire.KindOSInfo:
			var o wire.OSInfo
			if json.Unmarshal(r.Data, &o) != nil {
				out = append(out, r)
				continue
			}
			if osi == nil {
				osi, osAt = &wire.OSInfo{}, len(out)
				out = append(out, r)
			}
			osi.ProductName = firstOf(osi.ProductName, o.ProductName)
			osi.Build = firstOf(osi.Build, o.Build)
			osi.Hostname = firstOf(osi.Hostname, o.Hostname)
			if osi.UBR == 0 {
				osi.UBR = o.UBR
			}
			sources[wire.KindOSInfo] = appendUnique(sources[wire.KindOSInfo], r.Source)
		case wire.KindHostAdapters:
			var as []wire.Adapter
			if json.Unmarshal(r.Data, &as) != nil {
				out = append(out, r)
				continue
			}
			if adAt < 0 {
				adAt = len(out)
				out = append(out, r)
			}
			adapters = mergeAdapters(adapters, as)
			sources[wire.KindHostAdapters] = appendUnique(sources[wire.KindHostAdapters], r.Source)
		case wire.KindPortRanges:
			var p wire.PortRanges
			if json.Unmarshal(r.Data, &p) != nil {
				out = append(out, r)
				continue
			}
			if ports == nil {
				ports, portsAt = &wire.PortRanges{}, len(out)
				out = append(out, r)
			}
			for k, v := range p.Dynamic {
				if ports.Dynamic == nil {
					ports.Dynamic = map[string]wire.PortRange{}
				}
				ports.Dynamic[k] = v
			}
			for k, v := range p.Excluded {
				if ports.Excluded == nil {
					ports.Excluded = map[string][]wire.PortRange{}
				}
				ports.Excluded[k] = append(ports.Excluded[k], v...)
			}
			sources[wire.KindPortRanges] = appendUnique(sources[wire.KindPortRanges], r.Source)
		case wire.KindServices:
			var ss []wire.ServiceState
			if json.Unmarshal(r.Data, &ss) != nil {
				out = append(out, r)
				continue
			}
			if svcAt < 0 {
				svcAt = len(out)
				out = append(out, r)
			}
			svcs = mergeServices(svcs, ss)
			sources[wire.KindServices] = appendUnique(sources[wire.KindServices], r.Source)
		default:
			out = append(out, r)
		}
	}
	set := func(at int, kind string, v any) {
		if at < 0 {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		out[at].Data = b
		out[at].Source = strings.Join(sources[kind], ", ")
	}
	if osi != nil {
		set(osAt, wire.KindOSInfo, osi)
	}
	set(adAt, wire.KindHostAdapters, adapters)
	if ports != nil {
		set(portsAt, wire.KindPortRanges, ports)
	}
	set(svcAt, wire.KindServices, svcs)
	return out
}

func appendUnique(ss []string, s string) []string {
	if s == "" || contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

func mergeAdapters(have, add []wire.Adapter) []wire.Adapter {
	for _, a := range add {
		i := -1
		for k := range have {
			if strings.EqualFold(have[k].Name, a.Name) && have[k].Compartment == a.Compartment {
				i = k
				break
			}
		}
		if i < 0 {
			have = append(have, a)
			continue
		}
		h := &have[i]
		h.Description = firstOf(h.Description, a.Description)
		h.MAC = firstOf(h.MAC, a.MAC)
		h.Status = firstOf(h.Status, a.Status)
		h.DNSSuffix = firstOf(h.DNSSuffix, a.DNSSuffix)
		if h.IfIndex == 0 {
			h.IfIndex = a.IfIndex
		}
		if h.MTU == 0 {
			h.MTU = a.MTU
		}
		if len(h.Addresses) == 0 {
			h.Addresses = a.Addresses
		}
		if len(h.Gateways) == 0 {
			h.Gateways = a.Gateways
		}
		if len(h.DNSServers) == 0 {
			h.DNSServers = a.DNSServers
		}
	}
	return have
}

func mergeServices(have, add []wire.ServiceState) []wire.ServiceState {
	for _, s := range add {
		i := -1
		for k := range have {
			if strings.EqualFold(have[k].Name, s.Name) {
				i = k
				break
			}
		}
		if i < 0 {
			have = append(have, s)
			continue
		}
		h := &have[i]
		h.State = firstOf(h.State, s.State)
		h.StartType = firstOf(h.StartType, s.StartType)
		if h.PID == 0 {
			h.PID = s.PID
		}
	}
	return have
}

// withHello puts a hello record first when the files did not bring one (raw dumps), so the
// report can say where the data came from.
func withHello(recs []wire.Record, node string) []wire.Record {
	for _, r := range recs {
		if r.Type == wire.TypeHello {
			return recs
		}
	}
	hello := artifact("", wire.HelloData{CollectorVersion: "none (offline files)", SchemaVersion: wire.SchemaVersion, OS: "windows", Hostname: node, Backend: "files", SHA256: "n/a"})
	hello.Type, hello.Kind, hello.Source = wire.TypeHello, "", "analyze"
	return append([]wire.Record{hello}, recs...)
}

// sameTarget says whether the analysis is about the pod a bundle's report was (a node-level
// report matches a node-level analysis): a walk from another pod says nothing of this one.
func sameTarget(pod *corev1.Pod, t *report.Target) bool {
	if t == nil {
		return false
	}
	if pod == nil {
		return t.Pod == ""
	}
	return pod.Name == t.Pod && pod.Namespace == t.Namespace
}

// hints gathers what bundle files said about the node and target.
type hints struct {
	clusters []*facts.Cluster
	target   *report.Target
	path     *pathexplain.Path // walked from target
	podNets  []PodNetwork
	hostname string
}

func (c *Collection) hints() hints {
	var h hints
	for _, s := range c.outs {
		if s.out.Cluster != nil {
			h.clusters = append(h.clusters, s.out.Cluster)
		}
		if s.out.Target != nil && h.target == nil {
			h.target, h.path = s.out.Target, s.out.Path
		}
		for _, r := range s.out.Records {
			switch {
			case r.Kind == KindPodNetwork:
				var pn PodNetwork
				if json.Unmarshal(r.Data, &pn) == nil {
					h.podNets = append(h.podNets, pn)
				}
			case r.Kind == wire.KindOSInfo && h.hostname == "":
				var o wire.OSInfo
				if json.Unmarshal(r.Data, &o) == nil {
					h.hostname = o.Hostname
				}
			case r.Type == wire.TypeHello && h.hostname == "":
				var hd wire.HelloData
				if json.Unmarshal(r.Data, &hd) == nil {
					h.hostname = hd.Hostname
				}
			}
		}
	}
	return h
}
