package analyze

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// A fixture is a folder of raw node dumps in the replay scenario layout (hack/scenarios/README.md),
// plus the host kinds the replay backend does not know yet, and a cluster.yaml that may also
// hold Nodes, Namespaces and NetworkPolicies.
var fixtureKinds = map[string]string{
	"hns-networks.json":      wire.KindHCNNetworks,
	"hns-endpoints.json":     wire.KindHCNEndpoints,
	"hns-endpoints-v1.json":  wire.KindHNSEndpointsV1,
	"hns-loadbalancers.json": wire.KindHCNLoadBalancers,
	"hns-namespaces.json":    wire.KindHCNNamespaces,
	"hns-policylists.json":   wire.KindHNSPolicyLists,
	"hns-version.json":       wire.KindHNSVersion,
	"events.json":            wire.KindEvents,
	"services.json":          wire.KindServices,
	"processes.json":         wire.KindProcesses,
	"os.json":                wire.KindOSInfo,
	"adapters.json":          wire.KindHostAdapters,
	"routes.json":            wire.KindHostRoutes,
	"dns-client.json":        wire.KindDNSClient,
	"tcp-connections.json":   wire.KindTCPConnections,
	"port-ranges.json":       wire.KindPortRanges,
	"firewall.json":          wire.KindFirewall,
	"hotfixes.json":          wire.KindHotfixes,
}

// loadFixture builds the snapshot and cluster facts of a fixture folder; node names the
// Windows node. target, when not empty, is "namespace/name" of the target pod.
func loadFixture(t testing.TB, dir, node, target string) Input {
	t.Helper()
	b := snapshot.NewBuilder(node)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading fixture %s: %v", dir, err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil && !e.IsDir() {
			t.Fatal(err)
		}
		switch {
		case e.Name() == "probes.json":
			var probes []json.RawMessage
			if err := json.Unmarshal(data, &probes); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			for _, p := range probes {
				b.Add(wire.Record{V: 1, Type: wire.TypeProbe, Data: p})
			}
		case fixtureKinds[e.Name()] != "":
			b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: fixtureKinds[e.Name()], Data: bytes.TrimSpace(data)})
		}
	}
	files := filepath.Join(dir, "files")
	_ = filepath.WalkDir(files, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(files, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		win := parts[0] + `:\` + strings.Join(parts[1:], `\`)
		content, _ := os.ReadFile(p)
		raw, _ := json.Marshal(wire.FileData{Path: win, Size: int64(len(content)), Content: string(content)})
		b.Add(wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindFile, Data: raw})
		return nil
	})
	snap := b.Snapshot()
	for _, se := range snap.Errors {
		t.Fatalf("fixture %s: artifact %s did not decode: %s", dir, se.Kind, se.Error)
	}
	in := Input{Snapshot: snap}
	if data, err := os.ReadFile(filepath.Join(dir, "cluster.yaml")); err == nil {
		objs := parseClusterYAML(t, data)
		objs.NodeName = node
		var onNode []corev1.Pod
		for _, p := range objs.Pods {
			if p.Spec.NodeName == node {
				onNode = append(onNode, p)
			}
		}
		objs.Pods = onNode
		in.Cluster = facts.Assemble(objs)
		if target != "" {
			ns, name, _ := strings.Cut(target, "/")
			for i := range in.Cluster.Pods {
				if p := &in.Cluster.Pods[i]; p.Namespace == ns && p.Name == name {
					in.Pod = p
				}
			}
			if in.Pod == nil {
				t.Fatalf("fixture %s has no pod %s on node %s", dir, target, node)
			}
		}
	}
	return in
}

// parseClusterYAML reads multi-document YAML. Pods get their IP from status, or from the
// sim.winnet.dev/pod-ip annotation the simulated node reports, and count as Running.
func parseClusterYAML(t testing.TB, data []byte) facts.Objects {
	t.Helper()
	var o facts.Objects
	var allPods []corev1.Pod
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("cluster.yaml: %v", err)
		}
		var err error
		switch tm.Kind {
		case "Node":
			var n corev1.Node
			err = yaml.Unmarshal([]byte(doc), &n)
			o.Nodes = append(o.Nodes, n)
		case "Pod":
			var p corev1.Pod
			err = yaml.Unmarshal([]byte(doc), &p)
			if ip := p.Annotations["sim.winnet.dev/pod-ip"]; ip != "" && p.Status.PodIP == "" {
				p.Status.PodIP = ip
				p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
			}
			if p.Status.Phase == "" {
				p.Status.Phase = corev1.PodRunning
			}
			allPods = append(allPods, p)
		case "Service":
			var s corev1.Service
			err = yaml.Unmarshal([]byte(doc), &s)
			if s.Spec.ClusterIP != "" && len(s.Spec.ClusterIPs) == 0 {
				s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
			}
			if s.Spec.Type == "" {
				s.Spec.Type = corev1.ServiceTypeClusterIP
			}
			o.Services = append(o.Services, s)
		case "EndpointSlice":
			var s discoveryv1.EndpointSlice
			err = yaml.Unmarshal([]byte(doc), &s)
			o.EndpointSlices = append(o.EndpointSlices, s)
		case "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			err = yaml.Unmarshal([]byte(doc), &p)
			o.NetworkPolicies = append(o.NetworkPolicies, p)
		case "Namespace":
			var n corev1.Namespace
			err = yaml.Unmarshal([]byte(doc), &n)
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels["kubernetes.io/metadata.name"] = n.Name
			o.Namespaces = append(o.Namespaces, n)
		}
		if err != nil {
			t.Fatalf("cluster.yaml %s: %v", tm.Kind, err)
		}
	}
	for i := range allPods {
		o.AllPods = append(o.AllPods, facts.PodInfoFrom(&allPods[i]))
	}
	o.Pods = allPods // filtered to the node below
	return o
}
