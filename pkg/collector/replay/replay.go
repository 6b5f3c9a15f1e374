// Package replay is the collector backend that reads a scenario folder of raw dumps instead of
// asking Windows, and emits the records a Windows node would. The simulated node of the end to
// end tests runs it, and so can anyone with a folder of dumps from a real node.
//
// A scenario folder holds these files; each is optional, and a missing file emits nothing:
//
//	hns-networks.json       -> hcn.networks       JSON array of HostComputeNetwork (HCN v2, as HcnQueryNetworkProperties returns it)
//	hns-endpoints.json      -> hcn.endpoints      JSON array of HostComputeEndpoint, local and remote
//	hns-endpoints-v1.json   -> hns.endpoints.v1   JSON array of HNS v1 endpoints (IsRemoteEndpoint, State), as HNSCall GET /endpoints/ returns them
//	hns-loadbalancers.json  -> hcn.loadbalancers  JSON array of HostComputeLoadBalancer
//	hns-namespaces.json     -> hcn.namespaces     JSON array of HostComputeNamespace
//	hns-policylists.json    -> hns.policylists    JSON array of HNS v1 policy lists
//	hns-version.json        -> hns.version        {"Major":..,"Minor":..}
//	events.json             -> events             JSON array of wire.Event
//	services.json           -> services           JSON array of wire.ServiceState
//	processes.json          -> processes          JSON array of wire.ProcessInfo
//	os.json                 -> os.info            wire.OSInfo
//	host-adapters.json      -> host.adapters      JSON array of wire.Adapter
//	host-routes.json        -> host.routes        JSON array of wire.Route
//	host-neighbors.json     -> host.neighbors     JSON array of wire.Neighbor
//	dns-client.json         -> dns.client         wire.DNSClient
//	tcp-connections.json    -> tcp.connections    wire.TCPConnections
//	ports-ranges.json       -> ports.ranges       wire.PortRanges
//	firewall.json           -> firewall           wire.Firewall
//	os-hotfixes.json        -> os.hotfixes        JSON array of wire.Hotfix
//	pod-compartment.json    -> pod.compartment    wire.PodCompartment
//	pod-adapters.json       -> pod.adapters       JSON array of wire.Adapter (the pod's compartment)
//	pod-routes.json         -> pod.routes         JSON array of wire.Route (the pod's compartment)
//	pod-dns.json            -> pod.dns            wire.DNSClient (the pod's compartment)
//	probes.json             -> probe records      JSON array of wire.ProbeData: all of them, or the answers to --probe (see probes.go)
//	files/<drive>/<path>    -> file               one wire.FileData per file; files/C/k/kube-proxy.log is C:\k\kube-proxy.log
//	tools/<tool>[.<what>].txt -> tool             one wire.ToolOutput per file: what an inbox tool (hnsdiag, vfpctrl) printed
//
// JSON files may be written by Windows PowerShell: UTF-8 or UTF-16 with a byte order mark is
// accepted, a single object where an array is expected is taken as a one-item array (that is
// what ConvertTo-Json emits for one item), and an empty file or null is an empty array (what
// it emits for none). Raw JSON is passed on verbatim, unknown fields included.
//
// Files and tool output go through the same code as on a node (package nodefiles): the same
// table of well-known paths and roles, the same size caps, the same redaction; files the table
// does not name are sent too, with a role guessed from their path. Event messages are redacted
// as the Windows event source redacts them.
//
// README.md and cluster.yaml describe the scenario and are not emitted; any other file is
// reported on the log and skipped. Events are not filtered by --since: a scenario's times are
// fixed, and replaying it later must give the same records.
//
// Each file is its own source, named like the Windows source that collects the same kind, so
// one broken file yields one error record and the rest of the scenario still replays.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/collector/redact"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// FilesDir is the scenario sub-folder mirroring the node's file system.
const FilesDir = "files"

// ToolsDir is the scenario sub-folder of inbox tool output.
const ToolsDir = "tools"

// ProbesFile holds canned probe results.
const ProbesFile = "probes.json"

// shape says what a JSON file must hold.
type shape int

const (
	arrayOfObjects shape = iota // a JSON array of objects
	object                      // a single JSON object
)

// artifactFile maps one scenario file to the artifact it becomes.
type artifactFile struct {
	file  string
	kind  string
	shape shape
	// typed, when set, decodes the normalised JSON into the wire type it must match, so a
	// mistyped field is reported here and not as a puzzling decode error in the plugin.
	typed func([]byte) error
	// redact, when set, masks secrets in the normalised JSON as the Windows source would.
	redact func([]byte) ([]byte, error)
}

func decodesAs[T any](b []byte) error {
	var v T
	return json.Unmarshal(b, &v)
}

// artifactFiles is the file -> kind table (keep it in step with the package comment and
// hack/scenarios/README.md).
var artifactFiles = []artifactFile{
	{file: "hns-networks.json", kind: wire.KindHCNNetworks, shape: arrayOfObjects},
	{file: "hns-endpoints.json", kind: wire.KindHCNEndpoints, shape: arrayOfObjects},
	{file: "hns-endpoints-v1.json", kind: wire.KindHNSEndpointsV1, shape: arrayOfObjects},
	{file: "hns-loadbalancers.json", kind: wire.KindHCNLoadBalancers, shape: arrayOfObjects},
	{file: "hns-namespaces.json", kind: wire.KindHCNNamespaces, shape: arrayOfObjects},
	{file: "hns-policylists.json", kind: wire.KindHNSPolicyLists, shape: arrayOfObjects},
	{file: "hns-version.json", kind: wire.KindHNSVersion, shape: object, typed: decodesAs[struct{ Major, Minor int }]},
	{file: "events.json", kind: wire.KindEvents, shape: arrayOfObjects, typed: decodesAs[[]wire.Event], redact: redactEventMessages},
	{file: "services.json", kind: wire.KindServices, shape: arrayOfObjects, typed: decodesAs[[]wire.ServiceState]},
	{file: "processes.json", kind: wire.KindProcesses, shape: arrayOfObjects, typed: decodesAs[[]wire.ProcessInfo]},
	{file: "os.json", kind: wire.KindOSInfo, shape: object, typed: decodesAs[wire.OSInfo]},
	{file: "host-adapters.json", kind: wire.KindHostAdapters, shape: arrayOfObjects, typed: decodesAs[[]wire.Adapter]},
	{file: "host-routes.json", kind: wire.KindHostRoutes, shape: arrayOfObjects, typed: decodesAs[[]wire.Route]},
	{file: "host-neighbors.json", kind: wire.KindHostNeighbors, shape: arrayOfObjects, typed: decodesAs[[]wire.Neighbor]},
	{file: "dns-client.json", kind: wire.KindDNSClient, shape: object, typed: decodesAs[wire.DNSClient]},
	{file: "tcp-connections.json", kind: wire.KindTCPConnections, shape: object, typed: decodesAs[wire.TCPConnections]},
	{file: "ports-ranges.json", kind: wire.KindPortRanges, shape: object, typed: decodesAs[wire.PortRanges]},
	{file: "firewall.json", kind: wire.KindFirewall, shape: object, typed: decodesAs[wire.Firewall]},
	{file: "os-hotfixes.json", kind: wire.KindHotfixes, shape: arrayOfObjects, typed: decodesAs[[]wire.Hotfix]},
	{file: "pod-compartment.json", kind: wire.KindPodCompartment, shape: object, typed: decodesAs[wire.PodCompartment]},
	{file: "pod-adapters.json", kind: wire.KindPodAdapters, shape: arrayOfObjects, typed: decodesAs[[]wire.Adapter]},
	{file: "pod-routes.json", kind: wire.KindPodRoutes, shape: arrayOfObjects, typed: decodesAs[[]wire.Route]},
	{file: "pod-dns.json", kind: wire.KindPodDNS, shape: object, typed: decodesAs[wire.DNSClient]},
}

// metadataFiles describe a scenario for people and the test harness; they are not node data.
var metadataFiles = map[string]bool{"README.md": true, "cluster.yaml": true}

// Sources returns one source per artifact family present in the scenario folder dir. Files
// are read when the sources run, so a broken file is an error record, not a failed start.
// Files the backend does not know are reported on log and skipped.
//
// requested are the probes the collector was asked for (--probe). With none, every probe
// probes.json scripts is replayed; with some, each is answered from probes.json, or skipped
// when the scenario scripts no answer for it.
func Sources(dir string, log io.Writer, requested ...probe.Target) ([]collector.Source, error) {
	if log == nil {
		log = io.Discard
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the replay scenario folder %s: %w; point it at a folder of raw dumps (see hack/scenarios/README.md)", dir, err)
	}
	present := map[string]fs.DirEntry{}
	for _, e := range entries {
		present[e.Name()] = e
	}

	var sources []collector.Source
	for _, af := range artifactFiles {
		if e, ok := present[af.file]; ok && !e.IsDir() {
			sources = append(sources, &jsonSource{path: filepath.Join(dir, af.file), spec: af})
		}
	}
	if e, ok := present[ProbesFile]; ok && !e.IsDir() || len(requested) > 0 {
		sources = append(sources, &probesSource{path: filepath.Join(dir, ProbesFile), requested: requested})
	}
	if e, ok := present[FilesDir]; ok && e.IsDir() {
		sources = append(sources, &filesSource{root: filepath.Join(dir, FilesDir)})
	}
	if e, ok := present[ToolsDir]; ok && e.IsDir() {
		tools, err := toolSources(filepath.Join(dir, ToolsDir), log)
		if err != nil {
			return nil, err
		}
		sources = append(sources, tools...)
	}

	if e, ok := present[DelayFile]; ok && !e.IsDir() {
		src, err := delayFromFile(filepath.Join(dir, DelayFile))
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}

	if e, ok := present[CrashFile]; ok && !e.IsDir() {
		src, err := crashFromFile(filepath.Join(dir, CrashFile))
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}

	known := map[string]bool{ProbesFile: true, FilesDir: true, ToolsDir: true, DelayFile: true, CrashFile: true, CaptureFile: true}
	for _, af := range artifactFiles {
		known[af.file] = true
	}
	var unknown []string
	for name := range present {
		if !known[name] && !metadataFiles[name] && !strings.HasPrefix(name, ".") {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		fmt.Fprintf(log, "winnet-collector [replay] skipping %s in %s: not a known scenario file (see hack/scenarios/README.md)\n", name, dir)
	}
	if len(sources) == 0 {
		fmt.Fprintf(log, "winnet-collector [replay] %s holds no scenario files; the stream will hold no artifacts\n", dir)
	}
	return sources, nil
}

// jsonSource replays one JSON file as one artifact.
type jsonSource struct {
	path string
	spec artifactFile
}

func (s *jsonSource) Name() string { return s.spec.kind }

func (s *jsonSource) Collect(_ context.Context, out collector.Emitter) error {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.spec.file, err)
	}
	raw, err := normalizeJSON(b, s.spec.shape)
	if err != nil {
		return fmt.Errorf("scenario file %s: %w; fix or remove the file", s.spec.file, err)
	}
	if s.spec.typed != nil {
		if err := s.spec.typed(raw); err != nil {
			return fmt.Errorf("scenario file %s does not match the %s format: %w; fix or remove the file", s.spec.file, s.spec.kind, err)
		}
	}
	if s.spec.redact != nil {
		if raw, err = s.spec.redact(raw); err != nil {
			return fmt.Errorf("scenario file %s: %w; fix or remove the file", s.spec.file, err)
		}
	}
	return out.RawArtifact(s.spec.kind, raw)
}

// normalizeJSON decodes the text (byte order marks, UTF-16), checks it is valid JSON of the
// wanted shape, and wraps a lone object into an array where an array is wanted.
func normalizeJSON(b []byte, want shape) ([]byte, error) {
	b = bytes.TrimSpace(collector.DecodeText(b))
	if want == arrayOfObjects && (len(b) == 0 || string(b) == "null") {
		return []byte("[]"), nil
	}
	if len(b) == 0 {
		return nil, errors.New("the file is empty, want a JSON object")
	}
	if err := validJSON(b); err != nil {
		return nil, err
	}
	switch want {
	case object:
		if b[0] != '{' {
			return nil, fmt.Errorf("want a JSON object, found %s", jsonType(b))
		}
	case arrayOfObjects:
		if b[0] == '{' {
			b = append(append([]byte("["), b...), ']')
		}
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("want a JSON array of objects, found %s", jsonType(b))
		}
		for i, it := range items {
			if len(it) == 0 || it[0] != '{' {
				return nil, fmt.Errorf("item %d is %s, want a JSON object", i, jsonType(it))
			}
		}
	}
	return b, nil
}

func validJSON(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
		return fmt.Errorf("not valid JSON at line %d (byte %d): %w", line, se.Offset, err)
	}
	return fmt.Errorf("not valid JSON: %w", err)
}

func jsonType(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// filesSource replays files/<drive>/... as file records, one per file: first what the node's
// file walk (nodefiles.Collect) finds there, then every other file, so a scenario can hold
// files at paths the walk does not know.
type filesSource struct{ root string }

func (s *filesSource) Name() string { return "files" }

func (s *filesSource) Collect(ctx context.Context, out collector.Emitter) error {
	send := func(fd wire.FileData) error { return out.Artifact(wire.KindFile, fd) }
	seen, err := nodefiles.Collect(ctx, nodefiles.FolderRoot(s.root), nodefiles.Sink{
		File:  send,
		Error: func(err error) { _ = out.Error(err) },
		Logf:  out.Logf,
	})
	if err != nil {
		return err
	}

	var paths []string
	err = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable folder loses its files, not the others.
			_ = out.Error(fmt.Errorf("reading scenario folder %s: %w", p, err))
			if d != nil && d.IsDir() && p != s.root {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		} else if !d.IsDir() {
			out.Logf("skipping %s: not a regular file", p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking %s: %w", s.root, err)
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			_ = out.Error(fmt.Errorf("scenario file %s: %w", p, err))
			continue
		}
		winPath, err := WindowsPath(rel)
		if err != nil {
			_ = out.Error(fmt.Errorf("scenario file %s: %w", filepath.ToSlash(filepath.Join(FilesDir, rel)), err))
			continue
		}
		if seen.Covers(winPath) {
			continue
		}
		role := nodefiles.RoleFor(winPath)
		fd, err := nodefiles.Read(p, winPath, role, nodefiles.ClassFor(winPath, role))
		if err != nil {
			_ = out.Error(fmt.Errorf("reading scenario file for %s: %w", winPath, err))
			continue
		}
		if err := send(fd); err != nil {
			if errors.Is(err, collector.ErrEmitterClosed) {
				return err
			}
			_ = out.Error(fmt.Errorf("sending %s: %w", winPath, err))
		}
	}
	return nil
}

// WindowsPath turns a path relative to files/ into the Windows path it stands for: the first
// folder is the drive letter, so C/k/kube-proxy.log is C:\k\kube-proxy.log.
func WindowsPath(rel string) (string, error) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	drive := parts[0]
	if len(drive) != 1 || !isASCIILetter(drive[0]) {
		return "", fmt.Errorf("the first folder under %s/ must be a drive letter (%s/C/k/kube-proxy.log for C:\\k\\kube-proxy.log), found %q", FilesDir, FilesDir, drive)
	}
	if len(parts) < 2 {
		return "", fmt.Errorf("a file directly under %s/%s has no path on the drive; put it in a folder such as %s/%s/k/", FilesDir, drive, FilesDir, drive)
	}
	return strings.ToUpper(drive) + `:\` + strings.Join(parts[1:], `\`), nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// redactEventMessages masks secrets in each event's message. Events whose message holds none
// are passed on verbatim; the others are re-encoded (their fields may change order).
func redactEventMessages(raw []byte) ([]byte, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	changed := false
	for i, it := range items {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal(it, &ev); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		var msg string
		if json.Unmarshal(ev["message"], &msg) != nil {
			continue
		}
		masked, n := redact.Text(msg)
		if n == 0 {
			continue
		}
		ev["message"], _ = json.Marshal(masked)
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		items[i], changed = b, true
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(items)
}
