package replay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDelaySourceStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := DelaySource(time.Hour).Collect(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err := DelaySource(0).Collect(context.Background(), nil); err != nil {
		t.Fatalf("zero delay: %v", err)
	}
}

func TestDelayFileAddsASource(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DelayFile), []byte("250ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := Sources(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Name() != "replay.delay" {
		t.Fatalf("sources = %v, want the delay source", srcs)
	}
	if err := os.WriteFile(filepath.Join(dir, DelayFile), []byte("soon"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Sources(dir, nil); err == nil {
		t.Fatal("want an error for a bad duration")
	}
}
