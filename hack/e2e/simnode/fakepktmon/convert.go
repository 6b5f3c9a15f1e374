package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func withExt(path, ext string) string { return strings.TrimSuffix(path, filepath.Ext(path)) + ext }

// outputPath is --out or the input with ext; it must not be the input (which it would erase).
func outputPath(in string, opts map[string][]string, ext string) (string, error) {
	out := withExt(in, ext)
	if v, ok := opts["out"]; ok {
		out = v[0]
	}
	a, _ := filepath.Abs(in)
	b, _ := filepath.Abs(out)
	if a == b {
		return "", fmt.Errorf("the output %s is the capture file itself", out)
	}
	return b, nil
}

func cmdEtl2pcap(args []string, stdout io.Writer) error {
	in, opts, err := convertArgs("etl2pcap", args, etl2pcapOpts)
	if err != nil {
		return err
	}
	compID := -1
	if v, ok := opts["component-id"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 16)
		if err != nil {
			return fmt.Errorf("etl2pcap: component id %q is not a number", v[0])
		}
		compID = int(n)
	}
	_, dropOnly := opts["drop-only"]
	out, err := outputPath(in, opts, ".pcapng")
	if err != nil {
		return err
	}
	r, closer, err := openETL(in)
	if err != nil {
		return err
	}
	defer closer.Close()
	of, err := os.Create(out)
	if err != nil {
		return err
	}
	defer of.Close()

	// One pcapng interface per component, as pktmon does: Wireshark then shows where in the
	// node's stack each packet was seen. Component id k is interface k-1.
	comps := r.Meta.Components
	if len(comps) == 0 {
		comps = []component{{ID: 1, Name: "PktMon"}}
	}
	intf := func(c component) pcapgo.NgInterface {
		return pcapgo.NgInterface{Name: c.Name, Description: "pktmon component " + strconv.Itoa(int(c.ID)),
			OS: "Windows", LinkType: layers.LinkTypeEthernet, SnapLength: uint32(r.Meta.Options.PktSize)}
	}
	w, err := pcapgo.NewNgWriterInterface(of, intf(comps[0]), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: "pktmon etl2pcap (winnet simulation)", OS: "Windows"}})
	if err != nil {
		return err
	}
	for _, c := range comps[1:] {
		if _, err := w.AddInterface(intf(c)); err != nil {
			return err
		}
	}
	var total, drops, formatted int
	for {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		total++
		if rec.Drop {
			drops++
		}
		if (dropOnly && !rec.Drop) || (compID >= 0 && int(rec.Comp) != compID) {
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: rec.Time, CaptureLength: len(rec.Data),
			Length: max(rec.OrigLen, len(rec.Data)), InterfaceIndex: int(rec.Comp) - 1}
		if err := w.WritePacket(ci, rec.Data); err != nil {
			return err
		}
		formatted++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := of.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Processing...\n\nPackets total:       %d\nPacket drop count:   %d\nPackets formatted:   %d\nFormatted file:      %s\n",
		total, drops, formatted, out)
	return nil
}

func cmdEtl2txt(args []string, stdout io.Writer) error {
	in, opts, err := convertArgs("etl2txt", args, etl2txtOpts)
	if err != nil {
		return err
	}
	verbose := 1
	if v, ok := opts["verbose"]; ok {
		switch v[0] {
		case "1", "2", "3":
			verbose = int(v[0][0] - '0')
		default:
			return fmt.Errorf("etl2txt: verbosity %q: use 1, 2 or 3", v[0])
		}
	}
	_, brief := opts["brief"]
	_, hexDump := opts["hex"]
	out, err := outputPath(in, opts, ".txt")
	if err != nil {
		return err
	}
	r, closer, err := openETL(in)
	if err != nil {
		return err
	}
	defer closer.Close()
	of, err := os.Create(out)
	if err != nil {
		return err
	}
	defer of.Close()
	bw := bufio.NewWriter(of)
	var total, drops int
	for {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		total++
		if rec.Drop {
			drops++
		}
		bw.WriteString(textLine(&r.Meta, rec, brief, verbose))
		bw.WriteByte('\n')
		if hexDump || verbose == 3 {
			for _, l := range strings.SplitAfter(hex.Dump(rec.Data), "\n") {
				if l != "" {
					bw.WriteString("    " + l)
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := of.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Processing...\n\nEvents total:        %d\nPacket drop count:   %d\nFormatted file:      %s\n", total, drops, out)
	return nil
}

// textLine is one record as etl2txt writes it: time, component, direction, the packet's
// addresses and protocol (and the inner packet's, for VXLAN), length, and a drop's reason.
func textLine(meta *etlMeta, rec etlRecord, brief bool, verbose int) string {
	var b strings.Builder
	b.WriteString(rec.Time.UTC().Format("2006-01-02 15:04:05.000000000"))
	if !brief {
		dir := "Rx"
		if rec.Tx {
			dir = "Tx"
		}
		fmt.Fprintf(&b, " Component %d (%s) %s", rec.Comp, meta.componentName(rec.Comp), dir)
	}
	b.WriteString(" ")
	b.WriteString(summary(rec.Data, meta.VXLANPorts, verbose >= 2 && !brief))
	fmt.Fprintf(&b, " Length %d", rec.OrigLen)
	if len(rec.Data) < rec.OrigLen && !brief {
		fmt.Fprintf(&b, " Logged %d", len(rec.Data))
	}
	if rec.Drop {
		fmt.Fprintf(&b, " Drop: reason %s", rec.Reason)
		if !brief {
			fmt.Fprintf(&b, ", component %d (%s)", rec.Comp, meta.componentName(rec.Comp))
		}
	}
	return b.String()
}

// summary is a frame's "src > dst PROTO", and the VXLAN-carried packet's after it.
func summary(frame []byte, vxlanPorts []uint16, macs bool) string {
	h := parseHeaders(frame)
	if !h.hasEth {
		return "(frame cut short)"
	}
	var b strings.Builder
	if macs {
		fmt.Fprintf(&b, "%s > %s ", h.srcMAC, h.dstMAC)
	}
	if !h.hasIP {
		fmt.Fprintf(&b, "EtherType 0x%04x", uint16(h.ethType))
		return b.String()
	}
	proto := "proto " + strconv.Itoa(int(h.proto))
	for _, p := range protocols {
		if p.num == h.proto {
			proto = p.name
		}
	}
	if h.hasPorts {
		fmt.Fprintf(&b, "%s > %s %s", hostPort(h.src, h.sport), hostPort(h.dst, h.dport), proto)
	} else {
		fmt.Fprintf(&b, "%s > %s %s", h.src, h.dst, proto)
	}
	for _, p := range vxlanPorts {
		if inner, vni, ok := vxlanInner(h, p); ok {
			fmt.Fprintf(&b, " VXLAN VNI %d: %s", vni, summary(inner, nil, macs))
			break
		}
	}
	return b.String()
}

func hostPort(ip netip.Addr, port uint16) string {
	return netip.AddrPortFrom(ip.Unmap(), port).String()
}

// cmdCounters counts the current or last capture's records per component, from its file.
func cmdCounters(st state, stdout io.Writer) error {
	sess, err := st.session()
	if err != nil {
		return err
	}
	if sess == nil {
		fmt.Fprintln(stdout, "There are no counters: no capture has run.")
		return nil
	}
	r, closer, err := openETL(sess.Options.File)
	if err != nil {
		return err
	}
	defer closer.Close()
	type count struct{ rxPkts, rxBytes, txPkts, txBytes, drops int64 }
	counts := make([]count, len(r.Meta.Components)+1)
	for {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		c := &counts[rec.Comp]
		switch {
		case rec.Drop:
			c.drops++
		case rec.Tx:
			c.txPkts++
			c.txBytes += int64(rec.OrigLen)
		default:
			c.rxPkts++
			c.rxBytes += int64(rec.OrigLen)
		}
	}
	when := "running"
	if sess.Ended != nil {
		when = "ended " + sess.Ended.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "Capture %s (%s)\n", sess.Options.File, when)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Id\tName\tRx Packets\tRx Bytes\tTx Packets\tTx Bytes\tDrops\t")
	for _, c := range r.Meta.Components {
		n := counts[c.ID]
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t\n", c.ID, c.Name, n.rxPkts, n.rxBytes, n.txPkts, n.txBytes, n.drops)
	}
	return tw.Flush()
}
