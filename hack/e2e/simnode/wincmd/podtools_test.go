package wincmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
	"github.com/kubectl-winnet/winnet/pkg/podexec"
)

func podHost(t *testing.T, tools ...string) *Host {
	h := newHost(t)
	h.Tools = tools
	h.DNS = map[string][]string{"kubernetes.default.svc.cluster.local": {"10.96.0.1"}, "two.example": {"10.0.0.7", "10.0.0.8"}}
	h.Open = []string{"10.96.0.1:443"}
	return h
}

func TestDetectToolsThroughCmd(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tools []string
		want  []string
	}{
		{"both", []string{"powershell.exe", "nslookup.exe"}, []string{"powershell.exe", "nslookup.exe"}},
		{"nslookup only", []string{"nslookup.exe"}, []string{"nslookup.exe"}},
		{"none", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, podHost(t, tt.tools...), nodecmd.DetectTools(), nil)
			if r.code != 0 {
				t.Fatalf("DetectTools: %v", r)
			}
			if diff := cmp.Diff(tt.want, nodecmd.ParseTools(r.stdout)); diff != "" {
				t.Fatalf("tools (-want +got):\n%s\n%v", diff, r)
			}
		})
	}
}

func TestWhere(t *testing.T) {
	h := podHost(t, "nslookup.exe")
	for _, tt := range []struct {
		argv []string
		code int
		out  string
	}{
		{[]string{"where.exe", "/q", "nslookup.exe"}, 0, ""},
		{[]string{"where.exe", "/q", "powershell.exe"}, 1, ""},
		{[]string{"where.exe", "cmd.exe"}, 0, "C:\\Windows\\System32\\cmd.exe\r\n"},
		{[]string{"where.exe", "/r", "c:\\", "*.exe"}, 2, ""},
	} {
		t.Run(strings.Join(tt.argv, " "), func(t *testing.T) {
			r := run(t, h, tt.argv, nil)
			if r.code != tt.code || r.stdout != tt.out {
				t.Fatalf("got %v, want exit %d stdout %q", r, tt.code, tt.out)
			}
		})
	}
}

// The simulated tools' output must read back through pkg/podexec's parsers as a real node's does.
func TestNslookupRoundTrip(t *testing.T) {
	h := podHost(t, "nslookup.exe")
	for _, tt := range []struct {
		name string
		want podexec.Answer
	}{
		{"kubernetes.default.svc.cluster.local", podexec.Answer{Addrs: []string{"10.96.0.1"}, Rcode: "NOERROR"}},
		{"two.example", podexec.Answer{Addrs: []string{"10.0.0.7", "10.0.0.8"}, Rcode: "NOERROR"}},
		{"nope.example", podexec.Answer{Rcode: "NXDOMAIN", Text: "UnKnown can't find nope.example.: Non-existent domain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := nodecmd.NslookupArgv(tt.name, "10.96.0.10", 53, true)
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, h, argv, nil)
			if diff := cmp.Diff(tt.want, podexec.ParseNslookup(r.stdout)); diff != "" {
				t.Fatalf("(-want +got):\n%s\n%v", diff, r)
			}
		})
	}
	if r := run(t, h, []string{"nslookup.exe", "-debug", "a", "10.0.0.1"}, nil); r.code == 0 || !strings.Contains(r.stderr, "not simulated") {
		t.Fatalf("an unknown option ran: %v", r)
	}
}

func TestPowerShellOnlyNodecmdScripts(t *testing.T) {
	h := podHost(t, "powershell.exe")
	tcp := func(ip string, port int) []string {
		argv, err := nodecmd.PowerShellTCPArgv(ip, port)
		if err != nil {
			t.Fatal(err)
		}
		return argv
	}
	dns, err := nodecmd.PowerShellDNSArgv("kubernetes.default.svc.cluster.local", "10.96.0.10", false)
	if err != nil {
		t.Fatal(err)
	}
	nx, err := nodecmd.PowerShellDNSArgv("nope.example", "10.96.0.10", true)
	if err != nil {
		t.Fatal(err)
	}
	tampered := tcp("10.96.0.1", 443)
	tampered[5] = strings.Replace(tampered[5], "Wait(3000)", "Wait(30000)", 1)
	for _, tt := range []struct {
		name string
		argv []string
		code int
		out  string
	}{
		{"open port", tcp("10.96.0.1", 443), 0, "True\r\n"},
		{"closed port", tcp("10.96.0.1", 80), 0, "False\r\n"},
		{"dns", dns, 0, "Address: 10.96.0.1\r\n"},
		{"nxdomain", nx, 0, "Error: nope.example : DNS name does not exist\r\n"},
		{"a changed script", tampered, 1, ""},
		{"anything else", []string{"powershell.exe", "-Command", "Get-Process"}, 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, h, tt.argv, nil)
			if r.code != tt.code || r.stdout != tt.out {
				t.Fatalf("got %v, want exit %d stdout %q", r, tt.code, tt.out)
			}
		})
	}
	// An image without PowerShell cannot run it.
	if r := run(t, podHost(t, "nslookup.exe"), tcp("10.96.0.1", 443), nil); r.code == 0 {
		t.Fatalf("powershell.exe ran in an image without it: %v", r)
	}
}

// curl.exe answers only nodecmd's TCP test, as a nanoserver image's curl would: a connect
// time and 52 for an open port, 0 and 7 (refused) otherwise; what it prints goes through the
// plugin's parser.
func TestCurlOnlyNodecmdTCPTest(t *testing.T) {
	h := podHost(t, "curl.exe")
	argv := func(ip string, port int) []string {
		a, err := nodecmd.CurlTCPArgv(ip, port)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tt := range []struct {
		name    string
		argv    []string
		code    int
		verdict string
	}{
		{"open port", argv("10.96.0.1", 443), 52, "ok"},
		{"closed port", argv("10.96.0.1", 80), 7, "fail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, h, tt.argv, nil)
			if r.code != tt.code {
				t.Fatalf("got %v, want exit %d", r, tt.code)
			}
			if v, _ := podexec.ParseCurlTCP(r.stdout, r.code, "x"); v != tt.verdict {
				t.Fatalf("parsed %q, want %q (stdout %q)", v, tt.verdict, r.stdout)
			}
		})
	}
	if r := run(t, h, []string{"curl.exe", "https://example.com/"}, nil); r.code == 0 || !strings.Contains(r.stderr, "simulated only as") {
		t.Fatalf("an arbitrary curl ran: %v", r)
	}
}
