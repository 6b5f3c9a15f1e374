package sha256

import (
	stdsha256 "crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func sum(parts ...[]byte) string {
	d := New()
	for _, p := range parts {
		_, _ = d.Write(p)
	}
	return hex.EncodeToString(d.Sum(nil))
}

func TestKnownDigests(t *testing.T) {
	// FIPS 180-4 examples and the empty input.
	tests := []struct{ name, in, want string }{
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"a million a", strings.Repeat("a", 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sum([]byte(tt.in)); got != tt.want {
				t.Errorf("sum = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestMatchesStdlib compares every length around the block and padding boundaries, written in
// one piece and in uneven pieces, with crypto/sha256.
func TestMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1100)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(data); n++ {
		want := stdsha256.Sum256(data[:n])
		if got := sum(data[:n]); got != hex.EncodeToString(want[:]) {
			t.Fatalf("length %d: %s, want %x", n, got, want)
		}
		// The same bytes in pieces of 1 to 70 bytes.
		var parts [][]byte
		for rest := data[:n]; len(rest) > 0; {
			c := min(1+rng.IntN(70), len(rest))
			parts, rest = append(parts, rest[:c]), rest[c:]
		}
		if got := sum(parts...); got != hex.EncodeToString(want[:]) {
			t.Fatalf("length %d in %d pieces: %s, want %x", n, len(parts), got, want)
		}
	}
}

func TestSumLeavesDigestUsable(t *testing.T) {
	d := New()
	_, _ = io.WriteString(d, "hello, ")
	first := d.Sum([]byte("prefix"))
	if !strings.HasPrefix(string(first), "prefix") || len(first) != len("prefix")+Size {
		t.Fatalf("Sum does not append: %x", first)
	}
	_, _ = io.WriteString(d, "world")
	want := stdsha256.Sum256([]byte("hello, world"))
	if got := d.Sum(nil); hex.EncodeToString(got) != hex.EncodeToString(want[:]) {
		t.Errorf("after Sum and more writes: %x, want %x", got, want)
	}
}
