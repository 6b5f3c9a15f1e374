//go:build winesmoke

package winesmoke

// Run by hack/wine-smoke.sh, which installs Wine, prepares the prefix and builds the exe:
//
//	WINNET_WINE=/usr/lib/wine/wine64 WINNET_WINE_EXE=_output/wine/winnet-collector.exe \
//	  WINEPREFIX=... go test -tags winesmoke ./hack/winesmoke/
//
// WINNET_MINGW (the mingw-w64 C compiler) enables the struct layout check.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// runTimeout bounds one Wine run; a warm run takes about a second.
const runTimeout = 3 * time.Minute

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set; run hack/wine-smoke.sh (make wine-smoke), which sets it", name)
	}
	return v
}

// wine runs a Windows program under Wine and returns its stdout and stderr.
func wine(t *testing.T, args ...string) (stdout, stderr []byte, took time.Duration, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, env(t, "WINNET_WINE"), args...)
	cmd.Env = append(os.Environ(), "WINEDLLOVERRIDES=mscoree,mshtml=")
	if os.Getenv("WINEDEBUG") == "" {
		cmd.Env = append(cmd.Env, "WINEDEBUG=fixme-all")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after %s: %w", runTimeout, ctx.Err())
	}
	return out.Bytes(), errb.Bytes(), time.Since(start), err
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening the collector exe: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestVersionUnderWine(t *testing.T) {
	exe := env(t, "WINNET_WINE_EXE")
	out, errb, took, err := wine(t, exe, "version")
	t.Logf("winnet-collector version under Wine: %s", took.Round(time.Millisecond))
	if err != nil || !strings.Contains(string(out), "(wire schema "+wire.SchemaVersion+", windows/amd64)") {
		t.Fatalf("the exe did not start under Wine: %v\nstdout: %s\nstderr: %s", err, out, errb)
	}
}

// Wine has no pktmon.exe: a capture must say so and end, with nothing on stdout (where a
// capture's tar stream would go) and its error as a record on stderr.
func TestCaptureWithoutPktmonUnderWine(t *testing.T) {
	exe := env(t, "WINNET_WINE_EXE")
	out, errb, took, err := wine(t, exe, "capture", "--duration", "2s", "--pod-ip", "10.244.1.5")
	t.Logf("winnet-collector capture under Wine: %s", took.Round(time.Millisecond))
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("capture without pktmon: %v, want exit 1\nstderr: %s", err, errb)
	}
	if len(out) != 0 {
		t.Errorf("capture without pktmon wrote %d bytes to stdout, want none", len(out))
	}
	if !strings.Contains(string(errb), `"type":"error"`) || !strings.Contains(string(errb), "pktmon") {
		t.Errorf("stderr has no error record naming pktmon:\n%s", errb)
	}
}

func TestCollectUnderWine(t *testing.T) {
	exe := env(t, "WINNET_WINE_EXE")
	sum := fileSHA256(t, exe)

	// A loopback listener for the probe that must succeed, and a port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.Addr().String()
	gone.Close()
	// A UDP echo server: the probe must see the reply. A UDP probe of a closed port is not
	// checked: Wine does not turn the ICMP port unreachable into WSAECONNRESET as Windows does,
	// so it reports "sent" where Windows reports a failure.
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(buf[:n], from)
		}
	}()
	open := "tcp:" + ln.Addr().String()
	refused := "tcp:" + closed
	udp := "udp:" + echo.LocalAddr().String()
	udpServer, tcpServer := dnsStub(t)
	dns := "dns:smoke.winnet.test@" + udpServer
	dnsTCP := "dns:smoke.winnet.test@" + tcpServer + "/tcp"

	planted := plantNodeFiles(t)
	stdout, stderr, took, err := wine(t, exe, "collect", "--since", "1h", "--pod-ip", PodIP,
		"--probe", open, "--probe", refused, "--probe", udp, "--probe", dns, "--probe", dnsTCP)
	t.Logf("winnet-collector collect under Wine: %s, %d bytes of NDJSON", took.Round(time.Millisecond), len(stdout))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("collector stderr:\n%s", stderr)
		}
	})
	var exit *exec.ExitError
	if errors.As(err, &exit) || err != nil {
		t.Fatalf("the collector under Wine failed: %v (it exits 0 whenever it could write its stream)", err)
	}

	rep, err := Parse(stdout)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s", err, stdout)
	}
	t.Logf("what each source did under Wine:\n%s", rep.Summary())
	problems, untabled := rep.Check(sum, Expectations, []ProbeWant{
		{Target: open, Verdict: "ok"},
		{Target: refused, Verdict: "fail"},
		{Target: udp, Verdict: "ok", Result: "replied"},
		{Target: dns, Verdict: "ok", Method: "host-dns", Answer: dnsStubAnswer},
		{Target: dnsTCP, Verdict: "ok", Method: "host-dns", Answer: dnsStubAnswer},
	})
	for _, p := range problems {
		t.Error(p)
	}
	for _, secret := range planted {
		if bytes.Contains(stdout, []byte(secret)) {
			t.Errorf("a secret planted in the node's files left the node: %q is in the collector's output", secret)
		}
	}
	if !bytes.Contains(stdout, []byte(`C:\\k\\kube-proxy.log`)) || !bytes.Contains(stdout, []byte("proxier.go")) {
		t.Errorf("the planted kube-proxy log was not collected")
	}
	if len(untabled) > 0 {
		t.Logf("sources not in the Expectations table (add them to hack/winesmoke/check.go): %v", untabled)
	}
}

// TestPodScopeUnderWine: probes from the pod's compartment cannot run under Wine, which lacks
// the compartment functions; the collector must say so once and return each probe skipped,
// so the plugin can fall back to exec into the pod.
func TestPodScopeUnderWine(t *testing.T) {
	exe := env(t, "WINNET_WINE_EXE")
	pod := "tcp:127.0.0.1:9"
	stdout, stderr, took, err := wine(t, exe, "collect", "--since", "1h", "--pod-ip", PodIP, "--probe-from", "pod", "--probe", pod)
	t.Logf("winnet-collector collect --probe-from pod under Wine: %s", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the collector under Wine failed: %v\nstderr: %s", err, stderr)
	}
	rep, err := Parse(stdout)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s", err, stdout)
	}
	problems, _ := rep.Check(fileSHA256(t, exe), Expectations, []ProbeWant{
		{Target: pod, Verdict: "skipped", Method: "pod-compartment", Error: CompartmentMissing},
	})
	for _, p := range problems {
		t.Error(p)
	}
	if len(rep.Probes) != 1 {
		t.Errorf("%d probe records, want the one pod-scoped probe (none from the host): %+v", len(rep.Probes), rep.Probes)
	}
}

// dnsStubAnswer is the one A record the DNS stub answers with (TEST-NET-1).
const dnsStubAnswer = "192.0.2.53"

// dnsStub answers every DNS query with one A record, on a loopback UDP port and on a loopback
// TCP port (length-prefixed), and returns both addresses.
func dnsStub(t *testing.T) (udpAddr, tcpAddr string) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := dnsStubReply(buf[:n]); r != nil {
				_, _ = c.WriteTo(r, from)
			}
		}
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				var l [2]byte
				if _, err := io.ReadFull(conn, l[:]); err != nil {
					return
				}
				q := make([]byte, int(l[0])<<8|int(l[1]))
				if _, err := io.ReadFull(conn, q); err != nil {
					return
				}
				if r := dnsStubReply(q); r != nil {
					_, _ = conn.Write(append([]byte{byte(len(r) >> 8), byte(len(r))}, r...))
				}
			}()
		}
	}()
	return c.LocalAddr().String(), ln.Addr().String()
}

// dnsStubReply answers a query: its ID; QR, RD and RA set; its own question; one A record
// whose name points at the question's.
func dnsStubReply(q []byte) []byte {
	if len(q) < 17 {
		return nil
	}
	r := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, q[12:]...)
	r = append(r, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4)
	return append(r, net.ParseIP(dnsStubAnswer).To4()...)
}

// layoutProgram prints, compiled against mingw-w64's headers, the sizes and offsets that
// package hostparse decodes the IP Helper tables with.
const layoutProgram = `#include <winsock2.h>
#include <ws2ipdef.h>
#include <iphlpapi.h>
#include <netioapi.h>
#include <stdio.h>
#include <stddef.h>
#define P(name, v) printf("%s %d\n", name, (int)(v))
int main(void) {
  P("SockaddrInetSize", sizeof(SOCKADDR_INET));
  P("IPForwardTable2Rows", offsetof(MIB_IPFORWARD_TABLE2, Table));
  P("IPForwardRow2Size", sizeof(MIB_IPFORWARD_ROW2));
  P("IPForwardRow2IfIndex", offsetof(MIB_IPFORWARD_ROW2, InterfaceIndex));
  P("IPForwardRow2Prefix", offsetof(MIB_IPFORWARD_ROW2, DestinationPrefix.Prefix));
  P("IPForwardRow2PrefixLen", offsetof(MIB_IPFORWARD_ROW2, DestinationPrefix.PrefixLength));
  P("IPForwardRow2NextHop", offsetof(MIB_IPFORWARD_ROW2, NextHop));
  P("IPForwardRow2Metric", offsetof(MIB_IPFORWARD_ROW2, Metric));
  P("IPNetTable2Rows", offsetof(MIB_IPNET_TABLE2, Table));
  P("IPNetRow2Size", sizeof(MIB_IPNET_ROW2));
  P("IPNetRow2Address", offsetof(MIB_IPNET_ROW2, Address));
  P("IPNetRow2IfIndex", offsetof(MIB_IPNET_ROW2, InterfaceIndex));
  P("IPNetRow2PhysAddr", offsetof(MIB_IPNET_ROW2, PhysicalAddress));
  P("IPNetRow2PhysAddrLen", offsetof(MIB_IPNET_ROW2, PhysicalAddressLength));
  P("IPNetRow2State", offsetof(MIB_IPNET_ROW2, State));
  P("TCPTableRows", offsetof(MIB_TCPTABLE_OWNER_PID, table));
  P("TCP6TableRows", offsetof(MIB_TCP6TABLE_OWNER_PID, table));
  P("TCPRowOwnerPID", sizeof(MIB_TCPROW_OWNER_PID));
  P("TCPRowState", offsetof(MIB_TCPROW_OWNER_PID, dwState));
  P("TCP6RowOwnerPID", sizeof(MIB_TCP6ROW_OWNER_PID));
  P("TCP6RowStateField", offsetof(MIB_TCP6ROW_OWNER_PID, dwState));
  return 0;
}
`

func TestLayoutsAgainstMingwHeaders(t *testing.T) {
	cc := os.Getenv("WINNET_MINGW")
	if cc == "" {
		t.Skip("WINNET_MINGW is not set: no mingw-w64 compiler to check the table layouts with")
	}
	want := map[string]int{
		"SockaddrInetSize":       hostparse.SockaddrInetSize,
		"IPForwardTable2Rows":    hostparse.IPForwardTable2Rows,
		"IPForwardRow2Size":      hostparse.IPForwardRow2Size,
		"IPForwardRow2IfIndex":   hostparse.IPForwardRow2IfIndex,
		"IPForwardRow2Prefix":    hostparse.IPForwardRow2Prefix,
		"IPForwardRow2PrefixLen": hostparse.IPForwardRow2PrefixLen,
		"IPForwardRow2NextHop":   hostparse.IPForwardRow2NextHop,
		"IPForwardRow2Metric":    hostparse.IPForwardRow2Metric,
		"IPNetTable2Rows":        hostparse.IPNetTable2Rows,
		"IPNetRow2Size":          hostparse.IPNetRow2Size,
		"IPNetRow2Address":       hostparse.IPNetRow2Address,
		"IPNetRow2IfIndex":       hostparse.IPNetRow2IfIndex,
		"IPNetRow2PhysAddr":      hostparse.IPNetRow2PhysAddr,
		"IPNetRow2PhysAddrLen":   hostparse.IPNetRow2PhysAddrLen,
		"IPNetRow2State":         hostparse.IPNetRow2State,
		"TCPTableRows":           hostparse.TCPTableRows,
		"TCP6TableRows":          hostparse.TCPTableRows,
		"TCPRowOwnerPID":         hostparse.TCPRowOwnerPID,
		"TCPRowState":            0,
		"TCP6RowOwnerPID":        hostparse.TCP6RowOwnerPID,
		"TCP6RowStateField":      hostparse.TCP6RowStateField,
	}
	dir := t.TempDir()
	src, exe := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout.exe")
	if err := os.WriteFile(src, []byte(layoutProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-o", exe, src, "-liphlpapi").CombinedOutput(); err != nil {
		t.Fatalf("compiling the layout program with %s: %v\n%s", cc, err, out)
	}
	stdout, stderr, _, err := wine(t, exe)
	if err != nil {
		t.Fatalf("running the layout program under Wine: %v\n%s", err, stderr)
	}
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			t.Fatalf("the layout program printed %q", line)
		}
		got[name] = n
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s: mingw-w64's headers say %d, package hostparse uses %d", name, g, w)
		}
	}
}

// plantNodeFiles writes a kube-proxy log, a CNI config and a kubeconfig into the Wine prefix's
// C: drive, where a node keeps them, each holding secrets that must be redacted on the node.
// It returns the secret values.
func plantNodeFiles(t *testing.T) []string {
	t.Helper()
	prefix := env(t, "WINEPREFIX")
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3aW5uZXQtc21va2UifQ.c2lnbmF0dXJlLXBsYW50ZWQtYnktdGhlLXRlc3Q"
	keyData := "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCnBsYW50ZWQtYnktd2luZXNtb2tlCg=="
	password := "Planted-Wine-Passw0rd!"
	files := map[string]string{
		"k/kube-proxy.log": "I1126 01:02:03.000000    4242 proxier.go:100] \"Syncing HNS\"\r\n" +
			"I1126 01:02:04.000000    4242 server.go:50] \"Using token\" token=\"" + token + "\"\r\n",
		"etc/cni/net.d/10-flannel.conflist": `{"cniVersion":"0.3.0","name":"cbr0","plugins":[{"type":"flannel","delegate":{"type":"win-bridge","policies":[{"name":"EndpointPolicy","value":{"Type":"OutBoundNAT","ExceptionList":["10.244.0.0/16","10.96.0.0/12"]}}]}}]}`,
		"k/config":                          "apiVersion: v1\nkind: Config\nusers:\n- name: node\n  user:\n    client-key-data: " + keyData + "\n    token: " + token + "\n    password: " + password + "\n",
	}
	for rel, content := range files {
		path := filepath.Join(prefix, "drive_c", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return []string{token, keyData, password}
}
