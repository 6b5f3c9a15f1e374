package hostparse

import (
	"reflect"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestKBFromPackage(t *testing.T) {
	tests := map[string]string{
		"Package_for_KB5034129~31bf3856ad364e35~amd64~~20348.2227.1.0":              "KB5034129",
		"Package_12_for_KB5034129~31bf3856ad364e35~amd64~~20348.2227.1.0":           "KB5034129",
		"Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2227.1.0":              "",
		"Package_for_ServicingStack_2200~31bf3856ad364e35~amd64~~20348.2200.1.0":    "",
		"Microsoft-Windows-Containers-Package~31bf3856ad364e35~amd64~~10.0.20348.1": "",
		"Package_for_KB5034129":                               "", // no ~: not a package key name
		"Package_x_for_KB5034129~31bf3856ad364e35~amd64~~1.0": "",
		"Package_for_KB~31bf3856ad364e35~amd64~~1.0":          "",
		"Package_7_for_KBA12~31bf3856ad364e35~amd64~~1.0":     "",
	}
	for name, want := range tests {
		if got := KBFromPackage(name); got != want {
			t.Errorf("KBFromPackage(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestHotfixes(t *testing.T) {
	jan := time.Date(2024, 1, 9, 22, 15, 0, 0, time.UTC)
	dec := time.Date(2023, 12, 12, 3, 0, 0, 0, time.UTC)
	pkgs := []ServicingPackage{
		{Name: "Package_1_for_KB5034129~31bf3856ad364e35~amd64~~20348.2227.1.0", State: PackageInstalled, HasState: true, InstallTime: jan},
		{Name: "Package_for_KB5034129~31bf3856ad364e35~amd64~~20348.2227.1.0", State: PackageInstalled, HasState: true, InstallTime: jan.Add(time.Hour)},
		{Name: "Package_for_KB5033118~31bf3856ad364e35~amd64~~20348.2113.1.0", State: PackageSuperseded, HasState: true, InstallTime: dec},
		{Name: "Package_for_KB890830~31bf3856ad364e35~amd64~~1.0", State: PackagePermanent, HasState: true},
		{Name: "Package_for_KB5035857~31bf3856ad364e35~amd64~~20348.2340.1.0", State: 0x40, HasState: true}, // staged only
		{Name: "Package_for_KB5012170~31bf3856ad364e35~amd64~~20348.880.1.0"},                               // state unreadable: kept
		{Name: "Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2227.1.0", State: PackageInstalled, HasState: true},
	}
	want := []wire.Hotfix{
		{ID: "KB890830"},
		{ID: "KB5012170"},
		{ID: "KB5033118", InstalledOn: "2023-12-12"},
		{ID: "KB5034129", InstalledOn: "2024-01-09"},
	}
	if got := Hotfixes(pkgs); !reflect.DeepEqual(got, want) {
		t.Errorf("Hotfixes =\n%+v\nwant\n%+v", got, want)
	}
	if got := Hotfixes(nil); got == nil || len(got) != 0 {
		t.Errorf("Hotfixes(nil) = %#v, want an empty list (it is marshalled as [])", got)
	}
}

func TestFileTime(t *testing.T) {
	// 2024-01-09T22:15:00Z is Unix 1704838500 s, plus 11644473600 s from 1601 to 1970, in 100 ns ticks.
	ticks := uint64(133493121000000000)
	got := FileTime(uint32(ticks>>32), uint32(ticks))
	if want := time.Date(2024, 1, 9, 22, 15, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("FileTime = %v, want %v", got, want)
	}
	if !FileTime(0, 0).IsZero() {
		t.Error("FileTime(0, 0) is not zero")
	}
}
