//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Windows Firewall's local store, and the one Group Policy writes (it wins where it sets a
// value, and its rules apply alongside the local ones).
const (
	firewallLocalKey  = `SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy`
	firewallPolicyKey = `SOFTWARE\Policies\Microsoft\WindowsFirewall`
)

// firewallProfiles names each profile's key in both stores: the local store still calls the
// Private profile "Standard".
var firewallProfiles = []struct{ name, localKey, policyKey string }{
	{"Domain", "DomainProfile", "DomainProfile"},
	{"Private", "StandardProfile", "PrivateProfile"},
	{"Public", "PublicProfile", "PublicProfile"},
}

var procSHLoadIndirectString = windows.NewLazySystemDLL("shlwapi.dll").NewProc("SHLoadIndirectString")

// firewallSource reads the firewall profiles and rules straight from the registry, which is
// where the firewall service keeps them: no COM, no PowerShell. Of the rules it keeps those
// that can change cluster traffic (see hostparse.FirewallRule.Relevant) and logs how many
// there are in all.
type firewallSource struct{}

func (firewallSource) Name() string { return wire.KindFirewall }

func (firewallSource) Collect(_ context.Context, out collector.Emitter) error {
	local, err := registry.OpenKey(registry.LOCAL_MACHINE, firewallLocalKey, registry.QUERY_VALUE)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s to read Windows Firewall's settings: %w; the firewall was never configured on this host (a stripped image, or Wine)", firewallLocalKey, err)
	}
	local.Close()

	var fw wire.Firewall
	for _, p := range firewallProfiles {
		l, err := profileValues(firewallLocalKey + `\` + p.localKey)
		if err != nil {
			_ = out.Error(err)
		}
		g, err := profileValues(firewallPolicyKey + `\` + p.policyKey)
		if err != nil {
			_ = out.Error(err)
		}
		fw.Profiles = append(fw.Profiles, hostparse.FirewallProfile(p.name, l, g))
	}

	total, unparsed := 0, 0
	var firstBad error
	fw.Rules = []wire.FirewallRule{}
	for _, key := range []string{firewallLocalKey + `\FirewallRules`, firewallPolicyKey + `\FirewallRules`} {
		rules, n, bad, err := readFirewallRules(key)
		if err != nil {
			_ = out.Error(err)
		}
		total, unparsed = total+n, unparsed+len(bad)
		if firstBad == nil && len(bad) > 0 {
			firstBad = bad[0]
		}
		for _, r := range rules {
			if !r.Relevant() {
				continue
			}
			if r.NameIsIndirect {
				r.Name = indirectString(r.Name)
			}
			fw.Rules = append(fw.Rules, r.FirewallRule)
		}
	}
	if unparsed > 0 {
		_ = out.Error(fmt.Errorf("%d of %d firewall rules are not in a format the collector reads and are left out (first: %v)", unparsed, total, firstBad))
	}
	sort.SliceStable(fw.Rules, func(i, j int) bool { return fw.Rules[i].Name < fw.Rules[j].Name })
	out.Logf("%d firewall rules, %d kept as relevant to cluster traffic", total, len(fw.Rules))
	return out.Artifact(wire.KindFirewall, fw)
}

// profileValues reads one profile's settings; a missing key is a profile with nothing set.
func profileValues(path string) (hostparse.FirewallProfileValues, error) {
	var v hostparse.FirewallProfileValues
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("opening HKLM\\%s: %w; that profile is reported with Windows' defaults", path, err)
	}
	defer k.Close()
	for name, dst := range map[string]**uint32{
		"EnableFirewall": &v.EnableFirewall, "DefaultInboundAction": &v.DefaultInboundAction, "DefaultOutboundAction": &v.DefaultOutboundAction,
	} {
		d, _, err := k.GetIntegerValue(name)
		if err == nil {
			x := uint32(d)
			*dst = &x
		}
	}
	return v, nil
}

// readFirewallRules parses every rule of one store. A missing store has no rules.
func readFirewallRules(path string) (rules []hostparse.FirewallRule, total int, bad []error, err error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, 0, nil, nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("opening HKLM\\%s to read the firewall rules: %w; its rules are not reported", path, err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("listing the firewall rules under HKLM\\%s: %w; its rules are not reported", path, err)
	}
	for _, id := range names {
		data, _, err := k.GetStringValue(id)
		if err != nil {
			bad = append(bad, fmt.Errorf("rule %s: %w", id, err))
			continue
		}
		r, err := hostparse.ParseFirewallRule(id, data)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		rules = append(rules, r)
	}
	return rules, len(names), bad, nil
}

// indirectString resolves a resource reference such as @FirewallAPI.dll,-28502 to its text
// (SHLoadIndirectString); on failure the reference itself is kept.
func indirectString(ref string) string {
	if procSHLoadIndirectString.Find() != nil {
		return ref
	}
	src, err := windows.UTF16PtrFromString(ref)
	if err != nil {
		return ref
	}
	buf := make([]uint16, 512)
	// HRESULT SHLoadIndirectString(PCWSTR pszSource, PWSTR pszOutBuf, UINT cchOutBuf, void **ppvReserved)
	hr, _, _ := procSHLoadIndirectString.Call(uintptr(unsafe.Pointer(src)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
	if failed(hr) {
		return ref
	}
	if s := windows.UTF16ToString(buf); s != "" {
		return s
	}
	return ref
}
