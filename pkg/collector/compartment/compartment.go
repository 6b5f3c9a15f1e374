// Package compartment is the collector source that works from inside the target pod's
// network compartment on a Windows node: it finds the compartment (pod IP -> HNS endpoint ->
// HCN namespace -> compartment ID), moves OS threads into it with
// SetCurrentThreadCompartmentId, reads the pod's adapters, routes and DNS servers there, and
// runs the pod-scoped probes (--probe-from pod) from there, so a pod image without PowerShell
// or nslookup can still be tested.
//
// Thread discipline: each such thread belongs to a goroutine that calls runtime.LockOSThread
// and never unlocks, so no other goroutine ever runs in the pod's compartment, and the runtime
// ends the thread when the goroutine returns. Sockets belong to the compartment of the thread
// that creates them; package probe makes every socket call from the calling goroutine.
//
// When the compartment cannot be entered (this Windows, or Wine, lacks the compartment
// functions; HNS does not know the pod's IP; the pod is Hyper-V isolated, its compartment
// inside a utility VM), the source emits one error record that says why and every pod-scoped
// probe as skipped (Method "pod-compartment"), so the plugin can fall back to exec into the pod.
//
// The Windows calls sit behind System (compartment_windows.go); the lookup, the thread
// orchestration and the records are here, tested on Linux.
package compartment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// SourceName names the source in the stream (like the first artifact it emits).
const SourceName = wire.KindPodCompartment

// HostCompartment is the host's network compartment.
const HostCompartment = 1

// ErrCannotEnter opens every error that means the pod's compartment was not entered.
var ErrCannotEnter = errors.New("cannot enter the network compartment")

// ErrHyperV says the pod is Hyper-V isolated: its compartment is inside a utility VM.
var ErrHyperV = errors.New("the pod is Hyper-V isolated: its network compartment lives inside its utility VM, which the host cannot enter")

// errNoEndpoint says no HNS endpoint holds the pod's IP: a hostNetwork pod has none.
var errNoEndpoint = errors.New("no HCN endpoint holds IP")

// System is what the source needs from Windows; tests fake it.
type System interface {
	// Supported returns why this system cannot move a thread between compartments, or nil.
	Supported() error
	// List returns one HCN listing as a JSON array: wire.KindHCNEndpoints or
	// wire.KindHCNNamespaces.
	List(ctx context.Context, kind string) ([]byte, error)
	// Enter moves the calling thread, which the caller has locked for good, into compartment
	// id and checks that it arrived.
	Enter(id uint32) error
	// Adapters and Routes read the calling thread's compartment.
	Adapters() ([]wire.Adapter, error)
	Routes() ([]wire.Route, error)
}

// Source reads the pod's compartment and runs the pod-scoped probes there.
type Source struct {
	PodIP   netip.Addr
	Targets []probe.Target // pod-scoped probes; none when the probes run from the host
	Probe   probe.Options
	Sys     System
	// run runs one probe; probe.Run unless a test replaces it.
	run func(context.Context, probe.Target, probe.Options) wire.ProbeData
}

func (s *Source) Name() string { return SourceName }

func (s *Source) Collect(ctx context.Context, out collector.Emitter) error {
	cannot := func(why error) error {
		err := fmt.Errorf("%w of pod %s: %w", ErrCannotEnter, s.PodIP, why)
		for _, t := range s.Targets {
			if e := out.Probe(probe.Skipped(t, wire.ProbeMethodPodCompartment, err.Error()+"; run this probe from inside the pod (kubectl exec) instead")); e != nil {
				return e
			}
		}
		what := "its adapters, routes and DNS servers are not read"
		if n := len(s.Targets); n > 0 {
			what += fmt.Sprintf(" and its %d pod-scoped probe(s) are skipped; run them from inside the pod (kubectl exec) instead", n)
		}
		return fmt.Errorf("%w; %s", err, what)
	}
	if err := s.Sys.Supported(); err != nil {
		return cannot(err)
	}
	loc, err := Locate(ctx, s.PodIP, s.Sys.List)
	if errors.Is(err, errNoEndpoint) && s.onHostNetwork() {
		loc, err = Location{Compartment: HostCompartment, FoundIn: "host"}, nil
	}
	if err != nil {
		return cannot(err)
	}
	if err := out.Artifact(wire.KindPodCompartment, loc.record(s.PodIP)); err != nil {
		return err
	}

	var st state
	err = onThread(ctx, s.Sys, loc.Compartment, func() {
		st.adapters, st.adaptersErr = s.Sys.Adapters()
		st.routes, st.routesErr = s.Sys.Routes()
	})
	if err != nil {
		return cannot(fmt.Errorf("compartment %d: %w", loc.Compartment, err))
	}
	if err := s.emitState(out, loc, st); err != nil {
		return err
	}
	for _, p := range s.probes(ctx, loc.Compartment) {
		if err := out.Probe(p); err != nil {
			return err
		}
	}
	return nil
}

// state is what the compartment's IP Helper tables said.
type state struct {
	adapters    []wire.Adapter
	adaptersErr error
	routes      []wire.Route
	routesErr   error
}

// onHostNetwork reports whether the pod's IP is one of the host's: a hostNetwork pod has no
// endpoint of its own and lives in the host's compartment. The calling thread is in the host
// compartment: threads moved elsewhere never go back to the runtime's pool.
func (s *Source) onHostNetwork() bool {
	adapters, err := s.Sys.Adapters()
	if err != nil {
		return false
	}
	for _, a := range adapters {
		for _, ip := range a.Addresses {
			if ip.Address == s.PodIP.String() {
				return true
			}
		}
	}
	return false
}

// emitState emits the pod's adapters, DNS client and routes, or says why one is missing.
func (s *Source) emitState(out collector.Emitter, loc Location, st state) error {
	if st.adaptersErr != nil {
		if err := out.Error(fmt.Errorf("reading the adapters of pod %s's compartment %d: %w; its adapters and DNS servers are not reported", s.PodIP, loc.Compartment, st.adaptersErr)); err != nil {
			return err
		}
	} else {
		if err := out.Artifact(wire.KindPodAdapters, st.adapters); err != nil {
			return err
		}
		var servers [][]string
		for _, a := range st.adapters {
			if a.Status == "Up" {
				servers = append(servers, a.DNSServers)
			}
		}
		dns := hostparse.DNSClient(servers, hostparse.TcpipParameters{SearchList: strings.Join(loc.DNSSearch, ",")})
		if err := out.Artifact(wire.KindPodDNS, dns); err != nil {
			return err
		}
	}
	if st.routesErr != nil {
		return out.Error(fmt.Errorf("reading the routes of pod %s's compartment %d: %w; its routes are not reported", s.PodIP, loc.Compartment, st.routesErr))
	}
	for i := range st.routes {
		st.routes[i].Compartment = int(loc.Compartment)
	}
	return out.Artifact(wire.KindPodRoutes, st.routes)
}

// probes runs every pod-scoped probe on its own thread in the compartment, a few at a time,
// and returns the records in the order of the targets.
func (s *Source) probes(ctx context.Context, id uint32) []wire.ProbeData {
	run := s.run
	if run == nil {
		run = probe.Run
	}
	return probe.RunAll(s.Targets, func(t probe.Target) wire.ProbeData {
		var ran wire.ProbeData
		p := &ran
		if err := onThread(ctx, s.Sys, id, func() { ran = run(ctx, t, s.Probe) }); err != nil {
			// ran may still be written by the abandoned thread: build the record apart.
			skipped := probe.Skipped(t, "", fmt.Sprintf("%v of pod %s: compartment %d: %v; run this probe from inside the pod (kubectl exec) instead", ErrCannotEnter, s.PodIP, id, err))
			p = &skipped
		}
		p.Method = wire.ProbeMethodPodCompartment
		return *p
	})
}

// onThread runs fn on a new goroutine locked to its OS thread, after moving that thread into
// compartment id. The goroutine never unlocks: the thread must not go back to the runtime's
// pool while it is in the pod's compartment, and the runtime ends a thread whose goroutine
// returns locked. fn does not run when the thread could not enter. When ctx ends first,
// onThread returns its error and the thread finishes on its own: fn's results may then be
// written later, so the caller reads them only after a nil error.
func onThread(ctx context.Context, sys System, id uint32, fn func()) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			// This goroutine is not the source's: a panic here would end the collector.
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic in compartment %d: %v; this is a collector bug, please report it", id, r)
			}
		}()
		if err := sys.Enter(id); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Location is where the pod's network lives.
type Location struct {
	Compartment   uint32
	EndpointID    string
	NamespaceID   string
	NamespaceType string
	DNSSearch     []string // the endpoint's DNS suffix search list
	FoundIn       string   // "hcn", or "host" for a pod on the host's network
}

func (l Location) record(podIP netip.Addr) wire.PodCompartment {
	return wire.PodCompartment{PodIP: podIP.String(), Compartment: int(l.Compartment), EndpointID: l.EndpointID,
		NamespaceID: l.NamespaceID, NamespaceType: l.NamespaceType, FoundIn: l.FoundIn}
}

// Locate finds the compartment of the pod with podIP from HCN: the v2 endpoint holding the
// IP, its namespace, and the namespace's compartment. list reads one listing (System.List).
// (The HNS v1 endpoints carry the compartment too, as CompartmentId or CompartmendId, but any
// node with compartments has HCN v2, and the collector's size budget has no room for both.)
func Locate(ctx context.Context, podIP netip.Addr, list func(context.Context, string) ([]byte, error)) (Location, error) {
	endpoints, err := list(ctx, wire.KindHCNEndpoints)
	if err != nil {
		return Location{}, err
	}
	namespaces, err := list(ctx, wire.KindHCNNamespaces)
	if err != nil {
		return Location{}, err
	}
	return FromHCN(podIP, endpoints, namespaces)
}

// hcnEndpoint and hcnNamespace are the fields of HCN v2's HostComputeEndpoint and
// HostComputeNamespace that the lookup needs.
type hcnEndpoint struct {
	ID                   string
	HostComputeNamespace string
	IpConfigurations     []struct{ IpAddress string }
	Dns                  struct{ Search []string }
}

type hcnNamespace struct {
	ID            string
	NamespaceId   uint32 // the compartment ID
	CompartmentId uint32 // older builds' name for it, read when NamespaceId is absent
	Type          string // Host, HostDefault, Guest, GuestDefault
}

// FromHCN finds the compartment in HCN v2 listings: the endpoint whose IpConfigurations hold
// podIP, its HostComputeNamespace, and that namespace's NamespaceId.
func FromHCN(podIP netip.Addr, endpointsJSON, namespacesJSON []byte) (Location, error) {
	var eps []hcnEndpoint
	if err := json.Unmarshal(endpointsJSON, &eps); err != nil {
		return Location{}, fmt.Errorf("reading the HCN endpoint list: %w", err)
	}
	var found *hcnEndpoint
	unattached := ""
	for i, ep := range eps {
		if !holdsIP(ep, podIP) {
			continue
		}
		if ep.HostComputeNamespace == "" {
			unattached = ep.ID
			continue
		}
		found = &eps[i]
		break
	}
	if found == nil {
		if unattached != "" {
			return Location{}, fmt.Errorf("the HCN endpoint %s holds IP %s but belongs to no namespace: it is a remote endpoint (the pod runs on another node) or the pod's sandbox is gone", unattached, podIP)
		}
		return Location{}, fmt.Errorf("%w %s: the pod runs on another node or its sandbox is gone", errNoEndpoint, podIP)
	}
	var nss []hcnNamespace
	if err := json.Unmarshal(namespacesJSON, &nss); err != nil {
		return Location{}, fmt.Errorf("reading the HCN namespace list: %w", err)
	}
	for _, ns := range nss {
		if !strings.EqualFold(trimGUID(ns.ID), trimGUID(found.HostComputeNamespace)) {
			continue
		}
		loc := Location{EndpointID: found.ID, NamespaceID: ns.ID, NamespaceType: ns.Type, DNSSearch: found.Dns.Search, FoundIn: "hcn"}
		if strings.HasPrefix(strings.ToLower(ns.Type), "guest") {
			return loc, fmt.Errorf("%w (HCN namespace %s of endpoint %s has type %s)", ErrHyperV, ns.ID, found.ID, ns.Type)
		}
		if loc.Compartment = ns.NamespaceId; loc.Compartment == 0 {
			loc.Compartment = ns.CompartmentId
		}
		if loc.Compartment == 0 {
			return Location{}, fmt.Errorf("HCN namespace %s of endpoint %s reports no compartment (no NamespaceId)", ns.ID, found.ID)
		}
		return loc, nil
	}
	return Location{}, fmt.Errorf("the HCN endpoint %s of IP %s names namespace %s, which HCN does not list: the pod's sandbox is being torn down or rebuilt", found.ID, podIP, found.HostComputeNamespace)
}

func holdsIP(ep hcnEndpoint, ip netip.Addr) bool {
	for _, c := range ep.IpConfigurations {
		if a, err := netip.ParseAddr(c.IpAddress); err == nil && a.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

func trimGUID(s string) string { return strings.Trim(s, "{}") }
