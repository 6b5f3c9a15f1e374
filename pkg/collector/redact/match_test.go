package redact

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// found is what a rule takes from one match: where the match ends (the next search starts
// there) and the span to mask (-1 when none).
type found struct{ end, ms, me int }

func oracleFinds(r oracleRule, s string) []found {
	var out []found
	for _, m := range r.re.FindAllStringSubmatchIndex(s, -1) {
		f := found{end: m[1], ms: -1, me: -1}
		for _, g := range r.groups {
			if m[2*g] >= 0 {
				f.ms, f.me = m[2*g], m[2*g+1]
				break
			}
		}
		out = append(out, f)
	}
	return out
}

func handFinds(r rule, s string) []found {
	var out []found
	for from := 0; from <= len(s); {
		m, ok := r.find(s, from)
		if !ok {
			break
		}
		if m.end <= from {
			return append(out, found{end: -99}) // no progress: a bug the comparison reports
		}
		from = m.end
		f := found{end: m.end, ms: m.ms, me: m.me}
		if f.ms < 0 {
			f.me = -1
		}
		out = append(out, f)
	}
	return out
}

type yamlFound struct {
	ok             bool
	indent, ms, me int
}

func oracleYAML(s string) yamlFound {
	m := oracleYAMLKeyLine.FindStringSubmatchIndex(s)
	if m == nil {
		return yamlFound{}
	}
	return yamlFound{ok: true, indent: m[3] - m[2], ms: m[4], me: m[5]}
}

func handYAML(s string) yamlFound {
	indent, m, ok := matchYAMLKeyLine(s)
	if !ok {
		return yamlFound{}
	}
	return yamlFound{ok: true, indent: indent, ms: m.ms, me: m.me}
}

func equalFinds(a, b []found) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compare checks every rule, the YAML line and Text on s against the regular expressions.
// It returns which rules matched, so callers can see that their inputs exercise them.
func compare(t *testing.T, s string) (hits []bool) {
	t.Helper()
	if len(pemRules) != len(oraclePEMRules) || len(lineRules) != len(oracleLineRules) {
		t.Fatalf("%d+%d rules, %d+%d expressions", len(pemRules), len(lineRules), len(oraclePEMRules), len(oracleLineRules))
	}
	pairs := len(pemRules) + len(lineRules)
	hits = make([]bool, pairs+1)
	for i := range pairs {
		var h rule
		var o oracleRule
		if i < len(pemRules) {
			h, o = pemRules[i], oraclePEMRules[i]
		} else {
			h, o = lineRules[i-len(pemRules)], oracleLineRules[i-len(pemRules)]
		}
		want, got := oracleFinds(o, s), handFinds(h, s)
		if !equalFinds(want, got) {
			t.Errorf("rule %d (%s) on %q:\n got %v\nwant %v (%s)", i, h.class, s, got, want, o.re)
		}
		hits[i] = len(want) > 0
	}
	if want, got := oracleYAML(s), handYAML(s); want != got {
		t.Errorf("YAML key line on %q:\n got %+v\nwant %+v", s, got, want)
	}
	hits[pairs] = oracleYAML(s).ok
	wantText, wantN := oracleText(s)
	if gotText, gotN := Text(s); gotText != wantText || gotN != wantN {
		t.Errorf("Text(%q)\n = %q, %d\nwant %q, %d", s, gotText, gotN, wantText, wantN)
	}
	return hits
}

// Edge cases of the hand matchers, each against the expressions.
var edgeCases = []string{
	// Unicode folding under (?i): the Kelvin sign and the long s.
	"to\u212Aen=abc", "\u017Fecret=abc", "x \u017Fecret: \"v\"", "Authorization: Ba\u017Fic abc", "bearer abcdefghijklmno\u017F",
	"bearer abcdefghijklmn\u212A", "?\u017Fig=abc", "--to\u212Aen x", "passwordſecret=v", "\u017Fecret: v\n",
	// Starts: beginning of text, multi-byte and invalid characters before a key.
	"token=a", "\u00e9token=a", "\xfftoken=a", "\xe2\x84token=a", "é--token x", "日本 password: \"p\"",
	// Keys inside longer names, and names that only start with a key word.
	"aadClientSecret=x", "mytoken.secret=y", "tokenFile=z", "x.token-data=1", "client-key-data: abc", "ACCESS_KEY=k", "accesskey=k",
	"secret_token=v", "a-token=b token=c", "token=a,token=b;token=c", "token:a token: b",
	// Quoted values: escapes, unterminated strings, JSON inside JSON.
	`"token": "a\"b"`, `"token": "a\\"`, `"token": "abc`, `"token":"a\`, `{\"token\":\"abc\"}`, `{\"token\":\"a\\\"b\"}`,
	`\"token\":\"a\"b\"`, `token='x'`, `token='x`, "token: \"a\rb\"", `token\'='v'`, `token\"= "v"`,
	// Flags.
	"--token abc", "-token abc", "---token abc", "--token  -x", "--token \"a b\"", "--token 'a'", "--token \"open", "\t--password\tp",
	"'--secret' x", "--bootstrap_token x", "--x-token y",
	// Authorization headers.
	"Authorization: Bearer x", "Proxy-Authorization: Basic x", "authorization:[]", "Authorization:[Bearer x]", "Authorization: [",
	"Authorization: \"\"", "Authorization=  token  t", "Authorization: Bearer", "Authorization: tokenABC", "xAuthorization: y",
	"Authorization\": \"Bearer t\"", "authorization '= x",
	// Bearer tokens.
	"bearer 0123456789abcdef", "Bearer 0123456789abcde", "bearer\t0123456789abcdef==", "abearer 0123456789abcdef",
	// URLs.
	"https://u:p@h", "a.b-c+d://u:p@h", "x://u:p:q@h", "https://u@h:p@", "1http://u:p@h", "http://:p@h", "s3://u:@h",
	"é://u:p@h", "ab://u:p@h ab://v:q@h",
	// SAS, AWS, JWT.
	"?sig=abc&x", "&SIG=a%2F", "sig=abc", "AKIAIOSFODNN7EXAMPLE", "xAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLEX", "ASIA0123456789ABCDEF.",
	"eyJabcdefgh.eyJabcdefgh.sig", "eyJabcdefg.eyJabcdefgh.sig", "eyJabcdefgh.eyJabcdefgh", "eyJabcdefgh.eyJabcdefgh.",
	// PEM blocks.
	"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----\nabc",
	"-----BEGIN X PRIVATE KEY-----a-----END Y PRIVATE KEY-----b-----END PRIVATE KEY-----",
	"-----BEGIN PRIVATE KEY----------END bad-----END PRIVATE KEY-----", "-----BEGIN RSA PUBLIC KEY-----\nabc",
	"-----BEGIN PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\nx",
	"MIIEowIBAAKCAQEAabcdefgh\n  MIIEowIBAAKCAQEA  \r\n\t-----END EC PRIVATE KEY-----", "MIIEowIBAAKCAQE\n-----END PRIVATE KEY-----",
	"x\nMIIEowIBAAKCAQEAabcdefgh\n-----END PRIVATE KEY-----", "MIIEowIBAAKCAQEAabcdefgh\r-----END PRIVATE KEY-----",
	"MIIEowIBAAKCAQEAabcdefgh\nMIIEowIBAAKCAQEAabcdefgh\nnot base64\nMIIEowIBAAKCAQEAabcdefgh\n-----END PRIVATE KEY-----",
	// YAML, env and PowerShell lines.
	"token: a b  \r\n", "  - export  API_KEY = v\n", "set password=x y\n", "$env:ClientSecret='v'\n", "- token: x\n", "-token: x\n",
	"export token\n", "token: \r\n", "token: a \r \n", "token: a\r\r\n", "token:\n", "settoken=x\n", "exporttoken=x\n", "\t \ttoken:\tx\t\n",
	"token: a\nb", "secret: |\n  x\n", "\"token\": x\n", "token\": x\n", "tokenx: y\n",
}

func TestMatchersAgreeWithRegexp(t *testing.T) {
	// keyThen skips places where no word can start: the filter must know every word.
	for _, w := range append(append([]string(nil), secretWords...), flagWords...) {
		if !mayStartWord(w[0]) || !mayStartWord(w[0]-'a'+'A') || (w[0] == 's' && !mayStartWord(longS[0])) || (w[0] == 'k' && !mayStartWord(kelvin[0])) {
			t.Errorf("mayStartWord rejects the start of %q", w)
		}
	}
	for _, s := range edgeCases {
		compare(t, s)
	}
}

// fragments are the pieces random inputs are made of: key words in several spellings, the
// punctuation the expressions key on, and characters of every kind.
var fragments = []string{
	"token", "TOKEN", "ToKen", "to\u212Aen", "secret", "Secret", "\u017Fecret", "password", "PassWord", "passwd",
	"client-key-data", "client-certificate-data", "certificate-authority-data", "access_key", "AccessKey", "account_key",
	"api_key", "apiKey", "private_key", "privateKey", "aad", "Client", "bootstrap-", "File",
	"_", "-", "--", ".", "x", "a", "Z", "0", "9", "é", "日本", "\xff", "\xe2\x84", "\u212a", "\u017f",
	":", "=", ": ", "= ", " ", "\t", "  ", "\"", "'", `\"`, `\`, `\\`, ",", ";", "}", "]", "[", "{", "|", ">", "+", "#",
	"\r", "\n", "\r\n", "\f",
	"export ", "set ", "$env:", "- ",
	"Authorization", "authorization", "Proxy-", "proxy-", "Bearer ", "bearer", "basic ", "Ba\u017Fic ", "digest ", "NTLM ", "token ",
	"eyJ", "eyJhbGciOiJSUzI1NiJ9", "abcdefgh", "ABCDEFGHIJKLMNOP", "0123456789abcdef", "==", "~", "/",
	"://", "https://", "user", "@", "host", "?", "&", "sig=", "SIG=", "\u017Fig=",
	"AKIA", "ASIA", "IOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "eyJabcdefgh.", "eyJ0123-_xyz.", "u:p@", ":pass@",
	`"v"`, `'v'`, `\"v\"`, `: "v"`, `=\"a\\"b\"`,
	"-----BEGIN ", "-----END ", "PRIVATE KEY-----", "RSA ", "-----BEGIN PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
	"MIIEowIBAAKCAQEA", "MIIEowIBAAKCAQEAabcdefgh\n", "\nMIIEowIBAAKCAQEAabcdefgh\n-----END EC PRIVATE KEY-----",
	"null", "true", "<none>", "[REDACTED:x]",
}

// TestRandomInputsAgreeWithRegexp compares the matchers with the expressions on many inputs
// made of fragments, and checks that every rule matched some of them (else the comparison
// would prove little).
func TestRandomInputsAgreeWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	n := 20000
	if testing.Short() {
		n = 3000
	}
	var hits []int
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(24) {
			b.WriteString(fragments[rng.IntN(len(fragments))])
		}
		h := compare(t, b.String())
		if hits == nil {
			hits = make([]int, len(h))
		}
		for i, ok := range h {
			if ok {
				hits[i]++
			}
		}
		if t.Failed() {
			return
		}
	}
	for i, c := range hits {
		if c < 5 {
			t.Errorf("rule %d matched only %d of %d random inputs: the fragments do not exercise it", i, c, n)
		}
	}
}

// TestFixturesAgreeWithRegexp runs the fixtures, line by line and whole, through both.
func TestFixturesAgreeWithRegexp(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"testdata/*", "testdata/keep/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	files := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a folder
		}
		files++
		compare(t, string(b))
		for _, line := range strings.SplitAfter(string(b), "\n") {
			compare(t, line)
		}
	}
	if files < 10 {
		t.Errorf("only %d fixtures", files)
	}
}

func FuzzMatchesRegexp(f *testing.F) {
	for _, s := range edgeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		compare(t, s)
	})
}

// BenchmarkText redacts the fixtures, as a node's logs and configs, with the matchers and,
// for comparison, with the expressions they replace.
func BenchmarkText(b *testing.B) {
	var text strings.Builder
	for _, pattern := range []string{"testdata/*", "testdata/keep/*"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				text.Write(data)
			}
		}
	}
	s := strings.Repeat(text.String(), 20)
	for _, impl := range []struct {
		name string
		text func(string) (string, int)
	}{{"matchers", Text}, {"regexp", oracleText}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				impl.text(s)
			}
		})
	}
}
