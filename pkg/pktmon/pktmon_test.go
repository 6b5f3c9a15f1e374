package pktmon

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		in   string
		want Filter
		err  string
	}{
		{in: "udp port 53", want: Filter{Protocol: "UDP", Ports: []uint16{53}}},
		{in: "host 10.0.0.5 port 443 TCP", want: Filter{Protocol: "TCP", IPs: []netip.Addr{ip("10.0.0.5")}, Ports: []uint16{443}}},
		{in: "host 10.0.0.5 host fd00::1", want: Filter{IPs: []netip.Addr{ip("10.0.0.5"), ip("fd00::1")}}},
		{in: "port 80 port 41000", want: Filter{Ports: []uint16{80, 41000}}},
		{in: "icmp", want: Filter{Protocol: "ICMP"}},
		{in: "", err: "empty capture filter"},
		{in: "tcp udp", err: "two protocols"},
		{in: "host", err: "needs a value"},
		{in: "host web.shop", err: "not an IP address"},
		{in: "port 0", err: "not a port number"},
		{in: "port 70000", err: "not a port number"},
		{in: "port 1 port 2 port 3", err: "at most two ports"},
		{in: "host 1.1.1.1 host 2.2.2.2 host 3.3.3.3", err: "at most two hosts"},
		{in: "dst 10.0.0.1", err: "unknown word"},
		{in: "icmp port 3", err: "ICMP has no ports"},
	} {
		got, err := ParseFilter(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFilter(%q) error = %v, want one saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		// The collector argument carries the same filter through cmd.exe.
		back, err := ParseArg(got.Arg())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("ParseArg(%q) = %+v, %v; want %+v", got.Arg(), back, err, got)
		}
		if strings.ContainsAny(got.Arg(), " \t\"&|<>^%()!,;=") {
			t.Errorf("Arg %q holds a character cmd.exe would interpret", got.Arg())
		}
	}
}

func TestParseArgRefusesOtherForms(t *testing.T) {
	for _, in := range []string{"udp", "proto=udp", "host:1.2.3.4", "port:x"} {
		if _, err := ParseArg(in); err == nil {
			t.Errorf("ParseArg(%q) accepted it", in)
		}
	}
}

// The command lines follow Microsoft's pktmon reference: `filter add [name] [-t protocol]
// [-i ip [ip2]] [-p port [port2]] [-e]`, and `start --capture` with --comp, --type, --pkt-size,
// -f, -s and -m.
func TestCommandLines(t *testing.T) {
	pod := netip.MustParseAddr("10.244.1.5")
	f, _ := ParseFilter("udp port 53")
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"pod and user filter", FilterAdd(FilterName(0), f.WithIP(pod)),
			[]string{"filter", "add", "winnet-1", "-t", "UDP", "-i", "10.244.1.5", "-p", "53", "-e"}},
		{"pod only", FilterAdd(FilterName(1), Filter{}.WithIP(pod)),
			[]string{"filter", "add", "winnet-2", "-i", "10.244.1.5", "-e"}},
		{"two hosts two ports", FilterAdd(FilterName(2), Filter{IPs: []netip.Addr{pod, netip.MustParseAddr("10.96.0.10")}, Ports: []uint16{41000, 53}}),
			[]string{"filter", "add", "winnet-3", "-i", "10.244.1.5", "10.96.0.10", "-p", "41000", "53", "-e"}},
		{"start", Start(StartOptions{File: `C:\hpc\winnet\capture\capture.etl`, MaxMB: 100}),
			[]string{"start", "--capture", "--comp", "all", "--type", "all", "--pkt-size", "0", "-f", `C:\hpc\winnet\capture\capture.etl`, "-s", "100", "-m", "circular"}},
		{"start drops, size floor", Start(StartOptions{File: "c.etl", MaxMB: 0, Type: TypeDrop}),
			[]string{"start", "--capture", "--comp", "all", "--type", "drop", "--pkt-size", "0", "-f", "c.etl", "-s", "1", "-m", "circular"}},
		{"stop", Stop(), []string{"stop"}},
		{"list", FilterList(), []string{"filter", "list"}},
		{"remove", FilterRemove(), []string{"filter", "remove"}},
		{"etl2pcap", Etl2pcap("c.etl", "c.pcapng"), []string{"etl2pcap", "c.etl", "--out", "c.pcapng"}},
		{"etl2txt", Etl2txt("c.etl", "c.txt"), []string{"etl2txt", "c.etl", "--out", "c.txt"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, tc.got, tc.want)
		}
	}
	if got := f.WithIP(pod).WithIP(pod); len(got.IPs) != 1 {
		t.Errorf("WithIP twice = %v, want the pod's IP once", got.IPs)
	}
	if len(f.IPs) != 0 {
		t.Errorf("WithIP changed its receiver: %v", f.IPs)
	}
}

func TestHasWinnetFilter(t *testing.T) {
	if !HasWinnetFilter(" # Name      Protocol IP Address\n 1 winnet-1  UDP      10.244.1.5\n") {
		t.Error("a listed winnet filter was not recognised")
	}
	if HasWinnetFilter("There are no packet filters.\n") || HasWinnetFilter(" 1 theirs  TCP 10.0.0.1\n") {
		t.Error("a list without winnet filters was taken for winnet's")
	}
}
