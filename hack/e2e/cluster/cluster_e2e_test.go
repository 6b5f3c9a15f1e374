//go:build e2e

package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestClusterE2E(t *testing.T) {
	// The budget covers a cold build of the binaries (several minutes) on first use.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	c, err := Start(ctx, Options{WorkDir: t.TempDir(), Log: t.Output()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(c.Stop)
	t.Logf("time to /readyz: %s", c.ReadyAfter().Round(time.Millisecond))
	if mem, err := c.Memory(); err != nil {
		t.Logf("memory not measured: %v", err)
	} else {
		t.Logf("idle resident memory: kube-apiserver %d MiB, etcd %d MiB", mem.APIServer>>20, mem.Etcd>>20)
	}

	t.Run("server version", func(t *testing.T) {
		v, err := c.Client().Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("ServerVersion: %v", err)
		}
		if v.GitVersion != KubernetesVersion {
			t.Errorf("server version = %q, want %q", v.GitVersion, KubernetesVersion)
		}
	})

	t.Run("namespace with default service account", func(t *testing.T) {
		labels := map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}
		if err := c.EnsureNamespace(ctx, "e2e-ns", labels); err != nil {
			t.Fatalf("EnsureNamespace: %v", err)
		}
		// A second call must succeed too: tests share namespaces.
		if err := c.EnsureNamespace(ctx, "e2e-ns", map[string]string{"extra": "yes"}); err != nil {
			t.Fatalf("EnsureNamespace again: %v", err)
		}
		ns, err := c.Client().CoreV1().Namespaces().Get(ctx, "e2e-ns", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting the namespace: %v", err)
		}
		for k, want := range map[string]string{"pod-security.kubernetes.io/enforce": "privileged", "extra": "yes"} {
			if got := ns.Labels[k]; got != want {
				t.Errorf("label %s = %q, want %q", k, got, want)
			}
		}
		if _, err := c.Client().CoreV1().ServiceAccounts("e2e-ns").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Errorf("getting the default service account: %v", err)
		}
	})

	t.Run("restricted user is forbidden", func(t *testing.T) {
		path, err := c.UserKubeconfig("dev")
		if err != nil {
			t.Fatalf("UserKubeconfig: %v", err)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			t.Fatalf("loading %s: %v", path, err)
		}
		dev, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatalf("building the dev client: %v", err)
		}
		_, err = dev.CoreV1().Pods("e2e-ns").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("listing pods as dev: err = %v, want Forbidden", err)
		}
		if !strings.Contains(err.Error(), `User "dev"`) {
			t.Errorf("Forbidden message %q does not name the user: the client certificate's CN was not used", err)
		}
	})

	t.Run("admin kubeconfig works", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
		if err != nil {
			t.Fatalf("loading the admin kubeconfig: %v", err)
		}
		admin, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatalf("building the admin client: %v", err)
		}
		if _, err := admin.CoreV1().Pods("e2e-ns").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("listing pods as admin: %v", err)
		}
	})

	t.Run("pods need the default service account", func(t *testing.T) {
		// Without a controller-manager nobody creates it: this is why EnsureNamespace exists.
		bare := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-bare"}}
		if _, err := c.Client().CoreV1().Namespaces().Create(ctx, bare, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a bare namespace: %v", err)
		}
		_, err := c.Client().CoreV1().Pods("e2e-bare").Create(ctx, testPod("p", "nowhere"), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "service account") {
			t.Errorf("creating a pod without a default service account: err = %v, want a service account error", err)
		}
		if _, err := c.Client().CoreV1().Pods("e2e-ns").Create(ctx, testPod("p", "nowhere"), metav1.CreateOptions{}); err != nil {
			t.Errorf("creating a pod in a namespace from EnsureNamespace: %v", err)
		}
	})

	t.Run("api server reaches a kubelet", func(t *testing.T) {
		// A minimal kubelet serving pod logs: proves the API server trusts KubeletServingCert
		// and presents a client certificate that KubeletClientCAs accepts.
		cert, err := c.KubeletServingCert()
		if err != nil {
			t.Fatalf("KubeletServingCert: %v", err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    c.KubeletClientCAs(),
			ClientAuth:   tls.RequireAndVerifyClientCert,
		})
		if err != nil {
			t.Fatalf("listening: %v", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "log from %s for %s", r.URL.Path, r.TLS.PeerCertificates[0].Subject.CommonName)
		})}
		go srv.Serve(ln) //nolint:errcheck // ends with Close
		defer srv.Close()

		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kubelet-check"}}
		if node, err = c.Client().CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating the node: %v", err)
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(ln.Addr().(*net.TCPAddr).Port)
		if _, err := c.Client().CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("setting the node's address: %v", err)
		}
		if _, err := c.Client().CoreV1().Pods("e2e-ns").Create(ctx, testPod("logs", node.Name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating the pod: %v", err)
		}
		got, err := c.Client().CoreV1().Pods("e2e-ns").GetLogs("logs", &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
		if err != nil {
			t.Fatalf("reading logs through the API server: %v", err)
		}
		want := "log from /containerLogs/e2e-ns/logs/c for kube-apiserver-kubelet-client"
		if string(got) != want {
			t.Errorf("logs = %q, want %q", got, want)
		}
	})
}

func testPod(name, nodeName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:   nodeName,
			Containers: []corev1.Container{{Name: "c", Image: "example.invalid/none"}},
		},
	}
}
