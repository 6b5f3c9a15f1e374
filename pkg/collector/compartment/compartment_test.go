package compartment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

var podIP = netip.MustParseAddr("10.244.1.5")

func scenarioFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "hack", "scenarios", "healthy-l2bridge", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromHCN(t *testing.T) {
	eps := `[
	 {"ID":"R1","IpConfigurations":[{"IpAddress":"10.244.2.7"}],"Flags":1},
	 {"ID":"E1","HostComputeNamespace":"{8d116ece-1738-47d9-bd9c-172411e20b8f}","IpConfigurations":[{"IpAddress":"10.244.1.5"}],"Dns":{"Search":["shop.svc.cluster.local","cluster.local"]}},
	 {"ID":"E2","HostComputeNamespace":"NS2","IpConfigurations":[{"IpAddress":"fd00::5"},{"IpAddress":"10.244.1.6"}]},
	 {"ID":"E3","HostComputeNamespace":"NS3","IpConfigurations":[{"IpAddress":"10.244.1.7"}]},
	 {"ID":"E4","HostComputeNamespace":"NS4","IpConfigurations":[{"IpAddress":"10.244.1.8"}]},
	 {"ID":"E5","HostComputeNamespace":"GONE","IpConfigurations":[{"IpAddress":"10.244.1.9"}]}
	]`
	nss := `[
	 {"ID":"8D116ECE-1738-47D9-BD9C-172411E20B8F","NamespaceId":2,"Type":"Host"},
	 {"ID":"NS2","CompartmentId":7,"Type":"HostDefault"},
	 {"ID":"NS3","Type":"Host"},
	 {"ID":"NS4","NamespaceId":4,"Type":"Guest"}
	]`
	tests := []struct {
		ip      string
		eps     string
		want    Location
		wantErr string
		hyperV  bool
	}{
		{ip: "10.244.1.5", want: Location{Compartment: 2, EndpointID: "E1", NamespaceID: "8D116ECE-1738-47D9-BD9C-172411E20B8F", NamespaceType: "Host",
			DNSSearch: []string{"shop.svc.cluster.local", "cluster.local"}, FoundIn: "hcn"}},
		{ip: "10.244.1.6", want: Location{Compartment: 7, EndpointID: "E2", NamespaceID: "NS2", NamespaceType: "HostDefault", FoundIn: "hcn"}},
		{ip: "10.244.2.7", wantErr: "HCN endpoint R1 holds IP 10.244.2.7 but belongs to no namespace: it is a remote endpoint"},
		{ip: "10.244.9.9", wantErr: "no HCN endpoint holds IP 10.244.9.9: the pod runs on another node or its sandbox is gone"},
		{ip: "10.244.1.7", wantErr: "HCN namespace NS3 of endpoint E3 reports no compartment"},
		{ip: "10.244.1.8", wantErr: "has type Guest", hyperV: true},
		{ip: "10.244.1.9", wantErr: "names namespace GONE, which HCN does not list"},
		{ip: "10.244.1.5", eps: `{"ID":"E1"}`, wantErr: "reading the HCN endpoint list"},
	}
	for _, tt := range tests {
		t.Run(tt.ip+tt.eps, func(t *testing.T) {
			e := eps
			if tt.eps != "" {
				e = tt.eps
			}
			got, err := FromHCN(netip.MustParseAddr(tt.ip), []byte(e), []byte(nss))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrHyperV) != tt.hyperV {
					t.Errorf("FromHCN = %+v, %v; want error %q (Hyper-V: %v)", got, err, tt.wantErr, tt.hyperV)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("FromHCN = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFromHCNScenario(t *testing.T) {
	for ip, want := range map[string]uint32{"10.244.1.5": 2, "10.244.1.6": 3} {
		loc, err := FromHCN(netip.MustParseAddr(ip), scenarioFile(t, "hns-endpoints.json"), scenarioFile(t, "hns-namespaces.json"))
		if err != nil || loc.Compartment != want {
			t.Errorf("pod %s: %+v, %v; want compartment %d", ip, loc, err, want)
		}
	}
}

// fakeSystem plays Windows. It remembers which OS threads entered which compartment, so the
// tests can check that state reads and probes run only on threads that entered.
type fakeSystem struct {
	unsupported error
	lists       map[string]string // kind -> JSON; a missing kind fails like a host without HNS
	enterErr    func(call int) error
	adaptersErr error
	panicIn     string

	mu      sync.Mutex
	calls   int
	entered map[int]uint32 // thread -> compartment
	listed  []string
}

func (f *fakeSystem) Supported() error { return f.unsupported }

func (f *fakeSystem) List(_ context.Context, kind string) ([]byte, error) {
	f.mu.Lock()
	f.listed = append(f.listed, kind)
	f.mu.Unlock()
	s, ok := f.lists[kind]
	if !ok {
		return nil, fmt.Errorf("%s: HNS/HCN is not available on this host", kind)
	}
	return []byte(s), nil
}

func (f *fakeSystem) Enter(id uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.enterErr != nil {
		if err := f.enterErr(f.calls); err != nil {
			return err
		}
	}
	if f.entered == nil {
		f.entered = map[int]uint32{}
	}
	f.entered[threadID()] = id
	return nil
}

// where says which compartment the calling thread is in, as far as the fake knows.
func (f *fakeSystem) where() (uint32, bool) {
	tid := threadID()
	if tid < 0 {
		return 0, true // no thread IDs on this OS: nothing to check
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.entered[tid]
	return id, ok
}

// Adapters and Routes answer for the host on a thread that entered no compartment.
func (f *fakeSystem) Adapters() ([]wire.Adapter, error) {
	if _, ok := f.where(); !ok {
		return []wire.Adapter{{Name: "Ethernet (host)", Status: "Up", Addresses: []wire.IPAddress{{Address: "10.0.0.5", PrefixLength: 24}}}}, nil
	}
	if f.panicIn == "adapters" {
		panic("boom")
	}
	if f.adaptersErr != nil {
		return nil, f.adaptersErr
	}
	return []wire.Adapter{
		{Name: "vEthernet (pod)", Compartment: 2, Status: "Up", DNSServers: []string{"10.96.0.10", "fec0:0:0:ffff::1"}},
		{Name: "Loopback Pseudo-Interface 2", Compartment: 2, Status: "Up"},
		{Name: "down", Compartment: 2, Status: "Down", DNSServers: []string{"10.0.0.1"}},
	}, nil
}

func (f *fakeSystem) Routes() ([]wire.Route, error) {
	if _, ok := f.where(); !ok {
		return []wire.Route{{Destination: "0.0.0.0/0", NextHop: "10.0.0.1", Compartment: 1}}, nil
	}
	return []wire.Route{{Destination: "0.0.0.0/0", NextHop: "10.244.1.1", Compartment: 1}}, nil
}

// fakeEmitter records what the source emits.
type fakeEmitter struct {
	mu        sync.Mutex
	artifacts map[string]string
	kinds     []string
	errs      []string
	probes    []wire.ProbeData
}

func (e *fakeEmitter) Artifact(kind string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.artifacts == nil {
		e.artifacts = map[string]string{}
	}
	e.artifacts[kind] = string(b)
	e.kinds = append(e.kinds, kind)
	return nil
}
func (e *fakeEmitter) RawArtifact(kind string, raw []byte) error {
	return e.Artifact(kind, json.RawMessage(raw))
}
func (e *fakeEmitter) Error(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err.Error())
	return nil
}
func (e *fakeEmitter) Logf(string, ...any) {}
func (e *fakeEmitter) Probe(p wire.ProbeData) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.probes = append(e.probes, p)
	return nil
}

func targets(t *testing.T, specs ...string) []probe.Target {
	t.Helper()
	var out []probe.Target
	for _, s := range specs {
		tg, err := probe.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func TestCollect(t *testing.T) {
	hcn := map[string]string{
		wire.KindHCNEndpoints:  `[{"ID":"E1","HostComputeNamespace":"NS1","IpConfigurations":[{"IpAddress":"10.244.1.5"}],"Dns":{"Search":["shop.svc.cluster.local","cluster.local"]}}]`,
		wire.KindHCNNamespaces: `[{"ID":"NS1","NamespaceId":2,"Type":"Host"}]`,
	}
	hyperV := map[string]string{
		wire.KindHCNEndpoints:  hcn[wire.KindHCNEndpoints],
		wire.KindHCNNamespaces: `[{"ID":"NS1","NamespaceId":2,"Type":"Guest"}]`,
	}
	specs := []string{"dns:kubernetes.default.svc.cluster.local@10.96.0.10", "tcp:10.96.12.34:80", "udp:10.96.0.10:53"}
	tests := []struct {
		name      string
		sys       *fakeSystem
		podIP     string // 10.244.1.5 when empty
		inside    uint32 // the compartment the probes must run in; 2 when zero
		specs     []string
		wantKinds []string
		wantErr   string   // the source's returned error
		wantRecs  []string // error records
		verdicts  []string
		probeErr  string // what a skipped probe says
		notListed string // a listing that must not be read
		wantLoc   string // what the pod.compartment artifact must hold
	}{
		{name: "entered", sys: &fakeSystem{lists: hcn}, specs: specs,
			wantKinds: []string{wire.KindPodCompartment, wire.KindPodAdapters, wire.KindPodDNS, wire.KindPodRoutes},
			verdicts:  []string{"ok", "ok", "ok"}, wantLoc: `"compartment":2,"endpointId":"E1","namespaceId":"NS1","namespaceType":"Host","foundIn":"hcn"`},
		{name: "host network pod", sys: &fakeSystem{lists: hcn}, podIP: "10.0.0.5", inside: 1, specs: specs[:1],
			wantKinds: []string{wire.KindPodCompartment, wire.KindPodAdapters, wire.KindPodDNS, wire.KindPodRoutes},
			verdicts:  []string{"ok"}, wantLoc: `{"podIP":"10.0.0.5","compartment":1,"foundIn":"host"}`},
		{name: "pod on another node", sys: &fakeSystem{lists: hcn}, podIP: "10.244.2.9", specs: specs[:1],
			wantErr:  "cannot enter the network compartment of pod 10.244.2.9: no HCN endpoint holds IP 10.244.2.9: the pod runs on another node",
			verdicts: []string{"skipped"}, probeErr: "no HCN endpoint holds IP 10.244.2.9"},
		{name: "no probes", sys: &fakeSystem{lists: hcn},
			wantKinds: []string{wire.KindPodCompartment, wire.KindPodAdapters, wire.KindPodDNS, wire.KindPodRoutes}},
		{name: "no compartment functions", sys: &fakeSystem{lists: hcn, unsupported: errors.New("iphlpapi.dll has no SetCurrentThreadCompartmentId")}, specs: specs,
			wantErr:  "cannot enter the network compartment of pod 10.244.1.5: iphlpapi.dll has no SetCurrentThreadCompartmentId; its adapters, routes and DNS servers are not read and its 3 pod-scoped probe(s) are skipped; run them from inside the pod (kubectl exec) instead",
			verdicts: []string{"skipped", "skipped", "skipped"}, probeErr: "cannot enter the network compartment of pod 10.244.1.5: iphlpapi.dll has no SetCurrentThreadCompartmentId; run this probe from inside the pod",
			notListed: wire.KindHCNEndpoints},
		{name: "no HNS", sys: &fakeSystem{}, specs: specs[:1],
			wantErr:  "cannot enter the network compartment of pod 10.244.1.5: hcn.endpoints: HNS/HCN is not available on this host; its adapters",
			verdicts: []string{"skipped"}, probeErr: "HNS/HCN is not available"},
		{name: "Hyper-V isolated", sys: &fakeSystem{lists: hyperV}, specs: specs[:1],
			wantErr:  "the pod is Hyper-V isolated: its network compartment lives inside its utility VM",
			verdicts: []string{"skipped"}, probeErr: "Hyper-V isolated"},
		{name: "enter refused", sys: &fakeSystem{lists: hcn, enterErr: func(int) error { return errors.New("Access is denied.") }}, specs: specs[:2],
			wantKinds: []string{wire.KindPodCompartment},
			wantErr:   "cannot enter the network compartment of pod 10.244.1.5: compartment 2: Access is denied.",
			verdicts:  []string{"skipped", "skipped"}, probeErr: "compartment 2: Access is denied."},
		{name: "enter refused for one probe", sys: &fakeSystem{lists: hcn, enterErr: func(call int) error {
			if call == 2 { // the state read is call 1; the probes race for the next ones
				return errors.New("Access is denied.")
			}
			return nil
		}}, specs: specs[:1],
			wantKinds: []string{wire.KindPodCompartment, wire.KindPodAdapters, wire.KindPodDNS, wire.KindPodRoutes},
			verdicts:  []string{"skipped"}, probeErr: "cannot enter the network compartment of pod 10.244.1.5: compartment 2: Access is denied."},
		{name: "adapters unreadable", sys: &fakeSystem{lists: hcn, adaptersErr: errors.New("ERROR_NOT_ENOUGH_MEMORY")}, specs: specs[:1],
			wantKinds: []string{wire.KindPodCompartment, wire.KindPodRoutes},
			wantRecs:  []string{"reading the adapters of pod 10.244.1.5's compartment 2: ERROR_NOT_ENOUGH_MEMORY; its adapters and DNS servers are not reported"},
			verdicts:  []string{"ok"}},
		{name: "panic on the compartment thread", sys: &fakeSystem{lists: hcn, panicIn: "adapters"}, specs: specs[:1],
			wantKinds: []string{wire.KindPodCompartment},
			wantErr:   "panic in compartment 2: boom; this is a collector bug",
			verdicts:  []string{"skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgs := targets(t, tt.specs...)
			var ran []string
			var mu sync.Mutex
			ip, inside := podIP, tt.inside
			if tt.podIP != "" {
				ip = netip.MustParseAddr(tt.podIP)
			}
			if inside == 0 {
				inside = 2
			}
			src := &Source{PodIP: ip, Targets: tgs, Sys: tt.sys,
				run: func(_ context.Context, tg probe.Target, _ probe.Options) wire.ProbeData {
					mu.Lock()
					ran = append(ran, tg.String())
					mu.Unlock()
					p := wire.ProbeData{Target: tg.WireTarget(), Protocol: tg.Protocol, Verdict: "ok", Method: "host-" + tg.Protocol}
					if id, ok := tt.sys.where(); !ok || id != inside {
						p.Verdict, p.Error = "fail", fmt.Sprintf("ran in compartment %d (entered: %v), not %d", id, ok, inside)
					}
					return p
				}}
			if src.Name() != "pod.compartment" {
				t.Errorf("Name() = %s", src.Name())
			}
			var out fakeEmitter
			err := src.Collect(context.Background(), &out)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Collect = %v, want error %q", err, tt.wantErr)
			}
			if tt.wantErr != "" && !errors.Is(err, ErrCannotEnter) {
				t.Errorf("the error %v does not wrap ErrCannotEnter", err)
			}
			if !strings.Contains(out.artifacts[wire.KindPodCompartment], tt.wantLoc) {
				t.Errorf("pod.compartment = %s, want %s", out.artifacts[wire.KindPodCompartment], tt.wantLoc)
			}
			if !slices.Equal(out.kinds, tt.wantKinds) {
				t.Errorf("kinds = %v, want %v", out.kinds, tt.wantKinds)
			}
			if !slices.Equal(out.errs, tt.wantRecs) {
				t.Errorf("error records = %q, want %q", out.errs, tt.wantRecs)
			}
			if len(out.probes) != len(tgs) {
				t.Fatalf("%d probe records for %d targets: %+v", len(out.probes), len(tgs), out.probes)
			}
			for i, p := range out.probes {
				if p.Protocol+":"+p.Target != tgs[i].String() || p.Method != "pod-compartment" || p.Verdict != tt.verdicts[i] {
					t.Errorf("probe %d = %+v, want %s %s by pod-compartment (order kept)", i, p, tgs[i], tt.verdicts[i])
				}
				if p.Verdict == "skipped" && !strings.Contains(p.Error, tt.probeErr) {
					t.Errorf("skipped probe %d says %q, want %q", i, p.Error, tt.probeErr)
				}
			}
			if tt.wantErr != "" && len(ran) > 0 {
				t.Errorf("probes ran although the compartment was not entered: %v", ran)
			}
			if tt.notListed != "" && slices.Contains(tt.sys.listed, tt.notListed) {
				t.Errorf("%s was read (%v); it should not be needed here", tt.notListed, tt.sys.listed)
			}
			for _, e := range tt.sys.enterIDs() {
				if e != inside {
					t.Errorf("a thread entered compartment %d, want %d", e, inside)
				}
			}
		})
	}
}

func (f *fakeSystem) enterIDs() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []uint32
	for _, id := range f.entered {
		ids = append(ids, id)
	}
	return ids
}

func TestCollectState(t *testing.T) {
	sys := &fakeSystem{lists: map[string]string{
		wire.KindHCNEndpoints:  `[{"ID":"E1","HostComputeNamespace":"NS1","IpConfigurations":[{"IpAddress":"10.244.1.5"}],"Dns":{"Search":["shop.svc.cluster.local","cluster.local"]}}]`,
		wire.KindHCNNamespaces: `[{"ID":"NS1","NamespaceId":2,"Type":"Host"}]`,
	}}
	var out fakeEmitter
	if err := (&Source{PodIP: podIP, Sys: sys}).Collect(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		wire.KindPodCompartment: `{"podIP":"10.244.1.5","compartment":2,"endpointId":"E1","namespaceId":"NS1","namespaceType":"Host","foundIn":"hcn"}`,
		// Only adapters that are up count, and Windows' site-local placeholder is dropped.
		wire.KindPodDNS:    `{"servers":["10.96.0.10"],"searchList":["shop.svc.cluster.local","cluster.local"]}`,
		wire.KindPodRoutes: `[{"destination":"0.0.0.0/0","nextHop":"10.244.1.1","compartment":2}]`,
	}
	for kind, w := range want {
		if got := out.artifacts[kind]; got != w {
			t.Errorf("%s = %s\nwant %s", kind, got, w)
		}
	}
	if !strings.Contains(out.artifacts[wire.KindPodAdapters], `"name":"vEthernet (pod)"`) {
		t.Errorf("pod.adapters = %s", out.artifacts[wire.KindPodAdapters])
	}
}

func TestOnThreadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	sys := &fakeSystem{}
	cancel()
	err := onThread(ctx, sys, 2, func() { <-release })
	close(release)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("onThread = %v, want the context's cancellation", err)
	}
}
