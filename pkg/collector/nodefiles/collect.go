package nodefiles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/redact"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Root maps a Windows path (C:\k\config) to a path the os package opens: itself on Windows,
// a file under a scenario's files/ folder in replay.
type Root func(winPath string) string

// Sink receives what Collect finds. File is called once per file record; an error it returns
// other than a size refusal stops the walk (the stream is gone). Error reports a file that
// could not be read; the walk goes on.
type Sink struct {
	File  func(wire.FileData) error
	Error func(error)
	Logf  func(format string, args ...any)
}

// Seen is what a walk covered, so a replay can tell which of its files are left over.
type Seen struct {
	files   map[string]bool // lower-case Windows paths sent or tried
	binDirs []string        // lower-case bin folders listed
}

// Covers reports whether the walk sent winPath or listed the folder it is in.
func (s *Seen) Covers(winPath string) bool {
	p := strings.ToLower(winPath)
	if s.files[p] {
		return true
	}
	dir, _ := splitWin(p)
	for _, b := range s.binDirs {
		if dir == b {
			return true
		}
	}
	return false
}

// walker carries one Collect's state.
type walker struct {
	ctx    context.Context
	root   Root
	sink   Sink
	seen   *Seen
	budget int64
	over   []string // files skipped because the budget ran out
}

// Collect reads the node's files: containerd's config, the CNI configs in the folders it names
// (and the well-known ones), a listing of the CNI binaries, then every Candidate. Each file is
// capped (see Class), decoded to UTF-8 and redacted before sink.File sees it. Missing files
// are skipped silently: every node has only some of them.
func Collect(ctx context.Context, root Root, sink Sink) (*Seen, error) {
	if sink.Logf == nil {
		sink.Logf = func(string, ...any) {}
	}
	w := &walker{ctx: ctx, root: root, sink: sink, seen: &Seen{files: map[string]bool{}}, budget: totalBudget}

	dirs := CNIDirs{}
	for _, c := range ContainerdConfigs {
		w.seen.files[strings.ToLower(c.Path)] = true
		fd, err := w.read(c.Path, c.Role, c.Class)
		if err != nil {
			if stop := w.fail(c.Path, err); stop != nil {
				return w.seen, stop
			}
			continue
		}
		parsed := ParseContainerdCNI(fd.Content)
		dirs.ConfDirs = append(dirs.ConfDirs, parsed.ConfDirs...)
		dirs.BinDirs = append(dirs.BinDirs, parsed.BinDirs...)
		if err := w.send(fd); err != nil {
			return w.seen, err
		}
	}

	for _, dir := range dedupe(append(dirs.ConfDirs, DefaultCNIConfDirs...)) {
		names, err := w.list(dir, isCNIConfigName, MaxConfigMatches)
		if err != nil {
			w.sink.Error(err)
			continue
		}
		for _, name := range names {
			if err := w.readAndSend(dir+`\`+name, wire.RoleCNIConfig, Config); err != nil {
				return w.seen, err
			}
		}
	}

	for _, dir := range dedupe(append(dirs.BinDirs, DefaultCNIBinDirs...)) {
		if err := w.listBinaries(dir); err != nil {
			return w.seen, err
		}
	}

	for _, c := range Candidates {
		if err := w.candidate(c); err != nil {
			return w.seen, err
		}
	}
	if len(w.over) > 0 {
		w.sink.Error(fmt.Errorf("%d file(s) were not sent because the run's file budget of %d MiB was spent (%s); read them on the node if they matter",
			len(w.over), MaxTotalBytes>>20, strings.Join(firstN(w.over, 5), ", ")))
	}
	return w.seen, nil
}

func (w *walker) candidate(c Candidate) error {
	dir, base := splitWin(c.Path)
	if !hasWildcard(base) {
		return w.readAndSend(c.Path, c.Role, c.Class)
	}
	limit := MaxConfigMatches
	if c.Class == Log {
		limit = MaxLogMatches
	}
	names, err := w.list(dir, func(name string) bool { return matchBase(base, name) }, limit)
	if err != nil {
		w.sink.Error(err)
		return nil
	}
	for _, name := range names {
		if err := w.readAndSend(dir+`\`+name, c.Role, c.Class); err != nil {
			return err
		}
	}
	return nil
}

// readAndSend reads one file and sends it; a file already sent is skipped (two patterns may
// match it). Only a failure of the stream is returned.
func (w *walker) readAndSend(winPath, role string, class Class) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.seen.files[strings.ToLower(winPath)] {
		return nil
	}
	// Marked before reading: a file that fails is reported once, not again by a replay's
	// sweep of its leftovers.
	w.seen.files[strings.ToLower(winPath)] = true
	fd, err := w.read(winPath, role, class)
	if err != nil {
		return w.fail(winPath, err)
	}
	return w.send(fd)
}

func (w *walker) read(winPath, role string, class Class) (wire.FileData, error) {
	if w.budget <= 0 {
		if _, err := os.Stat(w.root(winPath)); err != nil {
			return wire.FileData{}, err // missing files stay silent
		}
		return wire.FileData{}, errBudget
	}
	return Read(w.root(winPath), winPath, role, class)
}

var errBudget = errors.New("the file budget is spent")

// totalBudget is MaxTotalBytes; tests lower it.
var totalBudget int64 = MaxTotalBytes

// ErrNotFile is returned by Read for a path that is a folder or a device: a node where a
// well-known file name is taken by something else. Collect skips it like a missing file.
var ErrNotFile = errors.New("not a regular file")

// fail reports a read failure: silence for a missing file, a note for the budget, an error
// record otherwise. It returns an error only when the walk must stop.
func (w *walker) fail(winPath string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, ErrNotFile):
		w.sink.Logf("skipping %s: %v", winPath, err)
	case errors.Is(err, errBudget):
		w.over = append(w.over, winPath)
	default:
		w.sink.Error(err)
	}
	return w.ctx.Err()
}

func (w *walker) send(fd wire.FileData) error {
	w.seen.files[strings.ToLower(fd.Path)] = true
	w.budget -= int64(len(fd.Content))
	if err := w.sink.File(fd); err != nil {
		if errors.Is(err, collector.ErrEmitterClosed) || w.ctx.Err() != nil {
			return err
		}
		// One record refused (too large to encode): report it and go on with the others.
		w.sink.Error(fmt.Errorf("sending %s: %w", fd.Path, err))
	}
	return nil
}

// list returns the names of regular files in a Windows folder that keep accepts, newest first,
// at most limit of them. A missing folder is an empty list.
func (w *walker) list(winDir string, keep func(string) bool, limit int) ([]string, error) {
	entries, err := os.ReadDir(w.root(winDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", winDir, err)
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() || !keep(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted since the listing
		}
		files = append(files, file{e.Name(), info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.After(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	if len(files) > limit {
		w.sink.Logf("%s: %d matching files, reading the newest %d", winDir, len(files), limit)
		files = files[:limit]
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names, nil
}

// listBinaries sends one record naming the files in a CNI bin folder: which plugins a CNI
// config can call (sdnbridge, sdnoverlay, flannel, azure-vnet, calico, host-local, win-bridge).
func (w *walker) listBinaries(winDir string) error {
	entries, err := os.ReadDir(w.root(winDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		w.sink.Error(fmt.Errorf("listing the CNI binaries in %s: %w", winDir, err))
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	total := len(names)
	names = firstN(names, MaxListedNames)
	content := strings.Join(names, "\n")
	if total > 0 {
		content += "\n"
	}
	w.seen.binDirs = append(w.seen.binDirs, strings.ToLower(winDir))
	return w.send(wire.FileData{Path: winDir, Role: wire.RoleCNIBinaries, Size: int64(total), Truncated: total > len(names), Content: content})
}

// Read reads the file at local (winPath is its name on the node) as a file record: decoded
// to UTF-8, capped by class (a log keeps its newest lines), and redacted.
func Read(local, winPath, role string, class Class) (wire.FileData, error) {
	limit := int64(MaxConfigBytes)
	if class == Log {
		limit = MaxLogBytes
	}
	if st, err := os.Stat(local); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return wire.FileData{}, err
		}
		return wire.FileData{}, fmt.Errorf("reading %s: %w", winPath, err)
	} else if !st.Mode().IsRegular() {
		return wire.FileData{}, fmt.Errorf("%s is %w", winPath, ErrNotFile)
	}
	text, size, truncated, err := collector.ReadText(local, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return wire.FileData{}, err
		}
		return wire.FileData{}, fmt.Errorf("reading %s: %w", winPath, err)
	}
	text, n := redact.Text(text)
	return wire.FileData{Path: winPath, Role: role, Size: size, Truncated: truncated, Redacted: n, Content: text}, nil
}

// WindowsRoot maps Windows paths to themselves: the collector runs on the node.
func WindowsRoot(winPath string) string { return winPath }

// FolderRoot maps Windows paths into a folder that mirrors the node's drives:
// C:\k\config is <dir>/C/k/config (or <dir>/c/k/config).
func FolderRoot(dir string) Root {
	return func(winPath string) string {
		drive, rest, ok := strings.Cut(winPath, `:\`)
		if !ok || len(drive) != 1 {
			return filepath.Join(dir, "invalid-windows-path", filepath.FromSlash(strings.ReplaceAll(winPath, `\`, "/")))
		}
		parts := append([]string{dir, strings.ToUpper(drive)}, strings.Split(rest, `\`)...)
		p := filepath.Join(parts...)
		if _, err := os.Lstat(filepath.Join(dir, strings.ToUpper(drive))); err != nil {
			parts[1] = strings.ToLower(drive)
			p = filepath.Join(parts...)
		}
		return p
	}
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		s = strings.TrimRight(strings.ReplaceAll(s, "/", `\`), `\`)
		if k := strings.ToLower(s); s != "" && !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func firstN(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}
