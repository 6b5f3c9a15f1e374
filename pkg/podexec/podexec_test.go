package podexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/nodeexec"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Outputs as Windows Server 2022's nslookup prints them (CRLF line ends).
const (
	nsOK = "Server:  kube-dns.kube-system.svc.cluster.local\r\nAddress:  10.96.0.10\r\n\r\n" +
		"Name:    kubernetes.default.svc.cluster.local\r\nAddress:  10.96.0.1\r\n\r\n"
	// The reverse lookup of the server times out first; the query itself is answered.
	nsOKAfterPTRTimeout = "DNS request timed out.\r\n    timeout was 3 seconds.\r\nServer:  UnKnown\r\nAddress:  10.244.0.3\r\n\r\n" +
		"Non-authoritative answer:\r\nName:    svc.example.com\r\nAddresses:  10.0.0.7\r\n\t  10.0.0.8\r\n\r\n"
	nsNX      = "Server:  UnKnown\r\nAddress:  10.96.0.10\r\n\r\n*** UnKnown can't find nope.default.svc.cluster.local.: Non-existent domain\r\n"
	nsTimeout = "DNS request timed out.\r\n    timeout was 3 seconds.\r\nServer:  UnKnown\r\nAddress:  10.96.0.10\r\n\r\n" +
		"DNS request timed out.\r\n    timeout was 3 seconds.\r\n*** Request to UnKnown timed-out\r\n"
	nsServfail = "Server:  UnKnown\r\nAddress:  10.96.0.10\r\n\r\n*** UnKnown can't find x.: Server failed\r\n"
)

func TestParseNslookup(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		want      Answer
	}{
		{"answer", nsOK, Answer{Addrs: []string{"10.96.0.1"}, Rcode: "NOERROR"}},
		{"several after a PTR timeout", nsOKAfterPTRTimeout, Answer{Addrs: []string{"10.0.0.7", "10.0.0.8"}, Rcode: "NOERROR"}},
		{"ipv6 continuation", "Server: x\r\nAddress: fd00::a\r\n\r\nName: a\r\nAddresses:  fd00::1\r\n\t  fd00::2\r\n", Answer{Addrs: []string{"fd00::1", "fd00::2"}, Rcode: "NOERROR"}},
		{"nxdomain", nsNX, Answer{Rcode: "NXDOMAIN", Text: "UnKnown can't find nope.default.svc.cluster.local.: Non-existent domain"}},
		{"timeout", nsTimeout, Answer{Timeout: true, Text: "Request to UnKnown timed-out"}},
		{"servfail", nsServfail, Answer{Rcode: "SERVFAIL", Text: "UnKnown can't find x.: Server failed"}},
		{"server address alone is no answer", "Server:  UnKnown\r\nAddress:  10.96.0.10\r\n\r\n", Answer{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseNslookup(tt.out)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResolveDNS(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		want      Answer
	}{
		{"answers", "Address: 10.96.0.1\r\nAddress: 10.96.0.2\r\n", Answer{Addrs: []string{"10.96.0.1", "10.96.0.2"}, Rcode: "NOERROR"}},
		{"nxdomain", "Error: nope.default.svc.cluster.local : DNS name does not exist\r\n", Answer{Rcode: "NXDOMAIN", Text: "nope.default.svc.cluster.local : DNS name does not exist"}},
		{"timeout", "Error: a : This operation returned because the timeout period expired\r\n", Answer{Timeout: true, Text: "a : This operation returned because the timeout period expired"}},
		{"nothing", "", Answer{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseResolveDNS(tt.out)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTCP(t *testing.T) {
	for _, tt := range []struct{ out, verdict string }{
		{"True\r\n", "ok"}, {"False\r\n", "fail"}, {"Timeout\r\n", "timeout"}, {"Exception calling...\r\n", "fail"},
	} {
		t.Run(strings.TrimSpace(tt.out), func(t *testing.T) {
			if v, _ := ParseTCP(tt.out, "10.96.0.1:443"); v != tt.verdict {
				t.Fatalf("verdict %q, want %q", v, tt.verdict)
			}
		})
	}
}

// fakeExec answers by the program name, after the tool detection.
type fakeExec struct {
	tools   string            // DetectTools' stdout
	detect  error             // DetectTools' error
	answers map[string]string // argv[0] -> stdout
	exit    int               // exit code of every non-detection command
	mu      sync.Mutex        // the probes run concurrently
	calls   [][]string
}

func (f *fakeExec) Exec(_ context.Context, pod *corev1.Pod, container string, argv []string, _ io.Reader, stdout, stderr io.Writer) error {
	if pod.Name != "web" || container != "app" {
		return fmt.Errorf("exec into the wrong place: %s/%s", pod.Name, container)
	}
	f.mu.Lock()
	f.calls = append(f.calls, argv)
	f.mu.Unlock()
	if argv[0] == "cmd.exe" {
		if f.detect != nil {
			fmt.Fprint(stderr, "failed to exec in container: hcs::System::CreateProcess cmd.exe: The system cannot find the file specified.\r\n")
			return f.detect
		}
		fmt.Fprint(stdout, f.tools)
		return nil
	}
	fmt.Fprint(stdout, f.answers[argv[0]])
	if f.exit != 0 {
		return &nodeexec.ExitError{Code: f.exit}
	}
	return nil
}

func skipped(proto, target string) wire.ProbeData {
	return wire.ProbeData{Target: target, Protocol: proto, Verdict: "skipped", Method: wire.ProbeMethodPodCompartment,
		Error: "cannot enter the network compartment: the pod is Hyper-V isolated; run this probe from inside the pod (kubectl exec) instead"}
}

func TestRun(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	in := []wire.ProbeData{
		skipped("dns", "kubernetes.default.svc.cluster.local@10.96.0.10:53"),
		skipped("tcp", "10.96.0.1:443"),
		skipped("udp", "10.96.0.10:53"),
	}
	type want struct{ verdict, method, errHas string }
	for _, tt := range []struct {
		name    string
		fake    *fakeExec
		want    []want
		methods []string
	}{
		{"nslookup only", &fakeExec{tools: "nslookup.exe\r\n", answers: map[string]string{"nslookup.exe": nsOK}},
			[]want{{"ok", "exec:nslookup", ""}, {"skipped", "pod-compartment", "no tool in the image can open a TCP connection"}, {"skipped", "pod-compartment", "UDP"}},
			[]string{"exec:nslookup"}},
		{"powershell only", &fakeExec{tools: "powershell.exe\r\n", answers: map[string]string{"powershell.exe": "Address: 10.96.0.1\r\n"}},
			[]want{{"ok", "exec:powershell", ""}, {"fail", "exec:powershell", "PowerShell printed"}, {"skipped", "pod-compartment", "UDP"}},
			[]string{"exec:powershell"}},
		{"nslookup exits non-zero on NXDOMAIN", &fakeExec{tools: "nslookup.exe\r\npowershell.exe\r\n", exit: 1,
			answers: map[string]string{"nslookup.exe": nsNX, "powershell.exe": "False\r\n"}},
			[]want{{"fail", "exec:nslookup", "NXDOMAIN"}, {"fail", "exec:powershell", "refused"}, {"skipped", "pod-compartment", "UDP"}},
			[]string{"exec:nslookup", "exec:powershell"}},
		{"nanoserver: nslookup absent, curl only", &fakeExec{tools: "curl.exe\r\n", answers: map[string]string{"curl.exe": "0.001532"}, exit: 52},
			[]want{{"skipped", "pod-compartment", "no tool in the image can send a DNS query"}, {"ok", "exec:curl", ""}, {"skipped", "pod-compartment", "UDP"}},
			[]string{"exec:curl"}},
		{"no tools", &fakeExec{tools: ""},
			[]want{{"skipped", "pod-compartment", "no tool in the image can send a DNS query"}, {"skipped", "pod-compartment", "TCP"}, {"skipped", "pod-compartment", "UDP"}},
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Exec: tt.fake, Pod: pod, Container: "app"}
			res, err := r.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Probes) != len(in) {
				t.Fatalf("%d results for %d probes", len(res.Probes), len(in))
			}
			for i, w := range tt.want {
				p := res.Probes[i]
				if p.Verdict != w.verdict || p.Method != w.method || !strings.Contains(p.Error, w.errHas) || p.Target != in[i].Target || p.Protocol != in[i].Protocol {
					t.Errorf("probe %d = %+v, want verdict %q method %q error containing %q", i, p, w.verdict, w.method, w.errHas)
				}
				// A probe still skipped keeps the collector's reason after the fallback's.
				if w.verdict == "skipped" && (!strings.HasPrefix(p.Error, "no tool") || !strings.Contains(p.Error, "cannot enter the network compartment")) {
					t.Errorf("probe %d error %q: want the fallback's reason first, then the collector's", i, p.Error)
				}
			}
			if diff := cmp.Diff(tt.methods, res.Methods()); diff != "" {
				t.Errorf("methods (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCurlTCP(t *testing.T) {
	for _, tt := range []struct {
		out     string
		code    int
		verdict string
	}{
		{"0.001532", 0, "ok"},   // an HTTP server answered
		{"0.002100", 52, "ok"},  // connected; the port does not speak HTTP (empty reply)
		{"0.003000", 56, "ok"},  // connected; the peer reset after the request
		{"0.000000", 7, "fail"}, // refused
		{"0.000000", 28, "timeout"},
		{"", 6, "fail"}, // something else: unknown, reported as such
	} {
		v, msg := ParseCurlTCP(tt.out, tt.code, "10.96.0.1:443")
		if v != tt.verdict || (v != "ok" && msg == "") {
			t.Errorf("ParseCurlTCP(%q, %d) = %q, %q; want %q with a reason", tt.out, tt.code, v, msg, tt.verdict)
		}
	}
}

func TestRunDNSDetail(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	f := &fakeExec{tools: "nslookup.exe\r\n", answers: map[string]string{"nslookup.exe": nsOK}}
	res, err := (&Runner{Exec: f, Pod: pod, Container: "app"}).Run(context.Background(),
		[]wire.ProbeData{skipped("dns", "kubernetes.default.svc.cluster.local@10.96.0.10:53/tcp")})
	if err != nil {
		t.Fatal(err)
	}
	want := probe.DNSDetail{Name: "kubernetes.default.svc.cluster.local", Server: "10.96.0.10:53", Transport: "tcp", Rcode: "NOERROR", Answers: []string{"10.96.0.1"}}
	if diff := cmp.Diff(want, res.Probes[0].Detail); diff != "" {
		t.Fatalf("detail (-want +got):\n%s", diff)
	}
	// The TCP transport reaches nslookup as -vc.
	if got := f.calls[1]; !strings.Contains(strings.Join(got, " "), " -vc ") {
		t.Fatalf("nslookup argv %q lacks -vc", got)
	}
}

func TestRunCannotExec(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	for _, tt := range []struct {
		name string
		err  error
		want []string
	}{
		{"exec forbidden in the target namespace", errors.New(`pods "web" is forbidden: User "ops" cannot create resource "pods/exec"`),
			[]string{"pod default/web", "forbidden", "grant `get` and `create` on pods/exec there"}},
		{"image without cmd.exe", &nodeexec.ExitError{Code: 1},
			[]string{"pod default/web", "exit code 1", "CreateProcess cmd.exe", "run them yourself with kubectl exec"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeExec{detect: tt.err}
			_, err := (&Runner{Exec: f, Pod: pod, Container: "app"}).Run(context.Background(), []wire.ProbeData{skipped("tcp", "10.96.0.1:443")})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if len(f.calls) != 1 {
				t.Errorf("%d execs after the detection failed, want none", len(f.calls)-1)
			}
		})
	}
}

func TestNeedsFallback(t *testing.T) {
	for _, tt := range []struct {
		p    wire.ProbeData
		want bool
	}{
		{skipped("dns", "a@10.0.0.1:53"), true},
		{wire.ProbeData{Verdict: "skipped", Method: wire.ProbeMethodReplay}, false},
		{wire.ProbeData{Verdict: "ok", Method: wire.ProbeMethodPodCompartment}, false},
	} {
		t.Run(tt.p.Verdict+"/"+tt.p.Method, func(t *testing.T) {
			if got := NeedsFallback(tt.p); got != tt.want {
				t.Fatalf("NeedsFallback = %v", got)
			}
		})
	}
}
