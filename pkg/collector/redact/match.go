package redact

import (
	"strings"
	"unicode/utf8"
)

// Each matcher below finds what the regular expression in its comment finds with Go's regexp
// (RE2 syntax): the leftmost match; at one start, the one a backtracking engine reaches first,
// trying alternatives in order and longer repetitions first (shorter ones for *?). Where the
// comment says a choice "cannot help", trying it could only fail; the oracle test in
// match_test.go runs the expressions themselves against these matchers.
//
// Notes that hold throughout:
//   - \s is [\t\n\f\r ], \b an ASCII word boundary, and ^ and $ (no m flag) the ends of the text.
//   - Under (?i), k also matches the Kelvin sign U+212A and s the long s U+017F, which Unicode
//     folds with them; foldAt and tokenChar handle that.
//   - Text is read byte by byte where every byte that matters is ASCII: the bytes of a
//     multi-byte character are all >= 0x80, so they fall in the same classes as the character.
//     Starts are tried at character boundaries, as regexp does (see scan).

// match is one match: where it ends, and the span to mask (ms < 0 when none).
type match struct{ end, ms, me int }

// finder returns the leftmost match in s that starts at or after from.
type finder func(s string, from int) (match, bool)

// scan makes a finder from a matcher that tries one start: each character boundary in turn,
// the end of the text included.
func scan(at func(s string, p int) (match, bool)) finder {
	return func(s string, from int) (match, bool) {
		for p := from; p <= len(s); p += charLen(s, p) {
			if m, ok := at(s, p); ok {
				return m, true
			}
		}
		return match{}, false
	}
}

var fail = match{ms: -1}

// charLen is the length of the character at p, as regexp steps through text (an invalid
// byte is one character); 1 at the end, to step past it.
func charLen(s string, p int) int {
	if p >= len(s) {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[p:])
	return n
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// isSpace is regexp's \s.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func isQuote(c byte) bool { return c == '"' || c == '\'' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isLetter(c byte) bool { return isUpper(c) || ('a' <= c && c <= 'z') }

func isAlnum(c byte) bool { return isLetter(c) || isDigit(c) }

func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// wordBoundary is \b at p.
func wordBoundary(s string, p int) bool {
	return (p > 0 && isWord(s[p-1])) != (p < len(s) && isWord(s[p]))
}

// skip returns the end of the run of bytes in class that starts at i.
func skip(s string, i int, class func(byte) bool) int {
	for i < len(s) && class(s[i]) {
		i++
	}
	return i
}

func skipBlanks(s string, i int) int { return skip(s, i, isBlank) }

const (
	kelvin = "\u212a" // folds with k
	longS  = "\u017f" // folds with s
)

// foldAt matches word (lower-case ASCII) at s[i:] as (?i) does and returns where it ends.
func foldAt(s string, i int, word string) (int, bool) {
	for j := 0; j < len(word); j++ {
		w := word[j]
		switch {
		case i < len(s) && (s[i] == w || ('a' <= w && w <= 'z' && s[i] == w-'a'+'A')):
			i++
		case w == 'k' && strings.HasPrefix(s[i:], kelvin):
			i += len(kelvin)
		case w == 's' && strings.HasPrefix(s[i:], longS):
			i += len(longS)
		default:
			return 0, false
		}
	}
	return i, true
}

// secretWords are the alternatives of
//
//	(?i:token|secret|password|passwd|client-key-data|client-certificate-data|
//	    certificate-authority-data|access_?key|account_?key|api_?key|private_?key)
//
// in order, each _? as its two choices, longer first.
var secretWords = []string{"token", "secret", "password", "passwd", "client-key-data", "client-certificate-data",
	"certificate-authority-data", "access_key", "accesskey", "account_key", "accountkey", "api_key", "apikey",
	"private_key", "privatekey"}

// isKey is [A-Za-z0-9_.-], the characters of a key name.
func isKey(c byte) bool { return isWord(c) || c == '.' || c == '-' }

// keyThen matches class* then one of words (under (?i)) at q, then rest at the word's end:
// the repetition longest first, then each word in order, as a greedy star backtracks.
func keyThen(s string, q int, class func(byte) bool, words []string, rest func(k int) (match, bool)) (match, bool) {
	for j := skip(s, q, class); j >= q; j-- {
		if j == len(s) || !mayStartWord(s[j]) {
			continue
		}
		for _, w := range words {
			if k, ok := foldAt(s, j, w); ok {
				if m, ok := rest(k); ok {
					return m, true
				}
			}
		}
	}
	return fail, false
}

// mayStartWord reports whether c can be the first byte of a word of secretWords or
// flagWords: their first letters in either case, or the first byte of the long s.
func mayStartWord(c byte) bool {
	switch c | 0x20 {
	case 't', 's', 'p', 'c', 'a':
		return true
	}
	return c == longS[0]
}

// afterKeyStart matches (?:^|[^A-Za-z0-9_.-]) at p, the start of a key that is not in the
// middle of a longer name, then try after it: ^ first (only at 0), then the one character.
func afterKeyStart(s string, p int, try func(q int) (match, bool)) (match, bool) {
	if p == 0 {
		if m, ok := try(0); ok {
			return m, true
		}
	}
	if p < len(s) && !isKey(s[p]) {
		return try(p + charLen(s, p))
	}
	return fail, false
}

// matchQuotedSecret:
//
//	(?:^|[^A-Za-z0-9_.-])[A-Za-z0-9_.-]*(?i:secret words)(?:\\?["'])?[ \t]*[:=][ \t]*
//	(?:"((?:[^"\\\r\n]|\\.)*)"|'([^'\r\n]*)'|\\"((?:[^"\\\r\n]|\\[^"\r\n])*)\\")
//
// masking the first group that took part.
func matchQuotedSecret(s string, p int) (match, bool) {
	return afterKeyStart(s, p, func(q int) (match, bool) {
		return keyThen(s, q, isKey, secretWords, func(i int) (match, bool) { return quotedSecretRest(s, i) })
	})
}

func quotedSecretRest(s string, i int) (match, bool) {
	// (?:\\?["'])?: the longest choice; a shorter one leaves a \ or quote where [ \t]*[:=]
	// must match, so it cannot help.
	switch {
	case i+1 < len(s) && s[i] == '\\' && isQuote(s[i+1]):
		i += 2
	case i < len(s) && isQuote(s[i]):
		i++
	}
	i = skipBlanks(s, i)
	if i >= len(s) || (s[i] != ':' && s[i] != '=') {
		return fail, false
	}
	// The value starts with a quote or \, so only the longest run of blanks can help.
	v := skipBlanks(s, i+1)
	switch {
	case v < len(s) && s[v] == '"':
		// (?:[^"\\\r\n]|\\.)* then ": each step is forced, and backing off lands on no ".
		for j := v + 1; j < len(s); j++ {
			switch s[j] {
			case '"':
				return match{end: j + 1, ms: v + 1, me: j}, true
			case '\\':
				if j+1 >= len(s) || s[j+1] == '\n' {
					return fail, false
				}
				j++
			case '\r', '\n':
				return fail, false
			}
		}
	case v < len(s) && s[v] == '\'':
		for j := v + 1; j < len(s); j++ {
			switch s[j] {
			case '\'':
				return match{end: j + 1, ms: v + 1, me: j}, true
			case '\r', '\n':
				return fail, false
			}
		}
	case v+1 < len(s) && s[v] == '\\' && s[v+1] == '"':
		// (?:[^"\\\r\n]|\\[^"\r\n])* then \": a \ before a " can only close.
		for j := v + 2; j < len(s); j++ {
			switch s[j] {
			case '\\':
				if j+1 >= len(s) {
					return fail, false
				}
				switch s[j+1] {
				case '"':
					return match{end: j + 2, ms: v + 2, me: j}, true
				case '\r', '\n':
					return fail, false
				}
				j++
			case '"', '\r', '\n':
				return fail, false
			}
		}
	}
	return fail, false
}

// isPlainValue is [^\s"',;}\]].
func isPlainValue(c byte) bool {
	return !isSpace(c) && c != '"' && c != '\'' && c != ',' && c != ';' && c != '}' && c != ']'
}

// matchPlainSecret:
//
//	(?:^|[^A-Za-z0-9_.-])[A-Za-z0-9_.-]*(?i:secret words)["']?(?:[ \t]*=[ \t]*|:)([^\s"',;}\]]+)
func matchPlainSecret(s string, p int) (match, bool) {
	return afterKeyStart(s, p, func(q int) (match, bool) {
		return keyThen(s, q, isKey, secretWords, func(i int) (match, bool) { return plainSecretRest(s, i) })
	})
}

func plainSecretRest(s string, i int) (match, bool) {
	// ["']?: skipping a quote leaves it where = or : must match, so it cannot help.
	if i < len(s) && isQuote(s[i]) {
		i++
	}
	// [ \t]*=[ \t]*: the value cannot start with a blank, so only the longest runs can help.
	if j := skipBlanks(s, i); j < len(s) && s[j] == '=' {
		v := skipBlanks(s, j+1)
		if e := skip(s, v, isPlainValue); e > v {
			return match{end: e, ms: v, me: e}, true
		}
	}
	if i < len(s) && s[i] == ':' {
		if e := skip(s, i+1, isPlainValue); e > i+1 {
			return match{end: e, ms: i + 1, me: e}, true
		}
	}
	return fail, false
}

// flagWords are the alternatives of (?i:token|password|passwd|secret).
var flagWords = []string{"token", "password", "passwd", "secret"}

// isFlagChar is [A-Za-z0-9-].
func isFlagChar(c byte) bool { return isAlnum(c) || c == '-' }

// matchFlagSecret:
//
//	(?:^|[\s"'])--?[A-Za-z0-9-]*(?i:token|password|passwd|secret)[ \t]+
//	(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"'-][^\s"']*))
func matchFlagSecret(s string, p int) (match, bool) {
	try := func(i int) (match, bool) {
		if i >= len(s) || s[i] != '-' {
			return fail, false
		}
		i++
		rest := func(k int) (match, bool) { return flagSecretRest(s, k) }
		if i < len(s) && s[i] == '-' { // -? takes the second dash first
			if m, ok := keyThen(s, i+1, isFlagChar, flagWords, rest); ok {
				return m, true
			}
		}
		return keyThen(s, i, isFlagChar, flagWords, rest)
	}
	if p == 0 {
		if m, ok := try(0); ok {
			return m, true
		}
	}
	if p < len(s) && (isSpace(s[p]) || isQuote(s[p])) {
		return try(p + 1)
	}
	return fail, false
}

func flagSecretRest(s string, k int) (match, bool) {
	// [ \t]+: the value cannot start with a blank, so only the longest run can help.
	v := skipBlanks(s, k)
	if v == k || v >= len(s) {
		return fail, false
	}
	if q := s[v]; isQuote(q) {
		for j := v + 1; j < len(s); j++ {
			switch s[j] {
			case q:
				return match{end: j + 1, ms: v + 1, me: j}, true
			case '\r', '\n':
				return fail, false
			}
		}
		return fail, false
	}
	if s[v] == '-' || isSpace(s[v]) {
		return fail, false
	}
	e := skip(s, v+1, func(c byte) bool { return !isSpace(c) && !isQuote(c) })
	return match{end: e, ms: v, me: e}, true
}

// authSchemes are the alternatives of (?:bearer|basic|digest|negotiate|ntlm|token).
var authSchemes = []string{"bearer", "basic", "digest", "negotiate", "ntlm", "token"}

// isAuthValue is [^\s"'\],;].
func isAuthValue(c byte) bool {
	return !isSpace(c) && c != '"' && c != '\'' && c != ']' && c != ',' && c != ';'
}

// matchAuthorization:
//
//	(?i)\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["'\[]?[ \t]*
//	(?:(?:bearer|basic|digest|negotiate|ntlm|token)[ \t]+)?([^\s"'\],;]+)
func matchAuthorization(s string, p int) (match, bool) {
	if !wordBoundary(s, p) {
		return fail, false
	}
	if i, ok := foldAt(s, p, "proxy-"); ok {
		if m, ok := authorizationRest(s, i); ok {
			return m, true
		}
	}
	return authorizationRest(s, p)
}

func authorizationRest(s string, i int) (match, bool) {
	i, ok := foldAt(s, i, "authorization")
	if !ok {
		return fail, false
	}
	try := func(i int) (match, bool) {
		i = skipBlanks(s, i)
		if i >= len(s) || (s[i] != ':' && s[i] != '=') {
			return fail, false
		}
		// Neither the value nor a scheme starts with a blank, so of each [ \t]* only the
		// longest run can help; a shorter first one lands where the optional bracket is
		// skipped, which is tried last anyway.
		v := skipBlanks(s, i+1)
		if v < len(s) && (isQuote(s[v]) || s[v] == '[') {
			if m, ok := authorizationValue(s, skipBlanks(s, v+1)); ok {
				return m, true
			}
		}
		return authorizationValue(s, v)
	}
	if i < len(s) && isQuote(s[i]) {
		if m, ok := try(i + 1); ok {
			return m, true
		}
	}
	return try(i)
}

// authorizationValue: (?:(?:bearer|...|token)[ \t]+)?([^\s"'\],;]+) at v.
func authorizationValue(s string, v int) (match, bool) {
	for _, w := range authSchemes {
		if k, ok := foldAt(s, v, w); ok {
			if d := skipBlanks(s, k); d > k {
				if e := skip(s, d, isAuthValue); e > d {
					return match{end: e, ms: d, me: e}, true
				}
			}
		}
	}
	if e := skip(s, v, isAuthValue); e > v {
		return match{end: e, ms: v, me: e}, true
	}
	return fail, false
}

// isTokenChar is [A-Za-z0-9._~+/-] for ASCII.
func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '-'
}

// matchBearer:
//
//	(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)
func matchBearer(s string, p int) (match, bool) {
	if !wordBoundary(s, p) {
		return fail, false
	}
	i, ok := foldAt(s, p, "bearer")
	if !ok {
		return fail, false
	}
	v := skipBlanks(s, i) // the token cannot start with a blank: only the longest run can help
	if v == i {
		return fail, false
	}
	// {16,} counts characters; under (?i) the class also holds the long s and the Kelvin sign.
	e, n := v, 0
	for e < len(s) {
		w := 0
		switch {
		case isTokenChar(s[e]):
			w = 1
		case strings.HasPrefix(s[e:], longS):
			w = len(longS)
		case strings.HasPrefix(s[e:], kelvin):
			w = len(kelvin)
		}
		if w == 0 {
			break
		}
		e, n = e+w, n+1
	}
	if n < 16 {
		return fail, false
	}
	e = skip(s, e, func(c byte) bool { return c == '=' })
	return match{end: e, ms: v, me: e}, true
}

// isB64URL is [A-Za-z0-9_-].
func isB64URL(c byte) bool { return isWord(c) || c == '-' }

// matchJWT:
//
//	eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*
func matchJWT(s string, p int) (match, bool) {
	i := p
	for range 2 {
		if !strings.HasPrefix(s[i:], "eyJ") {
			return fail, false
		}
		// . is not in the class, so the run must end at the dot: only its full length can help.
		e := skip(s, i+3, isB64URL)
		if e-(i+3) < 8 || e >= len(s) || s[e] != '.' {
			return fail, false
		}
		i = e + 1
	}
	e := skip(s, i, isB64URL)
	return match{end: e, ms: p, me: e}, true
}

// matchSAS:
//
//	(?i)[?&]sig=([^&\s"']+)
func matchSAS(s string, p int) (match, bool) {
	if p >= len(s) || (s[p] != '?' && s[p] != '&') {
		return fail, false
	}
	v, ok := foldAt(s, p+1, "sig=")
	if !ok {
		return fail, false
	}
	e := skip(s, v, func(c byte) bool { return c != '&' && !isSpace(c) && !isQuote(c) })
	if e == v {
		return fail, false
	}
	return match{end: e, ms: v, me: e}, true
}

// matchAWSKey:
//
//	\b(?:AKIA|ASIA)[0-9A-Z]{16}\b
func matchAWSKey(s string, p int) (match, bool) {
	if !wordBoundary(s, p) || !(strings.HasPrefix(s[p:], "AKIA") || strings.HasPrefix(s[p:], "ASIA")) || p+20 > len(s) {
		return fail, false
	}
	for i := p + 4; i < p+20; i++ {
		if !isDigit(s[i]) && !isUpper(s[i]) {
			return fail, false
		}
	}
	if !wordBoundary(s, p+20) {
		return fail, false
	}
	return match{end: p + 20, ms: p, me: p + 20}, true
}

// findURLPassword:
//
//	\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']+:([^/\s@"']+)@
//
// Each part's class excludes the character that must follow it, so each run is taken whole.
func findURLPassword(s string, from int) (match, bool) {
	isScheme := func(c byte) bool { return isAlnum(c) || c == '+' || c == '.' || c == '-' }
	isPass := func(c byte) bool { return c != '/' && !isSpace(c) && c != '@' && !isQuote(c) }
	isUser := func(c byte) bool { return isPass(c) && c != ':' }
	for p := from; p < len(s); {
		if !isLetter(s[p]) || !wordBoundary(s, p) {
			p += charLen(s, p)
			continue
		}
		e := skip(s, p+1, isScheme)
		if strings.HasPrefix(s[e:], "://") {
			u := skip(s, e+3, isUser)
			if u > e+3 && u < len(s) && s[u] == ':' {
				g := skip(s, u+1, isPass)
				if g > u+1 && g < len(s) && s[g] == '@' {
					return match{end: g + 1, ms: u + 1, me: g}, true
				}
			}
		}
		// Every later start before e runs into the same e, and fails the same way.
		p = e
	}
	return fail, false
}

// isPEMLabel is [A-Z0-9 ].
func isPEMLabel(c byte) bool { return isUpper(c) || isDigit(c) || c == ' ' }

// pemLabelEnd matches [A-Z0-9 ]*PRIVATE KEY----- at i. The label's characters cover PRIVATE
// KEY but not the dash, so the repetition must stop right before the dashes.
func pemLabelEnd(s string, i int) (int, bool) {
	const tail = "PRIVATE KEY"
	r := skip(s, i, isPEMLabel)
	if r-i < len(tail) || s[r-len(tail):r] != tail || !strings.HasPrefix(s[r:], "-----") {
		return 0, false
	}
	return r + len("-----"), true
}

// findPEMBlock:
//
//	(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)
//
// The lazy .*? stops at the first END line that matches, else at the end of the text.
func findPEMBlock(s string, from int) (match, bool) {
	const begin, end = "-----BEGIN ", "-----END "
	for p := from; p <= len(s); p++ {
		i := strings.Index(s[p:], begin)
		if i < 0 {
			break
		}
		p += i
		e, ok := pemLabelEnd(s, p+len(begin))
		if !ok {
			continue
		}
		stop := len(s)
		for j := e; j <= len(s); j++ {
			k := strings.Index(s[j:], end)
			if k < 0 {
				break
			}
			j += k
			if e2, ok := pemLabelEnd(s, j+len(end)); ok {
				stop = e2
				break
			}
		}
		return match{end: stop, ms: p, me: stop}, true
	}
	return fail, false
}

// isBase64 is [A-Za-z0-9+/=].
func isBase64(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' }

// base64Line matches ^[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*\r?\n at the line start i and returns
// where the next line starts. Each class excludes what follows it: every run is taken whole.
func base64Line(s string, i int) (int, bool) {
	b := skipBlanks(s, i)
	e := skip(s, b, isBase64)
	if e-b < 16 {
		return 0, false
	}
	e = skipBlanks(s, e)
	if e < len(s) && s[e] == '\r' {
		e++
	}
	if e < len(s) && s[e] == '\n' {
		return e + 1, true
	}
	return 0, false
}

// findPEMTail:
//
//	(?m)(?:^[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*\r?\n)+[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY-----
//
// The repetition takes every base64 line; fewer would leave a base64 line where the END line
// must be, so they cannot help.
func findPEMTail(s string, from int) (match, bool) {
	p := from
	for p <= len(s) {
		if p > 0 && s[p-1] != '\n' { // (?m)^: only at line starts
			nl := strings.IndexByte(s[p:], '\n')
			if nl < 0 {
				break
			}
			p += nl + 1
			continue
		}
		x, lines := p, 0
		for {
			next, ok := base64Line(s, x)
			if !ok {
				break
			}
			x, lines = next, lines+1
		}
		if lines > 0 {
			i := skipBlanks(s, x)
			if strings.HasPrefix(s[i:], "-----END ") {
				if e, ok := pemLabelEnd(s, i+len("-----END ")); ok {
					return match{end: e, ms: p, me: e}, true
				}
			}
			// A start on a later line of these meets the same lines and the same end.
			p = x
		}
		if p == len(s) {
			break
		}
		p++ // on to the next line start
	}
	return fail, false
}

// matchYAMLKeyLine matches a YAML, env-file or PowerShell line that sets a secret:
//
//	^([ \t]*)(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+|\$env:)?[A-Za-z0-9_.-]*(?i:secret words)
//	["']?[ \t]*[:=][ \t]*(.*?)[ \t]*\r?\n?$
//
// It returns the length of the indent (group 1) and the value (group 2) as the span to mask:
// the value runs to the end of the line (a password may hold spaces, commas or #), less
// trailing blanks and the line ending.
func matchYAMLKeyLine(s string) (indent int, m match, ok bool) {
	// No key starts with a blank, so of each [ \t] run only the longest can help.
	indent = skipBlanks(s, 0)
	rest := func(k int) (match, bool) { return yamlValue(s, k) }
	afterDash := func(i int) (match, bool) {
		for _, prefix := range []string{"export", "set"} {
			if strings.HasPrefix(s[i:], prefix) {
				if j := skipBlanks(s, i+len(prefix)); j > i+len(prefix) {
					if m, ok := keyThen(s, j, isKey, secretWords, rest); ok {
						return m, true
					}
				}
			}
		}
		if strings.HasPrefix(s[i:], "$env:") {
			if m, ok := keyThen(s, i+len("$env:"), isKey, secretWords, rest); ok {
				return m, true
			}
		}
		return keyThen(s, i, isKey, secretWords, rest)
	}
	i := indent
	if i < len(s) && s[i] == '-' {
		if j := skipBlanks(s, i+1); j > i+1 {
			if m, ok := afterDash(j); ok {
				return indent, m, true
			}
		}
	}
	m, ok = afterDash(i)
	return indent, m, ok
}

// yamlValue matches ["']?[ \t]*[:=][ \t]*(.*?)[ \t]*\r?\n?$ at k.
func yamlValue(s string, k int) (match, bool) {
	i := k
	if i < len(s) && isQuote(s[i]) { // skipping it leaves it where [:=] must match
		i++
	}
	i = skipBlanks(s, i)
	if i >= len(s) || (s[i] != ':' && s[i] != '=') {
		return fail, false
	}
	v := skipBlanks(s, i+1)
	// .*? stops at the first place where only [ \t]*\r?\n? is left: that tail, taken from
	// the end, is the longest one.
	e := len(s)
	if e > v && s[e-1] == '\n' {
		e--
	}
	if e > v && s[e-1] == '\r' {
		e--
	}
	for e > v && isBlank(s[e-1]) {
		e--
	}
	if strings.IndexByte(s[v:e], '\n') >= 0 { // . does not match a newline
		return fail, false
	}
	return match{end: len(s), ms: v, me: e}, true
}
