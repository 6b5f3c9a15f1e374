package capture

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/google/gopacket/pcapgo"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-winnet/winnet/pkg/pktmon"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Drops is what a drops capture says of who dropped the packets: pktmon drops a packet at one
// component (a NIC, the vSwitch, VFP, where HNS's ACLs and load balancing live, a protocol),
// and which one points at the cause before any packet is opened.
type Drops struct {
	// Total is the dropped packets in the capture file; -1 when it could not be counted.
	Total int
	// ByComponent is each component that dropped packets, the most first. Empty when the
	// node sent no per-component files (see Note).
	ByComponent []ComponentDrops
	// Unattributed counts the dropped packets of components the node did not list.
	Unattributed int
	Counted      bool // the node sent the per-component files
}

// ComponentDrops is one component's dropped packets.
type ComponentDrops struct {
	pktmon.Component
	Packets int
}

// dropCounter gathers the per-component entries (wire.CaptureDropsDir) of a drops capture's
// tar stream; they are counted here, where gopacket already is, not on the node, whose
// collector is uploaded on every fresh debug pod and stays small.
type dropCounter struct {
	comps  []pktmon.Component
	counts map[int]int
	errs   []string
}

// add takes one entry under wire.CaptureDropsDir.
func (d *dropCounter) add(name string, r io.Reader) {
	name = strings.TrimPrefix(name, wire.CaptureDropsDir)
	if d.counts == nil {
		d.counts = map[int]int{}
	}
	switch {
	case name == wire.CaptureComponentsFile:
		b, err := io.ReadAll(r)
		if err == nil {
			d.comps, err = pktmon.ParseComponents(b)
		}
		if err != nil {
			d.errs = append(d.errs, err.Error())
		}
	case strings.HasPrefix(name, wire.CaptureComponentPrefix) && strings.HasSuffix(name, ".pcapng"):
		id, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, wire.CaptureComponentPrefix), ".pcapng"))
		if err != nil {
			d.errs = append(d.errs, "unexpected entry "+name)
			return
		}
		n, err := countPackets(r)
		if err != nil {
			d.errs = append(d.errs, fmt.Sprintf("component %d's drops: %v", id, err))
			return
		}
		d.counts[id] = n
	default:
		d.errs = append(d.errs, "unexpected entry "+name)
	}
	_, _ = io.Copy(io.Discard, r)
}

// result is the summary, given the capture file's own count of dropped packets.
func (d *dropCounter) result(total int) *Drops {
	out := &Drops{Total: total, Counted: len(d.counts) > 0}
	sum := 0
	for _, c := range d.comps {
		if n := d.counts[c.ID]; n > 0 {
			out.ByComponent = append(out.ByComponent, ComponentDrops{Component: c, Packets: n})
			sum += n
		}
	}
	sort.SliceStable(out.ByComponent, func(i, j int) bool { return out.ByComponent[i].Packets > out.ByComponent[j].Packets })
	if out.Counted && total > sum {
		out.Unattributed = total - sum
	}
	return out
}

// countPackets reads a pcapng to its end and counts its packets.
func countPackets(r io.Reader) (int, error) {
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, _, err := ng.ReadPacketData(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// RenderDrops writes the drops summary: a line that says how many packets were dropped and
// by what, then a row per component; textFile is where pktmon's text (with each drop's
// reason) was written, "" when it was not.
func RenderDrops(w io.Writer, node string, d *Drops, textFile string) {
	if d == nil {
		return
	}
	switch {
	case d.Total == 0:
		fmt.Fprintf(w, "DROPS: no packet the filters match was dropped on node %s during the capture.\n", node)
		return
	case d.Total < 0:
		fmt.Fprintf(w, "DROPS: the dropped packets on node %s could not be counted (the file is not a readable pcapng).\n", node)
	case len(d.ByComponent) == 0:
		fmt.Fprintf(w, "DROPS: %d packet(s) were dropped on node %s during the capture.\n", d.Total, node)
	default:
		top := d.ByComponent[0]
		fmt.Fprintf(w, "DROPS: %d packet(s) were dropped on node %s during the capture, %d of them by %s.\n",
			d.Total, node, top.Packets, describeComponent(top.Component))
	}
	if len(d.ByComponent) > 0 {
		tw := printers.GetNewTabWriter(w)
		fmt.Fprintln(tw, "  COMPONENT\tID\tTYPE\tBINDING\tDROPPED")
		for _, c := range d.ByComponent {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%d\n", dashIfEmpty(c.Name), c.ID, dashIfEmpty(c.Type), dashIfEmpty(c.Group), c.Packets)
		}
		if d.Unattributed > 0 {
			fmt.Fprintf(tw, "  (a component pktmon did not list)\t-\t-\t-\t%d\n", d.Unattributed)
		}
		_ = tw.Flush()
	}
	if textFile != "" {
		fmt.Fprintf(w, "  Why each packet was dropped is in pktmon's text rendering: %s (the lines marked drop).\n", textFile)
	} else {
		fmt.Fprintf(w, "  Why each packet was dropped is in pktmon's text rendering, which a capture to stdout leaves out: capture to a file (-w) to get it.\n")
	}
}

func describeComponent(c pktmon.Component) string {
	s := strconv.Quote(c.Name)
	if c.Name == "" {
		s = "an unnamed component"
	}
	var about []string
	if c.Type != "" {
		about = append(about, c.Type)
	}
	about = append(about, "component "+strconv.Itoa(c.ID))
	return s + " (" + strings.Join(about, ", ") + ")"
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
