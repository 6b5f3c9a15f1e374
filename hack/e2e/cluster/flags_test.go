package cluster

import (
	"strings"
	"testing"
)

// flagMap turns --name=value arguments into a map, failing on anything else and on repeats: a
// repeated flag silently takes the last value in both binaries.
func flagMap(t *testing.T, args []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(args))
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(name, "--") {
			t.Fatalf("argument %q is not of the form --name=value", a)
		}
		if _, dup := m[name]; dup {
			t.Fatalf("flag %s given twice", name)
		}
		m[name] = value
	}
	return m
}

func TestEtcdArgs(t *testing.T) {
	got := flagMap(t, etcdArgs(etcdConfig{dataDir: "/w/etcd-data", clientPort: 2379, peerPort: 2380}))
	want := map[string]string{
		"--name":                        "winnet-e2e",
		"--data-dir":                    "/w/etcd-data",
		"--listen-client-urls":          "http://127.0.0.1:2379",
		"--advertise-client-urls":       "http://127.0.0.1:2379",
		"--listen-peer-urls":            "http://127.0.0.1:2380",
		"--initial-advertise-peer-urls": "http://127.0.0.1:2380",
		"--initial-cluster":             "winnet-e2e=http://127.0.0.1:2380",
		"--initial-cluster-state":       "new",
		"--unsafe-no-fsync":             "true",
	}
	compareFlags(t, want, got)
}

func TestAPIServerArgs(t *testing.T) {
	files := pkiFiles{
		clusterCA:        "/p/ca.crt",
		servingCert:      "/p/serving.crt",
		servingKey:       "/p/serving.key",
		kubeletCA:        "/p/kubelet-ca.crt",
		kubeletClientCrt: "/p/kc.crt",
		kubeletClientKey: "/p/kc.key",
		saKey:            "/p/sa.key",
		saPub:            "/p/sa.pub",
	}
	got := flagMap(t, apiserverArgs(apiserverConfig{
		securePort: 6443,
		etcdURL:    "http://127.0.0.1:2379",
		certDir:    "/p",
		files:      files,
	}))
	want := map[string]string{
		"--bind-address":                     "127.0.0.1",
		"--advertise-address":                "127.0.0.1",
		"--secure-port":                      "6443",
		"--cert-dir":                         "/p",
		"--etcd-servers":                     "http://127.0.0.1:2379",
		"--tls-cert-file":                    "/p/serving.crt",
		"--tls-private-key-file":             "/p/serving.key",
		"--client-ca-file":                   "/p/ca.crt",
		"--service-cluster-ip-range":         "10.96.0.0/16",
		"--service-account-issuer":           "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file":         "/p/sa.pub",
		"--service-account-signing-key-file": "/p/sa.key",
		"--authorization-mode":               "Node,RBAC",
		"--enable-admission-plugins":         "NodeRestriction",
		"--kubelet-client-certificate":       "/p/kc.crt",
		"--kubelet-client-key":               "/p/kc.key",
		"--kubelet-certificate-authority":    "/p/kubelet-ca.crt",
		"--kubelet-preferred-address-types":  "InternalIP",
		"--endpoint-reconciler-type":         "none",
		"--allow-privileged":                 "true",
	}
	compareFlags(t, want, got)
}

func compareFlags(t *testing.T, want, got map[string]string) {
	t.Helper()
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			g, ok := got[name]
			if !ok {
				t.Fatalf("flag missing, want %s=%s", name, w)
			}
			if g != w {
				t.Errorf("%s=%q, want %q", name, g, w)
			}
		})
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected flag %s=%s: add it to the test if it is meant", name, g)
		}
	}
}
