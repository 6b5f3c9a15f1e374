package ingest

import (
	"encoding/json"
	"fmt"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// recogniseHostStateJSON reads host network state in winnet's own wire shapes (pkg/wire
// hostkinds.go), as replay scenario folders and saved collector artifacts hold them. Each shape
// is told apart by the fields only it has; the data is passed on as the collector would send it.
func recogniseHostStateJSON(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) == 0 {
		return nil
	}
	all := func(f func(o jobj) bool) bool {
		for _, o := range objs {
			if !f(o) {
				return false
			}
		}
		return true
	}
	first := objs[0]
	one := func(format, kind string) *Output {
		return &Output{Format: format, Records: []wire.Record{rawArtifact(kind, first.raw)}}
	}
	list := func(format, kind string) *Output {
		raws := make([]json.RawMessage, len(objs))
		for i, o := range objs {
			raws[i] = o.raw
		}
		b, err := json.Marshal(raws)
		if err != nil {
			return nil
		}
		return &Output{Format: format, Detail: fmt.Sprintf("%d entries", len(objs)), Records: []wire.Record{rawArtifact(kind, b)}}
	}
	switch {
	case len(objs) == 1 && first.has("profiles"):
		return one("winnet-firewall-json", wire.KindFirewall)
	case len(objs) == 1 && first.hasAny("dynamic", "excluded") && len(first.keys) <= 2:
		return one("winnet-port-ranges-json", wire.KindPortRanges)
	case len(objs) == 1 && first.has("total") && first.has("bystate"):
		return one("winnet-tcp-connections-json", wire.KindTCPConnections)
	case len(objs) == 1 && first.hasAny("servers", "searchlist") && len(first.keys) <= 3:
		return one("winnet-dns-client-json", wire.KindDNSClient)
	case all(func(o jobj) bool { return o.has("name") && o.hasAny("addresses", "ifindex", "mtu") && !o.has("kind") }):
		return list("winnet-adapters-json", wire.KindHostAdapters)
	case all(func(o jobj) bool { return o.has("destination") && o.hasAny("nexthop", "ifindex") }):
		return list("winnet-routes-json", wire.KindHostRoutes)
	case all(func(o jobj) bool { return o.has("address") && o.hasAny("mac", "state") && len(o.keys) <= 4 }):
		return list("winnet-neighbors-json", wire.KindHostNeighbors)
	case all(func(o jobj) bool { return o.has("id") && o.has("installedon") && len(o.keys) <= 2 }):
		return list("winnet-hotfixes-json", wire.KindHotfixes)
	}
	return nil
}
