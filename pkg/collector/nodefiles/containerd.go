package nodefiles

import (
	"strconv"
	"strings"
)

// CNIDirs are the CNI folders a containerd config names.
type CNIDirs struct {
	ConfDirs []string
	BinDirs  []string
}

// ParseContainerdCNI finds the CNI conf and bin folders in a containerd config.toml. It reads
// only what it needs, without a TOML library: the keys conf_dir, bin_dir and bin_dirs (an
// array, containerd 2.1 and later) in the CRI plugin's cni table, whichever config version
// names it:
//
//	version 1: [plugins.cri.cni]
//	version 2: [plugins."io.containerd.grpc.v1.cri".cni]
//	version 3: [plugins.'io.containerd.cri.v1.runtime'.cni]
//
// Keys in other tables, comments, and values it cannot read are ignored: the caller falls back
// to the well-known folders.
func ParseContainerdCNI(text string) CNIDirs {
	var d CNIDirs
	inCNI := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(stripComment(line))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			inCNI = isCRICNITable(line)
			continue
		}
		if !inCNI {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.Trim(strings.TrimSpace(key), `"'`) {
		case "conf_dir":
			if s, ok := tomlString(strings.TrimSpace(value)); ok && s != "" {
				d.ConfDirs = append(d.ConfDirs, s)
			}
		case "bin_dir":
			if s, ok := tomlString(strings.TrimSpace(value)); ok && s != "" {
				d.BinDirs = append(d.BinDirs, s)
			}
		case "bin_dirs":
			d.BinDirs = append(d.BinDirs, tomlStringArray(strings.TrimSpace(value))...)
		}
	}
	return d
}

// isCRICNITable reports whether a [table] header names the CRI plugin's cni table.
func isCRICNITable(header string) bool {
	h := strings.TrimSpace(strings.Trim(header, "[]"))
	if !strings.HasSuffix(h, ".cni") {
		return false
	}
	parent := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSuffix(h, ".cni"), `"`, ""), `'`, "")
	return parent == "plugins.cri" || strings.HasPrefix(parent, "plugins.io.containerd.") && strings.Contains(parent, ".cri")
}

// stripComment drops a # comment that is not inside a string.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == '"' && c == '\\':
			i++ // skip the escaped character
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && c == '#':
			return line[:i]
		}
	}
	return line
}

// tomlString reads a TOML basic ("C:\\etc") or literal ('C:\etc') string.
func tomlString(v string) (string, bool) {
	if len(v) < 2 {
		return "", false
	}
	switch v[0] {
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", false
		}
		return v[1 : 1+end], true
	case '"':
		end := closingQuote(v)
		if end < 0 {
			return "", false
		}
		s, err := strconv.Unquote(v[:end+1])
		if err != nil {
			// TOML escapes are a subset of Go's; a value Go refuses is one we cannot trust.
			return "", false
		}
		return s, true
	}
	return "", false
}

// closingQuote returns the index of the quote closing the basic string that v starts with.
func closingQuote(v string) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// tomlStringArray reads a one-line array of strings: ["C:\\a", 'C:\b'].
func tomlStringArray(v string) []string {
	if !strings.HasPrefix(v, "[") {
		return nil
	}
	v = strings.TrimSpace(v[1:])
	var out []string
	for v != "" && v[0] != ']' {
		var s string
		var n int
		switch v[0] {
		case '\'':
			end := strings.IndexByte(v[1:], '\'')
			if end < 0 {
				return out
			}
			s, n = v[1:1+end], end+2
		case '"':
			end := closingQuote(v)
			if end < 0 {
				return out
			}
			u, err := strconv.Unquote(v[:end+1])
			if err != nil {
				return out
			}
			s, n = u, end+1
		default:
			return out
		}
		if s != "" {
			out = append(out, s)
		}
		v = strings.TrimSpace(v[n:])
		v = strings.TrimSpace(strings.TrimPrefix(v, ","))
	}
	return out
}
