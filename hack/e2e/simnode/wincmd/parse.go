package wincmd

import "strings"

// The cmd.exe grammar for one command line, as far as the simulator goes:
//
//	line    := seq
//	seq     := andor { "&" andor }        lowest precedence; a trailing "&" is allowed
//	andor   := pipe { ("&&" | "||") pipe }
//	pipe    := command { "|" command }    each side runs in its own cmd.exe
//	command := "(" seq ")" redirs | "if" cond (group ["else" command] | seq) | simple
//
// Outside quotes, ^ escapes the next character and & | < > ( ) are special; inside quotes
// nothing is. Redirections may sit anywhere in a simple command. A simple command keeps its
// raw text (quotes included) because external programs parse their own command line.

type node interface{ isNode() }

type redirect struct {
	fd     int    // 0 stdin, 1 stdout, 2 stderr (3-9 accepted, ignored)
	op     string // "<", ">" or ">>"
	target string // file name without quotes, or "&N" for a handle copy
}

type simpleCmd struct {
	text   string // escapes resolved, quotes kept, redirections removed
	redirs []redirect
}

type groupCmd struct {
	body   node // nil for "()"
	redirs []redirect
}

type binaryCmd struct {
	op          string // "&", "&&", "||", "|"
	left, right node
}

type ifCmd struct {
	foldCase bool
	not      bool
	cond     string // "exist", "errorlevel", "defined" or "=="
	a, b     string
	body     node
	elseBody node // nil without ELSE
}

func (*simpleCmd) isNode() {}
func (*groupCmd) isNode()  {}
func (*binaryCmd) isNode() {}
func (*ifCmd) isNode()     {}

// syntaxError is what cmd.exe prints before refusing the whole line.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func unexpected(tok string) error {
	return &syntaxError{msg: tok + " was unexpected at this time."}
}

var errIncorrectSyntax = &syntaxError{msg: "The syntax of the command is incorrect."}

type parser struct {
	s     string
	i     int
	depth int // open parentheses
}

func parseLine(s string) (node, error) {
	p := &parser{s: s}
	n, err := p.seq()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	if p.i < len(p.s) {
		// Only a ")" outside any group can be left over; cmd.exe treats a line starting with
		// one as a no-op, and we refuse it rather than guess.
		return nil, unexpected(string(p.s[p.i]))
	}
	return n, nil
}

func (p *parser) peek(tok string) bool { return p.i <= len(p.s) && strings.HasPrefix(p.s[p.i:], tok) }

func (p *parser) atEnd() bool { return p.i >= len(p.s) }

func (p *parser) skipBlanks() {
	for p.i < len(p.s) && isBlank(p.s[p.i]) {
		p.i++
	}
}

// atCloser reports a ")" that ends the current group.
func (p *parser) atCloser() bool { return p.depth > 0 && p.peek(")") }

func (p *parser) seq() (node, error) {
	left, err := p.andOr()
	if err != nil {
		return nil, err
	}
	for {
		p.skipBlanks()
		if !p.peek("&") || p.peek("&&") {
			return left, nil
		}
		if left == nil {
			return nil, unexpected("&")
		}
		p.i++
		p.skipBlanks()
		if p.atEnd() || p.atCloser() {
			return left, nil
		}
		right, err := p.andOr()
		if err != nil {
			return nil, err
		}
		if right == nil {
			return nil, p.unexpectedHere()
		}
		left = &binaryCmd{op: "&", left: left, right: right}
	}
}

func (p *parser) andOr() (node, error) {
	left, err := p.pipe()
	if err != nil {
		return nil, err
	}
	for {
		p.skipBlanks()
		var op string
		switch {
		case p.peek("&&"):
			op = "&&"
		case p.peek("||"):
			op = "||"
		default:
			return left, nil
		}
		if left == nil {
			return nil, unexpected(op)
		}
		p.i += 2
		right, err := p.pipe()
		if err != nil {
			return nil, err
		}
		if right == nil {
			return nil, p.missingRight()
		}
		left = &binaryCmd{op: op, left: left, right: right}
	}
}

func (p *parser) pipe() (node, error) {
	left, err := p.command()
	if err != nil {
		return nil, err
	}
	for {
		p.skipBlanks()
		if !p.peek("|") || p.peek("||") {
			return left, nil
		}
		if left == nil {
			return nil, unexpected("|")
		}
		p.i++
		right, err := p.command()
		if err != nil {
			return nil, err
		}
		if right == nil {
			return nil, p.missingRight()
		}
		left = &binaryCmd{op: "|", left: left, right: right}
	}
}

// missingRight is the error for an operator with nothing after it.
func (p *parser) missingRight() error {
	p.skipBlanks()
	if p.atEnd() {
		return errIncorrectSyntax
	}
	return p.unexpectedHere()
}

func (p *parser) unexpectedHere() error {
	p.skipBlanks()
	for _, op := range []string{"&&", "||", "&", "|", ")"} {
		if p.peek(op) {
			return unexpected(op)
		}
	}
	return errIncorrectSyntax
}

// command parses one command, or returns nil when there is none before an operator.
func (p *parser) command() (node, error) {
	// Leading token delimiters and the echo-suppressing @ are dropped.
	for p.i < len(p.s) && strings.IndexByte(" \t,;=@", p.s[p.i]) >= 0 {
		p.i++
	}
	if p.atEnd() || p.atCloser() || p.peek("&") || p.peek("|") {
		return nil, nil
	}
	if p.peek("(") {
		return p.group(false)
	}
	if p.keyword("if") {
		return p.ifCommand()
	}
	return p.simple()
}

// keyword reports whether the next word is kw (case-insensitive) followed by a blank.
func (p *parser) keyword(kw string) bool {
	rest := p.s[p.i:]
	return len(rest) > len(kw) && strings.EqualFold(rest[:len(kw)], kw) && isBlank(rest[len(kw)])
}

// group parses "( seq )" and its redirections; an IF body (ifBody) may be followed by ELSE.
func (p *parser) group(ifBody bool) (node, error) {
	p.i++ // (
	p.depth++
	body, err := p.seq()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	if !p.peek(")") {
		// cmd.exe would prompt "More?" for the rest of the group; with /c there is no rest.
		return nil, errIncorrectSyntax
	}
	p.i++
	p.depth--
	g := &groupCmd{body: body}
	for {
		p.skipBlanks()
		if p.atEnd() || p.atCloser() || p.peek("&") || p.peek("|") || (ifBody && p.keyword("else")) {
			return g, nil
		}
		r, ok, err := p.redirection(nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, unexpected(p.word())
		}
		g.redirs = append(g.redirs, r)
	}
}

// word reads the next token for an error message.
func (p *parser) word() string {
	start := p.i
	for p.i < len(p.s) && !isBlank(p.s[p.i]) && strings.IndexByte("&|<>()", p.s[p.i]) < 0 {
		p.i++
	}
	if p.i == start && p.i < len(p.s) {
		p.i++
	}
	return p.s[start:p.i]
}

// redirection parses "<", ">", ">>", optionally preceded by a handle digit that the caller
// has already taken off the command text, and its target.
func (p *parser) redirection(handle *int) (redirect, bool, error) {
	var r redirect
	switch {
	case p.peek(">>"):
		r.op, r.fd = ">>", 1
		p.i += 2
	case p.peek(">"):
		r.op, r.fd = ">", 1
		p.i++
	case p.peek("<"):
		r.op, r.fd = "<", 0
		p.i++
	default:
		// A handle digit before a group's redirection, e.g. "(...) 2>nul".
		if p.i+1 < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && strings.IndexByte("<>", p.s[p.i+1]) >= 0 {
			fd := int(p.s[p.i] - '0')
			p.i++
			return p.redirection(&fd)
		}
		return r, false, nil
	}
	if handle != nil {
		r.fd = *handle
	}
	if p.peek("&") && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
		r.target = p.s[p.i : p.i+2]
		p.i += 2
		return r, true, nil
	}
	p.skipBlanks()
	var b strings.Builder
	inQuote := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			inQuote = !inQuote
			p.i++
			continue
		}
		if !inQuote {
			if isBlank(c) || strings.IndexByte("&|<>", c) >= 0 || (c == ')' && p.depth > 0) {
				break
			}
			if c == '^' && p.i+1 < len(p.s) {
				p.i++
				c = p.s[p.i]
			}
		}
		b.WriteByte(c)
		p.i++
	}
	if b.Len() == 0 {
		return r, false, errIncorrectSyntax
	}
	r.target = b.String()
	return r, true, nil
}

func (p *parser) simple() (node, error) {
	var text []byte
	var redirs []redirect
	inQuote := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if inQuote {
			text = append(text, c)
			if c == '"' {
				inQuote = false
			}
			p.i++
			continue
		}
		switch {
		case c == '"':
			inQuote = true
		case c == '^':
			// A caret at the very end escapes nothing and disappears.
			if p.i+1 < len(p.s) {
				text = append(text, p.s[p.i+1])
				p.i++
			}
			p.i++
			continue
		case c == '&' || c == '|' || (c == ')' && p.depth > 0):
			return &simpleCmd{text: string(text), redirs: redirs}, nil
		case c == '<' || c == '>':
			var handle *int
			// A single digit standing alone right before the operator is a handle number.
			if n := len(text); n > 0 && text[n-1] >= '0' && text[n-1] <= '9' && (n == 1 || isBlank(text[n-2])) {
				fd := int(text[n-1] - '0')
				handle = &fd
				text = text[:n-1]
			}
			r, _, err := p.redirection(handle)
			if err != nil {
				return nil, err
			}
			redirs = append(redirs, r)
			continue
		}
		text = append(text, c)
		p.i++
	}
	return &simpleCmd{text: string(text), redirs: redirs}, nil
}

// ifCommand parses IF [/I] [NOT] EXIST x | ERRORLEVEL n | DEFINED v | a==b, then its command.
// As in cmd.exe, the command runs to the end of the line (or group): "if c a & b" makes both
// a and b conditional.
func (p *parser) ifCommand() (node, error) {
	p.i += 2
	n := &ifCmd{}
	tok := p.token()
	if strings.EqualFold(tok, "/i") {
		n.foldCase = true
		tok = p.token()
	}
	if strings.EqualFold(tok, "not") {
		n.not = true
		tok = p.token()
	}
	switch {
	case strings.EqualFold(tok, "exist"), strings.EqualFold(tok, "errorlevel"), strings.EqualFold(tok, "defined"):
		n.cond = strings.ToLower(tok)
		n.a = p.token()
		if n.a == "" {
			return nil, errIncorrectSyntax
		}
	default:
		left, right, ok := strings.Cut(tok, "==")
		if !ok {
			p.skipBlanks()
			if !p.peek("==") {
				if tok == "" {
					return nil, errIncorrectSyntax
				}
				return nil, unexpected(p.word())
			}
			p.i += 2
			right = p.token()
		} else if right == "" {
			right = p.token()
		}
		if left == "" || right == "" {
			return nil, errIncorrectSyntax
		}
		n.cond, n.a, n.b = "==", left, right
	}
	p.skipBlanks()
	if !p.peek("(") {
		body, err := p.seq()
		if err != nil {
			return nil, err
		}
		if body == nil {
			return nil, errIncorrectSyntax
		}
		n.body = body
		return n, nil
	}
	// A parenthesised body ends the IF at its ")"; only then may ELSE follow.
	body, err := p.group(true)
	if err != nil {
		return nil, err
	}
	n.body = body
	p.skipBlanks()
	if !p.keyword("else") {
		return n, nil
	}
	p.i += len("else")
	p.skipBlanks()
	if p.peek("(") {
		n.elseBody, err = p.group(false)
	} else {
		n.elseBody, err = p.seq()
	}
	if err != nil {
		return nil, err
	}
	if n.elseBody == nil {
		return nil, errIncorrectSyntax
	}
	return n, nil
}

// token reads one blank-delimited token of an IF condition, quotes kept, "==" split off.
func (p *parser) token() string {
	p.skipBlanks()
	var b strings.Builder
	inQuote := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if !inQuote {
			if isBlank(c) || strings.IndexByte("&|<>", c) >= 0 || (c == ')' && p.depth > 0) {
				break
			}
			if p.peek("==") && b.Len() > 0 {
				b.WriteString("==")
				p.i += 2
				// The right operand follows immediately or after blanks.
				if p.i < len(p.s) && !isBlank(p.s[p.i]) {
					continue
				}
				break
			}
			if c == '^' && p.i+1 < len(p.s) {
				p.i++
				c = p.s[p.i]
			}
		}
		if c == '"' {
			inQuote = !inQuote
		}
		b.WriteByte(c)
		p.i++
	}
	return b.String()
}
