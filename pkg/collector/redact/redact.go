// Package redact masks secrets in text read on a node (CNI configs, kubeconfigs, kubelet and
// kube-proxy arguments, logs, event messages, tool output) before the collector sends it.
//
// It replaces each secret it recognises with a marker such as [REDACTED:token] and counts the
// replacements, so a report can say how much was masked. It is deliberately narrow: it keys on
// names (password:, clientSecret, --token=, Authorization:) and on shapes that are secrets by
// construction (PEM private keys, JWTs, AWS access key IDs, passwords in URLs). It never masks by
// "looks random", because the evidence the analyzer needs is full of random-looking strings that
// are not secrets: HNS GUIDs, container IDs, sha256 image digests, MAC and IP addresses.
package redact

import (
	"bytes"
	"regexp"
	"strings"
)

// MarkerPrefix starts every marker: [REDACTED:<class>].
const MarkerPrefix = "[REDACTED:"

// Marker returns the text that stands for a masked secret of the given class.
func Marker(class string) string { return MarkerPrefix + class + "]" }

// secretKey matches a field, flag or variable name that holds a secret, as the suffix of a
// longer name (aadClientSecret, AAD_CLIENT_SECRET, k8s_auth_token, --bootstrap-token). Names
// that merely start with one of these words (tokenFile, passwordFile, secretName) hold paths or
// references, not secrets, and do not match.
const secretKey = `[A-Za-z0-9_.-]*(?i:token|secret|password|passwd|client-key-data|client-certificate-data|` +
	`certificate-authority-data|access_?key|account_?key|api_?key|private_?key)`

// keyStart keeps a key from matching in the middle of a longer word.
const keyStart = `(?:^|[^A-Za-z0-9_.-])`

// A rule masks the text of one capture group (or the whole match when group is 0) of each
// match of re. When several groups are listed, the first that took part in the match is masked.
// needles are lower-case words a line must contain for re to be tried on it: Go's regexp is slow
// on patterns without a literal prefix, and nearly all log lines contain none of them.
type rule struct {
	class   string
	re      *regexp.Regexp
	groups  []int
	needles []string
}

var keyNeedles = []string{"token", "secret", "passw", "-data", "key"}

// pemRules run on the whole text: a key block spans lines.
var pemRules = []rule{
	// PEM private keys, whole blocks. A block whose END was cut off (a log tail) runs to the end
	// of the text; the base64 lines before an END whose BEGIN was cut off are masked too.
	{class: "private-key", re: regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)`), groups: []int{0}},
	{class: "private-key", re: regexp.MustCompile(`(?m)(?:^[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*\r?\n)+[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY-----`), groups: []int{0}},
}

// lineRules run on each line, in order.
var lineRules = []rule{
	// JSON Web Tokens (service account tokens among them): header and payload are base64url
	// JSON objects, so both start with eyJ.
	{class: "jwt", re: regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`), groups: []int{0}, needles: []string{"eyj"}},
	// HTTP Authorization headers, also as Go prints them (Authorization:[Bearer x]); the
	// scheme is kept so the reader sees what kind of credential was there.
	{class: "authorization", re: regexp.MustCompile(`(?i)\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["'\[]?[ \t]*(?:(?:bearer|basic|digest|negotiate|ntlm|token)[ \t]+)?([^\s"'\],;]+)`), groups: []int{1}, needles: []string{"authorization"}},
	// Bearer tokens anywhere else. At least 16 characters, so prose ("bearer token") is kept.
	{class: "token", re: regexp.MustCompile(`(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)`), groups: []int{1}, needles: []string{"bearer"}},
	// Passwords in URLs (https://user:pass@host); the user name is kept.
	{class: "password", re: regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']+:([^/\s@"']+)@`), groups: []int{1}, needles: []string{"://"}},
	// Azure SAS signatures in URLs.
	{class: "sas", re: regexp.MustCompile(`(?i)[?&]sig=([^&\s"']+)`), groups: []int{1}, needles: []string{"sig="}},
	// AWS access key IDs.
	{class: "aws-key", re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), groups: []int{0}, needles: []string{"akia", "asia"}},
	// key: "value", "key": "value", key='value', and the same inside a JSON string (\"key\":\"value\").
	// There the inner JSON's escapes are escaped once more: \\\" is a quote inside the value and
	// \\\\ a backslash, while \" (one backslash) ends the value.
	{class: "secret", re: regexp.MustCompile(keyStart + secretKey + `(?:\\?["'])?[ \t]*[:=][ \t]*(?:"((?:[^"\\\r\n]|\\.)*)"|'([^'\r\n]*)'|\\"((?:[^"\\\r\n]|\\\\\\[\\"]|\\{1,2}[^"\\\r\n])*)\\")`), groups: []int{1, 2, 3}, needles: keyNeedles},
	// key=value (flags, env files, klog key/value pairs, connection strings) and key:value
	// without a space (Go's %+v). "key: value" with a space in the middle of a line is prose
	// ("failed to get token: open ..."); at the start of a line it is YAML, handled by yamlLines.
	{class: "secret", re: regexp.MustCompile(keyStart + secretKey + `["']?(?:[ \t]*=[ \t]*|:)([^\s"',;}\]]+)`), groups: []int{1}, needles: keyNeedles},
	// --token value, --password "value".
	{class: "secret", re: regexp.MustCompile(`(?:^|[\s"'])--?[A-Za-z0-9-]*(?i:token|password|passwd|secret)[ \t]+(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"'-][^\s"']*))`), groups: []int{1, 2, 3}, needles: []string{"token", "passw", "secret"}},
}

// yamlKeyLine is a YAML, env-file or PowerShell line that sets a secret: the value runs to the
// end of the line (a password may hold spaces, commas or #), or is a block scalar (| or >)
// whose lines follow, indented deeper.
var yamlKeyLine = regexp.MustCompile(`^([ \t]*)(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+|\$env:)?` + secretKey + `["']?[ \t]*[:=][ \t]*(.*?)[ \t]*\r?\n?$`)

// Text returns s with every secret it recognises replaced by a marker, and how many it replaced.
func Text(s string) (string, int) {
	total := 0
	if strings.Contains(s, "PRIVATE KEY-----") {
		for _, r := range pemRules {
			var n int
			s, n = r.apply(s)
			total += n
		}
	}
	lines := strings.SplitAfter(s, "\n")
	changed := false
	n := yamlLines(lines)
	total += n
	changed = n > 0
	var lower []byte
	for i, line := range lines {
		lower = appendLowerASCII(lower[:0], line)
		for _, r := range lineRules {
			if !containsAny(lower, r.needles) {
				continue
			}
			line, n = r.apply(line)
			if n > 0 {
				total += n
				changed = true
				lower = appendLowerASCII(lower[:0], line)
			}
		}
		lines[i] = line
	}
	if !changed {
		return s, total
	}
	return strings.Join(lines, ""), total
}

func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func containsAny(b []byte, needles []string) bool {
	for _, n := range needles {
		if bytes.Contains(b, []byte(n)) {
			return true
		}
	}
	return false
}

func (r rule) apply(s string) (string, int) {
	matches := r.re.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return s, 0
	}
	var b strings.Builder
	last, n := 0, 0
	for _, m := range matches {
		start, end := -1, -1
		for _, g := range r.groups {
			if m[2*g] >= 0 {
				start, end = m[2*g], m[2*g+1]
				break
			}
		}
		if start < 0 || start < last || !worthMasking(s[start:end]) {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Marker(r.class))
		last = end
		n++
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

// worthMasking leaves alone values that hold no secret: empty, null, booleans, and what an
// earlier rule already masked.
func worthMasking(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "null", "nil", "true", "false", "<none>", `\"\"`:
		return false
	}
	return !strings.HasPrefix(v, MarkerPrefix)
}

// yamlLines masks, in place, values of secret keys that start a line (see yamlKeyLine), and
// the lines of a block scalar that follows such a key.
func yamlLines(lines []string) int {
	n := 0
	var lower []byte
	for i := 0; i < len(lines); i++ {
		lower = appendLowerASCII(lower[:0], lines[i])
		if !containsAny(lower, keyNeedles) {
			continue
		}
		m := yamlKeyLine.FindStringSubmatchIndex(lines[i])
		if m == nil {
			continue
		}
		indent := m[3] - m[2]
		vs, ve := m[4], m[5]
		value := lines[i][vs:ve]
		switch {
		case value == "" || value[0] == '"' || value[0] == '\'' || value[0] == '{' || value[0] == '[':
			// Quoted or flow values are the quoted rule's; an empty value holds nothing.
			continue
		case isBlockIndicator(value):
			for i+1 < len(lines) && (blank(lines[i+1]) || indentOf(lines[i+1]) > indent) {
				i++
				if !blank(lines[i]) && !strings.HasPrefix(strings.TrimSpace(lines[i]), MarkerPrefix) {
					lines[i] = lines[i][:indentOf(lines[i])] + Marker("secret") + lineEnding(lines[i])
					n++
				}
			}
			continue
		case !worthMasking(value):
			continue
		}
		lines[i] = lines[i][:vs] + Marker("secret") + lines[i][ve:]
		n++
	}
	return n
}

func isBlockIndicator(v string) bool {
	if v == "" || (v[0] != '|' && v[0] != '>') {
		return false
	}
	return strings.Trim(v[1:], "+-0123456789") == ""
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " \t")) }

func lineEnding(line string) string {
	if strings.HasSuffix(line, "\r\n") {
		return "\r\n"
	}
	if strings.HasSuffix(line, "\n") {
		return "\n"
	}
	return ""
}
