package hostparse

import (
	"reflect"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestDNSClient(t *testing.T) {
	tests := []struct {
		name    string
		servers [][]string
		params  TcpipParameters
		want    wire.DNSClient
	}{
		{
			name:    "two adapters, duplicates and placeholders",
			servers: [][]string{{"10.0.0.2", "fec0:0:0:ffff::1%1", "fec0:0:0:ffff::2%1", "fec0:0:0:ffff::3%1"}, {"10.0.0.2", "168.63.129.16"}},
			params:  TcpipParameters{SearchList: "corp.example.com,example.com, corp.example.com", Domain: "corp.example.com", NVDomain: "old.example.com"},
			want: wire.DNSClient{Servers: []string{"10.0.0.2", "168.63.129.16"}, SearchList: []string{"corp.example.com", "example.com"},
				PrimarySuffix: "corp.example.com"},
		},
		{
			name:   "suffix only configured for the next boot",
			params: TcpipParameters{NVDomain: "corp.example.com", SearchList: "  "},
			want:   wire.DNSClient{PrimarySuffix: "corp.example.com"},
		},
		{
			name:    "a server that is not an address is kept as reported",
			servers: [][]string{{"dns.example"}},
			want:    wire.DNSClient{Servers: []string{"dns.example"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DNSClient(tt.servers, tt.params); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DNSClient = %+v, want %+v", got, tt.want)
			}
		})
	}
}
