package capture

import (
	"bytes"
	"strings"
	"testing"
)

func TestDropCounterAttributesDropsToComponents(t *testing.T) {
	var d dropCounter
	d.add("drops/components.json", strings.NewReader(`[{"Group": "Ethernet", "Components": [
		{"Id": 3, "Name": "Intel NIC", "Type": "Miniport"},
		{"Id": 12, "Name": "Virtual Filtering Platform VMSwitch Extension", "Type": "Filter"},
		{"Id": 14, "Name": "TCPIP", "Type": "Protocol"}]}]`))
	d.add("drops/component-3.pcapng", bytes.NewReader(pcapng(t, 2)))
	d.add("drops/component-12.pcapng", bytes.NewReader(pcapng(t, 40)))
	d.add("drops/component-14.pcapng", bytes.NewReader(pcapng(t, 0)))
	got := d.result(45)
	if len(d.errs) > 0 {
		t.Fatalf("errors: %v", d.errs)
	}
	if !got.Counted || len(got.ByComponent) != 2 || got.ByComponent[0].ID != 12 || got.ByComponent[0].Packets != 40 || got.ByComponent[1].ID != 3 {
		t.Fatalf("by component: %+v", got.ByComponent)
	}
	if got.Unattributed != 3 {
		t.Errorf("unattributed = %d, want 3 (45 dropped, 42 by listed components)", got.Unattributed)
	}

	var out bytes.Buffer
	RenderDrops(&out, "win-1", got, "web-0.txt")
	text := out.String()
	for _, want := range []string{
		`DROPS: 45 packet(s) were dropped on node win-1 during the capture, 40 of them by "Virtual Filtering Platform VMSwitch Extension" (Filter, component 12).`,
		"COMPONENT", "Intel NIC", "(a component pktmon did not list)", "web-0.txt",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "TCPIP") {
		t.Errorf("a component that dropped nothing is listed:\n%s", text)
	}
}

func TestDropCounterBadEntries(t *testing.T) {
	var d dropCounter
	d.add("drops/components.json", strings.NewReader("not json"))
	d.add("drops/component-x.pcapng", strings.NewReader(""))
	d.add("drops/component-4.pcapng", strings.NewReader("not a pcapng"))
	d.add("drops/other", strings.NewReader(""))
	if len(d.errs) != 4 {
		t.Errorf("errors = %q, want one per bad entry", d.errs)
	}
	if got := d.result(5); got.Counted || len(got.ByComponent) != 0 {
		t.Errorf("result from bad entries: %+v", got)
	}
}

func TestRenderDropsNone(t *testing.T) {
	var out bytes.Buffer
	RenderDrops(&out, "win-1", &Drops{Total: 0}, "x.txt")
	if !strings.Contains(out.String(), "no packet the filters match was dropped") {
		t.Errorf("summary: %s", out.String())
	}
	out.Reset()
	RenderDrops(&out, "win-1", &Drops{Total: 7}, "")
	if !strings.Contains(out.String(), "7 packet(s) were dropped") || !strings.Contains(out.String(), "capture to a file (-w)") {
		t.Errorf("summary: %s", out.String())
	}
}
