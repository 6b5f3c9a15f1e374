package cluster

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// newTestCluster is a Cluster with certificates but no processes: enough for everything that
// does not talk to a server.
func newTestCluster(t *testing.T) *Cluster {
	t.Helper()
	dir := t.TempDir()
	p, err := newPKI(filepath.Join(dir, "pki"), time.Now())
	if err != nil {
		t.Fatalf("newPKI: %v", err)
	}
	return &Cluster{pki: p, workDir: dir, host: "https://127.0.0.1:6443"}
}

func loadPair(t *testing.T, certFile, keyFile string) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("loading %s and %s: %v", certFile, keyFile, err)
	}
	return pair
}

func TestCertificateChains(t *testing.T) {
	c := newTestCluster(t)
	f := c.pki.files
	serving := loadPair(t, f.servingCert, f.servingKey).Leaf
	kubeletClient := loadPair(t, f.kubeletClientCrt, f.kubeletClientKey).Leaf
	kubeletServing, err := c.KubeletServingCert()
	if err != nil {
		t.Fatalf("KubeletServingCert: %v", err)
	}
	userPath, err := c.UserKubeconfig("dev")
	if err != nil {
		t.Fatalf("UserKubeconfig: %v", err)
	}
	user := kubeconfigCert(t, userPath)

	clusterCAs := c.pki.clusterCA.pool()
	kubeletCAs := c.pki.kubeletCA.pool()
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

	tests := []struct {
		name    string
		cert    *x509.Certificate
		roots   *x509.CertPool
		usages  []x509.ExtKeyUsage
		host    string // DNSName for Verify: a name or an IP literal
		wantErr bool
	}{
		{"apiserver serving for 127.0.0.1", serving, clusterCAs, server, "127.0.0.1", false},
		{"apiserver serving for localhost", serving, clusterCAs, server, "localhost", false},
		{"apiserver serving for kubernetes.default.svc", serving, clusterCAs, server, "kubernetes.default.svc", false},
		{"apiserver serving for the service IP", serving, clusterCAs, server, kubernetesServiceIP, false},
		{"apiserver serving for another IP", serving, clusterCAs, server, "192.0.2.10", true},
		{"apiserver serving against the kubelet CA", serving, kubeletCAs, server, "127.0.0.1", true},
		{"apiserver serving used as a client", serving, clusterCAs, client, "", true},
		{"admin client", c.pki.admin.tls.Leaf, clusterCAs, client, "", false},
		{"admin used as a server", c.pki.admin.tls.Leaf, clusterCAs, server, "", true},
		{"user client", user, clusterCAs, client, "", false},
		{"kubelet serving for 127.0.0.1", kubeletServing.Leaf, kubeletCAs, server, "127.0.0.1", false},
		{"kubelet serving for another IP", kubeletServing.Leaf, kubeletCAs, server, "192.0.2.10", true},
		{"kubelet serving against the cluster CA", kubeletServing.Leaf, clusterCAs, server, "127.0.0.1", true},
		{"apiserver kubelet client", kubeletClient, c.KubeletClientCAs(), client, "", false},
		{"apiserver kubelet client against the cluster CA", kubeletClient, clusterCAs, client, "", true},
		{"user against the kubelet client CAs", user, c.KubeletClientCAs(), client, "", true},
		{"admin against the kubelet client CAs", c.pki.admin.tls.Leaf, c.KubeletClientCAs(), client, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cert.Verify(x509.VerifyOptions{Roots: tt.roots, KeyUsages: tt.usages, DNSName: tt.host})
			if (err != nil) != tt.wantErr {
				t.Errorf("Verify error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestCertificateSubjects(t *testing.T) {
	c := newTestCluster(t)
	f := c.pki.files
	serving := loadPair(t, f.servingCert, f.servingKey).Leaf
	kubeletServing, err := c.KubeletServingCert()
	if err != nil {
		t.Fatalf("KubeletServingCert: %v", err)
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		wantIPs []string
		wantOrg []string
	}{
		{"apiserver serving", serving, []string{"127.0.0.1", kubernetesServiceIP}, nil},
		{"kubelet serving", kubeletServing.Leaf, []string{"127.0.0.1"}, nil},
		{"admin", c.pki.admin.tls.Leaf, nil, []string{"system:masters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ips []string
			for _, ip := range tt.cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs = %v, want %v", ips, tt.wantIPs)
			}
			if !slices.Equal(tt.cert.Subject.Organization, tt.wantOrg) {
				t.Errorf("organizations = %v, want %v", tt.cert.Subject.Organization, tt.wantOrg)
			}
		})
	}
}

// TestKeyFiles checks that every key file the processes read parses and belongs with its
// certificate: a mismatch would only show up as a process exiting at startup.
func TestKeyFiles(t *testing.T) {
	c := newTestCluster(t)
	f := c.pki.files
	t.Run("serving pair", func(t *testing.T) { loadPair(t, f.servingCert, f.servingKey) })
	t.Run("kubelet client pair", func(t *testing.T) { loadPair(t, f.kubeletClientCrt, f.kubeletClientKey) })
	t.Run("service account keys match", func(t *testing.T) {
		priv, err := x509.ParseECPrivateKey(readPEM(t, f.saKey, "EC PRIVATE KEY"))
		if err != nil {
			t.Fatalf("parsing %s: %v", f.saKey, err)
		}
		pub, err := x509.ParsePKIXPublicKey(readPEM(t, f.saPub, "PUBLIC KEY"))
		if err != nil {
			t.Fatalf("parsing %s: %v", f.saPub, err)
		}
		ecPub, ok := pub.(*ecdsa.PublicKey)
		if !ok || !ecPub.Equal(&priv.PublicKey) {
			t.Errorf("%s does not hold the public half of %s", f.saPub, f.saKey)
		}
	})
	t.Run("CA files", func(t *testing.T) {
		for _, path := range []string{f.clusterCA, f.kubeletCA} {
			cert, err := x509.ParseCertificate(readPEM(t, path, "CERTIFICATE"))
			if err != nil {
				t.Fatalf("parsing %s: %v", path, err)
			}
			if !cert.IsCA {
				t.Errorf("%s is not a CA certificate", path)
			}
		}
	})
}

func readPEM(t *testing.T, path, wantType string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != wantType {
		t.Fatalf("%s holds no %s PEM block", path, wantType)
	}
	return block.Bytes
}

// TestKubeletHandshake plays both ends of the API server -> kubelet connection: the simulated
// kubelet's TLS settings must accept the API server's kubelet client certificate and nothing
// else, and the API server's side must accept the kubelet's serving certificate.
func TestKubeletHandshake(t *testing.T) {
	c := newTestCluster(t)
	f := c.pki.files
	kubeletServing, err := c.KubeletServingCert()
	if err != nil {
		t.Fatalf("KubeletServingCert: %v", err)
	}
	kubeletCAs := x509.NewCertPool()
	if !kubeletCAs.AppendCertsFromPEM(mustRead(t, f.kubeletCA)) {
		t.Fatalf("%s holds no certificate", f.kubeletCA)
	}
	tests := []struct {
		name       string
		clientCert tls.Certificate
		wantErr    bool
	}{
		{"api server's kubelet client certificate", loadPair(t, f.kubeletClientCrt, f.kubeletClientKey), false},
		{"admin certificate", c.pki.admin.tls, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listening: %v", err)
			}
			defer ln.Close()
			serverErr := make(chan error, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					serverErr <- err
					return
				}
				defer conn.Close()
				server := tls.Server(conn, &tls.Config{
					Certificates: []tls.Certificate{kubeletServing},
					ClientCAs:    c.KubeletClientCAs(),
					ClientAuth:   tls.RequireAndVerifyClientCert,
				})
				if err := server.Handshake(); err != nil {
					serverErr <- err
					return
				}
				_, err = server.Write([]byte("ok"))
				serverErr <- err
			}()
			client, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				Certificates: []tls.Certificate{tt.clientCert},
				RootCAs:      kubeletCAs,
				ServerName:   "127.0.0.1",
			})
			var got []byte
			if err == nil {
				// With TLS 1.3 the client's handshake ends before the server has judged its
				// certificate: reading shows whether the server accepted it.
				got, _ = io.ReadAll(client)
				client.Close()
			}
			if err := <-serverErr; (err != nil) != tt.wantErr {
				t.Errorf("server handshake error = %v, want error: %v", err, tt.wantErr)
			}
			if accepted := string(got) == "ok"; accepted == tt.wantErr {
				t.Errorf("client read %q (dial error %v), want the server's ok: %v", got, err, !tt.wantErr)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return data
}

// kubeconfigCert returns the client certificate inside a kubeconfig's current user.
func kubeconfigCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading kubeconfig %s: %v", path, err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		t.Fatalf("%s: current context %q is not defined", path, cfg.CurrentContext)
	}
	auth, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		t.Fatalf("%s: user %q is not defined", path, ctx.AuthInfo)
	}
	pair, err := tls.X509KeyPair(auth.ClientCertificateData, auth.ClientKeyData)
	if err != nil {
		t.Fatalf("%s: client certificate and key: %v", path, err)
	}
	return pair.Leaf
}

func TestUserKubeconfig(t *testing.T) {
	c := newTestCluster(t)
	tests := []struct {
		name       string
		user       string
		groups     []string
		wantErr    bool
		wantInName string
	}{
		{name: "plain user", user: "dev", wantInName: "user-dev-"},
		{name: "with groups", user: "ops", groups: []string{"team-a", "team-b"}, wantInName: "user-ops-"},
		{name: "node identity", user: "system:node:win-1", groups: []string{"system:nodes"}, wantInName: "user-system:node:win-1-"},
		{name: "slash in name", user: "a/../b", wantInName: "user-a_.._b-"},
		{name: "empty name", user: "", wantErr: true},
		{name: "blank name", user: "  ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := c.UserKubeconfig(tt.user, tt.groups...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UserKubeconfig error = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if filepath.Dir(path) != c.workDir {
				t.Errorf("kubeconfig written to %s, want inside %s", path, c.workDir)
			}
			if !strings.HasPrefix(filepath.Base(path), tt.wantInName) {
				t.Errorf("file name %s, want prefix %s", filepath.Base(path), tt.wantInName)
			}
			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatalf("loading %s: %v", path, err)
			}
			if got := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server; got != c.host {
				t.Errorf("server = %q, want %q", got, c.host)
			}
			cert := kubeconfigCert(t, path)
			if cert.Subject.CommonName != tt.user {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.user)
			}
			if !slices.Equal(cert.Subject.Organization, tt.groups) {
				t.Errorf("O = %v, want %v", cert.Subject.Organization, tt.groups)
			}
		})
	}
	t.Run("same name twice gets two files", func(t *testing.T) {
		a, err := c.UserKubeconfig("twice", "g1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.UserKubeconfig("twice", "g2")
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Errorf("both calls wrote %s: the second overwrote the first user's groups", a)
		}
	})
}
