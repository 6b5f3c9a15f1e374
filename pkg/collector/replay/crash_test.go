package replay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The crash knob reads like the delay knob; before its time it is an ordinary source that a
// cancelled run ends (the crash itself kills the process: the end-to-end fault matrix checks it).
func TestCrashKnob(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, CrashFile)
	if err := os.WriteFile(bad, []byte("soon"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := crashFromFile(bad); err == nil || !strings.Contains(err.Error(), "must hold a duration") {
		t.Fatalf("a knob without a duration: %v", err)
	}
	if err := os.WriteFile(bad, []byte("1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := crashFromFile(bad)
	if err != nil || src.Name() != "replay.crash" {
		t.Fatalf("crashFromFile = %v, %v", src, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := src.Collect(ctx, nil); err == nil {
		t.Fatal("a cancelled run must end the crash source with the context's error")
	}
}
