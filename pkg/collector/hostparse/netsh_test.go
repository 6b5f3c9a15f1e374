package hostparse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestParseDynamicPortRange(t *testing.T) {
	tests := []struct {
		name, out string
		want      wire.PortRange
		wantErr   string
	}{
		{name: "english, CRLF", out: "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\nStart Port      : 49152\r\nNumber of Ports : 16384\r\n\r\n",
			want: wire.PortRange{Start: 49152, End: 65535}},
		{name: "widened for many connections", out: "\nProtocol udp Dynamic Port Range\n---------------------------------\nStart Port      : 10000\nNumber of Ports : 55535\n",
			want: wire.PortRange{Start: 10000, End: 65534}},
		{name: "german words", out: "\nProtokoll tcp Dynamischer Portbereich\n---------------------------------\nStartport       : 49152\nAnzahl der Ports: 16384\n",
			want: wire.PortRange{Start: 49152, End: 65535}},
		{name: "empty (Wine's stub)", out: "", wantErr: "no dynamic port range (want two \"label : number\" lines, found 0) in an empty output"},
		{name: "an error message", out: "The following command was not found: int ipv4 show dynamicport tcp.\n", wantErr: "found 0) in \"The following command"},
		{name: "past the last port", out: "Start Port : 60000\nNumber of Ports : 16384\n", wantErr: "not a valid port range"},
		{name: "no ports", out: "Start Port : 60000\nNumber of Ports : 0\n", wantErr: "not a valid port range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDynamicPortRange(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseDynamicPortRange = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDynamicPortRange = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseExcludedPortRanges(t *testing.T) {
	const withRanges = "\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n" +
		"      5357        5357\r\n     10250       10250     *\r\n     50000       50059     *\r\n     54913       55012\r\n\r\n" +
		"* - Administered port exclusions.\r\n\r\n"
	const empty = "\nProtocol udp Port Exclusion Ranges\n\nStart Port    End Port      \n----------    --------      \n\n* - Administered port exclusions.\n"
	const chinese = "\n协议 tcp 端口排除范围\n\n开始端口    结束端口      \n----------    --------      \n      2869        2869      \n     5544        5545     *\n\n* - 管理的端口排除。\n"
	tests := []struct {
		name, out string
		want      []wire.PortRange
		wantErr   string
	}{
		{name: "english with administered rows", out: withRanges,
			want: []wire.PortRange{{Start: 5357, End: 5357}, {Start: 10250, End: 10250}, {Start: 50000, End: 50059}, {Start: 54913, End: 55012}}},
		{name: "none excluded", out: empty, want: []wire.PortRange{}},
		{name: "localised header", out: chinese, want: []wire.PortRange{{Start: 2869, End: 2869}, {Start: 5544, End: 5545}}},
		{name: "empty (Wine's stub)", out: "", wantErr: "no excluded port table"},
		{name: "reversed range", out: "----  ----\n  500  400\n", wantErr: `excluded range "500  400"`},
		{name: "port zero", out: "----  ----\n  0  400\n", wantErr: "not a valid port range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExcludedPortRanges(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseExcludedPortRanges = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseExcludedPortRanges = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
