package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFilterAdd(t *testing.T) {
	tests := []struct {
		args []string
		want filterSpec
	}{
		{[]string{"winnet-1", "-t", "TCP", "-i", "10.244.1.5", "-p", "443", "-e"},
			filterSpec{Name: "winnet-1", Protocol: "TCP", IPs: []string{"10.244.1.5"}, Ports: []uint16{443}, Encap: true, VXLANPort: 4789}},
		{[]string{"-i", "10.0.0.1", "10.0.0.2"}, filterSpec{IPs: []string{"10.0.0.1", "10.0.0.2"}}},
		// Keywords in any case, long forms, an -e port, IPv6 and a mapped IPv4 address.
		{[]string{"n", "--IP", "fd00::1", "::ffff:10.0.0.9", "--Transport-Protocol", "icmpv6", "--ENCAP", "4790"},
			filterSpec{Name: "n", IPs: []string{"fd00::1", "10.0.0.9"}, Protocol: "ICMPv6", Encap: true, VXLANPort: 4790}},
		{[]string{"-P", "53", "1053", "-T", "udp"}, filterSpec{Ports: []uint16{53, 1053}, Protocol: "UDP"}},
		{[]string{"--mac", "00-15-5D-01-02-03", "00:15:5d:01:02:04", "--data-link", "IPv6"},
			filterSpec{MACs: []string{"00:15:5d:01:02:03", "00:15:5d:01:02:04"}, DataLink: "IPv6"}},
		// -e followed by another option takes no port.
		{[]string{"-e", "-d", "ipv4"}, filterSpec{DataLink: "IPv4", Encap: true, VXLANPort: 4789}},
	}
	for _, tt := range tests {
		got, err := parseFilterAdd(tt.args)
		if err != nil {
			t.Errorf("parseFilterAdd(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFilterAdd(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestParseFilterAddRefuses(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "at least one condition"},
		{[]string{"name-only"}, "at least one condition"},
		{[]string{"n", "-e"}, "at least one condition"},
		{[]string{"-i"}, "needs a value"},
		{[]string{"-i", "-p", "53"}, "needs a value"},
		{[]string{"-i", "10.0.0.300"}, "not an IP address"},
		{[]string{"-i", "host.example"}, "not an IP address"},
		{[]string{"-i", "10.0.0.0/24"}, "not an IP address"},
		{[]string{"-i", "fe80::1%eth0"}, "not an IP address"},
		{[]string{"-i", "10.0.0.1", "10.0.0.2", "10.0.0.3"}, `unexpected argument "10.0.0.3"`},
		{[]string{"-p", "0"}, "not a port number"},
		{[]string{"-p", "65536"}, "not a port number"},
		{[]string{"-p", "http"}, "not a port number"},
		{[]string{"-t", "SCTP"}, "transport protocol"},
		{[]string{"-t", "6"}, "transport protocol"},
		{[]string{"-t", "TCP", "SYN"}, `unexpected argument "SYN"`},
		{[]string{"-m", "zz"}, "not a MAC address"},
		{[]string{"-d", "ARP"}, "data-link"},
		{[]string{"-i", "10.0.0.1", "-e", "x"}, "not a port number"},
		{[]string{"-i", "10.0.0.1", "-i", "10.0.0.2"}, "given twice"},
		{[]string{"-i", "10.0.0.1", "--ip", "10.0.0.2"}, "given twice"},
		{[]string{"-x"}, "unknown option"},
		{[]string{"--transport", "TCP"}, "unknown option"},
		{[]string{"a", "b", "-i", "10.0.0.1"}, `unexpected argument "b"`},
		{[]string{"-i", "10.0.0.1", "name-last"}, `"name-last" is not an IP address`}, // the name must come first
	}
	for _, tt := range tests {
		_, err := parseFilterAdd(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseFilterAdd(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestParseStart(t *testing.T) {
	got, err := parseStart([]string{"--capture"})
	want := startOptions{Comp: "all", Type: "all", PktSize: 128, File: "PktMon.etl", FileSizeMB: 512, LogMode: "circular"}
	if err != nil || got != want {
		t.Errorf("defaults: %+v, %v; want %+v", got, err, want)
	}
	got, err = parseStart([]string{"-C", "--COMP", "NICs", "--type", "Drop", "--pkt-size", "0", "-F", "c.etl", "-S", "3", "-M", "Multi-File"})
	want = startOptions{Comp: "nics", Type: "drop", PktSize: 0, File: "c.etl", FileSizeMB: 3, LogMode: "multi-file"}
	if err != nil || got != want {
		t.Errorf("short forms: %+v, %v; want %+v", got, err, want)
	}
	got, err = parseStart([]string{"--file-name", "d.etl", "--file-size", "7", "--log-mode", "circular", "-c", "--type", "flow", "--comp", "all"})
	want = startOptions{Comp: "all", Type: "flow", PktSize: 128, File: "d.etl", FileSizeMB: 7, LogMode: "circular"}
	if err != nil || got != want {
		t.Errorf("long forms: %+v, %v; want %+v", got, err, want)
	}
}

func TestParseStartRefuses(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "--capture (-c) is required"},
		{[]string{"--comp", "all"}, "--capture (-c) is required"},
		{[]string{"-c", "--type", "bad"}, "--type"},
		{[]string{"-c", "--comp", "3"}, "--comp"},
		{[]string{"-c", "--pkt-size", "-1"}, "needs a value"},
		{[]string{"-c", "--pkt-size", "abc"}, "--pkt-size"},
		{[]string{"-c", "--pkt-size", "70000"}, "--pkt-size"},
		{[]string{"-c", "-s", "0"}, "--file-size"},
		{[]string{"-c", "-m", "memory"}, "--log-mode"},
		{[]string{"-c", "-m", "real-time"}, "--log-mode"},
		{[]string{"-c", "extra"}, "unexpected argument"},
		{[]string{"-c", "--capture"}, "given twice"},
		{[]string{"-c", "--etw"}, "unknown option"},
		{[]string{"-c", "--counters-only"}, "unknown option"},
		{[]string{"-c", "-f"}, "needs a value"},
		{[]string{"-c", "-f", "a.etl", "b.etl"}, "unexpected argument"},
	}
	for _, tt := range tests {
		_, err := parseStart(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseStart(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestConvertArgs(t *testing.T) {
	in, opts, err := convertArgs("etl2pcap", []string{"c.etl", "--OUT", "x.pcapng", "-D", "-c", "2"}, etl2pcapOpts)
	if err != nil || in != "c.etl" || opts["out"][0] != "x.pcapng" || opts["component-id"][0] != "2" || opts["drop-only"] == nil {
		t.Errorf("convertArgs = %q, %v, %v", in, opts, err)
	}
	for _, args := range [][]string{nil, {"--out", "x"}, {"c.etl", "--bogus"}, {"c.etl", "-o"}, {"c.etl", "x.pcapng"}} {
		if _, _, err := convertArgs("etl2pcap", args, etl2pcapOpts); err == nil {
			t.Errorf("convertArgs(%q) took it", args)
		}
	}
}
