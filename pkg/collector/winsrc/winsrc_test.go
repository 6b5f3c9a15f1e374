package winsrc

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

func TestParseGUID(t *testing.T) {
	want := guid{Data1: 0x0D9A3C4E, Data2: 0x8C1F, Data3: 0x4B0E, Data4: [8]byte{0x9F, 0x3A, 0x1C, 0x2D, 0x3E, 0x4F, 0x5A, 0x6B}}
	tests := []struct {
		in      string
		wantErr bool
	}{
		{in: "0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B"},
		{in: "0d9a3c4e-8c1f-4b0e-9f3a-1c2d3e4f5a6b"},
		{in: "{0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B}"},
		{in: "0D9A3C4E8C1F4B0E9F3A1C2D3E4F5A6B", wantErr: true},
		{in: "0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6G", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := parseGUID(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Errorf("parseGUID(%q) = %v, want an error", tt.in, g)
				}
				return
			}
			if err != nil || g != want {
				t.Fatalf("parseGUID(%q) = %+v, %v; want %+v", tt.in, g, err, want)
			}
			if s := g.String(); s != "0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B" {
				t.Errorf("String() = %s", s)
			}
		})
	}
	// HcnOpen* takes a REFGUID: the struct must have the 16-byte Windows layout.
	if n := unsafe.Sizeof(guid{}); n != 16 {
		t.Errorf("guid is %d bytes, want 16", n)
	}
}

func TestParseIDList(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "", want: 0},
		{in: "null", want: 0},
		{in: "[]", want: 0},
		{in: `["0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B","{1D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B}"]`, want: 2},
		{in: `{"a":1}`, wantErr: "not a JSON array of strings"},
		{in: `["nope"]`, wantErr: `"nope" is not a GUID`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ids, err := parseIDList(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseIDList = %v, %v; want error %q", ids, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(ids) != tt.want {
				t.Errorf("parseIDList = %v, %v; want %d IDs", ids, err, tt.want)
			}
		})
	}
}

func TestHCNObjects(t *testing.T) {
	id, _ := parseGUID("0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B")
	var o hcnObjects
	if got := string(o.array()); got != "[]" {
		t.Errorf("empty array = %s", got)
	}
	o.add(id, " {\"ID\":\"A\",\r\n \"Flags\":1} ")
	o.add(id, "not json")
	o.add(id, `["an array"]`)
	o.add(id, `{"ID":"B"}`)
	if got, want := string(o.array()), "[{\"ID\":\"A\",\r\n \"Flags\":1},{\"ID\":\"B\"}]"; got != want {
		t.Errorf("array = %q, want %q", got, want)
	}
	if len(o.errs) != 2 || !strings.Contains(o.errs[0].Error(), "0D9A3C4E-8C1F-4B0E-9F3A-1C2D3E4F5A6B") {
		t.Errorf("errs = %v, want two naming the object", o.errs)
	}
}

func TestErrorWording(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"dll missing (Wine)", dllMissing("computenetwork.dll", errors.New("Module not found.")),
			[]string{"HNS/HCN is not available on this host: computenetwork.dll not found", "Module not found."}},
		{"proc missing", procMissing("computenetwork.dll", "HcnEnumerateLoadBalancers"),
			[]string{"HNS/HCN is not available on this host: computenetwork.dll has no HcnEnumerateLoadBalancers"}},
		{"known HRESULT with record", hcnCallError("HcnQueryEndpointProperties", 0x803B0002, "{\n \"Error\": \"not found\"\n}"),
			[]string{"HcnQueryEndpointProperties failed with HRESULT 0x803B0002 (HCN_E_ENDPOINT_NOT_FOUND)", `{"Error":"not found"}`}},
		{"access denied says how to run", hcnCallError("HcnEnumerateNetworks", 0x80070005, ""),
			[]string{"E_ACCESSDENIED", "NT AUTHORITY\\SYSTEM"}},
		{"HNS stopped", hcnCallError("HcnEnumerateNetworks", 0x803B0020, "not json\n  text"),
			[]string{"HCN_E_MANAGER_STOPPED", "not json text", "hns service"}},
		{"unknown HRESULT", hcnCallError("HcnOpenNetwork", 0x80004005, ""),
			[]string{"HcnOpenNetwork failed with HRESULT 0x80004005"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.err.Error(), w) {
					t.Errorf("%q does not contain %q", tt.err, w)
				}
			}
			if strings.Contains(tt.err.Error(), "\n") {
				t.Errorf("%q spans lines", tt.err)
			}
		})
	}
	if !errors.Is(dllMissing("vmcompute.dll", nil), ErrHNSUnavailable) {
		t.Errorf("dllMissing does not wrap ErrHNSUnavailable")
	}
	for hr, want := range map[uint32]bool{0x803B0002: true, 0x803B0001: true, 0x80070490: true, 0x803B0013: false} {
		if vanished(hr) != want {
			t.Errorf("vanished(0x%08X) = %v", hr, !want)
		}
	}
}

func TestHCNFamilies(t *testing.T) {
	want := map[string][]string{
		"hcn.networks":      {"HcnEnumerateNetworks", "HcnOpenNetwork", "HcnQueryNetworkProperties", "HcnCloseNetwork"},
		"hcn.endpoints":     {"HcnEnumerateEndpoints", "HcnOpenEndpoint", "HcnQueryEndpointProperties", "HcnCloseEndpoint"},
		"hcn.loadbalancers": {"HcnEnumerateLoadBalancers", "HcnOpenLoadBalancer", "HcnQueryLoadBalancerProperties", "HcnCloseLoadBalancer"},
		"hcn.namespaces":    {"HcnEnumerateNamespaces", "HcnOpenNamespace", "HcnQueryNamespaceProperties", "HcnCloseNamespace"},
	}
	if len(hcnFamilies) != len(want) {
		t.Fatalf("%d families, want %d", len(hcnFamilies), len(want))
	}
	for _, f := range hcnFamilies {
		if got := strings.Join(f.funcs(), ","); got != strings.Join(want[f.kind], ",") {
			t.Errorf("%s functions = %s, want %v", f.kind, got, want[f.kind])
		}
	}
}

func TestHNSVersion(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: `{"Success":true,"Output":{"Major":13,"Minor":2,"Extra":1}}`, want: `{"Major":13,"Minor":2}`},
		{in: `{"Success":false,"Error":"Element not found."}`, wantErr: "HNS refused the version request: Element not found."},
		{in: `{"Success":true,"Output":{"Major":13}}`, wantErr: "no Major/Minor"},
		{in: `garbage`, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := hnsVersion(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("hnsVersion = %s, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("hnsVersion = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestServiceNames(t *testing.T) {
	states := map[uint32]string{1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running", 5: "ContinuePending", 6: "PausePending", 7: "Paused", 99: "Unknown"}
	for v, want := range states {
		if got := serviceStateName(v); got != want {
			t.Errorf("serviceStateName(%d) = %s, want %s", v, got, want)
		}
	}
	starts := []struct {
		v       uint32
		delayed bool
		want    string
	}{
		{0, false, "Boot"}, {1, false, "System"}, {2, false, "Automatic"}, {2, true, "AutomaticDelayedStart"},
		{3, false, "Manual"}, {4, false, "Disabled"}, {9, false, "Unknown"},
	}
	for _, s := range starts {
		if got := startTypeName(s.v, s.delayed); got != s.want {
			t.Errorf("startTypeName(%d, %v) = %s, want %s", s.v, s.delayed, got, s.want)
		}
	}
	if len(watchedServices) != 11 {
		t.Errorf("watching %d services, want the 11 the analyzer expects", len(watchedServices))
	}
}
