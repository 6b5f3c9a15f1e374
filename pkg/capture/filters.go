package capture

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/pktmon"
)

// FilterInput is what a capture's pktmon filters are made from.
type FilterInput struct {
	// Source is the captured pod's IP; invalid for a node target. Who names it in messages
	// (e.g. "pod shop/web-0"); empty is "the pod".
	Source netip.Addr
	Who    string
	// To is the --to destination, resolved; nil when none was given. Endpoints are its ready
	// backends when it is a Service (pathplan.ReadyEndpoints).
	To        *pathplan.Resolved
	Endpoints []pathplan.Endpoint
	// User are the --filter alternatives.
	User []pktmon.Filter
}

// Filters makes the pktmon filters of a capture: a packet is captured when it matches one.
//
// With --to, the traffic is that between the source (a pod; for a node target, any host)
// and each destination address: one filter per address, with the port when --to gives one.
// A Service's destinations are its ClusterIP with the service port and each ready backend
// with its target port, because the node's HNS load balancer rewrites the VIP to a backend
// before the packet leaves the node, so a capture on the VIP alone would miss the flow. --to
// narrows by address and port, never by protocol.
//
// Each --filter is intersected with that traffic (a packet must match both): its hosts must
// be ends of it, and its ports and protocol are added. Without --to, a pod target narrows
// each --filter to the pod's IP the same way. Nil (no --to, no --filter) means no filter:
// the collector then narrows to the pod's IP on its own (--pod-ip), or captures everything.
//
// It fails, saying what to do, when a --filter cannot match that traffic at all or when more
// filters would be needed than pktmon takes (pktmon.MaxFilters).
func Filters(in FilterInput) (filters []pktmon.Filter, notes []string, err error) {
	var base []pktmon.Filter
	switch {
	case in.To != nil:
		peers, pnotes, err := destinations(in)
		if err != nil {
			return nil, nil, err
		}
		notes = pnotes
		for _, p := range peers {
			f := pktmon.Filter{IPs: []netip.Addr{p.ip}}
			if in.Source.IsValid() {
				f.IPs = []netip.Addr{in.Source, p.ip}
			}
			if p.port > 0 {
				f.Ports = []uint16{p.port}
			}
			base = append(base, f)
		}
	case in.Source.IsValid() && len(in.User) > 0:
		base = []pktmon.Filter{{IPs: []netip.Addr{in.Source}}}
	default:
		return in.User, nil, nil
	}

	out := base
	if len(in.User) > 0 {
		out = nil
		seen := map[string]bool{}
		for _, u := range in.User {
			matched := false
			for _, b := range base {
				f, ok := intersect(u, b)
				if !ok {
					continue
				}
				matched = true
				if k := f.Arg(); !seen[k] {
					seen[k] = true
					out = append(out, f)
				}
			}
			if !matched {
				return nil, nil, noCommonTraffic(in, u)
			}
		}
	}
	if len(out) > pktmon.MaxFilters {
		return nil, nil, tooManyFilters(in, len(base), len(out))
	}
	return out, notes, nil
}

// peer is one address the captured traffic goes to or comes from.
type peer struct {
	ip   netip.Addr
	port uint16 // 0: any
}

// destinations are the addresses of --to, each once, without the source itself.
func destinations(in FilterInput) (peers []peer, notes []string, err error) {
	to := in.To
	seen := map[peer]bool{}
	skippedFamily := 0
	add := func(ip string, port int, backend bool) {
		a, perr := netip.ParseAddr(ip)
		if perr != nil {
			notes = append(notes, fmt.Sprintf("%q (of --to %s) is not an IP address; it is left out of the capture", ip, to.Target.String()))
			return
		}
		a = a.Unmap()
		if in.Source.IsValid() && a.Is4() != in.Source.Is4() {
			skippedFamily++
			return
		}
		if a == in.Source {
			if backend {
				notes = append(notes, fmt.Sprintf("%s is itself one of the Service's backends: what it sends itself through the VIP is captured on the VIP's side only", who(in)))
			}
			return
		}
		p := peer{ip: a, port: uint16(port)}
		if !seen[p] {
			seen[p] = true
			peers = append(peers, p)
		}
	}
	switch to.Target.Kind {
	case pathplan.KindService:
		portGiven := to.Target.Port != ""
		port := 0
		if portGiven {
			port = to.Port
		}
		add(to.IP, port, false)
		if len(in.Endpoints) == 0 {
			notes = append(notes, fmt.Sprintf("Service %s/%s has no ready endpoints: only traffic to its VIP is captured", to.Namespace, to.Target.Name))
		}
		for _, ep := range in.Endpoints {
			bport := 0
			if portGiven {
				bport = ep.Port
				if bport == 0 {
					bport = numericTargetPort(to.ServicePort)
				}
				if bport == 0 {
					notes = append(notes, fmt.Sprintf("the target port of backend %s is not known (its EndpointSlice has no port for the Service's port %d): its traffic is captured on every port", ep.IP, to.Port))
				}
			}
			add(ep.IP, bport, true)
		}
	case pathplan.KindPod, pathplan.KindIP:
		add(to.IP, to.Port, false)
	case pathplan.KindHost:
		return nil, nil, hostRefused(to.Target)
	default:
		return nil, nil, fmt.Errorf("--to %s: this kind of destination cannot be captured", to.Target.String())
	}
	if skippedFamily > 0 {
		family := "IPv6"
		if in.Source.Is6() {
			family = "IPv4"
		}
		notes = append(notes, fmt.Sprintf("%d %s address(es) of --to %s left out: %s's IP %s is of the other family", skippedFamily, family, to.Target.String(), who(in), in.Source))
	}
	if len(peers) == 0 {
		return nil, nil, fmt.Errorf("--to %s leaves no traffic to capture: its only address is %s's own, or of the other IP family; give another destination, or drop --to", to.Target.String(), who(in))
	}
	return peers, notes, nil
}

// numericTargetPort is a Service port's targetPort when it is a number (a name resolves per
// pod, which only the EndpointSlice says), else 0.
func numericTargetPort(sp *corev1.ServicePort) int {
	if sp == nil {
		return 0
	}
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal > 0 {
			return int(sp.TargetPort.IntVal)
		}
		return int(sp.Port) // unset: the API server's default is the port itself
	}
	return 0
}

// intersect is the filter matching what both a and b match, if any packet can: pktmon
// matches one IP (port) as either end, two as the two ends, so the union of two filters'
// addresses (ports) must hold at most two.
func intersect(a, b pktmon.Filter) (pktmon.Filter, bool) {
	var f pktmon.Filter
	switch {
	case a.Protocol == "" || a.Protocol == b.Protocol:
		f.Protocol = b.Protocol
	case b.Protocol == "":
		f.Protocol = a.Protocol
	default:
		return f, false
	}
	f.IPs = union(a.IPs, b.IPs)
	f.Ports = union(a.Ports, b.Ports)
	if len(f.IPs) > 2 || len(f.Ports) > 2 || f.Protocol == "ICMP" && len(f.Ports) > 0 {
		return f, false
	}
	return f, true
}

func union[T comparable](a, b []T) []T {
	out := append([]T(nil), a...)
	for _, x := range b {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

func who(in FilterInput) string {
	if in.Who != "" {
		return in.Who
	}
	return "the pod"
}

// between describes the traffic the filters select before --filter.
func between(in FilterInput) string {
	switch {
	case in.To != nil && in.Source.IsValid():
		return fmt.Sprintf("traffic between %s (%s) and --to %s", who(in), in.Source, in.To.Target.String())
	case in.To != nil:
		return "traffic to and from --to " + in.To.Target.String()
	}
	return fmt.Sprintf("the traffic of %s (%s)", who(in), in.Source)
}

func noCommonTraffic(in FilterInput, u pktmon.Filter) error {
	if in.To == nil {
		return fmt.Errorf("--filter %q cannot match %s: a pod capture narrows every --filter to the pod's IP, and a filter holds at most two hosts (traffic between them); drop a host, or capture the node (node/NAME) to see traffic between other hosts",
			u.String(), between(in))
	}
	return fmt.Errorf("--filter %q cannot match any %s: with --to, each --filter narrows that traffic, so a host it names must be one of its ends, it adds at most one port (pktmon matches at most two), and its protocol must be the same for all; drop the --filter or change --to",
		u.String(), between(in))
}

func tooManyFilters(in FilterInput, pairs, total int) error {
	var why string
	switch {
	case in.To.Target.Kind == pathplan.KindService:
		why = fmt.Sprintf("1 for the Service's VIP and 1 for each of its %d ready backends", len(in.Endpoints))
	default:
		why = fmt.Sprintf("%d for --to", pairs)
	}
	hints := []string{}
	if len(in.User) > 1 {
		why += fmt.Sprintf(", each narrowed by %d --filter alternatives", len(in.User))
		hints = append(hints, "give fewer --filter alternatives")
	}
	if in.To.Target.Kind == pathplan.KindService {
		hints = append(hints, "capture one backend with --to pod/NAME:PORT")
	}
	port := ""
	if in.To.Port > 0 {
		port = fmt.Sprintf(" (e.g. --filter \"port %d\")", in.To.Port)
	}
	hints = append(hints, "drop --to and narrow with --filter"+port)
	return fmt.Errorf("--to %s needs %d pktmon filters (%s), more than the %d pktmon takes at once; narrow the capture: %s",
		in.To.Target.String(), total, why, pktmon.MaxFilters, strings.Join(hints, ", or "))
}

// hostRefused: a name is resolved by the pod's cluster DNS, which pkg/pathplan leaves to the
// node (diagnose's lookup probe); a capture filters on addresses it must know beforehand.
func hostRefused(t pathplan.Target) error {
	return fmt.Errorf("--to %s names a host: capture filters on addresses, and winnet does not resolve names on your machine (the pod's cluster DNS may answer differently); resolve it and give IP:PORT, or name a Service (svc/NAME[:PORT]) or a pod (pod/NAME:PORT)", t.String())
}

// CheckTo refuses a --to a capture cannot take, before anything runs.
func CheckTo(t pathplan.Target) error {
	if t.Kind == pathplan.KindHost {
		return hostRefused(t)
	}
	return nil
}

// lookupTo resolves --to against the cluster: the Service (and its EndpointSlices) or the pod
// it names, read one by one rather than gathered, in namespace ns unless it names its own.
func lookupTo(ctx context.Context, c kubernetes.Interface, t pathplan.Target, ns string) (*pathplan.Resolved, []pathplan.Endpoint, error) {
	cl := &facts.Cluster{Missing: map[string]string{}}
	tns := t.Namespace
	if tns == "" {
		tns = ns
	}
	if tns == "" {
		tns = metav1.NamespaceDefault
	}
	switch t.Kind {
	case pathplan.KindService:
		svc, err := c.CoreV1().Services(tns).Get(ctx, t.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			cl.Services = []corev1.Service{*svc}
		case !apierrors.IsNotFound(err):
			cl.Missing["services"] = err.Error()
		}
	case pathplan.KindPod:
		pod, err := c.CoreV1().Pods(tns).Get(ctx, t.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			cl.AllPods = []facts.PodInfo{facts.PodInfoFrom(pod)}
		case !apierrors.IsNotFound(err):
			cl.Missing["all-pods"] = err.Error()
		}
	case pathplan.KindHost:
		return nil, nil, hostRefused(t)
	}
	r, err := pathplan.Resolve(cl, t, tns)
	if err != nil {
		return nil, nil, err
	}
	if t.Kind != pathplan.KindService {
		return r, nil, nil
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: t.Name}).String()
	slices, err := c.DiscoveryV1().EndpointSlices(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, nil, fmt.Errorf("--to %s: reading the Service's EndpointSlices: %w\nthe capture needs its ready backends' addresses, since the node rewrites the VIP to one of them; check with: kubectl auth can-i list endpointslices.discovery.k8s.io -n %s, or capture one backend with --to pod/NAME:PORT",
			t.String(), err, r.Namespace)
	}
	cl.EndpointSlices = slices.Items
	return r, pathplan.ReadyEndpoints(cl, r), nil
}
