package redact

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// textCases plant one or more secrets each (or none, where evidence must be kept). Between
// them they make every rule match: see TestEveryRuleIsExercised.
var textCases = []struct {
	name, in, want string
	n              int
}{
	{name: "yaml token", in: "    token: abc.def123\n", want: "    token: [REDACTED:secret]\n", n: 1},
	{name: "yaml password to end of line", in: "password: a b, c#d  \r\nnext: x\r\n", want: "password: [REDACTED:secret]  \r\nnext: x\r\n", n: 1},
	{name: "json quoted", in: `{"clientSecret": "s3cr3t", "clientId": "x"}`, want: `{"clientSecret": "[REDACTED:secret]", "clientId": "x"}`, n: 1},
	{name: "json escaped quote inside", in: `{"password":"a\"b"}`, want: `{"password":"[REDACTED:secret]"}`, n: 1},
	{name: "json inside a json string", in: `"{\"token\":\"abc\"}"`, want: `"{\"token\":\"[REDACTED:secret]\"}"`, n: 1},
	{name: "json inside a json string, a quote in the value", in: `"{\"token\":\"a\\\"Plant3dInner\"}"`, want: `"{\"token\":\"[REDACTED:secret]\"}"`, n: 1},
	{name: "json inside a json string, a backslash ending the value", in: `"{\"token\":\"Plant3d\\\\\",\"x\":\"y\"}"`, want: `"{\"token\":\"[REDACTED:secret]\",\"x\":\"y\"}"`, n: 1},
	{name: "empty and null values are kept", in: `{"aadClientCertPassword": "", "token": null}`, want: `{"aadClientCertPassword": "", "token": null}`},
	{name: "env file", in: "AAD_CLIENT_SECRET=x1\nexport DB_PASSWORD=y2\n", want: "AAD_CLIENT_SECRET=[REDACTED:secret]\nexport DB_PASSWORD=[REDACTED:secret]\n", n: 2},
	{name: "flag with equals", in: "kubelet.exe --token=abc --v=2", want: "kubelet.exe --token=[REDACTED:secret] --v=2", n: 1},
	{name: "flag with space", in: `kubelet.exe --password "p w" --token abc --token-file C:\k\t`, want: `kubelet.exe --password "[REDACTED:secret]" --token [REDACTED:secret] --token-file C:\k\t`, n: 2},
	{name: "authorization header", in: "Authorization: Basic dXNlcjpwYXNz", want: "Authorization: Basic [REDACTED:authorization]", n: 1},
	{name: "bearer anywhere", in: "sent bearer 0123456789abcdefXYZ to", want: "sent bearer [REDACTED:token] to", n: 1},
	{name: "bearer in prose kept", in: "invalid bearer token, service account token has expired", want: "invalid bearer token, service account token has expired"},
	{name: "jwt", in: "t=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln", want: "t=[REDACTED:jwt]", n: 1},
	{name: "bare jwt", in: "got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln ok", want: "got [REDACTED:jwt] ok", n: 1},
	{name: "url password", in: "https://bob:hunter2@example.com/x", want: "https://bob:[REDACTED:password]@example.com/x", n: 1},
	{name: "url port is not a password", in: "https://10.0.0.4:6443/api and http://[fe80::1]:80/", want: "https://10.0.0.4:6443/api and http://[fe80::1]:80/"},
	{name: "aws key", in: "id AKIAIOSFODNN7EXAMPLE used", want: "id [REDACTED:aws-key] used", n: 1},
	{name: "pem block", in: "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb", want: "a\n[REDACTED:private-key]\nb", n: 1},
	{name: "pem block cut at its end", in: "a\n-----BEGIN PRIVATE KEY-----\nMHcCAQEE", want: "a\n[REDACTED:private-key]", n: 1},
	{name: "pem block cut at its start", in: "MIIEowIBAAKCAQEAabcdefgh\nMIIEowIBAAKCAQEAabcdefgh\n-----END RSA PRIVATE KEY-----\nnext", want: "[REDACTED:private-key]\nnext", n: 1},
	{name: "certificates are not keys", in: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----", want: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----"},
	{name: "yaml block scalar", in: "a:\n  secret: |\n    l1\n\n    l2\n  b: 1\n", want: "a:\n  secret: |\n    [REDACTED:secret]\n\n    [REDACTED:secret]\n  b: 1\n", n: 2},
	{name: "prose after token: is kept", in: `"Failed to get token: open C:\k\token"`, want: `"Failed to get token: open C:\k\token"`},
	{name: "names that start with a secret word are kept", in: "tokenFile: C:\\k\\t\nsecretName: x\npasswordFile=y\n", want: "tokenFile: C:\\k\\t\nsecretName: x\npasswordFile=y\n"},
	{name: "sas signature", in: "https://a.blob.core.windows.net/c?sv=1&sig=abc%2F&se=2", want: "https://a.blob.core.windows.net/c?sv=1&sig=[REDACTED:sas]&se=2", n: 1},
	{name: "connection string", in: "AccountName=a;AccountKey=abc+/==;EndpointSuffix=x", want: "AccountName=a;AccountKey=[REDACTED:secret];EndpointSuffix=x", n: 1},
	{name: "go struct", in: "{Password:pw BearerToken:tk Host:h}", want: "{Password:[REDACTED:secret] BearerToken:[REDACTED:secret] Host:h}", n: 2},
	{name: "nothing to do", in: "", want: ""},
	{name: "proxy authorization", in: "Proxy-Authorization: Basic dXNlcjpQbGFudDNk", want: "Proxy-Authorization: Basic [REDACTED:authorization]", n: 1},
	{name: "authorization as Go prints a header map", in: "Authorization:[Bearer Plant3dGoHeader]", want: "Authorization:[Bearer [REDACTED:authorization]]", n: 1},
	{name: "kubeconfig client key", in: "    client-key-data: LS0tLS1CRUdJTiBQbGFudDNk\n", want: "    client-key-data: [REDACTED:secret]\n", n: 1},
	{name: "powershell env", in: "$env:ClientSecret='Plant3dPs'\n", want: "$env:ClientSecret='[REDACTED:secret]'\n", n: 1},
	{name: "cmd set", in: "set password=Plant3d cmd\n", want: "set password=[REDACTED:secret]\n", n: 1},
	{name: "yaml list item export", in: "  - export  API_KEY = Plant3dExport\n", want: "  - export  API_KEY = [REDACTED:secret]\n", n: 1},
	{name: "yaml tabs", in: "\t \ttoken:\tPlant3dTab\t\n", want: "\t \ttoken:\t[REDACTED:secret]\t\n", n: 1},
	{name: "yaml folded block", in: "secret: >-\n  Plant3dFolded\n  more\nnext: 1\n", want: "secret: >-\n  [REDACTED:secret]\n  [REDACTED:secret]\nnext: 1\n", n: 2},
	{name: "env line runs to its end", in: "token=Plant3d1,token=Plant3d2;token=Plant3d3", want: "token=[REDACTED:secret]", n: 1},
	{name: "bearer with padding", in: "bearer\t0123456789abcdefPlant==", want: "bearer\t[REDACTED:token]", n: 1},
	{name: "flag with a single-quoted value", in: "--token 'Plant3dQuoted' --v=2", want: "--token '[REDACTED:secret]' --v=2", n: 1},
	{name: "flag with a prefix", in: "kube-proxy.exe --x-token Plant3dDash", want: "kube-proxy.exe --x-token [REDACTED:secret]", n: 1},
	{name: "two url passwords", in: "https://u:Plant3d@h ab://v:Plant3dQ@h", want: "https://u:[REDACTED:password]@h ab://v:[REDACTED:password]@h", n: 2},
	{name: "sas in capitals", in: "&SIG=Plant3d%2F", want: "&SIG=[REDACTED:sas]", n: 1},
	{name: "aws session key", in: "ASIA0123456789ABCDEF.", want: "[REDACTED:aws-key].", n: 1},
	{name: "pem tail after a line", in: "x\nMIIEowIBAAKCAQEAabcdefgh\n-----END PRIVATE KEY-----", want: "x\n[REDACTED:private-key]", n: 1},
	{name: "pem rsa cut at its end", in: "-----BEGIN RSA PRIVATE KEY-----\nPlant3dKeyCut", want: "[REDACTED:private-key]", n: 1},
	{name: "access key names", in: "ACCESS_KEY=Plant3dAK\naccesskey=Plant3dAK2\n", want: "ACCESS_KEY=[REDACTED:secret]\naccesskey=[REDACTED:secret]\n", n: 2},
	{name: "key name with a prefix", in: "aadClientSecret=Plant3dAad", want: "aadClientSecret=[REDACTED:secret]", n: 1},
}

func TestText(t *testing.T) {
	for _, tt := range textCases {
		t.Run(tt.name, func(t *testing.T) {
			got, n := Text(tt.in)
			if got != tt.want || n != tt.n {
				t.Errorf("Text(%q)\n = %q, %d\nwant %q, %d", tt.in, got, n, tt.want, tt.n)
			}
			// Redacting twice changes nothing more: markers are never masked again.
			if again, n2 := Text(got); again != got || n2 != 0 {
				t.Errorf("second pass = %q, %d; want no change", again, n2)
			}
		})
	}
}

// TestEveryRuleIsExercised keeps textCases honest: a rule that no case makes match could be
// broken, or dropped, without a test noticing.
func TestEveryRuleIsExercised(t *testing.T) {
	rules := append(append([]rule(nil), pemRules...), lineRules...)
	for i, r := range rules {
		hit := false
		for _, tt := range textCases {
			if r.re.MatchString(tt.in) && tt.n > 0 {
				hit = true
				break
			}
		}
		if !hit {
			t.Errorf("rule %d (%s, %s) matches no case of textCases that plants a secret; add one", i, r.class, r.re)
		}
	}
	yaml := false
	for _, tt := range textCases {
		for _, line := range strings.SplitAfter(tt.in, "\n") {
			yaml = yaml || (tt.n > 0 && yamlKeyLine.MatchString(line))
		}
	}
	if !yaml {
		t.Errorf("no case of textCases plants a secret on a YAML key line (%s); add one", yamlKeyLine)
	}
}

// readPairs reads "<fixture> <text>" lines; # starts a comment.
func readPairs(t testing.TB, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name, text, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		out[name] = append(out[name], text)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFixtures redacts files with planted secrets: every planted value must be gone, and the
// evidence around it must stay.
func TestFixtures(t *testing.T) {
	planted := readPairs(t, filepath.Join("testdata", "planted.txt"))
	kept := readPairs(t, filepath.Join("testdata", "kept.txt"))
	for name, secrets := range planted {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if !strings.Contains(string(b), s) {
					t.Fatalf("planted value %q is not in the fixture: the test would prove nothing", s)
				}
			}
			got, n := Text(string(b))
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("planted value %q survived redaction:\n%s", s, got)
				}
			}
			if n < len(secrets)/2 {
				t.Errorf("%d replacements for %d planted values", n, len(secrets))
			}
			for _, k := range kept[name] {
				if !strings.Contains(got, k) {
					t.Errorf("evidence %q was lost:\n%s", k, got)
				}
			}
		})
	}
	for name := range kept {
		if _, ok := planted[name]; !ok {
			t.Errorf("kept.txt names %s, which plants nothing", name)
		}
	}
}

// TestNoOverRedaction: node evidence (ipconfig, kube-proxy logs, HNS dumps, CNI and kubelet
// configs without secrets) must pass unchanged: IPs, MACs, GUIDs, digests and hashes are what
// the analyzer reads.
func TestNoOverRedaction(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "keep"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 {
		t.Fatalf("only %d evidence fixtures", len(entries))
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "keep", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got, n := Text(string(b))
			if got != string(b) || n != 0 {
				t.Errorf("%d replacements in evidence that holds no secret:\n%s", n, got)
			}
		})
	}
}

// BenchmarkText redacts the fixtures, as a node's logs and configs.
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
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Text(s)
	}
}

func FuzzText(f *testing.F) {
	f.Add("token: abc\npassword: |\n  x\n")
	f.Add("-----BEGIN PRIVATE KEY-----\nabc")
	f.Add(`{"secret":"a\"b"} --token x Authorization: Bearer y`)
	f.Fuzz(func(t *testing.T, s string) {
		got, n := Text(s)
		if n == 0 && got != s {
			t.Errorf("text changed without a replacement: %q -> %q", s, got)
		}
		if n > 0 && !strings.Contains(got, MarkerPrefix) {
			t.Errorf("%d replacements but no marker in %q", n, got)
		}
	})
}

// FuzzPlanted redacts every fixture with planted secrets (a kubeconfig, CNI and cloud configs,
// kubelet logs, a start script, env files, YAML secret blocks) surrounded by fuzzed lines, as
// a log tail or a concatenated dump puts them: no planted value may survive, whatever the
// text around it.
func FuzzPlanted(f *testing.F) {
	planted := readPairs(f, filepath.Join("testdata", "planted.txt"))
	var names []string
	for name := range planted {
		names = append(names, name)
	}
	slices.Sort(names)
	docs := map[string]string{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		docs[name] = string(b)
	}
	for i := range names {
		f.Add(uint8(i), "", "")
	}
	f.Add(uint8(0), "password: |", "-----END PRIVATE KEY-----")
	f.Add(uint8(1), `{"token": "`, `"}`)
	f.Fuzz(func(t *testing.T, pick uint8, before, after string) {
		name := names[int(pick)%len(names)]
		for _, s := range planted[name] {
			if strings.Contains(before, s) || strings.Contains(after, s) {
				return // the fuzzer copied a planted value into the noise: not a leak of the fixture's
			}
		}
		got, _ := Text(before + "\n" + docs[name] + "\n" + after)
		for _, s := range planted[name] {
			if strings.Contains(got, s) {
				t.Errorf("%s: planted value %q survived redaction with %q before and %q after", name, s, before, after)
			}
		}
	})
}
