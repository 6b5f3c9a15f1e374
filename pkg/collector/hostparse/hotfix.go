package hostparse

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// The component store lists every servicing package as a subkey of
// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages, named
// like Package_for_KB5034129~31bf3856ad364e35~amd64~~20348.2227.1.0 or
// Package_12_for_KB5034129~...: one update is many packages. (The Hotfix key that systeminfo
// once read is empty on current builds.)
// KBFromPackage returns the update a package belongs to ("KB5034129"), or "" for packages that
// are not a KB (RollupFix, ServicingStack, features). The names match
// Package_[<digits>_]for_KB<digits>~...; it is parsed by hand because package regexp would
// add about 100 KB to the collector.
func KBFromPackage(name string) string {
	rest, ok := strings.CutPrefix(name, "Package_")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '_'); i > 0 && isDigits(rest[:i]) {
		rest = rest[i+1:]
	}
	rest, ok = strings.CutPrefix(rest, "for_KB")
	if !ok {
		return ""
	}
	digits, _, ok := strings.Cut(rest, "~")
	if !ok || !isDigits(digits) {
		return ""
	}
	return "KB" + digits
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Package states (the CurrentState DWORD of a package key) that mean the update is on the
// node: superseded by a later one, installed, or permanent. Staged, pending or absent
// packages are not installed updates.
const (
	PackageSuperseded = 0x50
	PackageInstalled  = 0x70
	PackagePermanent  = 0x80
)

// PackageInstalledState says whether a CurrentState value means the update is on the node.
func PackageInstalledState(state uint32) bool {
	return state == PackageSuperseded || state == PackageInstalled || state == PackagePermanent
}

// ServicingPackage is what the collector reads of one package key.
type ServicingPackage struct {
	Name        string
	State       uint32
	HasState    bool      // CurrentState was readable; without it the name alone is the evidence
	InstallTime time.Time // from InstallTimeHigh/InstallTimeLow; zero when absent
}

// Hotfixes turns servicing packages into one entry per installed KB, sorted by ID, with the
// earliest install date among its packages (YYYY-MM-DD, UTC).
func Hotfixes(pkgs []ServicingPackage) []wire.Hotfix {
	first := map[string]time.Time{}
	for _, p := range pkgs {
		kb := KBFromPackage(p.Name)
		if kb == "" || (p.HasState && !PackageInstalledState(p.State)) {
			continue
		}
		t, seen := first[kb]
		if !seen || (!p.InstallTime.IsZero() && (t.IsZero() || p.InstallTime.Before(t))) {
			first[kb] = p.InstallTime
		}
	}
	out := make([]wire.Hotfix, 0, len(first))
	for kb, t := range first {
		h := wire.Hotfix{ID: kb}
		if !t.IsZero() {
			h.InstalledOn = t.UTC().Format(time.DateOnly)
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := kbNumber(out[i].ID), kbNumber(out[j].ID)
		return a < b || a == b && out[i].ID < out[j].ID
	})
	return out
}

func kbNumber(id string) int {
	n, _ := strconv.Atoi(id[2:])
	return n
}

// FileTime converts a Windows FILETIME (100 ns ticks since 1601-01-01 UTC), given as its two
// halves, to a time; zero for zero.
func FileTime(high, low uint32) time.Time {
	ticks := int64(high)<<32 | int64(low)
	if ticks <= 0 {
		return time.Time{}
	}
	const unixEpochTicks = 116444736000000000 // 1970-01-01 in FILETIME ticks
	return time.Unix(0, (ticks-unixEpochTicks)*100).UTC()
}
