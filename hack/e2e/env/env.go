// Package env brings up the whole end-to-end world in one call: a real etcd and kube-apiserver
// (hack/e2e/cluster), simulated Windows and Linux nodes (hack/e2e/simnode), the cluster objects
// of a scenario (hack/scenarios/NAME/cluster.yaml) and winnet's debug namespace. The e2e tests
// and `make demo` share it, so the demo shows exactly what the tests prove.
package env

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubectl-winnet/winnet/hack/e2e/cluster"
	"github.com/kubectl-winnet/winnet/hack/e2e/simnode"
)

// DebugNamespace is winnet's default debug namespace, created privileged as manifests/ does.
const DebugNamespace = "winnet-system"

// Options says which world to build.
type Options struct {
	// Nodes to simulate. Scenario paths may be names under hack/scenarios.
	Nodes []simnode.NodeSpec
	// Scenarios whose cluster.yaml objects are applied (names under hack/scenarios or paths).
	Scenarios []string
	WorkDir   string
	Log       io.Writer
}

// Env is a running world. Stop it when done.
type Env struct {
	Cluster *cluster.Cluster
	Sim     *simnode.Sim
	Client  kubernetes.Interface

	apiserverPort int
}

// RepoRoot is the repository's top folder, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// ScenarioPath turns a scenario name into its folder; paths are returned as they are.
func ScenarioPath(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(RepoRoot(), "hack", "scenarios", name)
}

// Up starts everything. On error it stops what it started.
func Up(ctx context.Context, o Options) (_ *Env, err error) {
	cl, err := cluster.Start(ctx, cluster.Options{WorkDir: o.WorkDir, Log: o.Log})
	if err != nil {
		return nil, err
	}
	e := &Env{Cluster: cl, Client: cl.Client()}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	if err := cl.EnsureNamespace(ctx, DebugNamespace, map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged",
	}); err != nil {
		return nil, err
	}
	serving, err := cl.KubeletServingCert()
	if err != nil {
		return nil, err
	}
	workDir := o.WorkDir
	if workDir == "" {
		workDir = cl.WorkDir()
	}
	port, err := apiserverPort(cl.Host())
	if err != nil {
		return nil, err
	}
	e.apiserverPort = port
	nodes := make([]simnode.NodeSpec, len(o.Nodes))
	for i, n := range o.Nodes {
		if n.Scenario != "" {
			dir := filepath.Join(workDir, "scenarios", n.Name)
			if err := localizeScenario(ScenarioPath(n.Scenario), dir, port); err != nil {
				return nil, err
			}
			n.Scenario = dir
		}
		nodes[i] = n
	}
	pktmon, err := PktmonBinary(workDir)
	if err != nil {
		return nil, err
	}
	sim, err := simnode.Start(ctx, simnode.Config{
		Client: cl.Client(), Nodes: nodes, ServingCert: serving, ClientCAs: cl.KubeletClientCAs(),
		WorkDir: filepath.Join(workDir, "nodes"), Pktmon: pktmon,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the simulated nodes: %w", err)
	}
	e.Sim = sim
	for _, s := range o.Scenarios {
		if err := e.Apply(ctx, filepath.Join(ScenarioPath(s), "cluster.yaml")); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Stop stops the nodes, then the control plane.
func (e *Env) Stop() {
	if e.Sim != nil {
		e.Sim.Stop()
	}
	if e.Cluster != nil {
		e.Cluster.Stop()
	}
}

// Apply creates the objects of a multi-document YAML file (Namespaces, Pods, Services,
// EndpointSlices, ServiceAccounts, NetworkPolicies, RBAC). Namespaces get their default
// ServiceAccount, which no controller-manager creates here.
func (e *Env) Apply(ctx context.Context, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading scenario objects: %w", err)
	}
	decoder := serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if err := e.create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: document %d: %w", path, i, err)
		}
	}
}

func (e *Env) create(ctx context.Context, obj any) error {
	c := e.Client
	opts := metav1.CreateOptions{}
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		return e.Cluster.EnsureNamespace(ctx, o.Name, o.Labels)
	case *corev1.Pod:
		if err = e.Cluster.EnsureNamespace(ctx, o.Namespace, nil); err == nil {
			_, err = c.CoreV1().Pods(o.Namespace).Create(ctx, o, opts)
		}
	case *corev1.Service:
		// Scenarios share objects such as kube-system/kube-dns. A second create of a Service
		// with a fixed ClusterIP fails on the IP ("already allocated") before the name, so an
		// existing one is looked up first.
		if _, gerr := c.CoreV1().Services(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); gerr == nil {
			return nil
		}
		if err = e.Cluster.EnsureNamespace(ctx, o.Namespace, nil); err == nil {
			_, err = c.CoreV1().Services(o.Namespace).Create(ctx, o, opts)
		}
	case *discoveryv1.EndpointSlice:
		if o.Namespace == metav1.NamespaceDefault && o.Labels[discoveryv1.LabelServiceName] == "kubernetes" {
			// The API server's own Service targets its real (random) port: so must its slice.
			port := int32(e.apiserverPort)
			for i := range o.Ports {
				o.Ports[i].Port = &port
			}
		}
		_, err = c.DiscoveryV1().EndpointSlices(o.Namespace).Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *networkingv1.NetworkPolicy:
		if err = e.Cluster.EnsureNamespace(ctx, o.Namespace, nil); err == nil {
			_, err = c.NetworkingV1().NetworkPolicies(o.Namespace).Create(ctx, o, opts)
		}
	default:
		return fmt.Errorf("env.Apply does not know how to create %T", obj)
	}
	return err
}

// kubernetesVIP is the ClusterIP of default/kubernetes in the scenarios (first address of the
// test API server's --service-cluster-ip-range).
const kubernetesVIP = "10.96.0.1"

func apiserverPort(host string) (int, error) {
	u, err := url.Parse(host)
	if err != nil {
		return 0, fmt.Errorf("reading the API server's address %q: %w", host, err)
	}
	return strconv.Atoi(u.Port())
}

// localizeScenario copies a scenario folder and points its load balancer for the kubernetes
// Service at the test API server's real port. A real node's kube-proxy programs that load
// balancer from the Service's endpoints; the scenarios were written for port 6443, while the
// test API server listens on a random one.
func localizeScenario(src, dst string, port int) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("copying scenario %s: %w", src, err)
	}
	path := filepath.Join(dst, "hns-loadbalancers.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var lbs []map[string]any
	if err := json.Unmarshal(raw, &lbs); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, lb := range lbs {
		vips, _ := lb["FrontendVIPs"].([]any)
		if len(vips) != 1 || vips[0] != kubernetesVIP {
			continue
		}
		maps, _ := lb["PortMappings"].([]any)
		for _, m := range maps {
			if pm, ok := m.(map[string]any); ok {
				pm["InternalPort"] = port
			}
		}
	}
	out, err := json.MarshalIndent(lbs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
