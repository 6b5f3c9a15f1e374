package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/report"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Doc is one file's decoded text: the only input of a recogniser. Name is the file's base name,
// kept for notes; no recogniser decides on it.
type Doc struct {
	Name string
	Text string

	jsonDone bool
	jsonVals []json.RawMessage
	objs     []jobj
	objsDone bool
	lns      []string
	// rest is the text around the JSON values, when there were any.
	rest string
}

// Lines returns the text's lines (cached).
func (d *Doc) Lines() []string {
	if d.lns == nil {
		d.lns = lines(d.Text)
	}
	return d.lns
}

// JSONValues returns the JSON values the text holds, in order: one value, several values one
// after another (PowerShell `>>` appends), values after a text prefix (Microsoft's
// collectlogs.ps1 writes a Format-Table section before the JSON in network.txt and
// endpoint.txt) or between prompts of a pasted session. A value starts at the start of a line
// with '{' or '['. Text that holds no JSON value returns nil.
func (d *Doc) JSONValues() []json.RawMessage {
	if d.jsonDone {
		return d.jsonVals
	}
	d.jsonDone = true
	t := d.Text
	pos, attempts := 0, 0
	var rest strings.Builder
	for pos < len(t) && attempts < maxJSONAttempts {
		start := nextJSONStart(t, pos)
		if start < 0 {
			break
		}
		attempts++
		dec := json.NewDecoder(strings.NewReader(t[start:]))
		n := 0
		for {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break
			}
			v = bytes.TrimSpace(v)
			if len(v) == 0 || (v[0] != '{' && v[0] != '[') {
				break
			}
			d.jsonVals = append(d.jsonVals, v)
			n++
			if len(d.jsonVals) > maxJSONValues {
				break
			}
		}
		if n == 0 {
			// Not JSON after all: keep looking from the next line.
			rest.WriteString(t[pos : start+1])
			pos = start + 1
			continue
		}
		rest.WriteString(t[pos:start])
		pos = start + int(dec.InputOffset())
		if len(d.jsonVals) > maxJSONValues {
			break
		}
	}
	if len(d.jsonVals) > 0 && pos < len(t) {
		rest.WriteString(t[pos:])
	}
	if len(d.jsonVals) > 0 {
		d.rest = rest.String()
	}
	return d.jsonVals
}

// maxJSONAttempts bounds how many line starts are tried as JSON (a text with many lines
// opening with '[' must not cost a decode of the rest of the file each).
const maxJSONAttempts = 64

// nextJSONStart returns the offset of the next line at or after pos that opens with '{' or
// '[' (after spaces), or -1.
func nextJSONStart(t string, pos int) int {
	for pos < len(t) {
		line := t[pos:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") {
			return pos + len(line) - len(trimmed)
		}
		i := strings.IndexByte(t[pos:], '\n')
		if i < 0 {
			return -1
		}
		pos += i + 1
	}
	return -1
}

// maxJSONValues bounds how many top-level values one file may hold (NDJSON logs are logs).
const maxJSONValues = 200000

// Objects flattens the JSON values into objects: arrays are unrolled one level, and
// PowerShell's {"value":[...],"Count":n} wrapper (ConvertTo-Json -InputObject of an array) is
// unwrapped.
func (d *Doc) Objects() []jobj {
	if d.objsDone {
		return d.objs
	}
	d.objsDone = true
	for _, v := range d.JSONValues() {
		d.objs = append(d.objs, flattenJSON(v)...)
	}
	return d.objs
}

func flattenJSON(v json.RawMessage) []jobj {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	if v[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(v, &arr) != nil {
			return nil
		}
		var out []jobj
		for _, e := range arr {
			if o, ok := newJObj(e); ok {
				out = append(out, o)
			}
		}
		return out
	}
	o, ok := newJObj(v)
	if !ok {
		return nil
	}
	if val, ok := o.keys["value"]; ok && len(o.keys) <= 2 && o.has("count") {
		return flattenJSON(val)
	}
	return []jobj{o}
}

// jobj is a JSON object with its keys folded to lower case (PowerShell and HNS disagree on
// case: ID, Id, id) and its raw bytes kept verbatim.
type jobj struct {
	raw  json.RawMessage
	keys map[string]json.RawMessage
}

func newJObj(b json.RawMessage) (jobj, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return jobj{}, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return jobj{}, false
	}
	o := jobj{raw: b, keys: make(map[string]json.RawMessage, len(m))}
	for k, v := range m {
		o.keys[strings.ToLower(k)] = v
	}
	return o, true
}

func (o jobj) has(k string) bool { _, ok := o.keys[k]; return ok }

// hasAny reports whether any of the lower-case keys is present.
func (o jobj) hasAny(ks ...string) bool {
	for _, k := range ks {
		if o.has(k) {
			return true
		}
	}
	return false
}

// str reads a string (or a number, as text) field.
func (o jobj) str(k string) string {
	v, ok := o.keys[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

func (o jobj) obj(k string) (jobj, bool) {
	v, ok := o.keys[k]
	if !ok {
		return jobj{}, false
	}
	return newJObj(v)
}

func (o jobj) arr(k string) []jobj {
	v, ok := o.keys[k]
	if !ok {
		return nil
	}
	return flattenJSON(v)
}

func (o jobj) strs(k string) []string {
	v, ok := o.keys[k]
	if !ok {
		return nil
	}
	var ss []string
	if json.Unmarshal(v, &ss) == nil {
		return ss
	}
	if s := o.str(k); s != "" {
		return []string{s}
	}
	return nil
}

// Output is what a recogniser made of one file.
type Output struct {
	// Format names what the file was recognised as (a registry name).
	Format string
	// Detail says what was taken from it, e.g. "12 endpoints".
	Detail string
	// Records are artifacts and probes for the snapshot.
	Records []wire.Record
	// Fallback records are used only when no other file gives the same kind (a lossy text view
	// that a JSON dump of the same objects supersedes).
	Fallback []wire.Record
	// HNS holds HNS objects, deduplicated by ID across files before they become records.
	HNS []HNSObject
	// Kube holds Kubernetes objects for the cluster facts.
	Kube []KubeObject
	// Cluster is a bundle's cluster facts.
	Cluster *facts.Cluster
	// Notes are said to the user next to the file.
	Notes []string
	// Unused marks a file that was recognised but gives the analysis nothing (a kubeconfig, a
	// previous report, a Linux file kept for comparison).
	Unused bool
	// Target is the target a previous report named (a bundle's report.json), and Path the
	// path its live run walked: probes ran then, and their verdicts cannot be re-derived.
	Target *report.Target
	Path   *pathexplain.Path

	// verbatim records keep their own Source (a bundle's records).
	verbatim bool
}

// KubeObject is a Kubernetes object with how complete it is: objects read from YAML or JSON
// are Full; objects rebuilt from `kubectl get -o wide` or `describe` text are not, and a Full
// object of the same name wins.
type KubeObject struct {
	Object runtime.Object
	Full   bool
}

// Class says how a recogniser relates to others on the same file.
type Class int

const (
	// Whole recognisers claim the whole file: structured data, logs, configs. The first that
	// matches wins.
	Whole Class = iota
	// Section recognisers find one command's output anywhere in a text (a pasted terminal
	// session holds several); every one that matches contributes.
	Section
)

// Recogniser is one format: a small pure function from a file's text to what it holds, or nil
// when the text is not that format.
type Recogniser struct {
	Name  string
	Class Class
	// Describe is one line for the documentation and `--help`.
	Describe string
	Fn       func(d *Doc) *Output
}

// Recognition is what the registry made of one file.
type Recognition struct {
	Encoding Encoding
	Outputs  []*Output // empty: not recognised
	// Errors holds recognisers' panics, turned into errors: one bad recogniser must not stop
	// the others or the run.
	Errors []error
}

// Formats returns the registry, in the order recognisers are tried.
func Formats() []Recogniser {
	return append([]Recogniser(nil), registry...)
}

// Recognize decodes data and runs the registry over it. It never panics and never fails: a
// file nobody recognises gets an empty Recognition.
func Recognize(name string, data []byte) Recognition {
	text, enc := DecodeText(data)
	rec := Recognition{Encoding: enc}
	if enc == EncBinary || strings.TrimSpace(text) == "" {
		return rec
	}
	d := &Doc{Name: name, Text: text}
	for _, r := range registry {
		if r.Class != Whole {
			continue
		}
		if out := safeRun(r, d, &rec.Errors); out != nil {
			rec.Outputs = []*Output{out}
			// JSON inside a pasted session: the commands around it may have printed more.
			if len(d.jsonVals) > 0 && strings.TrimSpace(d.rest) != "" {
				rest := &Doc{Name: d.Name, Text: d.rest}
				for _, r := range registry {
					if r.Class == Section {
						if out := safeRun(r, rest, &rec.Errors); out != nil {
							rec.Outputs = append(rec.Outputs, out)
						}
					}
				}
			}
			return rec
		}
	}
	for _, r := range registry {
		if r.Class != Section {
			continue
		}
		if out := safeRun(r, d, &rec.Errors); out != nil {
			rec.Outputs = append(rec.Outputs, out)
		}
	}
	return rec
}

func safeRun(r Recogniser, d *Doc, errs *[]error) (out *Output) {
	defer func() {
		if p := recover(); p != nil {
			*errs = append(*errs, fmt.Errorf("recogniser %s failed on this file (%v); the file was treated as not %s", r.Name, p, r.Name))
			out = nil
		}
	}()
	out = r.Fn(d)
	if out != nil && out.Format == "" {
		out.Format = r.Name
	}
	return out
}

// artifact builds an artifact record; Source is filled in with the file's path later.
func artifact(kind string, v any) wire.Record {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled here; they always encode.
		b = []byte("null")
	}
	return wire.Record{V: wire.SchemaMajor, Type: wire.TypeArtifact, Kind: kind, Data: b}
}

// rawArtifact wraps raw JSON as an artifact.
func rawArtifact(kind string, raw json.RawMessage) wire.Record {
	return wire.Record{V: wire.SchemaMajor, Type: wire.TypeArtifact, Kind: kind, Data: raw}
}

func probe(p wire.ProbeData) wire.Record {
	b, _ := json.Marshal(p)
	return wire.Record{V: wire.SchemaMajor, Type: wire.TypeProbe, Source: "transcript", Data: b}
}

// fileRecord is a file artifact with a role.
func fileRecord(role, content string) wire.Record {
	c, truncated := content, false
	if len(c) > maxFileContent {
		c, truncated = tailText(c, maxFileContent), true
	}
	return artifact(wire.KindFile, wire.FileData{Role: role, Size: int64(len(content)), Truncated: truncated, Content: c})
}

// maxFileContent is how much of a file a file record keeps (its tail), as the collector does.
const maxFileContent = 4 << 20

func tailText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return s
}

// errLimit marks input over a size bound.
var errLimit = errors.New("input over the size limit")

// readLimited reads at most limit bytes and says whether there was more.
func readLimited(r io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > limit {
		return b[:limit], true, nil
	}
	return b, false, nil
}
