// Command fakepktmon is a simulated pktmon.exe for the end-to-end tests: a Linux program the
// collector (a Linux build, in a replay) runs instead of the inbox pktmon when
// WINNET_PKTMON names it. It keeps a node's pktmon state (filters, the one capture session)
// in the folder WINNET_PKTMON_STATE names, and "captures" the traffic a scenario describes in
// WINNET_COLLECTOR_REPLAY/capture.json into a file only this program reads, which etl2pcap
// turns into a real pcapng and etl2txt into text.
//
// It is strict on purpose: it accepts exactly the subset of pktmon's syntax documented in
// README.md (the one winnet uses, plus the forms real pktmon also takes for it, long and short,
// any case) and refuses everything else with a message on stderr and exit status 1. A test
// then fails when the collector builds a command the real pktmon would not run, instead of the
// simulation quietly doing something sensible with it.
//
// # capture.json
//
// The traffic of the simulated node, read when a capture starts (a missing file means no
// traffic: the capture file is still valid, and empty):
//
//	{"flows": [
//	  {"name": "dns", "src": "10.244.1.5", "dst": "10.96.0.10", "proto": "udp",
//	   "srcPort": 50123, "dstPort": 53, "payloadBytes": 40, "everyMS": 100},
//	  {"name": "overlay-web", "src": "10.244.2.7", "dst": "10.244.1.5", "proto": "tcp",
//	   "srcPort": 8080, "dstPort": 41000, "payloadBytes": 1400, "everyMS": 2,
//	   "vxlan": {"outerSrc": "10.240.0.5", "outerDst": "10.240.0.4", "vni": 4096}},
//	  {"name": "blocked", "src": "10.244.1.5", "dst": "10.0.0.9", "proto": "tcp",
//	   "srcPort": 41001, "dstPort": 443, "everyMS": 500,
//	   "drop": {"component": "VFP", "reason": "Filtered VLAN"}}
//	]}
//
// Each flow sends one packet every everyMS milliseconds from the capture's start (the first at
// once), forever or "count" packets. Fields (flowSpec documents each): name, src, dst (IPv4 or
// IPv6, one family), proto (tcp, udp, icmp, icmpv6), srcPort/dstPort (TCP and UDP only,
// required for them), payloadBytes (0-9000; on UDP port 53 a real DNS message and on TCP
// port 443 a TLS record of that size, so decoders see no malformed packet), everyMS (at least 1), count (0 = no end),
// component (where the packet is logged, default "NIC"), direction ("rx" default, or "tx"),
// srcMac/dstMac (default 00:15:5d + the IP's last three bytes), vxlan {outerSrc, outerDst,
// vni, port (default 4789)} to wrap the packet in VXLAN, and drop {component, reason} to make
// every packet of the flow a drop event at that component instead. Unknown fields are errors,
// so a scenario's typo fails the capture's start rather than silently changing the traffic.
//
// # The capture ("ETL") file
//
// The magic "WNPKTSIM", a little-endian uint32 version (1), a uint32 length and that many
// bytes of JSON metadata (etlMeta: start time, component and drop-reason tables, options),
// then records: uint32 length of the rest, int64 capture time (Unix ns), uint16 component id,
// uint8 flags (1 drop, 2 transmit), uint8 zero, uint16 drop-reason index, uint32 original
// frame length, uint32 logged length, the logged bytes. A record cut short at the end (a file
// read while being written) is ignored.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Environment the simulation reads.
const (
	stateEnv       = "WINNET_PKTMON_STATE"         // the node's pktmon state folder (required)
	replayEnv      = "WINNET_COLLECTOR_REPLAY"     // the scenario folder holding capture.json
	noEtl2pcapEnv  = "WINNET_PKTMON_NO_ETL2PCAP"   // "1": an old Windows build without etl2pcap
	driverMaxEnv   = "WINNET_PKTMON_DRIVER_MAX"    // a Go duration: the driver's lifetime cap
	captureFile    = "capture.json"                // in the scenario folder
	defaultEtlName = "PktMon.etl"                  // real pktmon's default, in the current folder
	driverArg      = "__fakepktmon_capture_driver" // hidden first argument: the capture process
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == driverArg {
		return driverMain(args[1:], stderr)
	}
	if err := dispatch(args, stdout); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

const usage = "usage: pktmon filter add|list|remove, start --capture, stop, status, etl2pcap FILE, etl2txt FILE, counters, list"

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command given; " + usage)
	}
	st, err := stateFromEnv()
	if err != nil {
		return err
	}
	cmd, rest := strings.ToLower(args[0]), args[1:]
	switch cmd {
	case "filter":
		if len(rest) == 0 {
			return errors.New("filter needs a subcommand: add, list or remove")
		}
		sub, subArgs := strings.ToLower(rest[0]), rest[1:]
		switch sub {
		case "add":
			return cmdFilterAdd(st, subArgs, stdout)
		case "list":
			if err := noArgs("filter list", subArgs); err != nil {
				return err
			}
			return cmdFilterList(st, stdout)
		case "remove":
			if err := noArgs("filter remove", subArgs); err != nil {
				return err
			}
			return cmdFilterRemove(st, stdout)
		default:
			return fmt.Errorf("unknown filter subcommand %q: use add, list or remove", rest[0])
		}
	case "start":
		return cmdStart(st, rest, stdout)
	case "stop":
		if err := noArgs("stop", rest); err != nil {
			return err
		}
		return cmdStop(st, stdout)
	case "status":
		if err := noArgs("status", rest); err != nil {
			return err
		}
		return cmdStatus(st, stdout)
	case "etl2pcap":
		// Windows Server 2019 and builds before 20H2 have no etl2pcap: the collector must
		// then fall back to the ETL and etl2txt, and a test proves it does.
		if os.Getenv(noEtl2pcapEnv) == "1" {
			return fmt.Errorf("unknown command %q; %s", args[0], strings.Replace(usage, " etl2pcap FILE,", "", 1))
		}
		return cmdEtl2pcap(rest, stdout)
	case "etl2txt":
		return cmdEtl2txt(rest, stdout)
	case "list":
		return cmdList(rest, stdout)
	case "counters":
		if err := noArgs("counters", rest); err != nil {
			return err
		}
		return cmdCounters(st, stdout)
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
}

func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, found %q", cmd, args[0])
	}
	return nil
}

// stateFromEnv is the node's state folder. It is required for every command, even those that
// need none, so that a simulated node set up without one fails at its first pktmon call.
func stateFromEnv() (state, error) {
	dir := os.Getenv(stateEnv)
	if dir == "" {
		return state{}, fmt.Errorf("%s is not set: the simulated pktmon keeps its filters and session in that folder", stateEnv)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return state{}, err
	}
	return state{dir: abs}, nil
}
