//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// The capture tests run on winNode, whose scenario (kube-dns-lb-missing) carries capture.json:
// web-0 (10.244.1.5) asks kube-dns (UDP 53) through its VIP and straight at the CoreDNS pod
// on the Linux node (over VXLAN), gets HTTP over VXLAN from that pod,
// and its neighbour web-1 (10.244.1.6) talks to a Service; the simulated pktmon turns those
// flows into real frames. A capture of web-0 must hold its own packets, the overlay ones too
// (matched inside VXLAN), and none of web-1's.
const (
	capturePodIP    = "10.244.1.5"
	captureOtherPod = "10.244.1.6"
)

// packets reads a pcapng and decodes every packet.
func packets(t *testing.T, data []byte) []gopacket.Packet {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("the capture is not a pcapng: %v (%d bytes)", err, len(data))
	}
	var out []gopacket.Packet
	for {
		b, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading packet %d of the capture: %v", len(out)+1, err)
		}
		out = append(out, gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default))
	}
}

// addrs are a packet's IPv4 addresses, the inner packet's too when it is VXLAN.
func addrs(p gopacket.Packet) []string {
	var out []string
	for _, l := range p.Layers() {
		if ip, ok := l.(*layers.IPv4); ok {
			out = append(out, ip.SrcIP.String(), ip.DstIP.String())
		}
	}
	return out
}

// inner is the packet's own IPv4 header: inside VXLAN, the inner one.
func inner(p gopacket.Packet) *layers.IPv4 {
	var ip *layers.IPv4
	for _, l := range p.Layers() {
		if x, ok := l.(*layers.IPv4); ok {
			ip = x
		}
	}
	return ip
}

// innerPorts are the packet's own TCP or UDP ports: inside VXLAN, the inner packet's.
func innerPorts(p gopacket.Packet) (src, dst uint16, ok bool) {
	for _, l := range p.Layers() {
		switch x := l.(type) {
		case *layers.UDP:
			src, dst, ok = uint16(x.SrcPort), uint16(x.DstPort), true
		case *layers.TCP:
			src, dst, ok = uint16(x.SrcPort), uint16(x.DstPort), true
		}
	}
	return src, dst, ok
}

type tally struct{ total, vxlan, dns, pod, other int }

func count(pkts []gopacket.Packet) tally {
	var c tally
	for _, p := range pkts {
		c.total++
		a := strings.Join(addrs(p), " ")
		if strings.Contains(a, capturePodIP) {
			c.pod++
		}
		if strings.Contains(a, captureOtherPod) {
			c.other++
		}
		if p.Layer(layers.LayerTypeVXLAN) != nil {
			c.vxlan++
		}
		if _, dst, ok := innerPorts(p); ok && dst == 53 {
			c.dns++
		}
	}
	return c
}

// winnetFilter is the name of a filter winnet added (pktmon.FilterName).
var winnetFilter = regexp.MustCompile(`\bwinnet-[0-9]+\b`)

// pktmon runs the simulated node's pktmon with args on the node's state folder.
func pktmon(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(world.Cluster.WorkDir(), "pktmon")
	state := filepath.Join(world.Cluster.WorkDir(), "nodes", "pktmon", winNode)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "WINNET_PKTMON_STATE="+state)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pktmon %v on the simulated node: %v\n%s", args, err, out)
	}
	return string(out)
}

// pktmonClear reports whether the simulated node's pktmon runs no session and holds no
// winnet filter, with what pktmon said.
func pktmonClear(t *testing.T) (bool, string) {
	t.Helper()
	filters, status := pktmon(t, "filter", "list"), pktmon(t, "status")
	clear := !winnetFilter.MatchString(filters) && pktmonIdle(status)
	return clear, "pktmon filter list:\n" + filters + "\npktmon status:\n" + status
}

// requirePktmonClear checks that the simulated node's pktmon runs no session and holds no
// filter: winnet stopped and cleared it.
func requirePktmonClear(t *testing.T) {
	t.Helper()
	if clear, said := pktmonClear(t); !clear {
		t.Errorf("after the capture:\n%s\nwant no session and no winnet filter", said)
	}
}

// waitUntil polls cond every 100ms until it holds, failing the test after limit. It waits
// for something to happen; it does not time it.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %s for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCaptureToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "web-0.pcapng")
	r := kubectl(t, kubeconfig, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", out, "--duration", "3s")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c := count(packets(t, data))
	t.Logf("%d packets: %d of web-0, %d VXLAN, %d DNS, %d of web-1", c.total, c.pod, c.vxlan, c.dns, c.other)
	if c.total == 0 || c.pod != c.total || c.other != 0 {
		t.Errorf("capture of web-0: %+v; want every packet web-0's and none of web-1's", c)
	}
	if c.vxlan == 0 || c.dns == 0 {
		t.Errorf("capture of web-0: %+v; want its overlay (VXLAN) packets and its DNS queries", c)
	}
	for _, want := range []string{"the duration was reached", "wrote " + out, "packets"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("the output folder holds %d entries, want the capture only", len(entries))
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)

	// The same name again is refused before anything runs, and the file is kept.
	again := kubectl(t, kubeconfig, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", out, "--duration", "3s")
	if again.code != 1 || !strings.Contains(again.stderr, "--force") || strings.Contains(again.stderr, "debug pod") {
		t.Errorf("second run onto the same file: exit %d, want 1 naming --force before any debug pod:\n%s", again.code, again.stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, data) {
		t.Error("the refused run changed the existing capture")
	}
}

// --drops: the file holds the packets the node dropped (web-0's, not web-1's), pktmon's text
// with each drop's reason is beside it, and the summary names the component that dropped
// them, as pktmon's own component list calls it.
func TestCaptureDrops(t *testing.T) {
	out := filepath.Join(t.TempDir(), "drops.pcapng")
	r := kubectl(t, kubeconfig, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", out, "--duration", "2s", "--drops", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pkts := packets(t, data)
	t.Logf("stderr:\n%s", r.stderr)
	if len(pkts) == 0 {
		t.Fatalf("the drops capture holds no packet; stderr:\n%s", r.stderr)
	}
	for _, p := range pkts {
		ip := inner(p)
		_, dport, _ := innerPorts(p)
		if ip == nil || ip.SrcIP.String() != "10.244.1.5" || ip.DstIP.String() != "10.244.3.9" || dport != 8443 {
			t.Fatalf("a packet that is not web-0's denied connection: %v", addrs(p))
		}
	}
	text, err := os.ReadFile(strings.TrimSuffix(out, ".pcapng") + ".txt")
	if err != nil || !strings.Contains(string(text), "ACL deny") {
		t.Errorf("pktmon's text beside the capture (with the drop reasons): %v\n%.500s", err, text)
	}
	want := fmt.Sprintf(`DROPS: %d packet(s) were dropped on node %s during the capture, %d of them by "VFP" (Filter, component `, len(pkts), winNode, len(pkts))
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 2 {
		t.Errorf("the output folder holds %d entries, want the capture and its text (the per-component files are only counted)", len(entries))
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)
}

func TestCaptureToStdoutWithAFilter(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", "-", "--filter", "udp port 53", "--duration", "2s")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	c := count(packets(t, []byte(r.stdout)))
	if c.total == 0 || c.dns != c.total || c.pod != c.total {
		t.Errorf("stdout capture with udp port 53: %+v; want only web-0's DNS packets", c)
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)
}

func TestCaptureEndsAtMaxSize(t *testing.T) {
	out := filepath.Join(t.TempDir(), "big.pcapng")
	r := kubectl(t, kubeconfig, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", out, "--max-size", "1MB", "--duration", "5m")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "the size limit was reached") {
		t.Errorf("stderr does not say the size limit ended it:\n%s", r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := count(packets(t, data)); c.total == 0 {
		t.Error("the capture holds no packets")
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)
}

func TestCaptureCtrlCKeepsWhatWasCaptured(t *testing.T) {
	out := filepath.Join(t.TempDir(), "web-0.pcapng")
	r := startPlugin(t, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", out, "--duration", "5m")
	r.waitFor(t, "capturing:")
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d after one Ctrl-C, want 0 with the capture written; stderr:\n%s", code, r.stderr.String())
	}
	if !strings.Contains(r.stderr.String(), "stopped by Ctrl-C") {
		t.Errorf("stderr does not say Ctrl-C stopped it:\n%s", r.stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := count(packets(t, data)); c.total == 0 || c.pod != c.total {
		t.Errorf("capture after Ctrl-C: %+v; want web-0's packets", c)
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)
}

// TestCaptureToAService: --to keeps only the traffic between the pod and the Service: its
// VIP on the service port and each ready backend on the target port (the node's load
// balancer rewrites the VIP to a backend, so a capture must match both).
func TestCaptureToAService(t *testing.T) {
	cases := []struct {
		name, pod, to, filter string
		// ends: the other end of every packet, and the port on one side of it; present: the
		// ends the simulated traffic has packets with.
		ends    map[string]uint16
		present []string
		// stderr: what the run says about the filters it made.
		stderr []string
	}{
		// kube-dns: its VIP and its one backend, the CoreDNS pod on the Linux node, reached over
		// VXLAN. web-0 also gets HTTP from that pod (port 8080): that is not DNS, and must not
		// be in the capture; nor web-1's traffic.
		{name: "pod to kube-dns:53", pod: "web-0", to: "svc/kube-system/kube-dns:53",
			ends: map[string]uint16{"10.96.0.10": 53, "10.244.2.7": 53}, present: []string{"10.96.0.10", "10.244.2.7"},
			stderr: []string{"Service kube-system/kube-dns, VIP 10.96.0.10 and 1 ready backend", "2 pktmon filters", "host 10.244.1.5 host 10.244.2.7 port 53"}},
		// --filter narrows --to: here to the backend alone.
		{name: "pod to kube-dns:53, --filter on the backend", pod: "web-0", to: "svc/kube-system/kube-dns:53", filter: "udp host 10.244.2.7",
			ends: map[string]uint16{"10.244.2.7": 53}, present: []string{"10.244.2.7"},
			stderr: []string{"1 pktmon filter (udp host 10.244.2.7 host 10.244.1.5 port 53)"}},
		// shop/web: port 80 on the VIP, 8080 on its backends, of which web-1 is one itself. The
		// simulated traffic has no flow from web-1 straight to web-0.
		{name: "pod to web:80, a backend itself", pod: "web-1", to: "svc/web:80",
			ends: map[string]uint16{"10.96.12.34": 80, capturePodIP: 8080}, present: []string{"10.96.12.34"},
			stderr: []string{"2 pktmon filters", "host 10.244.1.6 host 10.96.12.34 port 80", "host 10.244.1.6 host 10.244.1.5 port 8080",
				"is itself one of the Service's backends"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "to.pcapng")
			args := []string{"winnet", "capture", "pod/" + tc.pod, "-n", "shop", "--to", tc.to, "-w", out, "--duration", "3s"}
			if tc.filter != "" {
				args = append(args, "--filter", tc.filter)
			}
			r := kubectl(t, kubeconfig, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			pods := map[string]string{"web-0": capturePodIP, "web-1": captureOtherPod}
			seen := map[string]int{}
			pkts := packets(t, data)
			for i, p := range pkts {
				ip := inner(p)
				src, dst, ok := innerPorts(p)
				if ip == nil || !ok {
					t.Errorf("packet %d is not TCP or UDP over IPv4: %v", i+1, p)
					continue
				}
				a, b := ip.SrcIP.String(), ip.DstIP.String()
				other := ""
				switch pods[tc.pod] {
				case a:
					other = b
				case b:
					other = a
				}
				port, want := tc.ends[other]
				if !want || (src != port && dst != port) {
					t.Errorf("packet %d, %s:%d > %s:%d, is not between %s and %s", i+1, a, src, b, dst, tc.pod, tc.to)
					continue
				}
				seen[other]++
			}
			t.Logf("%d packets: %v", len(pkts), seen)
			for _, end := range tc.present {
				if seen[end] == 0 {
					t.Errorf("no packet between %s and %s: want its traffic with %s", tc.pod, end, tc.to)
				}
			}
			requireNoDebugPods(t)
			requirePktmonClear(t)
		})
	}
}

func TestCaptureOfALinuxNodeIsRefused(t *testing.T) {
	r := kubectl(t, kubeconfig, "winnet", "capture", "node/"+linuxNode, "-w", filepath.Join(t.TempDir(), "x.pcapng"))
	if r.code != 1 || !strings.Contains(r.stderr, "linux") {
		t.Errorf("exit %d, want 1 saying the node runs Linux:\n%s", r.code, r.stderr)
	}
	requireNoDebugPods(t)
}

// pktmonIdle reads the simulated pktmon's status: its wording for no session.
func pktmonIdle(status string) bool {
	return strings.Contains(status, "Packet Monitor is not running.")
}

// TestCaptureStopsWhenThePluginIsKilled: a plugin killed outright (SIGKILL: no signal handler,
// no cleanup) leaves the collector on the node with its stdin closed, since the exec stream
// is gone; the collector must take that as "the plugin is gone" and stop pktmon and remove
// its filters at once, not hold the node's only capture session until --duration. The debug
// pod stays, as for any killed run, bounded by its activeDeadlineSeconds, and cleanup
// removes it.
func TestCaptureStopsWhenThePluginIsKilled(t *testing.T) {
	requireNoDebugPods(t)
	requirePktmonClear(t)
	const duration = 5 * time.Minute
	dir := t.TempDir()
	r := startPlugin(t, "winnet", "capture", "pod/web-0", "-n", "shop", "-w", filepath.Join(dir, "killed.pcapng"), "--duration", duration.String())
	r.waitFor(t, "capturing:")
	waitUntil(t, 30*time.Second, "the simulated pktmon to run winnet's session", func() bool {
		return !pktmonIdle(pktmon(t, "status")) && winnetFilter.MatchString(pktmon(t, "filter", "list"))
	})
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != -1 {
		t.Fatalf("exit %d, want -1 (killed)", code)
	}
	// Whatever happens below, no debug pod is left for the next test.
	t.Cleanup(func() {
		if t.Failed() {
			_ = kubectlCmd(kubeconfig, "winnet", "cleanup").Run()
		}
	})
	var said string
	defer func() {
		if t.Failed() {
			for _, e := range world.Sim.Execs() {
				t.Logf("exec %+v", e)
			}
			t.Logf("pktmon: %s", said)
		}
	}()
	waitUntil(t, 30*time.Second, "the collector to stop pktmon and remove its filters once the plugin was killed", func() bool {
		var clear bool
		clear, said = pktmonClear(t)
		return clear
	})
	t.Logf("after the kill:\n%s", said)
	// And the collector itself has ended: it does not run on to --duration.
	waitUntil(t, 30*time.Second, "the collector's capture exec to end", func() bool {
		for _, e := range world.Sim.Execs() {
			if e.Node == winNode && strings.Contains(strings.Join(e.Argv, " "), "winnet-collector.exe capture ") && e.ExitCode == -1 {
				return false
			}
		}
		return true
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the killed plugin left %d files in the output folder, want none (nothing had arrived)", len(entries))
	}

	pods := debugPods(t)
	if len(pods) != 1 {
		t.Fatalf("%d debug pods after the kill, want the 1 a killed plugin leaves", len(pods))
	}
	limit := int64((duration + 10*time.Minute) / time.Second)
	if d := pods[0].Spec.ActiveDeadlineSeconds; d == nil || *d <= 0 || *d > limit {
		got := "none"
		if d != nil {
			got = strconv.FormatInt(*d, 10)
		}
		t.Errorf("the left-behind debug pod %s has activeDeadlineSeconds %s, want 1 to %d (--duration plus 10m): its deadline is what removes it", pods[0].Name, got, limit)
	}
	clean := kubectl(t, kubeconfig, "winnet", "cleanup")
	if clean.code != 0 || !strings.Contains(clean.stdout, "pod/"+pods[0].Name+" deleted") {
		t.Fatalf("cleanup exit %d, stdout %q", clean.code, clean.stdout)
	}
	requireNoDebugPods(t)
	requirePktmonClear(t)
}
