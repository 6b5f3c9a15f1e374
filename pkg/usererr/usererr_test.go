package usererr

import (
	"errors"
	"testing"
)

func TestMatchesSentinelAndCause(t *testing.T) {
	sentinel, cause, other := errors.New("kind"), errors.New("cause"), errors.New("other")
	err := New(sentinel, cause, "the %s failed; do %s", "thing", "this")
	if err.Error() != "the thing failed; do this" {
		t.Fatalf("message %q", err)
	}
	if !errors.Is(err, sentinel) || !errors.Is(err, cause) || errors.Is(err, other) {
		t.Fatal("errors.Is does not see exactly the sentinel and the cause")
	}
	if !errors.Is(New(sentinel, nil, "x"), sentinel) {
		t.Fatal("no cause: sentinel lost")
	}
}
