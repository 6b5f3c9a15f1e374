package nodecmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPodExecCommandLines(t *testing.T) {
	must := func(argv []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return argv
	}
	ps := []string{"powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command"}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"detect", DetectTools(), []string{"cmd.exe", "/d", "/s", "/c",
			`(where.exe /q powershell.exe && echo powershell.exe) & (where.exe /q nslookup.exe && echo nslookup.exe) & (where.exe /q curl.exe && echo curl.exe) & exit /b 0`}},
		{"curl tcp", must(CurlTCPArgv("10.96.0.1", 443)),
			[]string{"curl.exe", "-g", "-s", "-o", "NUL", "-w", "%{time_connect}", "--connect-timeout", "3", "-m", "5", "http://10.96.0.1:443/"}},
		{"curl tcp ipv6", must(CurlTCPArgv("fd00::1", 80)),
			[]string{"curl.exe", "-g", "-s", "-o", "NUL", "-w", "%{time_connect}", "--connect-timeout", "3", "-m", "5", "http://[fd00::1]:80/"}},
		{"nslookup udp", must(NslookupArgv("Kubernetes.default.svc.cluster.local.", "10.96.0.10", 53, false)),
			[]string{"nslookup.exe", "-type=A", "-timeout=3", "-retry=1", "kubernetes.default.svc.cluster.local.", "10.96.0.10"}},
		{"nslookup tcp other port", must(NslookupArgv("a.b", "::ffff:10.0.0.1", 5353, true)),
			[]string{"nslookup.exe", "-type=A", "-timeout=3", "-retry=1", "-vc", "-port=5353", "a.b.", "10.0.0.1"}},
		{"powershell tcp", must(PowerShellTCPArgv("10.96.0.1", 443)), append(ps,
			`$c = New-Object System.Net.Sockets.TcpClient; try { if ($c.ConnectAsync('10.96.0.1', 443).Wait(3000)) { 'True' } else { 'Timeout' } } catch { 'False' } finally { $c.Dispose() }`)},
		{"powershell dns tcp", must(PowerShellDNSArgv("kubernetes.default.svc.cluster.local", "fd00::a", true)), append(ps,
			`try { Resolve-DnsName -Name 'kubernetes.default.svc.cluster.local.' -Server 'fd00::a' -Type A -DnsOnly -QuickTimeout -TcpOnly -ErrorAction Stop | Where-Object IPAddress | ForEach-Object { 'Address: ' + $_.IPAddress } } catch { 'Error: ' + $_.Exception.Message }`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			for _, a := range tt.got {
				if strings.Contains(a, `"`) {
					t.Fatalf("argument holds a double quote: %s", a)
				}
			}
		})
	}
}

func TestPodExecRefusesUnsafeInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func() error
	}{
		{"name with quote", func() error { _, err := NslookupArgv("a'b", "10.0.0.1", 53, false); return err }},
		{"name with space", func() error { _, err := PowerShellDNSArgv("a b", "10.0.0.1", false); return err }},
		{"name with semicolon", func() error { _, err := PowerShellDNSArgv("a;calc", "10.0.0.1", false); return err }},
		{"empty name", func() error { _, err := NslookupArgv("", "10.0.0.1", 53, false); return err }},
		{"label too long", func() error { _, err := NslookupArgv(strings.Repeat("a", 64), "10.0.0.1", 53, false); return err }},
		{"server is a name", func() error { _, err := NslookupArgv("a", "dns.example", 53, false); return err }},
		{"zoned server", func() error { _, err := NslookupArgv("a", "fe80::1%eth0", 53, false); return err }},
		{"ip with script", func() error { _, err := PowerShellTCPArgv("10.0.0.1');calc;('", 80); return err }},
		{"port zero", func() error { _, err := PowerShellTCPArgv("10.0.0.1", 0); return err }},
		{"port too big", func() error { _, err := NslookupArgv("a", "10.0.0.1", 70000, false); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.run() == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestParseTools(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		want      []string
	}{
		{"both", "powershell.exe\r\nnslookup.exe\r\n", []string{"powershell.exe", "nslookup.exe"}},
		{"nslookup only", "nslookup.exe\r\n", []string{"nslookup.exe"}},
		{"none", "", nil},
		{"noise ignored", "INFO: something\r\nNSLOOKUP.EXE \r\nping.exe\r\n", []string{"nslookup.exe"}},
		{"curl, as nanoserver has it", "curl.exe\r\n", []string{"curl.exe"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseTools(tt.out)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
