package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const podAdapter = "Ethernet adapter vEthernet (5c0ffee1234567890abcdef1234567890abcdef1234567890abcdef12345678_vxlan0):\n\n" +
	"   Connection-specific DNS Suffix  . : %s\n" +
	"   Description . . . . . . . . . . . : Hyper-V Virtual Ethernet Adapter #4\n" +
	"   Physical Address. . . . . . . . . : 00-15-5D-AA-BB-CC\n" +
	"   IPv4 Address. . . . . . . . . . . : 10.1.5.21(Preferred)\n" +
	"   Subnet Mask . . . . . . . . . . . : 255.255.255.0\n" +
	"   Default Gateway . . . . . . . . . : 10.1.5.1\n" +
	"   DNS Servers . . . . . . . . . . . : 10.96.0.10\n\n"

// TestPodIPConfigFragment: a pod's ipconfig /all pasted from its adapter on, with no DNS suffix,
// gives the pod's DNS settings with an empty search list; other fragments give none.
func TestPodIPConfigFragment(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       bool
	}{
		{name: "a pod adapter with no suffix, then nslookup",
			text: strings.Replace(podAdapter, "%s", "", 1) + "C:\\app>nslookup web\nServer:  UnKnown\nAddress:  10.96.0.10\n\n*** UnKnown can't find web: Non-existent domain\n", want: true},
		{name: "the fragment alone", text: strings.Replace(podAdapter, "%s", "", 1), want: true},
		{name: "a pod adapter with a suffix: the search list is not shown", text: strings.Replace(podAdapter, "%s", "shop.svc.cluster.local", 1)},
		{name: "a host adapter",
			text: "Ethernet adapter Ethernet 2:\n\n   Connection-specific DNS Suffix  . :\n   IPv4 Address. . . . . . . . . . . : 10.0.4.20(Preferred)\n   DNS Servers . . . . . . . . . . . : 168.63.129.16\n"},
		{name: "a whole ipconfig is the ipconfig reader's",
			text: "\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : web-0\n\n" + strings.Replace(podAdapter, "%s", "", 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			var nets []PodNetwork
			for _, o := range r.Outputs {
				if strings.HasPrefix(o.Format, "ipconfig-all") && !strings.Contains(o.Format, "from its adapter on") {
					continue // the ipconfig reader's own
				}
				for _, rec := range o.Records {
					if rec.Kind == KindPodNetwork {
						var pn PodNetwork
						if err := json.Unmarshal(rec.Data, &pn); err != nil {
							t.Fatal(err)
						}
						nets = append(nets, pn)
					}
				}
			}
			if !c.want {
				if len(nets) > 0 {
					t.Fatalf("pod network %+v from a fragment", nets)
				}
				return
			}
			if len(nets) != 1 {
				t.Fatalf("%d pod networks (formats %v)", len(nets), formats(r))
			}
			pn := nets[0]
			if len(pn.DNS.Servers) != 1 || pn.DNS.Servers[0] != "10.96.0.10" || len(pn.DNS.SearchList) != 0 || len(pn.Adapters) != 1 || pn.Adapters[0].DNSSuffix != "" {
				t.Errorf("pod network %+v", pn)
			}
			if !strings.Contains(notesOf(r), "search list is read as empty") {
				t.Errorf("notes %q", notesOf(r))
			}
		})
	}
}

// TestPodIPConfigFragmentReachesThePod: the fragment's DNS settings become the target pod's, as
// a live run reads them from the pod's compartment.
func TestPodIPConfigFragmentReachesThePod(t *testing.T) {
	c := NewCollection(Options{PodIP: "10.1.5.21"})
	c.Add("pod.txt", []byte(strings.Replace(podAdapter, "%s", "", 1)), "")
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.Records {
		if r.Kind == wire.KindPodDNS {
			found = true
			var d wire.DNSClient
			if err := json.Unmarshal(r.Data, &d); err != nil || len(d.Servers) != 1 || len(d.SearchList) != 0 {
				t.Errorf("pod dns %s (%v)", r.Data, err)
			}
		}
	}
	if !found {
		t.Error("no pod.dns record")
	}
}

// TestNslookupTranscripts: the server is the address of the Server:/Address: lines, the name
// asked is the query, and a query whose output stops after the server lines is not judged.
func TestNslookupTranscripts(t *testing.T) {
	type want struct{ target, verdict, query, server, serverName string }
	for _, c := range []struct {
		name, text string
		want       []want
		note       string
	}{
		{name: "answer and NXDOMAIN",
			text: "PS C:\\> nslookup kubernetes.default.svc.cluster.local\nServer:  kube-dns.kube-system.svc.cluster.local\nAddress:  10.96.0.10\n\n" +
				"Name:    kubernetes.default.svc.cluster.local\nAddress:  10.96.0.1\n\n" +
				"PS C:\\> nslookup api\nServer:  UnKnown\nAddress:  10.96.0.10\n\n*** UnKnown can't find api: Non-existent domain\n",
			want: []want{
				{"10.96.0.10:53", "ok", "kubernetes.default.svc.cluster.local", "10.96.0.10", "kube-dns.kube-system.svc.cluster.local"},
				{"10.96.0.10:53", "fail", "api", "10.96.0.10", "UnKnown"},
			}},
		{name: "the last query cut off after the server lines",
			text: "C:\\app>nslookup api\nServer:  UnKnown\nAddress:  10.96.0.10\n\n*** UnKnown can't find api: Non-existent domain\n\n" +
				"C:\\app>nslookup api.shop.svc.cluster.local\nServer:  UnKnown\nAddress:  10.96.0.10\n\n",
			want: []want{{"10.96.0.10:53", "fail", "api", "10.96.0.10", "UnKnown"}},
			note: "was not judged"},
		{name: "a query cut off before the next command",
			text: "C:\\app>nslookup api.shop\n*** Can't find server name for address 10.96.0.10: Non-existent domain\nServer:  UnKnown\nAddress:  10.96.0.10\n\nC:\\app>hostname\nweb-0\n",
			note: "was not judged"},
		{name: "output the reader does not know is still a failure, with the server",
			text: "C:\\app>nslookup api\nServer:  UnKnown\nAddress:  10.96.0.10\n\n*** Request to UnKnown failed.\n",
			want: []want{{"10.96.0.10:53", "fail", "api", "10.96.0.10", "UnKnown"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			ps := probes(t, r)
			if len(ps) != len(c.want) {
				t.Fatalf("probes %+v, want %d", ps, len(c.want))
			}
			for i, p := range ps {
				d, _ := p.Detail.(map[string]any)
				got := want{p.Target, p.Verdict, str(d["query"]), str(d["server"]), str(d["serverName"])}
				if got != c.want[i] {
					t.Errorf("probe %d: %+v, want %+v", i, got, c.want[i])
				}
			}
			if c.note != "" && !strings.Contains(notesOf(r), c.note) {
				t.Errorf("notes %q, want %q", notesOf(r), c.note)
			}
		})
	}
}

func str(v any) string { s, _ := v.(string); return s }

// TestCNIResult: a CNI plugin's answer (error or result) and the IPAM-only config it was given,
// also after the prompt of a pasted `cat`; JSON that only resembles them is left to others.
func TestCNIResult(t *testing.T) {
	for _, c := range []struct {
		name, text, format, role, content, detail string
	}{
		{name: "an error result after a prompt",
			text:   "PS C:\\k> cat .\\vip.json\n{\n    \"code\": 7,\n    \"msg\": \"invalid network config\"\n}\n",
			format: "cni-error-result", role: wire.RoleCNIResult, content: "{\n    \"code\": 7,\n    \"msg\": \"invalid network config\"\n}\n",
			detail: `.\vip.json: CNI error 7 (invalid network config): invalid network config`},
		{name: "a plugin's own error with details",
			text:   `{"cniVersion":"0.4.0","code":100,"msg":"no IP addresses available in range set","details":"10.1.5.1-10.1.5.254"}`,
			format: "cni-error-result", role: wire.RoleCNIResult,
			detail: "CNI error 100 (the plugin's own error): no IP addresses available in range set (10.1.5.1-10.1.5.254)"},
		{name: "a 0.2.0 result",
			text:   "PS C:\\> type C:\\k\\vip.json\n{\"cniVersion\": \"0.2.0\", \"ip4\": {\"ip\": \"10.1.5.2/24\", \"gateway\": \"10.1.5.1\"}, \"dns\": {}}\nPS C:\\>\n",
			format: "cni-result", role: wire.RoleCNIResult, content: "{\"cniVersion\": \"0.2.0\", \"ip4\": {\"ip\": \"10.1.5.2/24\", \"gateway\": \"10.1.5.1\"}, \"dns\": {}}\n",
			detail: `C:\k\vip.json: CNI result: 10.1.5.2/24`},
		{name: "a 1.0 result",
			text:   `{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.1.5.3/24","gateway":"10.1.5.1","interface":0}]}`,
			format: "cni-result", role: wire.RoleCNIResult, detail: "CNI result: 10.1.5.3/24"},
		{name: "an IPAM-only config",
			text:   "PS C:\\k> Get-Content .\\req.json\n        {\"cniVersion\": \"0.2.0\", \"name\": \"vxlan0\", \"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.5.0/24\"}}\n",
			format: "cni-ipam-config", role: wire.RoleCNIIPAMConfig, content: "        {\"cniVersion\": \"0.2.0\", \"name\": \"vxlan0\", \"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.5.0/24\"}}\n"},
		// Negatives.
		{name: "an API error with other fields", text: `{"code":404,"msg":"not found","path":"/api"}`},
		{name: "a code that is not a number", text: `{"code":"E100","msg":"x"}`},
		{name: "a network config is the CNI config reader's", text: `{"cniVersion":"0.3.1","name":"vxlan0","type":"sdnoverlay","ipam":{"type":"host-local"}}`},
		{name: "an IPAM section without a type", text: `{"cniVersion":"0.3.1","name":"x","ipam":{}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			if c.format == "" {
				if hasFormat(r, "cni-error-result") || hasFormat(r, "cni-result") || hasFormat(r, "cni-ipam-config") {
					t.Fatalf("formats %v", formats(r))
				}
				return
			}
			if !hasFormat(r, c.format) {
				t.Fatalf("formats %v, want %s", formats(r), c.format)
			}
			f := fileOf(t, r, c.role)
			want := firstOf(c.content, c.text)
			if f.Content != want {
				t.Errorf("content %q, want %q", f.Content, want)
			}
			if c.detail != "" && r.Outputs[0].Detail != c.detail {
				t.Errorf("detail %q, want %q", r.Outputs[0].Detail, c.detail)
			}
		})
	}
}

// TestCNIConfigAfterPrompt: a CNI config printed by a pasted `cat` is read as the config, and
// the record holds the config alone, so it parses as the runtime would parse the file.
func TestCNIConfigAfterPrompt(t *testing.T) {
	conf := "{\n  \"cniVersion\": \"0.2.0\",\n  \"name\": \"vxlan0\",\n  \"type\": \"sdnoverlay\"\n}\n"
	for _, c := range []struct{ name, text, want, detail string }{
		{"valid, after a prompt", "PS C:\\k> cat .\\cni\\config\\cni.conf\n" + conf, conf, `network "vxlan0", plugin sdnoverlay`},
		{"valid, prompt before and after", "PS C:\\k> cat .\\cni.conf\n" + conf + "PS C:\\k>\n", conf, `network "vxlan0", plugin sdnoverlay`},
		{"valid, another command after", "PS C:\\k> cat .\\cni.conf\n" + conf + "PS C:\\k> hostname\nwin-3\n", strings.TrimSpace(conf), `network "vxlan0", plugin sdnoverlay`},
		{"invalid, after a prompt", "PS C:\\k> cat .\\cni.conf\n{\"cniVersion\": \"0.2.0\", \"name\": \"vxlan0\", \"type\": \"sdnoverlay\", \"mtu\": <MTU>}\n",
			"{\"cniVersion\": \"0.2.0\", \"name\": \"vxlan0\", \"type\": \"sdnoverlay\", \"mtu\": <MTU>}\n", "does not parse as JSON"},
		{"a file as it is", conf, conf, `network "vxlan0", plugin sdnoverlay`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			if len(r.Outputs) == 0 || r.Outputs[0].Format != "cni-config" {
				t.Fatalf("formats %v", formats(r))
			}
			if f := fileOf(t, r, wire.RoleCNIConfig); f.Content != c.want {
				t.Errorf("content %q, want %q", f.Content, c.want)
			}
			if r.Outputs[0].Detail != c.detail {
				t.Errorf("detail %q, want %q", r.Outputs[0].Detail, c.detail)
			}
		})
	}
}
