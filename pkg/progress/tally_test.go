package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTallyPlainPrintsOneLinePerNode(t *testing.T) {
	var b bytes.Buffer
	tl := NewTally(&b, false, 3)
	tl.now = func() time.Time { return tl.started.Add(1500 * time.Millisecond) }
	tl.Begin()
	tl.Finish("win-a", false, "2 findings, worst warning")
	tl.Begin()
	tl.Finish("win-b", true, "node not Ready")
	tl.Close()
	want := " ✓ [1/3] win-a: 2 findings, worst warning\n ✗ [2/3] win-b: node not Ready\n ✓ 1 of 3 nodes diagnosed, 1 failed (1.5s)\n"
	if b.String() != want {
		t.Errorf("output:\n%q\nwant:\n%q", b.String(), want)
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("plain output must carry no carriage returns")
	}
}

func TestTallyLiveRedrawsOneLineAndKeepsFailures(t *testing.T) {
	var b bytes.Buffer
	tl := &Tally{w: &b, live: true, total: 2, now: time.Now, started: time.Now()}
	tl.Begin()
	tl.Finish("win-a", false, "ok")
	tl.Begin()
	tl.Finish("win-b", true, "pod never started")
	tl.Close()
	out := b.String()
	if strings.Contains(out, "win-a") {
		t.Errorf("a node that is fine gets no line of its own on a terminal:\n%q", out)
	}
	if !strings.Contains(out, "✗ win-b: pod never started\n") {
		t.Errorf("a failed node keeps its line:\n%q", out)
	}
	if !strings.Contains(out, "diagnosing nodes: 1/2 done, 0 failed, 0 running") || !strings.HasSuffix(out, "1 of 2 nodes diagnosed, 1 failed (0s)\n") {
		t.Errorf("live line or final line missing:\n%q", out)
	}
}

func TestTallyQuiet(t *testing.T) {
	var b bytes.Buffer
	tl := NewTally(&b, true, 5)
	tl.Begin()
	tl.Finish("x", true, "y")
	tl.Info("z")
	tl.Close()
	if b.Len() != 0 {
		t.Errorf("quiet tally wrote %q", b.String())
	}
}
