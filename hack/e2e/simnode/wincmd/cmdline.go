package wincmd

import "strings"

// EscapeArg quotes one argument the way Windows runtimes do when they build a process command
// line from argv (the rules of Go's syscall.EscapeArg, which containerd/hcsshim apply): an
// argument holding a space or tab is wrapped in quotes, an embedded quote becomes \" and the
// backslashes right before a quote (or before the closing quote) are doubled.
//
// cmd.exe knows none of this: it sees the \" literally. That mismatch is what the simulator
// must reproduce, so scripts with quotes break here exactly as they would on a node.
func EscapeArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, "\" \t\\") {
		return s
	}
	hasSpace := strings.ContainsAny(s, " \t")
	needsBackslash := strings.ContainsAny(s, `"\`)
	if !needsBackslash {
		return `"` + s + `"`
	}
	var b strings.Builder
	if hasSpace {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			// Double the backslashes in front of the quote, then escape the quote itself.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	if hasSpace {
		// Trailing backslashes would otherwise escape the closing quote.
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}

// JoinCommandLine builds the single command line a Windows process receives from argv.
func JoinCommandLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = EscapeArg(a)
	}
	return strings.Join(parts, " ")
}

// SplitCommandLine parses a command line into argv the way the Microsoft C runtime (and Go's
// os.Args on Windows) does, which is how certutil, findstr, tar and the collector see their
// arguments. The program name follows simpler rules: quotes delimit it, backslashes are literal.
func SplitCommandLine(line string) []string {
	var argv []string
	i := 0
	// Program name.
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	if i >= len(line) {
		return nil
	}
	var name strings.Builder
	inQuote := false
	for ; i < len(line); i++ {
		c := line[i]
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && isBlank(c) {
			break
		}
		name.WriteByte(c)
	}
	argv = append(argv, name.String())

	for {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i >= len(line) {
			return argv
		}
		var arg strings.Builder
		inQuote = false
		for i < len(line) {
			c := line[i]
			if !inQuote && isBlank(c) {
				break
			}
			if c == '\\' {
				n := 0
				for i < len(line) && line[i] == '\\' {
					n++
					i++
				}
				if i < len(line) && line[i] == '"' {
					arg.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						arg.WriteByte('"')
						i++
					}
					continue
				}
				arg.WriteString(strings.Repeat(`\`, n))
				continue
			}
			if c == '"' {
				if inQuote && i+1 < len(line) && line[i+1] == '"' {
					// "" inside quotes is a literal quote (post-2008 C runtime rule).
					arg.WriteByte('"')
					i += 2
					continue
				}
				inQuote = !inQuote
				i++
				continue
			}
			arg.WriteByte(c)
			i++
		}
		argv = append(argv, arg.String())
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
