package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPlainOutputOneLinePerStage(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, false) // a bytes.Buffer is not a terminal: no spinner, no escapes
	tick := time.Unix(0, 0)
	r.now = func() time.Time { tick = tick.Add(250 * time.Millisecond); return tick }
	r.Start("resolving pod/web")
	r.Done("pod shop/web-0 on node n1")
	r.Start("creating debug pod")
	r.Update("pulling image")
	r.Fail("ErrImagePull")
	got := buf.String()
	want := " ✓ resolving pod/web: pod shop/web-0 on node n1 (250ms)\n" +
		"  · pulling image\n" +
		" ✗ creating debug pod: ErrImagePull (250ms)\n"
	if got != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	if strings.Contains(got, "\033") {
		t.Fatal("escape codes written to a non-terminal")
	}
}

func TestQuietWritesNothing(t *testing.T) {
	r := New(nil, true)
	r.Start("x")
	r.Done("y")
	r.Info("z")
}
