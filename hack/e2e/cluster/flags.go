package cluster

import "strconv"

// KubernetesVersion is the version hack/build-cluster.sh builds and the API server reports.
const KubernetesVersion = "v1.37.2"

const (
	// serviceCIDR only feeds ClusterIP allocation: nothing routes it (there is no kube-proxy).
	serviceCIDR = "10.96.0.0/16"
	// kubernetesServiceIP is the first address of serviceCIDR, which the API server gives the
	// "kubernetes" Service; its serving certificate names it as a real cluster's does.
	kubernetesServiceIP = "10.96.0.1"
	// serviceAccountIssuer is the issuer of service account tokens, the in-cluster API address.
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	etcdName             = "winnet-e2e"
)

// etcdConfig is what the etcd command line depends on.
type etcdConfig struct {
	dataDir    string
	clientPort int
	peerPort   int
}

func (c etcdConfig) clientURL() string { return localURL("http", c.clientPort) }

func localURL(scheme string, port int) string {
	return scheme + "://127.0.0.1:" + strconv.Itoa(port)
}

// etcdArgs is etcd's command line: a single member on loopback.
//
// No --listen-metrics-urls: metrics stay on the client port instead of needing a third port,
// and /health there tells the harness when etcd serves.
func etcdArgs(c etcdConfig) []string {
	peer := localURL("http", c.peerPort)
	return []string{
		"--name=" + etcdName,
		"--data-dir=" + c.dataDir,
		"--listen-client-urls=" + c.clientURL(),
		"--advertise-client-urls=" + c.clientURL(),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + etcdName + "=" + peer,
		"--initial-cluster-state=new",
		// Test data is disposable; fsync costs seconds per test on a busy disk.
		"--unsafe-no-fsync=true",
	}
}

// apiserverConfig is what the kube-apiserver command line depends on.
type apiserverConfig struct {
	securePort int
	etcdURL    string
	certDir    string
	files      pkiFiles
}

// apiserverArgs is kube-apiserver's command line, as HARNESS-FACTS.md ("Running it") measured it.
func apiserverArgs(c apiserverConfig) []string {
	return []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.securePort),
		// Never used since the serving certificate is given, but its default is /var/run/kubernetes.
		"--cert-dir=" + c.certDir,
		"--etcd-servers=" + c.etcdURL,
		"--tls-cert-file=" + c.files.servingCert,
		"--tls-private-key-file=" + c.files.servingKey,
		"--client-ca-file=" + c.files.clusterCA,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + c.files.saPub,
		"--service-account-signing-key-file=" + c.files.saKey,
		"--authorization-mode=Node,RBAC",
		// PodSecurity is enabled by default; NodeRestriction is what a simulated kubelet meets.
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate=" + c.files.kubeletClientCrt,
		"--kubelet-client-key=" + c.files.kubeletClientKey,
		"--kubelet-certificate-authority=" + c.files.kubeletCA,
		// The default tries Hostname first, which means a DNS lookup of a node that does not exist.
		"--kubelet-preferred-address-types=InternalIP",
		// No real endpoints for the "kubernetes" Service: 127.0.0.1 is not routable from pods.
		"--endpoint-reconciler-type=none",
		// HostProcess pods need it.
		"--allow-privileged=true",
	}
}
