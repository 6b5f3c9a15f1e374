package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certificates live for a year: the demo may keep a cluster up for a long time, and a cluster's
// PKI is thrown away with its WorkDir anyway.
const certValidity = 365 * 24 * time.Hour

// clockSkew backdates NotBefore so a certificate is valid at once even if clocks disagree.
const clockSkew = time.Hour

// authority is a certificate authority held in memory; it signs leaf certificates on demand.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// leafSpec says what a leaf certificate is for. Server certificates get ServerAuth only and
// client certificates ClientAuth only, so one can never stand in for the other.
type leafSpec struct {
	commonName string
	orgs       []string
	dnsNames   []string
	ips        []net.IP
	server     bool
}

// issued is a signed leaf certificate with its key, both PEM-encoded and parsed.
type issued struct {
	certPEM []byte
	keyPEM  []byte
	tls     tls.Certificate
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating an ECDSA P-256 key: %w", err)
	}
	return key, nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a certificate serial number: %w", err)
	}
	return n, nil
}

// newAuthority creates a self-signed CA named commonName.
func newAuthority(commonName string, now time.Time) (*authority, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-signing the %q CA certificate: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the %q CA certificate just created: %w", commonName, err)
	}
	return &authority{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// pool returns a pool trusting only this CA.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// issue signs a new leaf certificate with a fresh key.
func (a *authority) issue(spec leafSpec, now time.Time) (*issued, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	usage := x509.ExtKeyUsageClientAuth
	if spec.server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.orgs},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("signing a certificate for %q with the %q CA: %w", spec.commonName, a.cert.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate just signed for %q: %w", spec.commonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key for %q: %w", spec.commonName, err)
	}
	return &issued{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		tls:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
	}, nil
}

// Names under which the API server is reached: from the host (127.0.0.1, localhost) and, as
// pods would see it, through the "kubernetes" Service (first address of the service range).
var (
	servingIPs      = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubernetesServiceIP)}
	servingDNSNames = []string{
		"localhost",
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}
)

// pki is every certificate and key a cluster needs, held in memory and written to dir as files
// for the processes' flags.
//
// Three CAs keep the trust paths apart, as in a real cluster:
//   - the cluster CA signs the API server's serving certificate and every user client
//     certificate (the API server's --client-ca-file);
//   - the kubelet CA signs kubelet serving certificates (the API server's
//     --kubelet-certificate-authority);
//   - the kubelet-client CA signs only the API server's client certificate toward kubelets, so a
//     simulated kubelet trusting it accepts the API server and nobody else: it has no
//     authorizer of its own, unlike a real kubelet.
type pki struct {
	dir string

	clusterCA       *authority
	kubeletCA       *authority
	kubeletClientCA *authority

	admin *issued

	files pkiFiles
}

// pkiFiles are the paths of the files the processes read.
type pkiFiles struct {
	clusterCA        string
	servingCert      string
	servingKey       string
	kubeletCA        string
	kubeletClientCrt string
	kubeletClientKey string
	saKey            string // private key: signs service account tokens
	saPub            string // public key: verifies them
}

// newPKI generates the cluster's certificates and keys and writes them into dir.
func newPKI(dir string, now time.Time) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the certificate folder %s: %w", dir, err)
	}
	p := &pki{dir: dir}
	var err error
	if p.clusterCA, err = newAuthority("winnet-e2e-cluster-ca", now); err != nil {
		return nil, err
	}
	if p.kubeletCA, err = newAuthority("winnet-e2e-kubelet-ca", now); err != nil {
		return nil, err
	}
	if p.kubeletClientCA, err = newAuthority("winnet-e2e-kubelet-client-ca", now); err != nil {
		return nil, err
	}
	serving, err := p.clusterCA.issue(leafSpec{
		commonName: "kube-apiserver",
		dnsNames:   servingDNSNames,
		ips:        servingIPs,
		server:     true,
	}, now)
	if err != nil {
		return nil, err
	}
	kubeletClient, err := p.kubeletClientCA.issue(leafSpec{
		commonName: "kube-apiserver-kubelet-client",
		orgs:       []string{"system:masters"},
	}, now)
	if err != nil {
		return nil, err
	}
	if p.admin, err = p.clusterCA.issue(leafSpec{
		commonName: "winnet-e2e-admin",
		orgs:       []string{"system:masters"},
	}, now); err != nil {
		return nil, err
	}
	saKey, err := newKey()
	if err != nil {
		return nil, err
	}
	saKeyDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the service account signing key: %w", err)
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the service account public key: %w", err)
	}

	p.files = pkiFiles{
		clusterCA:        filepath.Join(dir, "cluster-ca.crt"),
		servingCert:      filepath.Join(dir, "apiserver.crt"),
		servingKey:       filepath.Join(dir, "apiserver.key"),
		kubeletCA:        filepath.Join(dir, "kubelet-ca.crt"),
		kubeletClientCrt: filepath.Join(dir, "apiserver-kubelet-client.crt"),
		kubeletClientKey: filepath.Join(dir, "apiserver-kubelet-client.key"),
		saKey:            filepath.Join(dir, "sa.key"),
		saPub:            filepath.Join(dir, "sa.pub"),
	}
	writes := []struct {
		path string
		data []byte
	}{
		{p.files.clusterCA, p.clusterCA.certPEM},
		{p.files.servingCert, serving.certPEM},
		{p.files.servingKey, serving.keyPEM},
		{p.files.kubeletCA, p.kubeletCA.certPEM},
		{p.files.kubeletClientCrt, kubeletClient.certPEM},
		{p.files.kubeletClientKey, kubeletClient.keyPEM},
		{p.files.saKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saKeyDER})},
		{p.files.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER})},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", w.path, err)
		}
	}
	return p, nil
}
