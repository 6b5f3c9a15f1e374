package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// optSpec is one option of a command: its canonical name and how many values follow it.
type optSpec struct {
	name     string
	min, max int
}

// parseOpts reads options from args. Option names are case-insensitive, as on Windows; each
// may be given once. Values are the arguments after an option that do not start with '-', up
// to spec.max; fewer than spec.min is a missing value. An argument that is neither an option
// nor one of its values is an error (pktmon takes no stray words).
func parseOpts(cmd string, args []string, specs map[string]optSpec) (map[string][]string, error) {
	got := map[string][]string{}
	for i := 0; i < len(args); {
		arg := args[i]
		i++
		spec, ok := specs[strings.ToLower(arg)]
		if !ok {
			if strings.HasPrefix(arg, "-") {
				return nil, fmt.Errorf("%s: unknown option %q", cmd, arg)
			}
			return nil, fmt.Errorf("%s: unexpected argument %q", cmd, arg)
		}
		if _, dup := got[spec.name]; dup {
			return nil, fmt.Errorf("%s: option %q given twice", cmd, arg)
		}
		vals := []string{}
		for len(vals) < spec.max && i < len(args) && !strings.HasPrefix(args[i], "-") {
			vals = append(vals, args[i])
			i++
		}
		if len(vals) < spec.min {
			if spec.min == 1 {
				return nil, fmt.Errorf("%s: option %q needs a value", cmd, arg)
			}
			return nil, fmt.Errorf("%s: option %q needs %d values", cmd, arg, spec.min)
		}
		got[spec.name] = vals
	}
	return got, nil
}

// filterSpec is one `pktmon filter add`: a packet matches when it meets every condition set.
// It is stored as JSON in the state folder.
type filterSpec struct {
	Name      string   `json:"name,omitempty"`
	MACs      []string `json:"macs,omitempty"`     // one: either end; two: between them
	DataLink  string   `json:"dataLink,omitempty"` // IPv4 or IPv6 (the EtherType)
	Protocol  string   `json:"protocol,omitempty"` // TCP, UDP, ICMP or ICMPv6
	IPs       []string `json:"ips,omitempty"`      // one: either end; two: between them
	Ports     []uint16 `json:"ports,omitempty"`    // the same, for TCP and UDP ports
	Encap     bool     `json:"encap,omitempty"`    // also match the inner packet of VXLAN
	VXLANPort uint16   `json:"vxlanPort,omitempty"`
}

const defaultVXLANPort = 4789

// maxFilters is pktmon's limit on filters at once.
const maxFilters = 32

var filterAddOpts = map[string]optSpec{
	"-m": {"mac", 1, 2}, "--mac": {"mac", 1, 2},
	"-d": {"data-link", 1, 1}, "--data-link": {"data-link", 1, 1},
	"-t": {"transport-protocol", 1, 1}, "--transport-protocol": {"transport-protocol", 1, 1},
	"-i": {"ip", 1, 2}, "--ip": {"ip", 1, 2},
	"-p": {"port", 1, 2}, "--port": {"port", 1, 2},
	"-e": {"encap", 0, 1}, "--encap": {"encap", 0, 1},
}

// protocols maps the -t names (any case) to their spelling and IP protocol number.
var protocols = map[string]struct {
	name string
	num  uint8
}{
	"tcp": {"TCP", 6}, "udp": {"UDP", 17}, "icmp": {"ICMP", 1}, "icmpv6": {"ICMPv6", 58},
}

// parseFilterAdd reads the arguments after `filter add`. The name is optional and is the
// first argument when that does not start with '-'.
func parseFilterAdd(args []string) (filterSpec, error) {
	var f filterSpec
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.Name = args[0]
		args = args[1:]
	}
	opts, err := parseOpts("filter add", args, filterAddOpts)
	if err != nil {
		return f, err
	}
	for _, v := range opts["mac"] {
		mac, err := net.ParseMAC(v)
		if err != nil || len(mac) != 6 {
			return f, fmt.Errorf("filter add: %q is not a MAC address", v)
		}
		f.MACs = append(f.MACs, mac.String())
	}
	if v, ok := opts["data-link"]; ok {
		switch strings.ToLower(v[0]) {
		case "ipv4":
			f.DataLink = "IPv4"
		case "ipv6":
			f.DataLink = "IPv6"
		default:
			return f, fmt.Errorf("filter add: data-link protocol %q: this simulation knows IPv4 and IPv6", v[0])
		}
	}
	if v, ok := opts["transport-protocol"]; ok {
		p, ok := protocols[strings.ToLower(v[0])]
		if !ok {
			return f, fmt.Errorf("filter add: transport protocol %q: use TCP, UDP, ICMP or ICMPv6", v[0])
		}
		f.Protocol = p.name
	}
	for _, v := range opts["ip"] {
		ip, err := netip.ParseAddr(v)
		if err != nil || ip.Zone() != "" {
			return f, fmt.Errorf("filter add: %q is not an IP address", v)
		}
		f.IPs = append(f.IPs, ip.Unmap().String())
	}
	for _, v := range opts["port"] {
		p, err := parsePort(v)
		if err != nil {
			return f, fmt.Errorf("filter add: %w", err)
		}
		f.Ports = append(f.Ports, p)
	}
	if v, ok := opts["encap"]; ok {
		f.Encap = true
		f.VXLANPort = defaultVXLANPort
		if len(v) == 1 {
			p, err := parsePort(v[0])
			if err != nil {
				return f, fmt.Errorf("filter add: VXLAN %w", err)
			}
			f.VXLANPort = p
		}
	}
	// A filter without a condition would capture everything. Whether real pktmon takes one is
	// not documented, so the simulation refuses it: the collector must never rely on it.
	if len(f.MACs) == 0 && f.DataLink == "" && f.Protocol == "" && len(f.IPs) == 0 && len(f.Ports) == 0 {
		return f, errors.New("filter add: give at least one condition (-m, -d, -t, -i or -p)")
	}
	return f, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}

// startOptions are `pktmon start`'s settings, defaults filled in.
type startOptions struct {
	Comp       string `json:"comp"`       // all or nics
	Type       string `json:"type"`       // all, flow or drop
	PktSize    int    `json:"pktSize"`    // bytes logged per packet; 0 = whole packet
	File       string `json:"file"`       // absolute
	FileSizeMB int    `json:"fileSizeMB"` // the cap
	LogMode    string `json:"logMode"`    // circular or multi-file
}

var startOpts = map[string]optSpec{
	"--capture": {"capture", 0, 0}, "-c": {"capture", 0, 0},
	"--comp":      {"comp", 1, 1},
	"--type":      {"type", 1, 1},
	"--pkt-size":  {"pkt-size", 1, 1},
	"--file-name": {"file-name", 1, 1}, "-f": {"file-name", 1, 1},
	"--file-size": {"file-size", 1, 1}, "-s": {"file-size", 1, 1},
	"--log-mode": {"log-mode", 1, 1}, "-m": {"log-mode", 1, 1},
}

// parseStart reads the arguments after `start`. The file name stays as given; the caller
// makes it absolute against its own current folder.
func parseStart(args []string) (startOptions, error) {
	o := startOptions{Comp: "all", Type: "all", PktSize: 128, File: defaultEtlName, FileSizeMB: 512, LogMode: "circular"}
	opts, err := parseOpts("start", args, startOpts)
	if err != nil {
		return o, err
	}
	if _, ok := opts["capture"]; !ok {
		return o, errors.New("start: --capture (-c) is required: this simulation only captures packets")
	}
	oneOf := func(key string, dst *string, allowed ...string) error {
		v, ok := opts[key]
		if !ok {
			return nil
		}
		for _, a := range allowed {
			if strings.EqualFold(v[0], a) {
				*dst = a
				return nil
			}
		}
		return fmt.Errorf("start: --%s %q: use %s", key, v[0], strings.Join(allowed, ", "))
	}
	if err := oneOf("comp", &o.Comp, "all", "nics"); err != nil {
		return o, err
	}
	if err := oneOf("type", &o.Type, "all", "flow", "drop"); err != nil {
		return o, err
	}
	if err := oneOf("log-mode", &o.LogMode, "circular", "multi-file"); err != nil {
		return o, err
	}
	if v, ok := opts["pkt-size"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 16)
		if err != nil {
			return o, fmt.Errorf("start: --pkt-size %q: give a byte count 0-65535 (0 logs whole packets)", v[0])
		}
		o.PktSize = int(n)
	}
	if v, ok := opts["file-size"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 31)
		if err != nil || n == 0 || n > 1<<20 {
			return o, fmt.Errorf("start: --file-size %q: give a size in MB, at least 1", v[0])
		}
		o.FileSizeMB = int(n)
	}
	if v, ok := opts["file-name"]; ok {
		o.File = v[0]
	}
	return o, nil
}

// convertArgs are etl2pcap's and etl2txt's: the input file first, then options.
func convertArgs(cmd string, args []string, specs map[string]optSpec) (string, map[string][]string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("%s: give the capture file first, as in `pktmon %s PktMon.etl`", cmd, cmd)
	}
	opts, err := parseOpts(cmd, args[1:], specs)
	return args[0], opts, err
}

var etl2pcapOpts = map[string]optSpec{
	"--out": {"out", 1, 1}, "-o": {"out", 1, 1},
	"--drop-only": {"drop-only", 0, 0}, "-d": {"drop-only", 0, 0},
	"--component-id": {"component-id", 1, 1}, "-c": {"component-id", 1, 1},
}

var etl2txtOpts = map[string]optSpec{
	"--out": {"out", 1, 1}, "-o": {"out", 1, 1},
	"--brief": {"brief", 0, 0}, "-b": {"brief", 0, 0},
	"--verbose": {"verbose", 1, 1}, "-v": {"verbose", 1, 1},
	"--hex": {"hex", 0, 0}, "-x": {"hex", 0, 0},
}
