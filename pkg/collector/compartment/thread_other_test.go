//go:build !linux

package compartment

// threadID is -1 where the tests cannot name threads: the fake then skips its thread checks.
func threadID() int { return -1 }
