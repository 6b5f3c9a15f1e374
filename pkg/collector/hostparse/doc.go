// Package hostparse turns what Windows reports about a node's network state into the wire
// shapes (pkg/wire hostkinds.go): rows of the IP Helper tables, Windows Firewall rules and
// profiles from the registry, the text netsh prints, and servicing package names.
//
// It has no build tag and makes no system calls, so the whole of it is tested on Linux; the
// collector's Windows sources (pkg/collector/winsrc) only fetch the raw bytes and strings.
// Table rows are decoded from bytes at fixed offsets rather than through Go structs mirroring
// the C ones, so a layout mistake is a visible constant with its source, checked by the Wine
// smoke test (hack/winesmoke) against mingw-w64's headers. Nothing here panics on bad input:
// a short or inconsistent table is an error.
package hostparse
