// Package scenarios holds no code, only this test: it keeps every scenario folder internally
// consistent (HNS IDs, references) and consistent with its cluster.yaml, so a finding the
// analyzer reports on a scenario comes from the problem the scenario models and not from a
// typo in the dumps.
package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// missingLBs lists, per scenario, the Service ports that on purpose have no HNS load balancer.
// A scenario not listed must program every Service port with ready endpoints. Add an entry
// when a new scenario models a missing load balancer.
var missingLBs = map[string][]string{
	"kube-dns-lb-missing": {"kube-system/kube-dns:dns", "kube-system/kube-dns:dns-tcp"},
	"path-lb-missing":     {"path-lb/web:http"},
}

// nodes names the Windows node of the scenarios that do not model win-node-1: the scenarios
// the e2e tests run side by side each get a node of their own.
var nodes = map[string]string{
	"path-healthy":       "win-path-ok",
	"path-dns-mismatch":  "win-path-dns",
	"path-lb-missing":    "win-path-lb",
	"path-stale-backend": "win-path-stale",
	"path-policy-deny":   "win-path-deny",
	"path-pod-exec":      "win-path-exec",
}

// noPods lists the scenarios that model a node with no workload pods on purpose.
var noPods = map[string]bool{
	"fleet-node": true,
}

// dnsServers lists, per scenario, the DNS server the pods' endpoints carry on purpose instead
// of the kube-dns ClusterIP. Add an entry when a scenario models a DNS server mismatch.
var dnsServers = map[string]string{
	"path-dns-mismatch": "10.0.0.2",
}

// staleBackends lists, per scenario, the backends a load balancer keeps on purpose although
// they are not ready endpoints of its Service port. Add an entry when a scenario models one.
var staleBackends = map[string]map[string][]string{
	"path-stale-backend": {"path-stale/web:http": {"10.244.2.9"}},
}

const (
	windowsNode   = "win-node-1"
	podIPKey      = "sim.winnet.dev/pod-ip"
	clusterDomain = "cluster.local"
)

var guidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// The HCN v2 fields the checks need; the dumps hold more.
type (
	hcnNetwork struct {
		ID, Name, Type string
	}
	hcnEndpoint struct {
		ID                   string
		HostComputeNetwork   string
		HostComputeNamespace string
		IpConfigurations     []struct{ IpAddress string }
		Dns                  struct{ Search, ServerList []string }
		MacAddress           string
		Flags                int
	}
	// hnsV1Endpoint is the HNS v1 view of an endpoint (HNSCall GET /endpoints/).
	hnsV1Endpoint struct {
		ID, VirtualNetwork, IPAddress, MacAddress string
		IsRemoteEndpoint                          bool
		State                                     int
	}
	hcnNamespace struct {
		ID        string
		Resources []struct {
			Type string
			Data struct{ ID string }
		}
	}
	hcnLoadBalancer struct {
		ID                   string
		HostComputeEndpoints []string
		FrontendVIPs         []string
		PortMappings         []struct{ Protocol, InternalPort, ExternalPort int }
	}
)

type cluster struct {
	pods     []corev1.Pod
	services []corev1.Service
	slices   []discoveryv1.EndpointSlice
}

func TestScenarios(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) { checkScenario(t, e.Name()) })
	}
	if n == 0 {
		t.Fatal("no scenario folders")
	}
	for name := range missingLBs {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("missingLBs names %s, which is not a scenario folder", name)
		}
	}
}

func checkScenario(t *testing.T, dir string) {
	c := readCluster(t, filepath.Join(dir, "cluster.yaml"))

	var (
		networks   []hcnNetwork
		endpoints  []hcnEndpoint
		namespaces []hcnNamespace
		lbs        []hcnLoadBalancer
	)
	readJSON(t, filepath.Join(dir, "hns-networks.json"), &networks)
	readJSON(t, filepath.Join(dir, "hns-endpoints.json"), &endpoints)
	readJSON(t, filepath.Join(dir, "hns-namespaces.json"), &namespaces)
	readJSON(t, filepath.Join(dir, "hns-loadbalancers.json"), &lbs)

	// IDs are GUIDs and every reference resolves.
	ids := map[string]string{}
	addID := func(kind, id string) {
		if !guidRE.MatchString(id) {
			t.Errorf("%s ID %q is not an upper-case GUID", kind, id)
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("ID %s is used by a %s and a %s", id, prev, kind)
		}
		ids[id] = kind
	}
	for _, x := range networks {
		addID("network", x.ID)
	}
	for _, x := range endpoints {
		addID("endpoint", x.ID)
	}
	for _, x := range namespaces {
		addID("namespace", x.ID)
	}
	for _, x := range lbs {
		addID("load balancer", x.ID)
	}
	ref := func(from, id, want string) {
		if ids[id] != want {
			t.Errorf("%s refers to %s %q, which does not exist", from, want, id)
		}
	}
	for _, ep := range endpoints {
		ref("endpoint "+ep.ID, ep.HostComputeNetwork, "network")
		if ep.HostComputeNamespace != "" {
			ref("endpoint "+ep.ID, ep.HostComputeNamespace, "namespace")
		}
		if ep.Flags&1 == 0 && ep.HostComputeNamespace == "" {
			t.Errorf("local endpoint %s is in no namespace", ep.ID)
		}
	}
	for _, ns := range namespaces {
		for _, r := range ns.Resources {
			if r.Type == "Endpoint" {
				ref("namespace "+ns.ID, r.Data.ID, "endpoint")
			}
		}
	}
	for _, lb := range lbs {
		for _, id := range lb.HostComputeEndpoints {
			ref("load balancer "+lb.ID, id, "endpoint")
		}
	}

	checkV1Endpoints(t, dir, endpoints)

	epIP := map[string]string{} // endpoint ID -> IP
	local, remote := map[string]hcnEndpoint{}, map[string]hcnEndpoint{}
	for _, ep := range endpoints {
		if len(ep.IpConfigurations) != 1 {
			t.Errorf("endpoint %s has %d IPs, want 1", ep.ID, len(ep.IpConfigurations))
			continue
		}
		ip := ep.IpConfigurations[0].IpAddress
		epIP[ep.ID] = ip
		m := local
		if ep.Flags&1 == 1 {
			m = remote
		}
		if _, dup := m[ip]; dup {
			t.Errorf("two endpoints of the same kind carry %s", ip)
		}
		m[ip] = ep
	}

	// Every pod on the Windows node has its local endpoint, with cluster DNS settings.
	var dnsIP string
	for _, s := range c.services {
		if s.Namespace == "kube-system" && s.Name == "kube-dns" {
			dnsIP = s.Spec.ClusterIP
		}
	}
	if dnsIP == "" {
		t.Fatal("cluster.yaml has no kube-system/kube-dns Service")
	}
	node := windowsNode
	if n, ok := nodes[dir]; ok {
		node = n
	}
	if d, ok := dnsServers[dir]; ok {
		dnsIP = d
	}
	podsOnNode := 0
	for _, p := range c.pods {
		// hostNetwork pods (node agents) share the node's address and have no endpoint.
		if p.Spec.NodeName != node || p.Spec.HostNetwork {
			continue
		}
		podsOnNode++
		ip := p.Annotations[podIPKey]
		ep, ok := local[ip]
		if !ok {
			t.Errorf("pod %s/%s (%s) has no local HNS endpoint", p.Namespace, p.Name, ip)
			continue
		}
		wantSearch := []string{p.Namespace + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}
		if !slices.Equal(ep.Dns.ServerList, []string{dnsIP}) || !slices.Equal(ep.Dns.Search, wantSearch) {
			t.Errorf("endpoint of %s/%s has DNS %v search %v, want %s search %v", p.Namespace, p.Name,
				ep.Dns.ServerList, ep.Dns.Search, dnsIP, wantSearch)
		}
	}
	if podsOnNode == 0 && !noPods[dir] {
		t.Errorf("no pod of cluster.yaml runs on %s", node)
	}

	// Every Service port with ready endpoints has its load balancer, unless the scenario says
	// it is missing; no load balancer serves a VIP no Service has.
	type portKey struct {
		vip           string
		proto         int
		ext, internal int
	}
	lbByKey := map[portKey]hcnLoadBalancer{}
	for _, lb := range lbs {
		if len(lb.FrontendVIPs) != 1 || len(lb.PortMappings) != 1 {
			t.Errorf("load balancer %s has %d VIPs and %d port mappings, want 1 and 1 (kube-proxy makes one per service port)",
				lb.ID, len(lb.FrontendVIPs), len(lb.PortMappings))
			continue
		}
		pm := lb.PortMappings[0]
		lbByKey[portKey{lb.FrontendVIPs[0], pm.Protocol, pm.ExternalPort, pm.InternalPort}] = lb
	}
	used := map[string]bool{}
	var missing []string
	for _, sp := range servicePorts(t, c) {
		key := portKey{sp.vip, sp.proto, sp.port, sp.targetPort}
		lb, ok := lbByKey[key]
		if !ok {
			missing = append(missing, sp.name)
			if len(sp.backends) > 0 {
				if !slices.Contains(missingLBs[dir], sp.name) {
					t.Errorf("service port %s (%+v) has ready endpoints but no load balancer", sp.name, key)
				}
				for _, ip := range sp.backends {
					if _, isLocal := local[ip]; !isLocal {
						if _, isRemote := remote[ip]; !isRemote {
							t.Errorf("backend %s of %s has no HNS endpoint", ip, sp.name)
						}
					}
				}
			}
			continue
		}
		used[lb.ID] = true
		var got []string
		for _, id := range lb.HostComputeEndpoints {
			got = append(got, epIP[id])
		}
		sort.Strings(got)
		want := slices.Concat(sp.backends, staleBackends[dir][sp.name])
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("load balancer %s for %s has backends %v, want the ready endpoints %v", lb.ID, sp.name, got, sp.backends)
		}
	}
	for _, lb := range lbs {
		if !used[lb.ID] {
			t.Errorf("load balancer %s (%v) serves no Service port of cluster.yaml", lb.ID, lb.FrontendVIPs)
		}
	}
	sort.Strings(missing)
	want := slices.Clone(missingLBs[dir])
	sort.Strings(want)
	if !slices.Equal(missing, want) {
		t.Errorf("service ports without a load balancer = %v, want %v", missing, want)
	}
}

// v1States lists, per scenario, local endpoints whose v1 State is on purpose not 3
// (AttachedSharing, what a healthy local endpoint shows). Add an entry when a scenario models
// a broken local endpoint.
var v1States = map[string]map[string]int{}

// checkV1Endpoints checks hns-endpoints-v1.json, when the scenario has it, against the v2
// endpoints: the same endpoints (IDs, network, IP, MAC), IsRemoteEndpoint agreeing with Flags,
// and local endpoints attached (State 3) unless v1States says otherwise.
func checkV1Endpoints(t *testing.T, dir string, v2 []hcnEndpoint) {
	t.Helper()
	path := filepath.Join(dir, "hns-endpoints-v1.json")
	if _, err := os.Stat(path); err != nil {
		return
	}
	var v1 []hnsV1Endpoint
	readJSON(t, path, &v1)
	byID := map[string]hcnEndpoint{}
	for _, ep := range v2 {
		byID[ep.ID] = ep
	}
	seen := map[string]bool{}
	for _, ep := range v1 {
		v2ep, ok := byID[ep.ID]
		if !ok {
			t.Errorf("v1 endpoint %s is not in hns-endpoints.json", ep.ID)
			continue
		}
		seen[ep.ID] = true
		if ep.VirtualNetwork != v2ep.HostComputeNetwork || len(v2ep.IpConfigurations) != 1 || ep.IPAddress != v2ep.IpConfigurations[0].IpAddress ||
			!strings.EqualFold(ep.MacAddress, v2ep.MacAddress) {
			t.Errorf("v1 endpoint %s (%s, %s, %s) disagrees with its v2 view", ep.ID, ep.VirtualNetwork, ep.IPAddress, ep.MacAddress)
		}
		if ep.IsRemoteEndpoint != (v2ep.Flags&1 == 1) {
			t.Errorf("v1 endpoint %s IsRemoteEndpoint=%v but v2 Flags=%d", ep.ID, ep.IsRemoteEndpoint, v2ep.Flags)
		}
		want, special := v1States[dir][ep.ID]
		if !special {
			want = 3
		}
		if !ep.IsRemoteEndpoint && ep.State != want {
			t.Errorf("local v1 endpoint %s has State %d, want %d", ep.ID, ep.State, want)
		}
	}
	for _, ep := range v2 {
		if !seen[ep.ID] {
			t.Errorf("endpoint %s has no v1 view in hns-endpoints-v1.json", ep.ID)
		}
	}
}

type servicePort struct {
	name                    string // namespace/service:port
	vip                     string
	proto, port, targetPort int
	backends                []string // ready addresses, sorted
}

// servicePorts joins Services with their EndpointSlices. default/kubernetes is made by the API
// server, so it is taken from its EndpointSlice alone, at 10.96.0.1:443.
func servicePorts(t *testing.T, c cluster) []servicePort {
	t.Helper()
	protoNum := map[corev1.Protocol]int{corev1.ProtocolTCP: 6, corev1.ProtocolUDP: 17, corev1.ProtocolSCTP: 132}
	var out []servicePort
	ready := func(ns, svc, portName string) (port int, ips []string) {
		for _, s := range c.slices {
			if s.Namespace != ns || s.Labels[discoveryv1.LabelServiceName] != svc {
				continue
			}
			for _, p := range s.Ports {
				if p.Name != nil && *p.Name == portName && p.Port != nil {
					port = int(*p.Port)
				}
			}
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ips = append(ips, ep.Addresses...)
				}
			}
		}
		sort.Strings(ips)
		return port, ips
	}
	for _, s := range c.services {
		for _, p := range s.Spec.Ports {
			target, ips := ready(s.Namespace, s.Name, p.Name)
			if p.TargetPort.IntValue() != 0 && target != p.TargetPort.IntValue() {
				t.Errorf("service %s/%s port %s targets %d but its EndpointSlice says %d", s.Namespace, s.Name, p.Name, p.TargetPort.IntValue(), target)
			}
			out = append(out, servicePort{
				name: fmt.Sprintf("%s/%s:%s", s.Namespace, s.Name, p.Name), vip: s.Spec.ClusterIP,
				proto: protoNum[p.Protocol], port: int(p.Port), targetPort: target, backends: ips,
			})
		}
	}
	if target, ips := ready("default", "kubernetes", "https"); len(ips) > 0 {
		out = append(out, servicePort{name: "default/kubernetes:https", vip: "10.96.0.1", proto: 6, port: 443, targetPort: target, backends: ips})
	}
	return out
}

// readCluster decodes cluster.yaml strictly into the API types, which catches misspelt or
// misplaced fields a real API server would reject or drop.
func readCluster(t *testing.T, path string) cluster {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c cluster
	for i, doc := range splitYAML(b) {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		strict := func(v any) {
			if err := yaml.UnmarshalStrict(doc, v); err != nil {
				t.Fatalf("%s document %d (%s): %v", path, i, meta.Kind, err)
			}
		}
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 Namespace":
			strict(&corev1.Namespace{})
		case "v1 ServiceAccount":
			strict(&corev1.ServiceAccount{})
		case "v1 Pod":
			var p corev1.Pod
			strict(&p)
			checkPod(t, p)
			c.pods = append(c.pods, p)
		case "v1 Service":
			var s corev1.Service
			strict(&s)
			c.services = append(c.services, s)
		case "discovery.k8s.io/v1 EndpointSlice":
			var s discoveryv1.EndpointSlice
			strict(&s)
			c.slices = append(c.slices, s)
		case "networking.k8s.io/v1 NetworkPolicy":
			strict(&networkingv1.NetworkPolicy{})
		default:
			t.Errorf("%s document %d: unexpected %s %s (Nodes belong to the simulated node)", path, i, meta.APIVersion, meta.Kind)
		}
	}
	return c
}

// checkPod checks what a real API server requires of a pod, and what the simulated node needs.
func checkPod(t *testing.T, p corev1.Pod) {
	t.Helper()
	name := p.Namespace + "/" + p.Name
	if p.Name == "" || p.Namespace == "" {
		t.Errorf("pod %q needs a name and a namespace", name)
	}
	if len(p.Spec.Containers) == 0 {
		t.Errorf("pod %s has no containers", name)
	}
	for _, c := range p.Spec.Containers {
		if c.Name == "" || c.Image == "" {
			t.Errorf("pod %s has a container without a name or image", name)
		}
	}
	if p.Spec.NodeName == "" {
		t.Errorf("pod %s has no nodeName (the test cluster has no scheduler)", name)
	}
	if _, err := netip.ParseAddr(p.Annotations[podIPKey]); err != nil {
		t.Errorf("pod %s: annotation %s: %v", name, podIPKey, err)
	}
	if p.Spec.NodeName == windowsNode && (p.Spec.OS == nil || p.Spec.OS.Name != corev1.Windows) {
		t.Errorf("pod %s on %s must say spec.os.name: windows", name, windowsNode)
	}
}

func splitYAML(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
