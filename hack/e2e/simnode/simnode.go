// Package simnode is the kubelet stand-in of the end-to-end tests: it registers simulated
// Windows (and Linux) nodes with a real API server, makes the pods bound to them Running,
// and serves the kubelet's exec endpoint so that pods/exec through the API server reaches a
// strict Windows command interpreter (package wincmd) that runs the collector's Linux build.
//
// There is no scheduler or controller-manager in the harness: pods must set spec.nodeName,
// nodes keep the status written here, and nothing garbage-collects.
package simnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// Annotations tests put on pods to steer the simulated kubelet.
const (
	// AnnotationPodIP sets the pod IP the node reports (default: a free 10.244.<node>.x).
	AnnotationPodIP = "sim.winnet.dev/pod-ip"
	// AnnotationState holds the pod's containers in a waiting state with that reason, e.g.
	// ErrImagePull, ImagePullBackOff, CreateContainerError, CreateContainerConfigError,
	// RunContainerError, CrashLoopBackOff or ContainerCreating; the pod stays Pending.
	// Removing the annotation lets the pod start.
	AnnotationState = "sim.winnet.dev/state"
	// The image of an ordinary (not HostProcess) Windows pod, for the plugin's probes by exec
	// into it (wincmd.Host Tools, DNS, Open):
	// AnnotationTools lists its programs beyond the inbox ones, e.g. "nslookup.exe,powershell.exe";
	AnnotationTools = "sim.winnet.dev/tools"
	// AnnotationDNS is what its lookups answer, e.g. "kubernetes.default.svc.cluster.local=10.96.0.1,a.b=10.0.0.7 10.0.0.8";
	AnnotationDNS = "sim.winnet.dev/dns"
	// AnnotationOpen lists the IP:PORT its TCP handshakes complete with, e.g. "10.96.0.1:443".
	AnnotationOpen = "sim.winnet.dev/tcp-open"
)

// What the simulated nodes report about themselves.
const (
	KubeletVersion = "v1.37.2"
	WindowsBuild   = "10.0.20348"
	// LabelWindowsBuild is the label the kubelet sets on Windows nodes.
	LabelWindowsBuild = "node.kubernetes.io/windows-build"
)

// NodeSpec describes one simulated node.
type NodeSpec struct {
	Name string
	OS   string // "windows" or "linux"
	// NotReady reports the node NotReady (the container runtime is down): its pods stay
	// Pending and exec into them fails as on a real node; deletions still complete.
	NotReady bool
	// NotReadyMessage overrides the Ready condition's message when NotReady.
	NotReadyMessage string
	// PodState holds every pod on this node in that waiting state, as AnnotationState does for
	// one pod: a node whose registry lacks the debug image (ImagePullBackOff), or whose runtime
	// never gets the container created (ContainerCreating).
	PodState string
	// Scenario is the replay folder the collector reads on this node
	// (WINNET_COLLECTOR_REPLAY); relative paths are made absolute.
	Scenario string
	// Labels are added to the node's own (OS, arch, hostname), e.g. a node pool's.
	Labels map[string]string
	// Taints; nil means the default: os=windows:NoSchedule on Windows nodes, none on Linux.
	// A NotReady node also gets node.kubernetes.io/not-ready:NoSchedule, as the node
	// lifecycle controller of a real cluster would add.
	Taints []corev1.Taint
}

// Config is what Start needs.
type Config struct {
	// Client talks to the API server as an admin. Build it with QPS and Burst raised (e.g.
	// 1000): client-go's default of 5 QPS makes a 100-node start-up take a minute.
	Client kubernetes.Interface
	Nodes  []NodeSpec
	// ServingCert is the kubelet's serving certificate, valid for IP 127.0.0.1.
	ServingCert tls.Certificate
	// ClientCAs verifies the API server's kubelet client certificate; exec requires one.
	ClientCAs *x509.CertPool
	// WorkDir holds the pods' sandbox folders: WorkDir/<pod uid>/hpc is C:\hpc\.
	WorkDir string
	// Logf, when set, receives one line per notable event (e.g. t.Logf).
	Logf func(format string, args ...any)
	// Pktmon is the simulated pktmon program (hack/e2e/simnode/fakepktmon, built). When set,
	// the collector's captures on a node with a scenario run it (WINNET_PKTMON), each node
	// keeping its own pktmon state (one session, one filter list) in WorkDir/pktmon/<node>.
	Pktmon string
}

// ExecRecord is one exec request the simulator served.
type ExecRecord struct {
	Node, Namespace, Pod, Container string
	Argv                            []string
	// ExitCode is the command's exit code, -1 while it runs or when it could not run.
	ExitCode int
	// StdinBytes is how many bytes of stdin the command's programs read from the exec stream,
	// known once it has ended: what an upload put on the wire.
	StdinBytes int64
}

// Sim is a running simulator.
type Sim struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc

	nodes    map[string]*simNode
	order    []*simNode
	informer cache.SharedIndexInformer
	queue    workqueue.TypedRateLimitingInterface[string]
	workers  sync.WaitGroup
	execWG   sync.WaitGroup
	stopOnce sync.Once

	mu      sync.Mutex
	stopped bool
	pods    map[types.UID]*podState
	byKey   map[string]types.UID
	execs   []ExecRecord
}

type simNode struct {
	spec     NodeSpec
	index    int
	port     int
	listener net.Listener
	server   *http.Server
	usedIPs  map[string]bool // guarded by Sim.mu
}

// Start registers the nodes, starts one kubelet TLS listener per node on 127.0.0.1 and the
// pod loop, and returns once the pod cache has synced. ctx bounds start-up only; call Stop.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the simulator's work folder: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		cfg:    cfg,
		ctx:    runCtx,
		cancel: cancel,
		nodes:  map[string]*simNode{},
		pods:   map[types.UID]*podState{},
		byKey:  map[string]types.UID{},
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cfg.ServingCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    cfg.ClientCAs,
		MinVersion:   tls.VersionTLS12,
		// Exec upgrades the connection (SPDY or WebSocket), which needs HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
	for i, spec := range cfg.Nodes {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("opening the kubelet port of simulated node %s: %w", spec.Name, err)
		}
		n := &simNode{spec: spec, index: i, port: l.Addr().(*net.TCPAddr).Port, usedIPs: map[string]bool{}}
		n.listener = tls.NewListener(l, tlsConfig)
		n.server = &http.Server{Handler: s.kubeletMux(n), ReadHeaderTimeout: 30 * time.Second}
		s.nodes[spec.Name] = n
		s.order = append(s.order, n)
	}
	if err := s.registerNodes(ctx); err != nil {
		return nil, err
	}
	if err := s.startPodLoop(ctx); err != nil {
		return nil, err
	}
	for _, n := range s.order {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			if err := n.server.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logf("simnode: kubelet server of node %s stopped: %v", n.spec.Name, err)
			}
		}()
	}
	ok = true
	return s, nil
}

func validate(cfg *Config) error {
	switch {
	case cfg.Client == nil:
		return errors.New("simnode: Config.Client is nil; pass a clientset for the test API server")
	case len(cfg.Nodes) == 0:
		return errors.New("simnode: Config.Nodes is empty; describe at least one node")
	case cfg.WorkDir == "":
		return errors.New("simnode: Config.WorkDir is empty; pass a folder for the pods' sandboxes (t.TempDir())")
	case len(cfg.ServingCert.Certificate) == 0:
		return errors.New("simnode: Config.ServingCert is empty; pass a kubelet serving certificate valid for 127.0.0.1")
	case cfg.ClientCAs == nil:
		return errors.New("simnode: Config.ClientCAs is nil; pass the CA that signed the API server's kubelet client certificate")
	}
	cfg.Nodes = slices.Clone(cfg.Nodes) // scenarios are made absolute below, not in the caller's slice
	seen := map[string]bool{}
	for i := range cfg.Nodes {
		n := &cfg.Nodes[i]
		if n.Name == "" {
			return fmt.Errorf("simnode: node %d has no name", i)
		}
		if seen[n.Name] {
			return fmt.Errorf("simnode: node name %q appears twice; node names must be unique", n.Name)
		}
		seen[n.Name] = true
		if n.OS != "windows" && n.OS != "linux" {
			return fmt.Errorf("simnode: node %s has OS %q; use \"windows\" or \"linux\"", n.Name, n.OS)
		}
		if n.Scenario != "" {
			abs, err := filepath.Abs(n.Scenario)
			if err != nil {
				return fmt.Errorf("simnode: scenario folder of node %s: %w", n.Name, err)
			}
			n.Scenario = abs
		}
	}
	return nil
}

// Stop ends the pod loop, the kubelet servers and every running exec (killing the programs
// they started), and waits for them. Nodes and pods are left in the API server.
func (s *Sim) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		pods := make([]*podState, 0, len(s.pods))
		for _, p := range s.pods {
			pods = append(pods, p)
		}
		s.mu.Unlock()
		s.cancel()
		s.queue.ShutDown()
		for _, n := range s.order {
			// Close does not end hijacked (upgraded) connections: cancelling s.ctx does,
			// by ending the execs that hold them.
			_ = n.server.Close()
		}
		for _, p := range pods {
			p.cancel()
		}
		s.execWG.Wait()
		s.workers.Wait()
		if s.cfg.Pktmon != "" {
			// A capture the test left running is a background process of the simulated
			// pktmon; it exits once its node's state folder is gone.
			_ = os.RemoveAll(filepath.Join(s.cfg.WorkDir, "pktmon"))
		}
	})
}

// ExecCount is the number of exec commands the simulator has run.
func (s *Sim) ExecCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.execs)
}

// Execs lists the exec commands received so far, oldest first.
func (s *Sim) Execs() []ExecRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ExecRecord, len(s.execs))
	for i, e := range s.execs {
		e.Argv = slices.Clone(e.Argv)
		out[i] = e
	}
	return out
}

// NodePort is the kubelet port of a simulated node.
func (s *Sim) NodePort(name string) (int, bool) {
	n, ok := s.nodes[name]
	if !ok {
		return 0, false
	}
	return n.port, true
}

// SandboxDir is the Linux folder standing in for C:\hpc\ of the pod (WorkDir/<uid>/hpc).
// It exists while the pod runs and is removed when the pod is deleted.
func (s *Sim) SandboxDir(pod *corev1.Pod) string {
	return filepath.Join(s.cfg.WorkDir, sandboxName(pod), "hpc")
}

func (s *Sim) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// registerNodes registers every node, a few at a time: a 100-node fan-out is 300 calls.
func (s *Sim) registerNodes(ctx context.Context) error {
	sem := make(chan struct{}, 10)
	errs := make([]error, len(s.order))
	var wg sync.WaitGroup
	for i, n := range s.order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.registerNode(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// registerNode creates or updates the Node object, then writes its status.
func (s *Sim) registerNode(ctx context.Context, n *simNode) error {
	want := s.nodeObject(n)
	nodes := s.cfg.Client.CoreV1().Nodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cur, err = nodes.Create(ctx, want.DeepCopy(), metav1.CreateOptions{})
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else {
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			for k, v := range want.Labels {
				cur.Labels[k] = v
			}
			cur.Spec.Taints = want.Spec.Taints
			cur.Spec.Unschedulable = false
			if cur.Spec.PodCIDR == "" {
				// podCIDR may only change from empty.
				cur.Spec.PodCIDR, cur.Spec.PodCIDRs = want.Spec.PodCIDR, want.Spec.PodCIDRs
			}
			if cur, err = nodes.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		cur.Status = want.Status
		_, err = nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("registering simulated node %s with the API server: %w", n.spec.Name, err)
	}
	return nil
}

func (n *simNode) subnet() string {
	return fmt.Sprintf("10.%d.%d", 244+n.index/256, n.index%256)
}

func (s *Sim) nodeObject(n *simNode) *corev1.Node {
	spec := n.spec
	labels := map[string]string{
		corev1.LabelOSStable:      spec.OS,
		corev1.LabelArchStable:    "amd64",
		corev1.LabelHostname:      spec.Name,
		"beta.kubernetes.io/os":   spec.OS,
		"beta.kubernetes.io/arch": "amd64",
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	taints := spec.Taints
	if taints == nil && spec.OS == "windows" {
		taints = []corev1.Taint{{Key: "os", Value: "windows", Effect: corev1.TaintEffectNoSchedule}}
	}
	taints = slices.Clone(taints)
	info := corev1.NodeSystemInfo{
		MachineID:               fmt.Sprintf("sim%029d", n.index),
		SystemUUID:              fmt.Sprintf("00000000-0000-0000-0000-%012d", n.index),
		BootID:                  fmt.Sprintf("sim-boot-%d", n.index),
		OperatingSystem:         spec.OS,
		Architecture:            "amd64",
		KubeletVersion:          KubeletVersion,
		ContainerRuntimeVersion: "containerd://1.7.22",
	}
	if spec.OS == "windows" {
		labels[LabelWindowsBuild] = WindowsBuild
		info.OSImage = "Windows Server 2022 Datacenter"
		info.KernelVersion = WindowsBuild + ".2762"
	} else {
		info.OSImage = "Debian GNU/Linux 12 (bookworm)"
		info.KernelVersion = "6.1.0-28-amd64"
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}
	if spec.NotReady {
		ready.Status, ready.Reason = corev1.ConditionFalse, "KubeletNotReady"
		ready.Message = spec.NotReadyMessage
		if ready.Message == "" {
			ready.Message = "container runtime is down"
		}
		taints = append(taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
	}
	pressure := func(t corev1.NodeConditionType, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	cidr := n.subnet() + ".0/24"
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints, PodCIDR: cidr, PodCIDRs: []string{cidr}},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Conditions: []corev1.NodeCondition{
				pressure(corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				pressure(corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				pressure(corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				ready,
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: corev1.NodeHostName, Address: spec.Name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.port)}},
			NodeInfo:        info,
		},
	}
}
