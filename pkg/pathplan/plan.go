package pathplan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

// DefaultDomain is the cluster domain assumed when the kubelet's is not known before the run.
const DefaultDomain = "cluster.local"

// MaxCoreDNSPods bounds the per-pod DNS probes: a few answering pods already tell a broken VIP
// from broken CoreDNS, and each probe may cost a timeout.
const MaxCoreDNSPods = 3

// Roles of probes: what each one tells pkg/pathexplain.
const (
	RoleClusterDNS    = "cluster-dns"     // the API server's name asked of the kube-dns VIP over UDP
	RoleClusterDNSTCP = "cluster-dns-tcp" // the same over TCP
	RoleCoreDNSPod    = "coredns-pod"     // the same asked of one CoreDNS pod directly
	RoleAPIServer     = "apiserver"       // a TCP handshake with the kubernetes Service's VIP
	RoleTargetDNS     = "target-dns"      // the --to target's name asked of the kube-dns VIP
	RoleTarget        = "target"          // the --to target's address
	RoleExternal      = "external"        // the --external address (or its name's lookup)
)

// Probe is one collector probe and why it is asked.
type Probe struct {
	Spec   string `json:"spec"` // canonical --probe value
	Role   string `json:"role"`
	Detail string `json:"detail,omitempty"` // e.g. which CoreDNS pod
}

// Resolved is the --to target looked up in the cluster.
type Resolved struct {
	Target      Target              `json:"target"`
	Namespace   string              `json:"namespace,omitempty"`
	Service     *corev1.Service     `json:"-"`
	ServicePort *corev1.ServicePort `json:"-"`
	Pod         *facts.PodInfo      `json:"-"`
	DNSName     string              `json:"dnsName,omitempty"` // the name the DNS hop resolves; "" when none is involved
	IP          string              `json:"ip,omitempty"`      // the address dialled; "" when only known after the lookup
	Port        int                 `json:"port"`
	Protocol    string              `json:"protocol"` // TCP, UDP or SCTP
	Probed      bool                `json:"probed"`   // whether a probe dials IP:Port
}

// Input is what a plan is made from.
type Input struct {
	Cluster   *facts.Cluster
	Namespace string // the diagnosed pod's namespace: where svc/NAME and pod/NAME are looked up
	Domain    string // the cluster domain; "" is DefaultDomain
	// Defaults adds the default probe set (cluster DNS, each CoreDNS pod, the API server's
	// VIP): on for pod targets, where the probes run inside the pod.
	Defaults bool
	To       *Target // nil when no --to was given
	External *Target // nil when no --external was given; KindIP or KindHost only
}

// Plan is the probes to ask the collector for, and what they test.
type Plan struct {
	Probes    []Probe   `json:"probes,omitempty"`
	To        *Resolved `json:"to,omitempty"`
	Domain    string    `json:"domain"`
	KubeDNSIP string    `json:"kubeDNSIP,omitempty"`
	Notes     []string  `json:"notes,omitempty"` // what could not be planned, and why
}

// Specs returns the probe specs in order, for the collector's --probe flags.
func (p *Plan) Specs() []string {
	out := make([]string, 0, len(p.Probes))
	for _, pr := range p.Probes {
		out = append(out, pr.Spec)
	}
	return out
}

// Build makes the plan. It fails only when --to names something that does not exist or cannot
// be probed; missing cluster facts become notes, not errors.
func Build(in Input) (*Plan, error) {
	cl := in.Cluster
	if cl == nil {
		cl = &facts.Cluster{}
	}
	p := &Plan{Domain: in.Domain}
	if p.Domain == "" {
		p.Domain = DefaultDomain
	}
	p.Domain = strings.TrimSuffix(strings.ToLower(p.Domain), ".")
	if cl.KubeDNS != nil && isIP(cl.KubeDNS.Spec.ClusterIP) {
		p.KubeDNSIP = cl.KubeDNS.Spec.ClusterIP
	}
	seen := map[string]bool{}
	add := func(spec, role, detail string) error {
		// Specs are written canonical (pkg/collector/probe Target.String: lower-case name, the
		// DNS port written out, IPv6 in brackets), which the tests check, so that a replayed
		// scenario's probes.json entries match them. The same check pkg/nodecmd makes before the command reaches cmd.exe, so a bad spec
		// fails here with its purpose rather than as a refused command line.
		if _, err := nodecmd.Run(strings.Repeat("0", 64), "--probe", spec); err != nil {
			return fmt.Errorf("planning a %s probe: %w", role, err)
		}
		if !seen[spec] {
			seen[spec] = true
			p.Probes = append(p.Probes, Probe{Spec: spec, Role: role, Detail: detail})
		}
		return nil
	}

	if in.Defaults {
		if err := p.defaults(cl, add); err != nil {
			return nil, err
		}
	}
	if in.To != nil {
		r, err := resolve(cl, *in.To, in.Namespace, p.Domain)
		if err != nil {
			return nil, err
		}
		p.To = r
		if r.DNSName != "" {
			if p.KubeDNSIP == "" {
				p.Notes = append(p.Notes, "the kube-dns Service has no ClusterIP known to this run, so the name "+r.DNSName+" was not looked up")
			} else if err := add("dns:"+r.DNSName+"@"+hostPort(p.KubeDNSIP, 53), RoleTargetDNS, r.DNSName); err != nil {
				return nil, err
			}
		}
		switch {
		case r.IP == "":
			p.Notes = append(p.Notes, fmt.Sprintf("%s: the address is known only after the pod's lookup, so the connection to port %d was not tested", r.Target.String(), r.Port))
		case r.Protocol == "TCP" || r.Protocol == "UDP":
			if err := add(strings.ToLower(r.Protocol)+":"+hostPort(r.IP, r.Port), RoleTarget, r.Target.String()); err != nil {
				return nil, err
			}
			r.Probed = true
		default:
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %s cannot be probed (only TCP and UDP can), so the connection was not tested", r.Target.String(), r.Protocol))
		}
	}
	if e := in.External; e != nil {
		switch e.Kind {
		case KindIP:
			proto := "tcp"
			if e.UDP {
				proto = "udp"
			}
			if err := add(proto+":"+hostPort(e.IP.String(), e.PortNum), RoleExternal, e.String()); err != nil {
				return nil, err
			}
		case KindHost:
			if p.KubeDNSIP == "" {
				p.Notes = append(p.Notes, "the kube-dns Service has no ClusterIP known to this run, so --external "+e.Name+" was not looked up")
			} else if err := add("dns:"+e.Name+"@"+hostPort(p.KubeDNSIP, 53), RoleExternal, e.String()); err != nil {
				return nil, err
			}
			p.Notes = append(p.Notes, fmt.Sprintf("--external %s: only the name's lookup was tested; its address is known only after it, so the connection to port %d was not", e.Name, e.PortNum))
		default:
			return nil, fmt.Errorf("--external %q: want IP:PORT or HOST:PORT, an address outside the cluster; use --to for a Service or pod", e.Raw)
		}
	}
	return p, nil
}

// defaults adds the default probe set.
func (p *Plan) defaults(cl *facts.Cluster, add func(spec, role, detail string) error) error {
	name := "kubernetes.default.svc." + p.Domain
	if p.KubeDNSIP == "" {
		p.Notes = append(p.Notes, "no kube-dns Service with a ClusterIP was found in kube-system, so cluster DNS was not probed")
	} else {
		if err := add("dns:"+name+"@"+hostPort(p.KubeDNSIP, 53), RoleClusterDNS, "kube-dns VIP over UDP"); err != nil {
			return err
		}
		if err := add("dns:"+name+"@"+hostPort(p.KubeDNSIP, 53)+"/tcp", RoleClusterDNSTCP, "kube-dns VIP over TCP"); err != nil {
			return err
		}
	}
	n := 0
	for _, ep := range coreDNSEndpoints(cl) {
		if n == MaxCoreDNSPods {
			p.Notes = append(p.Notes, fmt.Sprintf("only the first %d CoreDNS pods were asked directly", MaxCoreDNSPods))
			break
		}
		if err := add("dns:"+name+"@"+hostPort(ep.ip, ep.port), RoleCoreDNSPod, ep.who); err != nil {
			return err
		}
		n++
	}
	if api := findService(cl, "default", "kubernetes"); api != nil && isIP(api.Spec.ClusterIP) && len(api.Spec.Ports) > 0 {
		port := api.Spec.Ports[0]
		for _, sp := range api.Spec.Ports {
			if sp.Name == "https" {
				port = sp
			}
		}
		if err := add("tcp:"+hostPort(api.Spec.ClusterIP, int(port.Port)), RoleAPIServer, "default/kubernetes"); err != nil {
			return err
		}
	} else {
		p.Notes = append(p.Notes, "the default/kubernetes Service was not found, so the API server's VIP was not probed")
	}
	return nil
}

type dnsEndpoint struct {
	ip   string
	port int
	who  string
}

// coreDNSEndpoints lists the ready addresses of kube-dns's EndpointSlices, with the UDP DNS
// port they serve (53 when the slice names none).
func coreDNSEndpoints(cl *facts.Cluster) []dnsEndpoint {
	var out []dnsEndpoint
	seen := map[string]bool{}
	for i := range cl.EndpointSlices {
		sl := &cl.EndpointSlices[i]
		if sl.Namespace != "kube-system" || sl.Labels[discoveryv1.LabelServiceName] != "kube-dns" {
			continue
		}
		port := 53
		for _, sp := range sl.Ports {
			if sp.Port != nil && (sp.Protocol == nil || *sp.Protocol == corev1.ProtocolUDP) {
				port = int(*sp.Port)
				break
			}
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			who := "CoreDNS endpoint"
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				who = "CoreDNS pod " + ep.TargetRef.Namespace + "/" + ep.TargetRef.Name
			}
			for _, a := range ep.Addresses {
				if isIP(a) && !seen[a] {
					seen[a] = true
					out = append(out, dnsEndpoint{ip: a, port: port, who: who})
				}
			}
		}
	}
	return out
}

// resolve looks the --to target up.
func resolve(cl *facts.Cluster, t Target, ns, domain string) (*Resolved, error) {
	r := &Resolved{Target: t, Protocol: "TCP"}
	if t.UDP {
		r.Protocol = "UDP"
	}
	switch t.Kind {
	case KindService:
		r.Namespace = firstNonEmpty(t.Namespace, ns, "default")
		svc := findService(cl, r.Namespace, t.Name)
		if svc == nil {
			why := ""
			if m := cl.Missing["services"]; m != "" {
				why = " (Services could not all be read: " + m + ")"
			}
			return nil, fmt.Errorf("--to %s: no Service %s/%s was found%s; check the name and namespace with: kubectl get services -n %s", t.Raw, r.Namespace, t.Name, why, r.Namespace)
		}
		r.Service = svc
		if !isIP(svc.Spec.ClusterIP) {
			return nil, fmt.Errorf("--to %s: Service %s/%s has no cluster IP (it is headless or of type ExternalName), so there is no VIP to test; test one of its pods with --to pod/NAME:PORT", t.Raw, r.Namespace, t.Name)
		}
		if len(svc.Spec.Ports) == 0 {
			return nil, fmt.Errorf("--to %s: Service %s/%s has no ports; add one to the Service or test a pod with --to pod/NAME:PORT", t.Raw, r.Namespace, t.Name)
		}
		var sp *corev1.ServicePort
		for i := range svc.Spec.Ports {
			x := &svc.Spec.Ports[i]
			if t.Port == "" || x.Name == t.Port || strconv.Itoa(int(x.Port)) == t.Port {
				sp = x
				break
			}
		}
		if sp == nil {
			var have []string
			for _, x := range svc.Spec.Ports {
				have = append(have, portLabel(x))
			}
			return nil, fmt.Errorf("--to %s: Service %s/%s has no port %s; it has %s", t.Raw, r.Namespace, t.Name, t.Port, strings.Join(have, ", "))
		}
		r.ServicePort = sp
		r.IP, r.Port = svc.Spec.ClusterIP, int(sp.Port)
		r.Protocol = string(sp.Protocol)
		if r.Protocol == "" {
			r.Protocol = "TCP"
		}
		r.DNSName = t.Name + "." + r.Namespace + ".svc." + domain
	case KindPod:
		r.Namespace = firstNonEmpty(t.Namespace, ns, "default")
		for i := range cl.AllPods {
			if pi := &cl.AllPods[i]; pi.Namespace == r.Namespace && pi.Name == t.Name {
				r.Pod = pi
			}
		}
		if r.Pod == nil {
			why := ""
			if m := cl.Missing["all-pods"]; m != "" {
				why = " (pods could not all be read: " + m + ")"
			}
			return nil, fmt.Errorf("--to %s: no pod %s/%s was found%s; check the name with: kubectl get pods -n %s", t.Raw, r.Namespace, t.Name, why, r.Namespace)
		}
		for _, ip := range r.Pod.IPs {
			if isIP(ip) {
				r.IP = ip
				break
			}
		}
		if r.IP == "" {
			return nil, fmt.Errorf("--to %s: pod %s/%s has no IP yet (phase %s); wait until it runs, then try again", t.Raw, r.Namespace, t.Name, dashIfEmpty(string(r.Pod.Phase)))
		}
		r.Port = t.PortNum
	case KindHost:
		r.DNSName, r.Port = t.Name, t.PortNum
	case KindIP:
		r.IP, r.Port = t.IP.String(), t.PortNum
	default:
		return nil, fmt.Errorf("--to %q: %s", t.Raw, syntax)
	}
	return r, nil
}

func findService(cl *facts.Cluster, ns, name string) *corev1.Service {
	if ns == "kube-system" && name == "kube-dns" && cl.KubeDNS != nil {
		return cl.KubeDNS
	}
	for i := range cl.Services {
		if s := &cl.Services[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

func portLabel(p corev1.ServicePort) string {
	s := strconv.Itoa(int(p.Port)) + "/" + string(p.Protocol)
	if p.Name != "" {
		s = p.Name + " (" + s + ")"
	}
	return s
}

// hostPort writes IP:PORT, IPv6 in brackets.
func hostPort(ip string, port int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip + ":" + strconv.Itoa(port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)).String()
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
