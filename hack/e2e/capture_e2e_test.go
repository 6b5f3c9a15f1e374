//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// The capture tests run on winNode, whose scenario (kube-dns-lb-missing) carries capture.json:
// web-0 (10.244.1.5) asks kube-dns (UDP 53), gets HTTP over VXLAN from a pod on another node,
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
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && u.DstPort == 53 {
			c.dns++
		}
	}
	return c
}

// winnetFilter is the name of a filter winnet added (pktmon.FilterName).
var winnetFilter = regexp.MustCompile(`\bwinnet-[0-9]+\b`)

// requirePktmonClear checks that the simulated node's pktmon runs no session and holds no
// filter: winnet stopped and cleared it.
func requirePktmonClear(t *testing.T) {
	t.Helper()
	bin := filepath.Join(world.Cluster.WorkDir(), "pktmon")
	state := filepath.Join(world.Cluster.WorkDir(), "nodes", "pktmon", winNode)
	for _, args := range [][]string{{"filter", "list"}, {"status"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "WINNET_PKTMON_STATE="+state)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pktmon %v on the simulated node: %v\n%s", args, err, out)
		}
		if winnetFilter.Match(out) || (args[0] == "status" && !pktmonIdle(string(out))) {
			t.Errorf("pktmon %v after the capture:\n%s\nwant no session and no winnet filter", args, out)
		}
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
