// Package cluster runs a real etcd and kube-apiserver on loopback for the end-to-end tests and
// the demo.
//
// There is no controller-manager, scheduler or kubelet: tests set spec.nodeName, create the
// default ServiceAccount themselves (EnsureNamespace), and bring their own simulated kubelet,
// which serves with KubeletServingCert and trusts KubeletClientCAs. Namespaces never finish
// deleting and nothing garbage-collects owned objects, so tests use fresh names.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configures Start. The zero value works.
type Options struct {
	// BinDir holds the etcd and kube-apiserver binaries. Empty: the folder in the
	// WINNET_E2E_BIN environment variable, else whatever hack/build-cluster.sh prints (it builds
	// them on first use, which takes several minutes).
	BinDir string
	// WorkDir receives certificates, kubeconfigs, etcd's data and the processes' logs
	// (etcd.log, kube-apiserver.log). Empty: a temporary folder, removed by Stop. Every Start
	// begins with empty storage, even in a folder used before.
	WorkDir string
	// Log receives the harness's progress lines and the build script's output. Nil: discarded.
	// The processes' own output goes to the log files in WorkDir, never here.
	Log io.Writer
	// ReadyTimeout bounds the wait for each process to serve. Zero: 2 minutes, generous because
	// other builds and tests may share the machine's two cores.
	ReadyTimeout time.Duration
}

const (
	defaultReadyTimeout = 2 * time.Minute
	// startAttempts covers the rare race where another process takes a port between our probe
	// and the child's bind.
	startAttempts = 3
	pollInterval  = 100 * time.Millisecond
	probeTimeout  = 5 * time.Second
	// The API server drains requests for a few seconds on SIGTERM; etcd stops at once.
	apiserverGrace = 30 * time.Second
	etcdGrace      = 15 * time.Second
	// Client rate limits well above client-go's defaults (5 QPS), which would otherwise throttle
	// fan-out tests over many simulated nodes.
	adminQPS   = 200
	adminBurst = 400
)

// Cluster is a running etcd and kube-apiserver. Stop it when done (t.Cleanup(c.Stop)).
type Cluster struct {
	workDir       string
	removeWorkDir bool
	log           *progress

	pki       *pki
	etcd      *process
	apiserver *process

	apiserverBin    string
	apiserverPort   int
	etcdURL         string
	host            string
	adminKubeconfig string
	restConfig      *rest.Config
	client          kubernetes.Interface
	readyAfter      time.Duration

	kubeconfigSeq atomic.Int64
	stopOnce      sync.Once
}

// progress writes the harness's own lines to Options.Log, one write per line.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "cluster: "+format+"\n", args...)
}

// Start runs etcd and kube-apiserver and returns once /readyz answers ok. ctx bounds the startup
// only (including a first build of the binaries); the processes run until Stop. On failure
// nothing is left running, the error holds the end of the failing process's log, and the work
// folder is kept (even a temporary one) so the whole log can be read.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	c := &Cluster{log: &progress{w: logw}}
	readyTimeout := opts.ReadyTimeout
	if readyTimeout <= 0 {
		readyTimeout = defaultReadyTimeout
	}

	binDir, err := resolveBinDir(ctx, opts.BinDir, logw)
	if err != nil {
		return nil, err
	}

	c.workDir = opts.WorkDir
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "winnet-e2e-cluster-"); err != nil {
			return nil, fmt.Errorf("creating a work folder for the test cluster: %w", err)
		}
		c.removeWorkDir = true
	} else if err := os.MkdirAll(c.workDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the test cluster's work folder %s: %w", c.workDir, err)
	}

	if c.pki, err = newPKI(filepath.Join(c.workDir, "pki"), time.Now()); err != nil {
		return nil, err
	}

	began := time.Now()
	if err := c.startEtcd(ctx, filepath.Join(binDir, etcdBinary), readyTimeout); err != nil {
		c.stopProcesses()
		return nil, err
	}
	if err := c.startAPIServer(ctx, filepath.Join(binDir, apiserverBinary), readyTimeout); err != nil {
		c.stopProcesses()
		return nil, err
	}
	c.readyAfter = time.Since(began)
	c.log.printf("ready after %s (kube-apiserver at %s, work folder %s)", c.readyAfter.Round(time.Millisecond), c.host, c.workDir)
	return c, nil
}

func (c *Cluster) startEtcd(ctx context.Context, bin string, timeout time.Duration) error {
	logPath := filepath.Join(c.workDir, "etcd.log")
	dataDir := filepath.Join(c.workDir, "etcd-data")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		cfg := etcdConfig{dataDir: dataDir, clientPort: ports[0], peerPort: ports[1]}
		// A failed attempt may have left a half-initialised member behind.
		if err := os.RemoveAll(dataDir); err != nil {
			return fmt.Errorf("clearing etcd's data folder %s: %w", dataDir, err)
		}
		c.log.printf("starting etcd on %s (log: %s)", cfg.clientURL(), logPath)
		if c.etcd, err = startProcess("etcd", bin, etcdArgs(cfg), logPath, attempt); err != nil {
			return err
		}
		httpClient := &http.Client{Timeout: probeTimeout}
		err = waitServing(ctx, c.etcd, timeout, func(ctx context.Context) error {
			return etcdHealthy(ctx, httpClient, cfg.clientURL())
		})
		if err == nil {
			c.etcdURL = cfg.clientURL()
			return nil
		}
		if errors.Is(err, errExited) && attempt < startAttempts && addrInUse(logTail(logPath)) {
			c.log.printf("etcd lost a port race, retrying with new ports")
			continue
		}
		return fmt.Errorf("starting etcd: %w", err)
	}
}

func (c *Cluster) startAPIServer(ctx context.Context, bin string, timeout time.Duration) error {
	c.apiserverBin = bin
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		err = c.runAPIServer(ctx, ports[0], attempt, timeout)
		if err == nil {
			return nil
		}
		if errors.Is(err, errExited) && attempt < startAttempts && addrInUse(logTail(c.apiserverLog())) {
			c.log.printf("kube-apiserver lost a port race, retrying with a new port")
			continue
		}
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
}

func (c *Cluster) apiserverLog() string { return filepath.Join(c.workDir, "kube-apiserver.log") }

// runAPIServer starts kube-apiserver on port and waits until it is ready.
func (c *Cluster) runAPIServer(ctx context.Context, port, attempt int, timeout time.Duration) error {
	cfg := apiserverConfig{
		securePort: port,
		etcdURL:    c.etcdURL,
		certDir:    c.pki.dir,
		files:      c.pki.files,
	}
	c.apiserverPort = port
	c.host = localURL("https", cfg.securePort)
	if err := c.setAdminClient(); err != nil {
		return err
	}
	c.log.printf("starting kube-apiserver on %s (log: %s)", c.host, c.apiserverLog())
	var err error
	if c.apiserver, err = startProcess("kube-apiserver", c.apiserverBin, apiserverArgs(cfg), c.apiserverLog(), attempt); err != nil {
		return err
	}
	readyz := c.client.Discovery().RESTClient().Get().AbsPath("/readyz")
	return waitServing(ctx, c.apiserver, timeout, func(ctx context.Context) error {
		_, err := readyz.DoRaw(ctx)
		return err
	})
}

// CrashAPIServer kills kube-apiserver at once, as a crash or a node reboot would, leaving etcd
// and every stored object in place. RestartAPIServer brings it back.
func (c *Cluster) CrashAPIServer() {
	if c.apiserver != nil && !c.apiserver.exited() {
		kill(c.apiserver.cmd.Process)
		<-c.apiserver.done
		c.log.printf("kube-apiserver killed")
	}
}

// RestartAPIServer starts kube-apiserver again on the port it had, so every kubeconfig and
// client made before keeps working, and waits until it is ready. It kills a running one first.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.CrashAPIServer()
	began := time.Now()
	if err := c.runAPIServer(ctx, c.apiserverPort, 1, defaultReadyTimeout); err != nil {
		return fmt.Errorf("restarting kube-apiserver on port %d: %w", c.apiserverPort, err)
	}
	c.log.printf("kube-apiserver ready again after %s", time.Since(began).Round(time.Millisecond))
	return nil
}

// setAdminClient writes the admin kubeconfig for the current host and builds the clients from
// it, so the file tests hand to kubectl is the one the harness itself proved working.
func (c *Cluster) setAdminClient() error {
	path := filepath.Join(c.workDir, "admin.kubeconfig")
	if err := writeKubeconfig(path, c.host, c.pki.clusterCA.certPEM, "admin", c.pki.admin); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return fmt.Errorf("loading the admin kubeconfig %s just written: %w", path, err)
	}
	cfg.QPS, cfg.Burst = adminQPS, adminBurst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building the admin client for %s: %w", c.host, err)
	}
	c.adminKubeconfig, c.restConfig, c.client = path, cfg, client
	return nil
}

// errExited marks a process that ended while the harness waited for it to serve.
var errExited = errors.New("exited during startup")

// waitServing polls probe until it succeeds, the process exits, timeout passes or ctx ends.
// Errors name the process and hold the end of its log.
func waitServing(ctx context.Context, p *process, timeout time.Duration, probe func(context.Context) error) error {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if p.exited() {
			return fmt.Errorf("%s %w (%v); last lines of %s:\n%s", p.name, errExited, p.waitErr, p.logPath, logTail(p.logPath))
		}
		probeCtx, probeCancel := context.WithTimeout(waitCtx, probeTimeout)
		last := probe(probeCtx)
		probeCancel()
		if last == nil {
			return nil
		}
		select {
		case <-ticker.C:
		case <-p.done: // reported at the top of the loop
		case <-waitCtx.Done():
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("waiting for %s to serve: %w", p.name, err)
			}
			return fmt.Errorf("%s did not serve within %s (raise Options.ReadyTimeout on a busy machine); last probe: %v; last lines of %s:\n%s",
				p.name, timeout, last, p.logPath, logTail(p.logPath))
		}
	}
}

// etcdHealthy asks etcd's /health endpoint, which answers {"health":"true"} once it serves.
func etcdHealthy(ctx context.Context, client *http.Client, baseURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/health", nil)
	if err != nil {
		return fmt.Errorf("building the etcd health request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return fmt.Errorf("reading etcd's /health answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Stop stops the API server gracefully, then etcd (the other order makes the API server hang on
// its storage), and removes the work folder if Start created it. It is safe to call twice.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.stopProcesses()
		if c.removeWorkDir {
			if err := os.RemoveAll(c.workDir); err != nil {
				c.log.printf("could not remove the work folder: %v", err)
			}
		}
	})
}

func (c *Cluster) stopProcesses() {
	for _, s := range []struct {
		p     *process
		grace time.Duration
	}{{c.apiserver, apiserverGrace}, {c.etcd, etcdGrace}} {
		if s.p == nil || s.p.exited() {
			continue
		}
		began := time.Now()
		if s.p.stop(s.grace) {
			c.log.printf("%s did not stop within %s and was killed", s.p.name, s.grace)
			continue
		}
		c.log.printf("%s stopped in %s", s.p.name, time.Since(began).Round(time.Millisecond))
	}
}

// Host is the API server's URL, https://127.0.0.1:<port>.
func (c *Cluster) Host() string { return c.host }

// WorkDir is the folder holding the certificates, kubeconfigs, data and logs.
func (c *Cluster) WorkDir() string { return c.workDir }

// ReadyAfter is how long etcd and kube-apiserver took from launch to serving.
func (c *Cluster) ReadyAfter() time.Duration { return c.readyAfter }

// AdminKubeconfig is the path of a kubeconfig whose user is in system:masters.
func (c *Cluster) AdminKubeconfig() string { return c.adminKubeconfig }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Client is a clientset acting as the admin.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// unsafeFileChars are replaced in user names used as file names ("system:node:x" is fine,
// a slash is not).
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._:-]+`)

// UserKubeconfig writes a kubeconfig authenticating as user name in groups, with a client
// certificate from the cluster CA, and returns its path. What the user may do is up to RBAC (or,
// for "system:node:<node>" in "system:nodes", the Node authorizer).
func (c *Cluster) UserKubeconfig(name string, groups ...string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("creating a user kubeconfig: the user name is empty; pass the name RBAC bindings refer to")
	}
	cert, err := c.pki.clusterCA.issue(leafSpec{commonName: name, orgs: groups}, time.Now())
	if err != nil {
		return "", fmt.Errorf("creating a kubeconfig for user %q: %w", name, err)
	}
	// The sequence number keeps two calls for the same name (with other groups) apart.
	file := fmt.Sprintf("user-%s-%d.kubeconfig", unsafeFileChars.ReplaceAllString(name, "_"), c.kubeconfigSeq.Add(1))
	path := filepath.Join(c.workDir, file)
	if err := writeKubeconfig(path, c.host, c.pki.clusterCA.certPEM, name, cert); err != nil {
		return "", err
	}
	return path, nil
}

// writeKubeconfig writes a self-contained kubeconfig (certificates inline) with one context.
func writeKubeconfig(path, host string, caPEM []byte, user string, cert *issued) error {
	const clusterName, contextName = "winnet-e2e", "winnet-e2e"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert.certPEM, ClientKeyData: cert.keyPEM}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the kubeconfig for %q to %s: %w", user, path, err)
	}
	return nil
}

// KubeletServingCert returns a new serving certificate for a simulated kubelet on 127.0.0.1
// (and localhost), signed by the CA the API server trusts for kubelets.
func (c *Cluster) KubeletServingCert() (tls.Certificate, error) {
	cert, err := c.pki.kubeletCA.issue(leafSpec{
		commonName: "winnet-e2e-kubelet",
		dnsNames:   []string{"localhost"},
		ips:        servingIPs[:1],
		server:     true,
	}, time.Now())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating a kubelet serving certificate: %w", err)
	}
	return cert.tls, nil
}

// KubeletClientCAs verifies the client certificate the API server presents to kubelets (for
// exec, logs, port-forward). Put it in a simulated kubelet's tls.Config.ClientCAs with
// RequireAndVerifyClientCert: only this cluster's API server gets through.
func (c *Cluster) KubeletClientCAs() *x509.CertPool { return c.pki.kubeletClientCA.pool() }

// Memory is the resident memory of the two processes, in bytes.
type Memory struct {
	APIServer uint64
	Etcd      uint64
}

// Memory reads the processes' resident set sizes from /proc (Linux only).
func (c *Cluster) Memory() (Memory, error) {
	api, err := rssBytes(c.apiserver.pid())
	if err != nil {
		return Memory{}, fmt.Errorf("kube-apiserver: %w", err)
	}
	etcd, err := rssBytes(c.etcd.pid())
	if err != nil {
		return Memory{}, fmt.Errorf("etcd: %w", err)
	}
	return Memory{APIServer: api, Etcd: etcd}, nil
}
