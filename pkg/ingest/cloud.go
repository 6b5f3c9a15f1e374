package ingest

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// The cloud network kinds live in pkg/wire, where the snapshot decodes them.
const KindCloudAddressSpaces = wire.KindCloudAddressSpaces

type (
	CloudAddressSpace = wire.CloudAddressSpace
	CloudSubnet       = wire.CloudSubnet
)

func validPrefixes(ss []string) []string {
	var out []string
	for _, s := range ss {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			out = append(out, p.String())
		}
	}
	return out
}

// recogniseCloudNetworks reads `az network vnet show|list -o json`, `aws ec2 describe-vpcs`
// and `describe-subnets`, and `gcloud compute networks subnets list --format=json`.
func recogniseCloudNetworks(d *Doc) *Output {
	var spaces []CloudAddressSpace
	for _, o := range d.Objects() {
		switch {
		case o.has("addressspace") && strings.Contains(strings.ToLower(o.str("type")+o.str("id")), "virtualnetworks"):
			as, _ := o.obj("addressspace")
			s := CloudAddressSpace{Provider: "azure", Name: o.str("name"), Prefixes: validPrefixes(as.strs("addressprefixes"))}
			for _, sn := range o.arr("subnets") {
				for _, p := range validPrefixes(append(sn.strs("addressprefixes"), sn.str("addressprefix"))) {
					s.Subnets = append(s.Subnets, CloudSubnet{Name: sn.str("name"), Prefix: p})
				}
			}
			spaces = append(spaces, s)
		case o.has("vpcs"):
			for _, v := range o.arr("vpcs") {
				s := CloudAddressSpace{Provider: "aws", Name: v.str("vpcid")}
				ps := []string{v.str("cidrblock")}
				for _, a := range v.arr("cidrblockassociationset") {
					ps = append(ps, a.str("cidrblock"))
				}
				for _, p := range validPrefixes(ps) {
					if !contains(s.Prefixes, p) {
						s.Prefixes = append(s.Prefixes, p)
					}
				}
				spaces = append(spaces, s)
			}
		case o.has("subnets") && !o.has("id") && !o.has("ipams"):
			for _, sn := range o.arr("subnets") {
				if sn.has("subnetid") && sn.has("cidrblock") {
					spaces = append(spaces, CloudAddressSpace{Provider: "aws", Name: sn.str("vpcid"), Prefixes: validPrefixes([]string{sn.str("cidrblock")}),
						Subnets: []CloudSubnet{{Name: sn.str("subnetid"), Prefix: sn.str("cidrblock")}}})
				}
			}
		case o.has("ipcidrrange") && strings.Contains(o.str("selflink")+o.str("kind"), "subnetwork"):
			ps := []string{o.str("ipcidrrange")}
			for _, r := range o.arr("secondaryipranges") {
				ps = append(ps, r.str("ipcidrrange"))
			}
			spaces = append(spaces, CloudAddressSpace{Provider: "gcp", Name: o.str("name"), Prefixes: validPrefixes(ps)})
		}
	}
	if len(spaces) == 0 {
		return nil
	}
	var names []string
	for _, s := range spaces {
		names = append(names, fmt.Sprintf("%s %s %s", s.Provider, s.Name, strings.Join(s.Prefixes, ",")))
	}
	return &Output{Format: "cloud-network", Detail: strings.Join(names, "; "), Records: []wire.Record{artifact(KindCloudAddressSpaces, spaces)}}
}
