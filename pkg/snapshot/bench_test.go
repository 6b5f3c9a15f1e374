package snapshot

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// BenchmarkDecode measures decoding a large node's HNS state: 20,000 load balancers and
// 5,000 endpoints as the collector sends them (HCN v2 JSON).
func BenchmarkDecode(b *testing.B) {
	var lbs, eps []map[string]any
	for i := 0; i < 20000; i++ {
		lbs = append(lbs, map[string]any{"ID": fmt.Sprintf("LB-%d", i), "HostComputeEndpoints": []string{fmt.Sprintf("EP-%d", i%5000)},
			"SourceVIP": "10.0.0.5", "FrontendVIPs": []string{fmt.Sprintf("10.96.%d.%d", i/250, i%250)},
			"PortMappings": []map[string]any{{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}}})
	}
	for i := 0; i < 5000; i++ {
		eps = append(eps, map[string]any{"ID": fmt.Sprintf("EP-%d", i), "IpConfigurations": []map[string]any{{"IpAddress": fmt.Sprintf("10.244.%d.%d", i/250, i%250)}},
			"Flags": 1, "Policies": []map[string]any{{"Type": "ProviderAddress", "Settings": map[string]any{"ProviderAddress": "10.0.0.4"}}}})
	}
	lbData, _ := json.Marshal(lbs)
	epData, _ := json.Marshal(eps)
	b.SetBytes(int64(len(lbData) + len(epData)))
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder("n")
		bl.Add(artifact(wire.KindHCNLoadBalancers, string(lbData)))
		bl.Add(artifact(wire.KindHCNEndpoints, string(epData)))
		if s := bl.Snapshot(); len(s.LoadBalancers) != 20000 {
			b.Fatal("decode lost load balancers")
		}
	}
}
