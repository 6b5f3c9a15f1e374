package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/kubectl-winnet/winnet/pkg/pktmon"
)

// pktmonBin is the program, built once for every test: the tests drive it as the collector
// does, as a separate process, so the detached capture process is exercised for real.
var pktmonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakepktmon-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pktmonBin = filepath.Join(dir, "pktmon")
	if out, err := exec.Command("go", "build", "-o", pktmonBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the simulated pktmon: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one simulated node: its pktmon state, the caller's current folder, its scenario.
type node struct {
	t                  *testing.T
	state, cwd, replay string
	env                []string
}

// newNode makes a node whose scenario holds capture (none when ""). Its capture is stopped
// when the test ends, before the folders go.
func newNode(t *testing.T, capture string) *node {
	t.Helper()
	root := t.TempDir()
	n := &node{t: t, state: filepath.Join(root, "state"), cwd: filepath.Join(root, "work"), replay: filepath.Join(root, "scenario")}
	for _, d := range []string{n.cwd, n.replay} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if capture != "" {
		if err := os.WriteFile(filepath.Join(n.replay, captureFile), []byte(capture), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(n.state, "driver.log")); err == nil {
				t.Logf("driver.log:\n%s", log)
			}
		}
		n.run("stop")
	})
	return n
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

func (n *node) run(args ...string) result { return n.runEnv(nil, args...) }

func (n *node) runEnv(env []string, args ...string) result {
	cmd := exec.Command(pktmonBin, args...)
	cmd.Dir = n.cwd
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WINNET_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, stateEnv+"="+n.state, replayEnv+"="+n.replay)
	cmd.Env = append(append(cmd.Env, n.env...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		n.t.Fatalf("running pktmon %q: %v", args, err)
	}
	return r
}

// ok runs a command that must succeed, returning its stdout.
func (n *node) ok(args ...string) string {
	n.t.Helper()
	r := n.run(args...)
	if r.code != 0 || r.stderr != "" {
		n.t.Fatalf("pktmon %q: %s", args, r)
	}
	return r.stdout
}

// refused runs a command that must fail with a message on stderr and nothing on stdout.
func (n *node) refused(wantErr string, args ...string) {
	n.t.Helper()
	r := n.run(args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: ") || !strings.Contains(r.stderr, wantErr) || r.stdout != "" {
		n.t.Errorf("pktmon %q: %s; want exit 1 and an error with %q", args, r, wantErr)
	}
}

func (n *node) session() *session {
	n.t.Helper()
	s, err := state{dir: n.state}.session()
	if err != nil || s == nil {
		n.t.Fatalf("session: %v, %v", s, err)
	}
	return s
}

func (n *node) size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		n.t.Fatal(err)
	}
	return fi.Size()
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie does not: the capture process is nobody's
// child once start exits, and whoever adopts it may reap it late).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

type packet struct {
	ci gopacket.CaptureInfo
	p  gopacket.Packet
}

// readPcapng reads a pcapng the way a user's tool would; it returns the packets and the
// interfaces' names.
func readPcapng(t *testing.T, path string) ([]packet, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var pkts []packet
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			t.Fatalf("%s: link type %v", path, r.LinkType())
		}
		pkts = append(pkts, packet{ci, gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)})
	}
	var names []string
	for i := 0; i < r.NInterfaces(); i++ {
		intf, _ := r.Interface(i)
		names = append(names, intf.Name)
	}
	return pkts, names
}

// ends are a packet's outermost IPv4 addresses and its transport ports.
func ends(p gopacket.Packet) (src, dst string, sport, dport int, proto string) {
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		src, dst = ip.SrcIP.String(), ip.DstIP.String()
	}
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return src, dst, int(tcp.SrcPort), int(tcp.DstPort), "TCP"
	}
	if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		return src, dst, int(udp.SrcPort), int(udp.DstPort), "UDP"
	}
	return src, dst, 0, 0, ""
}

func TestFilterCommands(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	if out := n.ok("filter", "list"); out != "There are no packet filters.\n" {
		t.Errorf("filter list with none: %q", out)
	}
	if out := n.ok("filter", "add", "winnet-1", "-t", "TCP", "-i", "10.244.1.5", "-p", "443", "-e"); !strings.Contains(out, "Filter added.") {
		t.Errorf("filter add: %q", out)
	}
	n.ok("FILTER", "Add", "-I", "10.0.0.1", "--Port", "53", "--TRANSPORT-PROTOCOL", "udp")
	out := n.ok("filter", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "winnet-1") || !strings.Contains(lines[2], "10.244.1.5") ||
		!strings.Contains(lines[2], "VXLAN 4789") || !strings.Contains(lines[3], "10.0.0.1") {
		t.Errorf("filter list:\n%s", out)
	}
	if !pktmon.HasWinnetFilter(out) {
		t.Errorf("the collector does not see its filter in:\n%s", out)
	}
	for i := 3; i <= maxFilters; i++ {
		n.ok("filter", "add", "f"+strconv.Itoa(i), "-p", strconv.Itoa(1000+i))
	}
	n.refused("already 32 packet filters", "filter", "add", "f33", "-p", "2000")
	if lines := strings.Split(strings.TrimSpace(n.ok("filter", "list")), "\n"); len(lines) != 2+maxFilters {
		t.Errorf("filter list holds %d lines after the 33rd was refused", len(lines))
	}
	if out := n.ok("filter", "remove"); out == "" {
		t.Error("filter remove printed nothing")
	}
	if out := n.ok("filter", "list"); out != "There are no packet filters.\n" {
		t.Errorf("filter list after remove: %q", out)
	}
	n.ok("filter", "remove") // none left: still fine
}

// TestRefusals: the syntax real pktmon would not take is refused, and changes nothing.
func TestRefusals(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "no command"},
		{[]string{"bogus"}, "unknown command"},
		{[]string{"list", "--brief"}, "unknown option"},
		{[]string{"list", "--json", "--JSON"}, "given twice"},
		{[]string{"filter"}, "subcommand"},
		{[]string{"filter", "bogus"}, "unknown filter subcommand"},
		{[]string{"filter", "list", "x"}, "no arguments"},
		{[]string{"filter", "remove", "--all"}, "no arguments"},
		{[]string{"filter", "add"}, "at least one condition"},
		{[]string{"filter", "add", "-i"}, "needs a value"},
		{[]string{"filter", "add", "-i", "10.0.0.256"}, "not an IP address"},
		{[]string{"filter", "add", "-i", "1.1.1.1", "2.2.2.2", "3.3.3.3"}, "unexpected argument"},
		{[]string{"filter", "add", "-p", "99999"}, "not a port number"},
		{[]string{"filter", "add", "-t", "GRE"}, "transport protocol"},
		{[]string{"filter", "add", "-i", "1.1.1.1", "--vlan", "5"}, "unknown option"},
		{[]string{"filter", "add", "-i", "1.1.1.1", "-i", "2.2.2.2"}, "given twice"},
		{[]string{"start"}, "--capture (-c) is required"},
		{[]string{"start", "--etw"}, "unknown option"},
		{[]string{"start", "-c", "--type", "flows"}, "--type"},
		{[]string{"start", "-c", "--comp", "1"}, "--comp"},
		{[]string{"start", "-c", "-s"}, "needs a value"},
		{[]string{"start", "-c", "-m", "memory"}, "--log-mode"},
		{[]string{"stop", "now"}, "no arguments"},
		{[]string{"status", "--buffer-info"}, "no arguments"},
		{[]string{"counters", "--live"}, "no arguments"},
		{[]string{"etl2pcap"}, "capture file first"},
		{[]string{"etl2pcap", "--out", "x.pcapng", "PktMon.etl"}, "capture file first"},
		{[]string{"etl2pcap", "PktMon.etl", "--bogus"}, "unknown option"},
		{[]string{"etl2pcap", "PktMon.etl", "-c", "x"}, "component id"},
		{[]string{"etl2pcap", "missing.etl"}, "no such file"},
		{[]string{"etl2txt", "PktMon.etl", "-v", "4"}, "verbosity"},
		{[]string{"etl2txt", "PktMon.etl", "--stats-only"}, "unknown option"},
	}
	for _, tt := range tests {
		n.refused(tt.wantErr, tt.args...)
	}
	if out := n.ok("filter", "list"); out != "There are no packet filters.\n" {
		t.Errorf("refused commands changed the filters: %q", out)
	}
	n.ok("status")
	if r := n.run("status"); !strings.Contains(r.stdout, "not running") {
		t.Errorf("refused commands started something: %s", r)
	}
	// Without the state folder's variable every command fails, saying so.
	cmd := exec.Command(pktmonBin, "filter", "list")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), stateEnv) {
		t.Errorf("without %s: %v, %q", stateEnv, err, out)
	}
}

func TestStopAndStatusWhenNotRunning(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	if out := n.ok("stop"); out != "Packet Monitor is not running.\n" {
		t.Errorf("stop: %q", out)
	}
	if out := n.ok("status"); out != "Packet Monitor is not running.\n" {
		t.Errorf("status: %q", out)
	}
	if out := n.ok("counters"); !strings.Contains(out, "no capture has run") {
		t.Errorf("counters: %q", out)
	}
}

// TestCapture is the collector's path on a pod IP without -e: start, the file growing, a
// second start refused, stop, then conversions. Only packets to or from the IP in their
// outer headers are captured: not the VXLAN flow that carries the pod's traffic inside.
func TestCapture(t *testing.T) {
	t.Parallel()
	n := newNode(t, testCapture)
	n.ok("filter", "add", "winnet-1", "-i", "10.244.1.5")
	before := time.Now()
	out := n.ok("start", "-c", "--comp", "all", "--type", "all", "--pkt-size", "0", "-f", "capture.etl", "-s", "16", "-m", "circular")
	started := time.Now()
	etl := filepath.Join(n.cwd, "capture.etl") // relative to the caller's folder
	if !strings.Contains(out, etl) {
		t.Errorf("start's output does not name %s:\n%s", etl, out)
	}
	if started.Sub(before) > 2*time.Second {
		t.Errorf("start took %s: it must return once the capture runs", started.Sub(before))
	}
	first := n.size(etl)
	waitFor(t, 3*time.Second, "the capture file to grow", func() bool { return n.size(etl) > first })

	n.refused("Packet Monitor is already running", "start", "-c", "-f", "other.etl")
	if _, err := os.Stat(filepath.Join(n.cwd, "other.etl")); err == nil {
		t.Error("the refused start created its file")
	}
	if out := n.ok("status"); !strings.HasPrefix(out, "Packet Monitor is running.\n") || !strings.Contains(out, etl) {
		t.Errorf("status while capturing:\n%s", out)
	}
	if out := n.ok("counters"); !strings.Contains(out, "NIC") || !strings.Contains(out, "VFP") {
		t.Errorf("counters while capturing:\n%s", out)
	}
	time.Sleep(time.Until(started.Add(600 * time.Millisecond)))
	out = n.ok("stop")
	stopped := time.Now()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; len(lines) < 3 || last != "Log file: "+etl {
		t.Errorf("stop's output does not end with the log file:\n%s", out)
	}
	if out := n.ok("status"); !strings.HasPrefix(out, "Packet Monitor is not running.\n") || !strings.Contains(out, "stopped") {
		t.Errorf("status after stop:\n%s", out)
	}
	if s := n.session(); s.Ended == nil || processAlive(s.PID) {
		t.Errorf("after stop the session is %+v, its process alive: %v", s, processAlive(s.PID))
	}
	size := n.size(etl)
	time.Sleep(100 * time.Millisecond)
	if n.size(etl) != size {
		t.Error("the file still grows after stop")
	}

	out = n.ok("etl2pcap", "capture.etl")
	pcap := filepath.Join(n.cwd, "capture.pcapng")
	if !strings.Contains(out, "Formatted file:      "+pcap) {
		t.Errorf("etl2pcap output:\n%s", out)
	}
	pkts, intfs := readPcapng(t, pcap)
	if strings.Join(intfs, ",") != "NIC,VFP,Host vNIC" {
		t.Errorf("pcapng interfaces %q", intfs)
	}
	var dns, blocked int
	for _, pk := range pkts {
		if pk.p.Layer(layers.LayerTypeVXLAN) != nil {
			t.Errorf("a VXLAN packet was captured by a filter on the outer headers: %v", pk.p)
		}
		src, dst, _, dport, proto := ends(pk.p)
		if src != "10.244.1.5" && dst != "10.244.1.5" {
			t.Errorf("captured %s > %s, which the filter does not match", src, dst)
		}
		switch {
		case proto == "UDP" && dport == 53:
			dns++
			if pk.ci.InterfaceIndex != 0 {
				t.Errorf("dns packet on interface %d", pk.ci.InterfaceIndex)
			}
		case proto == "TCP" && dport == 443:
			blocked++
			if pk.ci.InterfaceIndex != 1 {
				t.Errorf("drop event on interface %d", pk.ci.InterfaceIndex)
			}
		default:
			t.Errorf("unexpected packet %s > %s %s %d", src, dst, proto, dport)
		}
		if pk.ci.Timestamp.Before(before) || pk.ci.Timestamp.After(stopped) || pk.ci.CaptureLength != pk.ci.Length {
			t.Errorf("packet at %s (capture %s to %s), %d of %d bytes", pk.ci.Timestamp, before, stopped, pk.ci.CaptureLength, pk.ci.Length)
		}
		if el := pk.p.ErrorLayer(); el != nil {
			t.Errorf("packet does not decode: %v", el.Error())
		}
	}
	// dns every 20ms and blocked every 50ms over 0.6s or a little more.
	if dns < 25 || dns > 60 || blocked < 10 || blocked > 25 {
		t.Errorf("%d dns packets and %d drops in %s", dns, blocked, stopped.Sub(before))
	}

	n.ok("etl2pcap", "capture.etl", "--drop-only", "--out", "drops.pcapng")
	drops, _ := readPcapng(t, filepath.Join(n.cwd, "drops.pcapng"))
	if len(drops) != blocked {
		t.Errorf("--drop-only: %d packets, want the %d drops", len(drops), blocked)
	}
	n.ok("etl2pcap", "capture.etl", "-c", "1", "-o", "nic.pcapng")
	if nic, _ := readPcapng(t, filepath.Join(n.cwd, "nic.pcapng")); len(nic) != dns {
		t.Errorf("--component-id 1 (NIC): %d packets, want the %d dns ones", len(nic), dns)
	}

	// list --json numbers the components as the capture does: the id it gives the component a
	// flow drops at is the --component-id that keeps exactly those drops.
	var groups []struct {
		Group      string
		Components []struct {
			ID   int `json:"Id"`
			Name string
			Type string
		}
	}
	if err := json.Unmarshal([]byte(n.ok("list", "--json")), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("list --json: %v %+v", err, groups)
	}
	vfp := 0
	for _, c := range groups[0].Components {
		if c.Name == "VFP" {
			vfp = c.ID
		}
	}
	n.ok("etl2pcap", "capture.etl", "--drop-only", "--component-id", strconv.Itoa(vfp), "--out", "vfp.pcapng")
	if got, _ := readPcapng(t, filepath.Join(n.cwd, "vfp.pcapng")); vfp == 0 || len(got) != blocked {
		t.Errorf("list --json names VFP as component %d, whose drops are %d packets, want the %d drops", vfp, len(got), blocked)
	}

	// etl2txt: one line per packet, with the drop reasons; and with the old build's missing
	// etl2pcap, which must not take etl2txt with it.
	noPcap := []string{noEtl2pcapEnv + "=1"}
	if r := n.runEnv(noPcap, "etl2pcap", "capture.etl", "--out", "x.pcapng"); r.code == 0 || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("etl2pcap on a build without it: %s", r)
	}
	if r := n.runEnv(noPcap, "etl2txt", "capture.etl"); r.code != 0 || !strings.Contains(r.stdout, filepath.Join(n.cwd, "capture.txt")) {
		t.Errorf("etl2txt: %s", r)
	}
	txt, err := os.ReadFile(filepath.Join(n.cwd, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tlines := strings.Split(strings.TrimSpace(string(txt)), "\n")
	var dropLines int
	for _, l := range tlines {
		if strings.Contains(l, "Drop: reason Filtered VLAN") {
			dropLines++
			if !strings.Contains(l, "Component 2 (VFP) Rx 10.244.1.5:41001 > 10.0.0.9:443 TCP Length 60") {
				t.Errorf("drop line %q", l)
			}
		} else if !strings.Contains(l, "Component 1 (NIC) Rx 10.244.1.5:50123 > 10.96.0.10:53 UDP Length 82") {
			t.Errorf("line %q", l)
		}
	}
	if len(tlines) != len(pkts) || dropLines != blocked {
		t.Errorf("etl2txt wrote %d lines (%d drops) for %d packets (%d drops)", len(tlines), dropLines, len(pkts), blocked)
	}
	n.ok("etl2txt", "capture.etl", "-o", "hex.txt", "--hex", "-b")
	hexTxt, _ := os.ReadFile(filepath.Join(n.cwd, "hex.txt"))
	if !strings.Contains(string(hexTxt), "\n    00000000  00 15 5d ") || strings.Contains(string(hexTxt), "Component") {
		t.Errorf("etl2txt --hex --brief:\n%.400s", hexTxt)
	}
}

// TestCaptureEncapTruncated: with -e the VXLAN flow is captured by its inner packet;
// --pkt-size cuts frames; --type flow leaves the drops out; the rate follows everyMS.
func TestCaptureEncapTruncated(t *testing.T) {
	t.Parallel()
	n := newNode(t, testCapture)
	n.ok("filter", "add", "winnet-1", "-i", "10.244.1.5", "-e")
	before := time.Now()
	n.ok("start", "--capture", "--type", "flow", "--pkt-size", "96", "--file-name", "enc.etl", "--file-size", "16")
	after := time.Now()
	time.Sleep(500 * time.Millisecond)
	stopBefore := time.Now()
	n.ok("stop")
	stopAfter := time.Now()
	n.ok("etl2pcap", "enc.etl", "-o", "enc.pcapng")
	pkts, _ := readPcapng(t, filepath.Join(n.cwd, "enc.pcapng"))
	var overlay, dns int
	for _, pk := range pkts {
		if pk.ci.CaptureLength > 96 || (pk.ci.Length > 96 && pk.ci.CaptureLength != 96) {
			t.Errorf("logged %d of %d bytes with --pkt-size 96", pk.ci.CaptureLength, pk.ci.Length)
		}
		if pk.p.Layer(layers.LayerTypeVXLAN) == nil {
			if _, _, _, dport, _ := ends(pk.p); dport != 53 {
				t.Errorf("unexpected packet %v", pk.p)
			}
			dns++
			continue
		}
		overlay++
		var ips []string
		for _, l := range pk.p.Layers() {
			if ip, ok := l.(*layers.IPv4); ok {
				ips = append(ips, ip.SrcIP.String()+">"+ip.DstIP.String())
			}
		}
		if strings.Join(ips, " ") != "10.240.0.5>10.240.0.4 10.244.2.7>10.244.1.5" || pk.ci.Length != 1504 {
			t.Errorf("overlay packet with IPs %q, %d bytes", ips, pk.ci.Length)
		}
	}
	// overlay-web every 2ms over the capture's life, which lies between the returns of start
	// and stop's calls... generously, for a loaded machine.
	minWant := int(stopBefore.Sub(after)/(2*time.Millisecond)) * 2 / 3
	maxWant := int(stopAfter.Sub(before)/(2*time.Millisecond)) + 2
	if overlay < minWant || overlay > maxWant || dns == 0 {
		t.Errorf("%d overlay packets, want %d-%d; %d dns", overlay, minWant, maxWant, dns)
	}
}

// TestSizeCap: the file stops growing at -s MB, and stop reports what was lost.
func TestSizeCap(t *testing.T) {
	t.Parallel()
	n := newNode(t, `{"flows":[{"name":"bulk","src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","srcPort":5000,"dstPort":6000,"payloadBytes":1400,"everyMS":1}]}`)
	n.ok("start", "-c", "--pkt-size", "0", "-s", "1")
	etl := filepath.Join(n.cwd, defaultEtlName)
	// 1.5 MB/s: the cap is reached in about 0.7s.
	waitFor(t, 5*time.Second, "the capture file to reach 1 MB", func() bool { return n.size(etl) > 1<<20-1600 })
	size := n.size(etl)
	time.Sleep(200 * time.Millisecond)
	if now := n.size(etl); now != size || now > 1<<20 {
		t.Errorf("a file capped at 1 MB is %d, then %d bytes", size, now)
	}
	out := n.ok("stop")
	if !strings.Contains(out, "Events lost: ") || strings.Contains(out, "Events lost: 0\n") {
		t.Errorf("stop after the cap:\n%s", out)
	}
	s := n.session()
	n.ok("etl2pcap", defaultEtlName)
	if pkts, _ := readPcapng(t, filepath.Join(n.cwd, "PktMon.pcapng")); int64(len(pkts)) != s.Written || s.Lost == 0 {
		t.Errorf("%d packets in the pcapng; the session logged %d and lost %d", len(pkts), s.Written, s.Lost)
	}
}

// TestOneSessionPerNode: concurrent starts on one node: exactly one wins.
func TestOneSessionPerNode(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = n.run("start", "-c", "-f", "s"+strconv.Itoa(i)+".etl")
		}()
	}
	wg.Wait()
	var won int
	for _, r := range results {
		switch {
		case r.code == 0:
			won++
		case !strings.Contains(r.stderr, "already running"):
			t.Errorf("a losing start: %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d starts won: %v", won, results)
	}
	n.ok("stop")
}

// TestDriverEndsWithStateFolder: a test that removes its node without stopping the capture
// does not leak the capture process.
func TestDriverEndsWithStateFolder(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	n.ok("start", "-c")
	pid := n.session().PID
	if !processAlive(pid) {
		t.Fatalf("capture process %d is not running", pid)
	}
	if err := os.RemoveAll(n.state); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the capture process to end", func() bool { return !processAlive(pid) })
}

// TestDriverLifetime: a capture nobody stops ends by itself (15 minutes; shortened here), its
// session marked ended and its file valid; a missing capture.json is an empty capture.
func TestDriverLifetime(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	n.env = []string{driverMaxEnv + "=400ms"}
	n.ok("start", "-c", "-f", "idle.etl")
	waitFor(t, 5*time.Second, "the capture to end by itself", func() bool {
		return strings.HasPrefix(n.ok("status"), "Packet Monitor is not running.")
	})
	if s := n.session(); s.Ended == nil || !strings.Contains(s.EndReason, "ended by itself") {
		t.Errorf("session after its lifetime: %+v", s)
	}
	if out := n.ok("stop"); out != "Packet Monitor is not running.\n" {
		t.Errorf("stop after the capture ended by itself: %q", out)
	}
	n.ok("etl2pcap", "idle.etl")
	if pkts, intfs := readPcapng(t, filepath.Join(n.cwd, "idle.pcapng")); len(pkts) != 0 || len(intfs) != 1 {
		t.Errorf("an empty capture's pcapng: %d packets, interfaces %q", len(pkts), intfs)
	}
	if out := n.ok("etl2txt", "idle.etl"); !strings.Contains(out, "Events total:        0") {
		t.Errorf("etl2txt of an empty capture: %q", out)
	}
	n.env = []string{driverMaxEnv + "=soon"}
	n.refused("not a positive duration", "start", "-c")
}

// TestStartFailures: a capture that cannot run is refused by start, not left half-started.
func TestStartFailures(t *testing.T) {
	t.Parallel()
	n := newNode(t, `{"flows":[{"name":"x","src":"10.0.0.1","dst":"10.0.0.2","proto":"sctp","everyMS":1}]}`)
	n.refused(`capture.json: flow x: proto "sctp"`, "start", "-c")
	if err := os.Remove(filepath.Join(n.replay, captureFile)); err != nil {
		t.Fatal(err)
	}
	n.refused("creating the log file", "start", "-c", "-f", filepath.Join(n.cwd, "no", "such", "dir.etl"))
	if out := n.ok("status"); !strings.HasPrefix(out, "Packet Monitor is not running.") {
		t.Errorf("status after failed starts:\n%s", out)
	}
	n.ok("start", "-c") // the node is usable
	n.ok("stop")
}

// TestCollectorCommands runs exactly the command lines the collector builds (pkg/pktmon): the
// simulation must take every one of them, so that refusing one is a real finding.
func TestCollectorCommands(t *testing.T) {
	t.Parallel()
	n := newNode(t, testCapture)
	run := func(argv []string) string {
		t.Helper()
		return n.ok(argv...)
	}
	if pktmon.HasWinnetFilter(run(pktmon.FilterList())) {
		t.Fatal("a fresh node lists a winnet filter")
	}
	pod := netip.MustParseAddr("10.244.1.5")
	flt, err := pktmon.ParseFilter("tcp port 443")
	if err != nil {
		t.Fatal(err)
	}
	run(pktmon.FilterAdd(pktmon.FilterName(0), flt.WithIP(pod)))
	run(pktmon.FilterAdd(pktmon.FilterName(1), pktmon.Filter{Protocol: "UDP", IPs: []netip.Addr{pod, netip.MustParseAddr("10.96.0.10")}, Ports: []uint16{53}}))
	if !pktmon.HasWinnetFilter(run(pktmon.FilterList())) {
		t.Error("filter list does not show winnet's filters")
	}
	etl := filepath.Join(n.cwd, "capture.etl")
	run(pktmon.Start(pktmon.StartOptions{File: etl, MaxMB: 3, Type: pktmon.TypeDrop}))
	time.Sleep(300 * time.Millisecond)
	run(pktmon.Stop())
	pcap, txt := filepath.Join(n.cwd, "capture.pcapng"), filepath.Join(n.cwd, "capture.txt")
	run(pktmon.Etl2pcap(etl, pcap))
	run(pktmon.Etl2txt(etl, txt))
	run(pktmon.FilterRemove())
	if pktmon.HasWinnetFilter(run(pktmon.FilterList())) {
		t.Error("filter remove left winnet's filters")
	}
	pkts, _ := readPcapng(t, pcap)
	if len(pkts) == 0 {
		t.Fatal("the drop capture is empty")
	}
	for _, pk := range pkts {
		if _, _, _, dport, _ := ends(pk.p); dport != 443 {
			t.Errorf("a drop capture holds %v", pk.p)
		}
	}
	var sess session
	b, _ := os.ReadFile(filepath.Join(n.state, "session.json"))
	if err := json.Unmarshal(b, &sess); err != nil || sess.Options.PktSize != 0 || sess.Options.Comp != "all" || sess.Options.LogMode != "circular" {
		t.Errorf("the collector's start became %+v (%v)", sess.Options, err)
	}
}
