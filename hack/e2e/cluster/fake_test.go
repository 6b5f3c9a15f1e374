package cluster

// Start and Stop are tested here against stand-ins for etcd and kube-apiserver: this test binary
// itself, run through symlinks named like the real binaries. The stand-ins serve just what the
// harness probes (etcd's /health, the API server's /readyz over mutual TLS with the cluster's
// certificates) and record their start and SIGTERM in an events file, so the tests check the
// startup order, the stop order and the failure reports without the real binaries.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const (
	envFakeEvents = "WINNET_CLUSTER_FAKE_EVENTS"
	envFakeMode   = "WINNET_CLUSTER_FAKE_MODE"

	modeEtcdPortTaken   = "etcd-port-taken"
	modeAPIServerFails  = "apiserver-fails"
	fakeAPIServerFatal  = `E0101 00:00:00.000000 1 run.go:72] "command failed" err="fake fatal error"`
	fakeAddrInUseLogMsg = `{"level":"fatal","msg":"listen tcp 127.0.0.1:1: bind: address already in use"}`
)

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case etcdBinary:
		os.Exit(fakeEtcd(os.Args[1:]))
	case apiserverBinary:
		os.Exit(fakeAPIServer(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeFlags(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if name, value, ok := strings.Cut(a, "="); ok {
			m[name] = value
		}
	}
	return m
}

func record(event string) {
	f, err := os.OpenFile(os.Getenv(envFakeEvents), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake: recording event:", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, event)
}

// serveUntilTerm serves on ln until SIGTERM, then records it and returns exit code 0.
func serveUntilTerm(name string, ln net.Listener, h http.Handler) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go http.Serve(ln, h) //nolint:errcheck // ends with the process
	<-term
	record(name + " term")
	return 0
}

func fakeEtcd(args []string) int {
	record("etcd start")
	if os.Getenv(envFakeMode) == modeEtcdPortTaken {
		fmt.Println(fakeAddrInUseLogMsg)
		return 1
	}
	flags := fakeFlags(args)
	ln, err := net.Listen("tcp", strings.TrimPrefix(flags["--listen-client-urls"], "http://"))
	if err != nil {
		fmt.Println("fake etcd:", err)
		return 1
	}
	return serveUntilTerm("etcd", ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprint(w, `{"health":"true","reason":""}`)
			return
		}
		http.NotFound(w, r)
	}))
}

func fakeAPIServer(args []string) int {
	record("kube-apiserver start")
	if os.Getenv(envFakeMode) == modeAPIServerFails {
		fmt.Println(fakeAPIServerFatal)
		return 1
	}
	flags := fakeFlags(args)
	// Like the real one, refuse to run without its storage.
	resp, err := http.Get(flags["--etcd-servers"] + "/health")
	if err != nil {
		fmt.Println("fake kube-apiserver: etcd not serving:", err)
		return 1
	}
	resp.Body.Close()
	pair, err := tls.LoadX509KeyPair(flags["--tls-cert-file"], flags["--tls-private-key-file"])
	if err != nil {
		fmt.Println("fake kube-apiserver:", err)
		return 1
	}
	caPEM, err := os.ReadFile(flags["--client-ca-file"])
	if err != nil {
		fmt.Println("fake kube-apiserver:", err)
		return 1
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", flags["--bind-address"]+":"+flags["--secure-port"], &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		fmt.Println("fake kube-apiserver:", err)
		return 1
	}
	return serveUntilTerm("kube-apiserver", ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			fmt.Fprint(w, "ok")
			return
		}
		http.NotFound(w, r)
	}))
}

// fakeBinDir makes a bin folder whose etcd and kube-apiserver are this test binary, and points
// the stand-ins at a fresh events file and mode.
func fakeBinDir(t *testing.T, mode string) (binDir, eventsPath string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the stand-in processes rely on Linux signals and symlinks")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir = t.TempDir()
	for _, name := range []string{etcdBinary, apiserverBinary} {
		if err := os.Symlink(self, filepath.Join(binDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	eventsPath = filepath.Join(t.TempDir(), "events")
	t.Setenv(envFakeEvents, eventsPath)
	t.Setenv(envFakeMode, mode)
	return binDir, eventsPath
}

func readEvents(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
}

func TestStartStopOrder(t *testing.T) {
	binDir, events := fakeBinDir(t, "")
	c, err := Start(context.Background(), Options{BinDir: binDir, WorkDir: t.TempDir(), Log: t.Output()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := os.Stat(c.AdminKubeconfig()); err != nil {
		t.Errorf("admin kubeconfig: %v", err)
	}
	if !strings.HasPrefix(c.Host(), "https://127.0.0.1:") {
		t.Errorf("Host = %q, want https://127.0.0.1:<port>", c.Host())
	}
	if c.ReadyAfter() <= 0 {
		t.Errorf("ReadyAfter = %s, want the measured startup time", c.ReadyAfter())
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		mem, err := c.Memory()
		if err != nil || mem.APIServer == 0 || mem.Etcd == 0 {
			t.Errorf("Memory = %+v, %v; want both processes measured", mem, err)
		}
	}
	c.Stop()
	c.Stop() // a second Stop must do nothing
	want := []string{"etcd_start", "kube-apiserver_start", "kube-apiserver_term", "etcd_term"}
	if got := readEvents(t, events); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v (the API server must stop before etcd)", got, want)
	}
}

func TestStopRemovesOwnWorkDir(t *testing.T) {
	binDir, _ := fakeBinDir(t, "")
	c, err := Start(context.Background(), Options{BinDir: binDir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	dir := c.WorkDir()
	if _, err := os.Stat(filepath.Join(dir, "etcd.log")); err != nil {
		t.Errorf("etcd log not in the work folder: %v", err)
	}
	c.Stop()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary work folder %s still there after Stop (stat: %v)", dir, err)
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		wantInErr  []string
		wantEvents []string
	}{
		{
			name:      "etcd keeps losing its port",
			mode:      modeEtcdPortTaken,
			wantInErr: []string{"starting etcd", "etcd exited during startup", "address already in use", "etcd.log"},
			// Retried, then given up.
			wantEvents: []string{"etcd_start", "etcd_start", "etcd_start"},
		},
		{
			name:      "api server dies",
			mode:      modeAPIServerFails,
			wantInErr: []string{"starting kube-apiserver", "kube-apiserver exited during startup", "fake fatal error", "kube-apiserver.log"},
			// Not retried (not a port race), and etcd is stopped.
			wantEvents: []string{"etcd_start", "kube-apiserver_start", "etcd_term"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			binDir, events := fakeBinDir(t, tt.mode)
			c, err := Start(context.Background(), Options{BinDir: binDir, WorkDir: t.TempDir(), Log: t.Output()})
			if err == nil {
				c.Stop()
				t.Fatal("Start succeeded, want an error")
			}
			t.Logf("Start error (as a user sees it):\n%v", err)
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if !errors.Is(err, errExited) {
				t.Errorf("error %v does not wrap errExited", err)
			}
			if got := readEvents(t, events); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events = %v, want %v", got, tt.wantEvents)
			}
		})
	}
}

func TestStartCancelled(t *testing.T) {
	binDir, _ := fakeBinDir(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := Start(ctx, Options{BinDir: binDir, WorkDir: t.TempDir()})
	if err == nil {
		c.Stop()
		t.Fatal("Start with a cancelled context succeeded, want an error")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want it to wrap context.Canceled", err)
	}
}
