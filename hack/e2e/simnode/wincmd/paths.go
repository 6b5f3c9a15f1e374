package wincmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// SandboxPath is %CONTAINER_SANDBOX_MOUNT_POINT% as current containerd sets it for HostProcess
// containers. The trailing backslash is real: scripts appending "\dir" produce C:\hpc\\dir,
// which Windows tolerates.
const SandboxPath = `C:\hpc\`

// Windows error texts, as cmd.exe and most inbox tools print them.
const (
	msgPathNotFound = "The system cannot find the path specified."
	msgFileNotFound = "The system cannot find the file specified."
	msgBadSyntax    = "The filename, directory name, or volume label syntax is incorrect."
)

// pathError says why a Windows path cannot be used, in Windows' own words.
type pathError struct {
	text string
	code int // Win32 error code
}

func (e *pathError) Error() string { return e.text }

var (
	errPathNotFound = &pathError{text: msgPathNotFound, code: 3}
	errBadSyntax    = &pathError{text: msgBadSyntax, code: 123}
)

// MapPath maps a Windows path to the Linux file standing in for it. Only the sandbox
// (C:\hpc\..., case-insensitive, either slash, repeated separators tolerated) exists; relative
// paths are relative to the sandbox, which is a HostProcess container's working directory.
// Everything else, Linux paths included (/dev/null is C:\dev\null to Windows), is a path
// Windows cannot find.
func (h *Host) MapPath(win string) (string, error) {
	p := strings.ReplaceAll(win, "/", `\`)
	if strings.HasPrefix(p, `\\`) {
		// UNC and device paths (\\server\share, \\?\C:\...) are not part of the sandbox.
		return "", errPathNotFound
	}
	var comps []string
	switch {
	case len(p) >= 2 && p[1] == ':':
		if p[0] != 'c' && p[0] != 'C' {
			return "", errPathNotFound
		}
		p = p[2:]
		if !strings.HasPrefix(p, `\`) {
			comps = []string{"hpc"} // drive-relative: the current directory of drive C:
		}
	case strings.HasPrefix(p, `\`):
		// Root of the current drive, C:.
	default:
		comps = []string{"hpc"}
	}
	for _, c := range strings.Split(p, `\`) {
		switch c {
		case "", ".":
		case "..":
			if len(comps) > 0 {
				comps = comps[:len(comps)-1]
			}
		default:
			if strings.ContainsAny(c, `<>:"|?*`) {
				return "", errBadSyntax
			}
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 || !strings.EqualFold(comps[0], "hpc") {
		return "", errPathNotFound
	}
	return resolveFold(h.Root, comps[1:]), nil
}

// resolveFold joins comps under root, matching each existing component case-insensitively as
// NTFS does: a file written as Winnet\X.exe is found as winnet\x.exe.
func resolveFold(root string, comps []string) string {
	cur := root
	for i, c := range comps {
		next := filepath.Join(cur, c)
		if _, err := os.Lstat(next); err == nil {
			cur = next
			continue
		}
		entries, err := os.ReadDir(cur)
		if err != nil {
			return filepath.Join(append([]string{cur}, comps[i:]...)...)
		}
		found := false
		for _, e := range entries {
			if strings.EqualFold(e.Name(), c) {
				cur = filepath.Join(cur, e.Name())
				found = true
				break
			}
		}
		if !found {
			return filepath.Join(append([]string{cur}, comps[i:]...)...)
		}
	}
	return cur
}

// statError classifies a failed lookup of a mapped file the way Windows does: a missing
// parent folder is "path not found" (3), a missing file in an existing folder is "file not
// found" (2).
func statError(linux string, err error) *pathError {
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(filepath.Dir(linux)); perr != nil {
			return errPathNotFound
		}
		return &pathError{text: msgFileNotFound, code: 2}
	}
	return &pathError{text: "Access is denied.", code: 5}
}

// isNulDevice reports whether a redirection target names the NUL device, which Windows
// recognises in any folder and with an optional colon.
func isNulDevice(target string) bool {
	t := strings.ReplaceAll(target, "/", `\`)
	if i := strings.LastIndexByte(t, '\\'); i >= 0 {
		t = t[i+1:]
	}
	t = strings.TrimSuffix(t, ":")
	return strings.EqualFold(t, "nul")
}
