package wincmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// errorlevel 9009 is cmd.exe's "not recognized" code; 255 its code for a line it cannot parse.
const (
	exitNotRecognized = 9009
	exitSyntax        = 255
)

// stdio is one command's standard handles.
type stdio struct {
	in       *input
	out, err io.Writer
}

// shell is one cmd.exe process.
type shell struct {
	h          *Host
	errorlevel int32
}

// runCmdExe implements cmd.exe: its switches, the /s quote rule, then the script.
func runCmdExe(ctx context.Context, h *Host, std stdio, cmdline string, _ []string) int32 {
	rest := skipProgramName(cmdline)
	strip := false
	found := false
switches:
	for {
		rest = strings.TrimLeft(rest, " \t")
		if len(rest) < 2 || rest[0] != '/' {
			break
		}
		sw := strings.ToLower(rest[1:2])
		switch sw {
		case "c":
			rest = rest[2:]
			found = true
			break switches
		case "s":
			strip = true
			rest = rest[2:]
		case "d", "q", "a", "u":
			rest = rest[2:]
		case "e", "f":
			rest = rest[2:]
			if l := strings.ToLower(rest); strings.HasPrefix(l, ":on") {
				rest = rest[3:]
			} else if strings.HasPrefix(l, ":off") {
				rest = rest[4:]
			}
		default:
			// /k (stay open), /v:on (delayed expansion), /t, /?: nothing we send uses them.
			fmt.Fprintf(std.err, "wincmd: cmd.exe switch /%s is not simulated; use /d /s /c as pkg/nodecmd does\r\n", rest[1:2])
			return 1
		}
	}
	if !found {
		fmt.Fprintf(std.err, "wincmd: cmd.exe without /c would be an interactive shell reading stdin, which is not simulated; pass /c <script>\r\n")
		return 1
	}
	script := strings.TrimLeft(rest, " \t")
	if strip || !h.keepsQuotes(script) {
		// The old rule (always, with /s): drop a leading quote and the last quote of the line.
		if strings.HasPrefix(script, `"`) {
			script = script[1:]
			if i := strings.LastIndexByte(script, '"'); i >= 0 {
				script = script[:i] + script[i+1:]
			}
		}
	}
	// A line feed ends the command line; carriage returns are dropped before parsing.
	if i := strings.IndexByte(script, '\n'); i >= 0 {
		script = script[:i]
	}
	script = strings.ReplaceAll(script, "\r", "")

	sh := &shell{h: h}
	script = sh.expand(script)
	tree, err := parseLine(script)
	if err != nil {
		fmt.Fprintf(std.err, "%s\r\n", err)
		return exitSyntax
	}
	if tree == nil {
		return 0
	}
	rc, exited := sh.run(ctx, tree, std)
	if exited {
		return rc
	}
	return sh.errorlevel
}

// keepsQuotes is cmd.exe's first /c rule, applied without /s: exactly two quotes, no special
// characters and at least one blank between them, and the quoted text names an executable.
func (h *Host) keepsQuotes(script string) bool {
	if strings.Count(script, `"`) != 2 {
		return false
	}
	first := strings.IndexByte(script, '"')
	last := strings.LastIndexByte(script, '"')
	inner := script[first+1 : last]
	if strings.ContainsAny(inner, "&<>()@^|") || !strings.ContainsAny(inner, " \t") {
		return false
	}
	_, ok := h.lookupProgram(inner)
	return ok
}

// skipProgramName drops argv[0] from a command line: quotes delimit it, nothing escapes.
func skipProgramName(line string) string {
	line = strings.TrimLeft(line, " \t")
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '"':
			inQuote = !inQuote
		case !inQuote && isBlank(line[i]):
			return line[i:]
		}
	}
	return ""
}

// expand replaces %NAME% with the variable's value. As at the cmd.exe prompt (not in a batch
// file), an undefined %NAME% stays as typed and a lone % is kept.
func (sh *shell) expand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '%' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		name := s[i+1 : i+1+j]
		if v, ok := sh.lookupVar(name); ok {
			b.WriteString(v)
			i += j + 2
			continue
		}
		// Keep "%NAME"; the closing % may open the next reference.
		b.WriteString(s[i : i+1+j])
		i += j + 1
	}
	return b.String()
}

func (sh *shell) lookupVar(name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, ':') {
		// %VAR:~n,m% and %VAR:a=b% are not simulated: left literal, which no script relies on.
		return "", false
	}
	switch strings.ToUpper(name) {
	case "ERRORLEVEL":
		return strconv.Itoa(int(sh.errorlevel)), true
	case "CD":
		return strings.TrimSuffix(SandboxPath, `\`), true
	}
	for k, v := range sh.h.shellEnv() {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// run executes a node; exited reports an EXIT that ends this cmd.exe.
func (sh *shell) run(ctx context.Context, n node, std stdio) (rc int32, exited bool) {
	if ctx.Err() != nil {
		return 1, true
	}
	switch n := n.(type) {
	case *binaryCmd:
		switch n.op {
		case "|":
			return sh.runPipe(ctx, n, std), false
		}
		rc, exited = sh.run(ctx, n.left, std)
		if exited {
			return rc, true
		}
		switch {
		case n.op == "&", n.op == "&&" && rc == 0, n.op == "||" && rc != 0:
			return sh.run(ctx, n.right, std)
		}
		return rc, false
	case *groupCmd:
		gio, cleanup, ok := sh.redirect(n.redirs, std)
		if !ok {
			return 1, false
		}
		defer cleanup()
		if n.body == nil {
			return 0, false
		}
		return sh.run(ctx, n.body, gio)
	case *ifCmd:
		if sh.condition(n) != n.not {
			return sh.run(ctx, n.body, std)
		}
		if n.elseBody != nil {
			return sh.run(ctx, n.elseBody, std)
		}
		return 0, false
	case *simpleCmd:
		cio, cleanup, ok := sh.redirect(n.redirs, std)
		if !ok {
			return 1, false
		}
		defer cleanup()
		return sh.simple(ctx, n.text, cio)
	}
	return 0, false
}

// runPipe runs both sides at once, each in its own cmd.exe as Windows does: an EXIT on
// either side ends only that side, and each starts at errorlevel 0. The right side's code is
// the pipeline's. (Windows also re-parses each side's text in the child cmd.exe, expanding
// %VAR% a second time; that is not simulated.)
func (sh *shell) runPipe(ctx context.Context, n *binaryCmd, std stdio) int32 {
	pr, pw := newPipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		left := &shell{h: sh.h}
		left.run(ctx, n.left, stdio{in: std.in, out: pw, err: std.err})
		pw.Close()
	}()
	right := &shell{h: sh.h}
	rin := newInput(pr)
	rc, exited := right.run(ctx, n.right, stdio{in: rin, out: std.out, err: std.err})
	if !exited {
		rc = right.errorlevel
	}
	rin.close()
	// A writer still going gets a broken pipe, as on Windows.
	pr.CloseWithError(errBrokenPipe)
	wg.Wait()
	sh.errorlevel = rc
	return rc
}

func (sh *shell) condition(n *ifCmd) bool {
	switch n.cond {
	case "exist":
		p, err := sh.h.MapPath(unquote(n.a))
		if err != nil {
			return false
		}
		_, err = os.Stat(p)
		return err == nil
	case "errorlevel":
		v, err := strconv.Atoi(n.a)
		return err == nil && int(sh.errorlevel) >= v
	case "defined":
		_, ok := sh.lookupVar(n.a)
		return ok
	}
	if n.foldCase {
		return strings.EqualFold(n.a, n.b)
	}
	return n.a == n.b
}

// redirect applies redirections left to right; a target that cannot be opened skips the
// command with cmd.exe's message and errorlevel 1.
func (sh *shell) redirect(rs []redirect, std stdio) (stdio, func(), bool) {
	var closers []func()
	cleanup := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, r := range rs {
		if r.fd > 2 {
			continue
		}
		if strings.HasPrefix(r.target, "&") {
			src := int(r.target[1] - '0')
			switch {
			case r.op == "<":
				if src == 0 {
					continue
				}
			case src == 1:
				std = setOut(std, r.fd, std.out)
				continue
			case src == 2:
				std = setOut(std, r.fd, std.err)
				continue
			}
			fmt.Fprintf(std.err, "The handle could not be duplicated\r\nduring redirection of handle %d.\r\n", r.fd)
			cleanup()
			sh.errorlevel = 1
			return std, nil, false
		}
		if r.op == "<" {
			if isNulDevice(r.target) {
				std.in = newInput(nil)
				continue
			}
			f, err := sh.openRedirect(r)
			if err != nil {
				fmt.Fprintf(std.err, "%s\r\n", err)
				cleanup()
				sh.errorlevel = 1
				return std, nil, false
			}
			in := newInput(f)
			closers = append(closers, func() { in.close(); f.Close() })
			std.in = in
			continue
		}
		if isNulDevice(r.target) {
			std = setOut(std, r.fd, discard{})
			continue
		}
		f, err := sh.openRedirect(r)
		if err != nil {
			fmt.Fprintf(std.err, "%s\r\n", err)
			cleanup()
			sh.errorlevel = 1
			return std, nil, false
		}
		closers = append(closers, func() { f.Close() })
		std = setOut(std, r.fd, &lockedWriter{w: f})
	}
	return std, cleanup, true
}

func setOut(std stdio, fd int, w io.Writer) stdio {
	if fd == 2 {
		std.err = w
	} else {
		std.out = w
	}
	return std
}

func (sh *shell) openRedirect(r redirect) (*os.File, error) {
	p, err := sh.h.MapPath(r.target)
	if err != nil {
		return nil, err
	}
	var f *os.File
	switch r.op {
	case "<":
		f, err = os.Open(p)
	case ">>":
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	default:
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	if err != nil {
		return nil, statError(p, err)
	}
	return f, nil
}

// simple runs one command: a builtin, or a program found by name or path.
func (sh *shell) simple(ctx context.Context, text string, std stdio) (int32, bool) {
	text = strings.TrimLeft(text, " \t,;=")
	name, rest := splitCommandName(text)
	if name == "" {
		return 0, false
	}
	lower := strings.ToLower(name)
	switch {
	case lower == "echo" || (strings.HasPrefix(lower, "echo") && strings.IndexByte(".(:/\\[]+", lower[4]) >= 0):
		return sh.echo(name, rest, std), false
	case lower == "exit":
		return sh.exit(rest), true
	case lower == "mkdir" || lower == "md":
		return sh.mkdir(rest, std), false
	case unsimulatedBuiltins[lower]:
		fmt.Fprintf(std.err, "wincmd: the cmd.exe internal command %q is not simulated; add it to hack/e2e/simnode/wincmd if the plugin needs it\r\n", name)
		sh.errorlevel = 1
		return 1, false
	}
	prog, ok := sh.h.lookupProgram(unquote(name))
	if !ok {
		fmt.Fprintf(std.err, "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", unquote(name))
		sh.errorlevel = exitNotRecognized
		return exitNotRecognized, false
	}
	rc := prog.run(ctx, sh.h, std, text, SplitCommandLine(text))
	sh.errorlevel = rc
	return rc, false
}

var unsimulatedBuiltins = map[string]bool{
	"assoc": true, "break": true, "call": true, "cd": true, "chdir": true, "cls": true, "color": true,
	"copy": true, "date": true, "del": true, "dir": true, "endlocal": true, "erase": true, "for": true,
	"ftype": true, "goto": true, "mklink": true, "move": true, "path": true, "popd": true, "prompt": true,
	"pushd": true, "rd": true, "rem": true, "ren": true, "rename": true, "rmdir": true, "set": true,
	"setlocal": true, "shift": true, "start": true, "time": true, "title": true, "type": true,
	"ver": true, "verify": true, "vol": true,
}

// splitCommandName splits the command word from the rest. The word ends at a blank or at
// , ; = outside quotes.
func splitCommandName(text string) (string, string) {
	inQuote := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && (isBlank(c) || c == ',' || c == ';' || c == '=') {
			return text[:i], text[i:]
		}
	}
	return text, ""
}

func (sh *shell) echo(name, rest string, std stdio) int32 {
	var msg string
	if len(name) > 4 {
		// echo. echo( echo: ... print what follows the punctuation, even nothing.
		msg = name[5:] + rest
	} else {
		if strings.Trim(rest, " \t") == "" {
			fmt.Fprint(std.out, "ECHO is on.\r\n")
			return 0
		}
		msg = rest[1:] // exactly one delimiter is dropped; trailing blanks are kept
		if t := strings.TrimSpace(msg); strings.EqualFold(t, "on") || strings.EqualFold(t, "off") {
			return 0
		}
	}
	fmt.Fprint(std.out, msg+"\r\n")
	return 0
}

// exit implements EXIT [/B] [code]. Outside a batch file /B also ends cmd.exe; without a
// code the current errorlevel is kept.
func (sh *shell) exit(rest string) int32 {
	f := strings.Fields(rest)
	if len(f) > 0 && strings.EqualFold(f[0], "/b") {
		f = f[1:]
	}
	if len(f) == 0 {
		return sh.errorlevel
	}
	// cmd.exe reads the code like atoi: leading digits, anything else is 0.
	s := f[0]
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	v, err := strconv.ParseInt(s[:end], 10, 32)
	if err != nil {
		v = 0
	}
	sh.errorlevel = int32(v)
	return int32(v)
}

func (sh *shell) mkdir(rest string, std stdio) int32 {
	args := splitArgs(rest)
	if len(args) == 0 {
		fmt.Fprint(std.err, "The syntax of the command is incorrect.\r\n")
		sh.errorlevel = 1
		return 1
	}
	var rc int32
	for _, a := range args {
		p, err := sh.h.MapPath(unquote(a))
		if err == nil {
			if _, serr := os.Stat(p); serr == nil {
				fmt.Fprintf(std.err, "A subdirectory or file %s already exists.\r\n", unquote(a))
				rc = 1
				continue
			}
			err = os.MkdirAll(p, 0o755)
			if err != nil {
				err = errPathNotFound
			}
		}
		if err != nil {
			fmt.Fprintf(std.err, "%s\r\n", err)
			rc = 1
		}
	}
	if rc != 0 {
		sh.errorlevel = rc
	}
	return rc
}

// splitArgs splits builtin arguments on blanks and , ; = outside quotes, quotes kept.
func splitArgs(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t,;=")
		if s == "" {
			return out
		}
		word, rest := splitCommandName(s)
		out = append(out, word)
		s = rest
	}
}

func unquote(s string) string { return strings.ReplaceAll(s, `"`, "") }
