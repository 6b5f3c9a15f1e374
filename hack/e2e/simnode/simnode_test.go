package simnode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

// testPKI is a CA, a kubelet serving certificate for 127.0.0.1 and an API server client
// certificate, all made in memory.
type testPKI struct {
	caPEM, clientCertPEM, clientKeyPEM []byte
	pool                               *x509.CertPool
	serving                            tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "simnode-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	servingCert, servingKey := issue(2, "kubelet", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	if p.serving, err = tls.X509KeyPair(servingCert, servingKey); err != nil {
		t.Fatal(err)
	}
	p.clientCertPEM, p.clientKeyPEM = issue(3, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth, nil)
	return p
}

// startSim starts a simulator over a fake clientset.
func startSim(t *testing.T, pki *testPKI, nodes ...NodeSpec) (*Sim, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset()
	sim, err := Start(t.Context(), Config{
		Client: client, Nodes: nodes, ServingCert: pki.serving, ClientCAs: pki.pool,
		WorkDir: t.TempDir(), Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(sim.Stop)
	return sim, client
}

func newPod(ns, name, uid, node string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), Annotations: annotations},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "debug", Image: "mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort},
	}
}

// waitPod polls the fake API until cond holds; the bound is the test's own deadline.
func waitPod(t *testing.T, client *fake.Clientset, ns, name string, what string, cond func(*corev1.Pod, error) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextCancel(t.Context(), 10*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
		}
		return cond(p, err), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s never became %s; last seen: %+v", ns, name, what, last)
	}
	return last
}

func isRunning(p *corev1.Pod, err error) bool {
	return err == nil && p.Status.Phase == corev1.PodRunning
}

func TestStartValidatesConfig(t *testing.T) {
	pki := newPKI(t)
	good := Config{Client: fake.NewClientset(), Nodes: []NodeSpec{{Name: "w", OS: "windows"}}, ServingCert: pki.serving, ClientCAs: pki.pool, WorkDir: t.TempDir()}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no client", func(c *Config) { c.Client = nil }, "simnode: Config.Client is nil; pass a clientset for the test API server"},
		{"no nodes", func(c *Config) { c.Nodes = nil }, "simnode: Config.Nodes is empty; describe at least one node"},
		{"bad os", func(c *Config) { c.Nodes = []NodeSpec{{Name: "x", OS: "darwin"}} }, `simnode: node x has OS "darwin"; use "windows" or "linux"`},
		{"duplicate", func(c *Config) { c.Nodes = []NodeSpec{{Name: "x", OS: "linux"}, {Name: "x", OS: "linux"}} }, `simnode: node name "x" appears twice; node names must be unique`},
		{"no cert", func(c *Config) { c.ServingCert = tls.Certificate{} }, "simnode: Config.ServingCert is empty; pass a kubelet serving certificate valid for 127.0.0.1"},
		{"no CA", func(c *Config) { c.ClientCAs = nil }, "simnode: Config.ClientCAs is nil; pass the CA that signed the API server's kubelet client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			_, err := Start(t.Context(), cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Start error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRegistersNodes(t *testing.T) {
	pki := newPKI(t)
	client := fake.NewClientset(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "lin", Labels: map[string]string{"keep": "me"}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.99.0.0/24", Taints: []corev1.Taint{{Key: "old", Effect: corev1.TaintEffectNoExecute}}},
	})
	sim, err := Start(t.Context(), Config{
		Client: client, ServingCert: pki.serving, ClientCAs: pki.pool, WorkDir: t.TempDir(),
		Nodes: []NodeSpec{
			{Name: "win", OS: "windows"},
			{Name: "lin", OS: "linux"},
			{Name: "sick", OS: "windows", NotReady: true, Taints: []corev1.Taint{}},
		},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer sim.Stop()
	get := func(name string) *corev1.Node {
		n, err := client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		return n
	}
	ready := func(n *corev1.Node) corev1.NodeCondition {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c
			}
		}
		t.Fatalf("node %s has no Ready condition", n.Name)
		return corev1.NodeCondition{}
	}

	t.Run("windows", func(t *testing.T) {
		n := get("win")
		for k, v := range map[string]string{
			"kubernetes.io/os": "windows", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "win",
			LabelWindowsBuild: WindowsBuild,
		} {
			if n.Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
			}
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != (corev1.Taint{Key: "os", Value: "windows", Effect: corev1.TaintEffectNoSchedule}) {
			t.Errorf("taints = %v, want os=windows:NoSchedule", n.Spec.Taints)
		}
		if c := ready(n); c.Status != corev1.ConditionTrue {
			t.Errorf("Ready = %v", c)
		}
		port, _ := sim.NodePort("win")
		if got := n.Status.DaemonEndpoints.KubeletEndpoint.Port; got != int32(port) || port == 0 {
			t.Errorf("kubelet port = %d, want the listener's %d", got, port)
		}
		if len(n.Status.Addresses) != 2 || n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) ||
			n.Status.Addresses[1] != (corev1.NodeAddress{Type: corev1.NodeHostName, Address: "win"}) {
			t.Errorf("addresses = %v", n.Status.Addresses)
		}
		if n.Status.NodeInfo.OperatingSystem != "windows" || n.Status.NodeInfo.KubeletVersion != "v1.37.2" {
			t.Errorf("nodeInfo = %+v", n.Status.NodeInfo)
		}
		for res, want := range map[corev1.ResourceName]string{"cpu": "4", "memory": "16Gi", "pods": "110"} {
			if q := n.Status.Allocatable[res]; q.String() != want {
				t.Errorf("allocatable %s = %s, want %s", res, q.String(), want)
			}
			if q := n.Status.Capacity[res]; q.String() != want {
				t.Errorf("capacity %s = %s, want %s", res, q.String(), want)
			}
		}
	})
	t.Run("existing linux node is updated", func(t *testing.T) {
		n := get("lin")
		if n.Labels["keep"] != "me" || n.Labels["kubernetes.io/os"] != "linux" || n.Labels[LabelWindowsBuild] != "" {
			t.Errorf("labels = %v", n.Labels)
		}
		if len(n.Spec.Taints) != 0 {
			t.Errorf("taints = %v, want none", n.Spec.Taints)
		}
		if n.Spec.PodCIDR != "10.99.0.0/24" {
			t.Errorf("podCIDR changed to %s", n.Spec.PodCIDR)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		n := get("sick")
		if c := ready(n); c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" || c.Message != "container runtime is down" {
			t.Errorf("Ready = %+v", c)
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != corev1.TaintNodeNotReady {
			t.Errorf("taints = %v, want only the not-ready taint", n.Spec.Taints)
		}
	})
}

func TestPodStatus(t *testing.T) {
	pki := newPKI(t)
	sim, client := startSim(t, pki, NodeSpec{Name: "win", OS: "windows"}, NodeSpec{Name: "win2", OS: "windows"}, NodeSpec{Name: "sick", OS: "windows", NotReady: true},
		NodeSpec{Name: "nopull", OS: "windows", PodState: "ImagePullBackOff"})

	t.Run("running with generated IP", func(t *testing.T) {
		if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", "a", "uid-a", "win", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", "b", "uid-b", "win", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		a := waitPod(t, client, "ns", "a", "Running", isRunning)
		b := waitPod(t, client, "ns", "b", "Running", isRunning)
		if a.Status.PodIP == b.Status.PodIP || net.ParseIP(a.Status.PodIP) == nil || a.Status.PodIP[:9] != "10.244.0." {
			t.Errorf("pod IPs %s and %s must be distinct addresses of 10.244.0.0/24", a.Status.PodIP, b.Status.PodIP)
		}
		if a.Status.HostIP != "127.0.0.1" || a.Status.StartTime == nil || a.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("status = %+v", a.Status)
		}
		for _, c := range a.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				t.Errorf("condition %s = %s", c.Type, c.Status)
			}
		}
		if len(a.Status.ContainerStatuses) != 1 || a.Status.ContainerStatuses[0].State.Running == nil || !a.Status.ContainerStatuses[0].Ready {
			t.Errorf("container statuses = %+v", a.Status.ContainerStatuses)
		}
		if fi, err := os.Stat(sim.SandboxDir(a)); err != nil || !fi.IsDir() {
			t.Errorf("sandbox folder of a running pod: %v", err)
		}
	})
	t.Run("annotated IP and host network", func(t *testing.T) {
		p := newPod("ns", "fixed", "uid-fixed", "win2", map[string]string{AnnotationPodIP: "10.1.2.3"})
		h := newPod("ns", "host", "uid-host", "win2", nil)
		h.Spec.HostNetwork = true
		for _, pod := range []*corev1.Pod{p, h} {
			if _, err := client.CoreV1().Pods("ns").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := waitPod(t, client, "ns", "fixed", "Running", isRunning).Status.PodIP; got != "10.1.2.3" {
			t.Errorf("annotated pod IP = %s", got)
		}
		if got := waitPod(t, client, "ns", "host", "Running", isRunning).Status.PodIP; got != "127.0.0.1" {
			t.Errorf("hostNetwork pod IP = %s", got)
		}
	})
	t.Run("waiting states", func(t *testing.T) {
		for _, tt := range []struct{ state, msgPart string }{
			{"ErrImagePull", "failed to pull and unpack image"},
			{"ImagePullBackOff", "Back-off pulling image"},
			{"CreateContainerError", "The container operating system does not match the host operating system."},
		} {
			t.Run(tt.state, func(t *testing.T) {
				name := "state-" + tt.state
				if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", name, "uid-"+name, "win", map[string]string{AnnotationState: tt.state}), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				p := waitPod(t, client, "ns", name, "waiting", func(p *corev1.Pod, err error) bool {
					return err == nil && len(p.Status.ContainerStatuses) == 1
				})
				cs := p.Status.ContainerStatuses[0]
				if p.Status.Phase != corev1.PodPending || cs.State.Waiting == nil || cs.State.Waiting.Reason != tt.state ||
					!bytes.Contains([]byte(cs.State.Waiting.Message), []byte(tt.msgPart)) || cs.Ready {
					t.Errorf("status = phase %s, container %+v", p.Status.Phase, cs)
				}
				if _, err := os.Stat(sim.SandboxDir(p)); err == nil {
					t.Error("a pod whose containers never started has a sandbox folder")
				}
				// Removing the hook lets the containers start.
				p.Annotations = nil
				if _, err := client.CoreV1().Pods("ns").Update(t.Context(), p, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				waitPod(t, client, "ns", name, "Running", isRunning)
			})
		}
	})
	t.Run("a node's PodState holds every pod on it, unless the pod says otherwise", func(t *testing.T) {
		if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", "held", "uid-held", "nopull", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, client, "ns", "held", "waiting", func(p *corev1.Pod, err error) bool {
			return err == nil && len(p.Status.ContainerStatuses) == 1
		})
		if cs := p.Status.ContainerStatuses[0]; p.Status.Phase != corev1.PodPending || cs.State.Waiting == nil || cs.State.Waiting.Reason != "ImagePullBackOff" {
			t.Errorf("pod on a node that cannot pull: phase %s, container %+v", p.Status.Phase, cs)
		}
		if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", "own", "uid-own", "nopull", map[string]string{AnnotationState: "CreateContainerError"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p = waitPod(t, client, "ns", "own", "waiting", func(p *corev1.Pod, err error) bool {
			return err == nil && len(p.Status.ContainerStatuses) == 1
		})
		if cs := p.Status.ContainerStatuses[0]; cs.State.Waiting == nil || cs.State.Waiting.Reason != "CreateContainerError" {
			t.Errorf("the pod's own state must win over its node's: %+v", cs)
		}
	})
	t.Run("not ready node leaves pods pending", func(t *testing.T) {
		if _, err := client.CoreV1().Pods("ns").Create(t.Context(), newPod("ns", "stuck", "uid-stuck", "sick", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitCached(t, sim, "ns/stuck")
		client.ClearActions()
		if err := sim.syncPod(t.Context(), "ns/stuck"); err != nil {
			t.Fatalf("syncPod: %v", err)
		}
		for _, a := range client.Actions() {
			if a.GetSubresource() == "status" {
				t.Errorf("the NotReady node updated a pod status: %v", a)
			}
		}
		p, err := client.CoreV1().Pods("ns").Get(t.Context(), "stuck", metav1.GetOptions{})
		if err != nil || p.Status.Phase != corev1.PodPending {
			t.Errorf("pod on a NotReady node: %v, %v", p.Status.Phase, err)
		}
	})
	t.Run("deletion completes and removes the sandbox", func(t *testing.T) {
		p := waitPod(t, client, "ns", "a", "Running", isRunning)
		dir := sim.SandboxDir(p)
		if err := os.WriteFile(filepath.Join(dir, "left-behind.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		p.DeletionTimestamp = &now
		if _, err := client.CoreV1().Pods("ns").Update(t.Context(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, client, "ns", "a", "deleted", func(_ *corev1.Pod, err error) bool { return apierrors.IsNotFound(err) })
		if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
			t.Errorf("sandbox folder still there after deletion: %v", err)
		}
	})
}

func TestActiveDeadline(t *testing.T) {
	pki := newPKI(t)
	sim, client := startSim(t, pki, NodeSpec{Name: "win", OS: "windows"})
	p := newPod("ns", "expired", "uid-expired", "win", nil)
	zero := int64(0) // already past: no waiting in the test
	p.Spec.ActiveDeadlineSeconds = &zero
	if _, err := client.CoreV1().Pods("ns").Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitPod(t, client, "ns", "expired", "Failed", func(p *corev1.Pod, err error) bool {
		return err == nil && p.Status.Phase == corev1.PodFailed
	})
	if got.Status.Reason != "DeadlineExceeded" || got.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Errorf("status = %+v", got.Status)
	}
	if sim.isRunning(got.UID) {
		t.Error("exec still allowed into a pod past its deadline")
	}
}

// waitCached waits until the simulator's informer holds the pod.
func waitCached(t *testing.T, sim *Sim, key string) {
	t.Helper()
	err := wait.PollUntilContextCancel(t.Context(), 10*time.Millisecond, true, func(context.Context) (bool, error) {
		_, ok, err := sim.informer.GetIndexer().GetByKey(key)
		return ok, err
	})
	if err != nil {
		t.Fatalf("pod %s never reached the simulator's cache: %v", key, err)
	}
}
