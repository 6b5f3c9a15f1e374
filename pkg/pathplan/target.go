// Package pathplan turns what the user asked to test into collector probes: the --to target of
// `kubectl winnet diagnose` (a Service, a pod, a host name or an address), the optional
// --external address, and the default probes every pod diagnosis runs (cluster DNS through the
// kube-dns VIP and straight at each CoreDNS pod, and the API server's VIP).
//
// It is pure: it reads the cluster facts already gathered and returns probe specs in the
// collector's --probe syntax (pkg/collector/probe), canonical so a replayed scenario's
// probes.json matches them, and safe to pass through cmd.exe (pkg/nodecmd).
//
// Target syntax (--to):
//
//	svc/NAME[:PORT]        a Service in the diagnosed pod's namespace; PORT is a port number or
//	svc/NS/NAME[:PORT]     name of the Service, the Service's first port by default
//	pod/NAME:PORT[/udp]    a pod (its first IP); the port is required, TCP unless /udp
//	pod/NS/NAME:PORT[/udp]
//	HOST:PORT              a DNS name, resolved by the pod's cluster DNS
//	IP:PORT[/udp]          an address; IPv6 in brackets: [fd00::10]:443
//
// The namespace goes before the name with a slash (names never hold one), rather than after a
// dot, because pod names may hold dots. service/, services/, po/ and pods/ are accepted too.
package pathplan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Kinds of target.
const (
	KindService = "service"
	KindPod     = "pod"
	KindHost    = "host"
	KindIP      = "ip"
)

// Target is one parsed --to (or --external) value.
type Target struct {
	Raw       string
	Kind      string
	Namespace string // service and pod: "" means the diagnosed pod's namespace
	Name      string // service and pod: the object's name; host: the DNS name (lower case, no final dot)
	Port      string // service: a number or a port name, "" for the first port
	PortNum   int    // pod, host and ip: the port
	UDP       bool   // pod and ip: probe with UDP rather than TCP
	IP        netip.Addr
}

// String gives the target back in the --to syntax, canonical.
func (t Target) String() string {
	switch t.Kind {
	case KindService, KindPod:
		s := "svc/"
		if t.Kind == KindPod {
			s = "pod/"
		}
		if t.Namespace != "" {
			s += t.Namespace + "/"
		}
		s += t.Name
		if t.Kind == KindService && t.Port != "" {
			s += ":" + t.Port
		}
		if t.Kind == KindPod {
			s += ":" + strconv.Itoa(t.PortNum)
		}
		if t.UDP {
			s += "/udp"
		}
		return s
	case KindHost:
		return t.Name + ":" + strconv.Itoa(t.PortNum)
	case KindIP:
		s := netip.AddrPortFrom(t.IP, uint16(t.PortNum)).String()
		if t.UDP {
			s += "/udp"
		}
		return s
	}
	return t.Raw
}

const syntax = "want svc/NAME[:PORT], pod/NAME:PORT, HOST:PORT or IP:PORT (a namespace goes before the name: svc/NS/NAME)"

// ParseTarget parses a --to value. It never looks anything up: Build does, against the
// cluster's objects.
func ParseTarget(s string) (Target, error) { return ParseFlag("--to", s) }

// ParseFlag parses a target given to flag (named in errors), such as --external.
func ParseFlag(flag, s string) (Target, error) {
	t := Target{Raw: s}
	s = strings.TrimSpace(s)
	if s == "" {
		return t, fmt.Errorf("%s is empty: %s", flag, syntax)
	}
	if kind, rest, ok := strings.Cut(s, "/"); ok && !strings.Contains(kind, ":") {
		switch strings.ToLower(kind) {
		case "svc", "service", "services":
			t.Kind = KindService
		case "pod", "pods", "po":
			t.Kind = KindPod
		default:
			return t, fmt.Errorf("%s %q: %q is not a kind this can test; %s", flag, s, kind, syntax)
		}
		return parseObject(flag, t, s, rest)
	}
	// HOST:PORT or IP:PORT, with an optional /udp or /tcp (no address or name holds a slash).
	hostport, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		var err error
		if t.UDP, err = parseProto(flag, s, proto); err != nil {
			return t, err
		}
	}
	i := strings.LastIndex(hostport, ":")
	if i <= 0 {
		return t, fmt.Errorf("%s %q: no port; %s", flag, s, syntax)
	}
	port, err := parsePort(flag, s, hostport[i+1:])
	if err != nil {
		return t, err
	}
	t.PortNum = port
	host := hostport[:i]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return t, fmt.Errorf("%s %q: unbalanced brackets around the address; write IPv6 as [fd00::10]:443", flag, s)
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(bare); err == nil {
		if a.Zone() != "" {
			return t, fmt.Errorf("%s %q: zoned addresses are not supported; give a global or cluster address", flag, s)
		}
		if a.Is6() && !a.Is4In6() && host == bare {
			return t, fmt.Errorf("%s %q: write an IPv6 address in brackets before the port, such as [fd00::10]:443", flag, s)
		}
		t.Kind, t.IP = KindIP, a.Unmap()
		return t, nil
	}
	if strings.Contains(bare, ":") || bare != host {
		return t, fmt.Errorf("%s %q: %q is not an IP address; %s", flag, s, bare, syntax)
	}
	name, err := checkName(bare)
	if err != nil {
		return t, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	if t.UDP {
		return t, fmt.Errorf("%s %q: a host name is tested by a DNS lookup only, so /udp has no meaning; give IP:PORT/udp to test UDP", flag, s)
	}
	t.Kind, t.Name = KindHost, name
	return t, nil
}

func parseObject(flag string, t Target, s, rest string) (Target, error) {
	ref, proto, hasProto := strings.Cut(rest, "/")
	// NS/NAME: the first slash after the kind may be the namespace's.
	if hasProto && !strings.EqualFold(proto, "udp") && !strings.EqualFold(proto, "tcp") {
		t.Namespace = ref
		ref, proto, hasProto = strings.Cut(proto, "/")
	}
	if hasProto {
		var err error
		if t.UDP, err = parseProto(flag, s, proto); err != nil {
			return t, err
		}
		if t.Kind == KindService {
			return t, fmt.Errorf("%s %q: a Service's port carries its own protocol; drop the /%s and name the port instead", flag, s, proto)
		}
	}
	name, port, hasPort := strings.Cut(ref, ":")
	if t.Namespace != "" {
		if err := checkLabel(t.Namespace); err != nil {
			return t, fmt.Errorf("%s %q: namespace %w", flag, s, err)
		}
	}
	if err := checkObjectName(name); err != nil {
		return t, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	t.Name = name
	switch {
	case t.Kind == KindService && hasPort:
		if port == "" {
			return t, fmt.Errorf("%s %q: empty port after the colon; give a port number or name, or drop the colon for the first port", flag, s)
		}
		if n, err := strconv.Atoi(port); err == nil {
			if n < 1 || n > 65535 {
				return t, fmt.Errorf("%s %q: port %d is out of range 1-65535", flag, s, n)
			}
		} else if err := checkLabel(port); err != nil {
			return t, fmt.Errorf("%s %q: port name %w", flag, s, err)
		}
		t.Port = port
	case t.Kind == KindPod && !hasPort:
		return t, fmt.Errorf("%s %q: a pod target needs a port, such as pod/%s:8080", flag, s, name)
	case t.Kind == KindPod:
		n, err := parsePort(flag, s, port)
		if err != nil {
			return t, err
		}
		t.PortNum = n
	}
	return t, nil
}

func parseProto(flag, s, proto string) (bool, error) {
	switch strings.ToLower(proto) {
	case "udp":
		return true, nil
	case "tcp":
		return false, nil
	}
	return false, fmt.Errorf("%s %q: %q after / is not a protocol; want /tcp (the default) or /udp", flag, s, proto)
}

func parsePort(flag, s, p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s %q: port %q is not a number from 1 to 65535", flag, s, p)
	}
	return n, nil
}

// checkObjectName accepts what the API server accepts for pod and Service names (a DNS
// subdomain; Services are stricter, and the lookup will not find a bad one anyway).
func checkObjectName(n string) error {
	if n == "" {
		return fmt.Errorf("no name after the kind")
	}
	if len(n) > 253 {
		return fmt.Errorf("name %q is over 253 characters", n)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%q is not a Kubernetes object name: %q is not allowed (lower-case letters, digits, - and . only)", n, string(c))
		}
	}
	return nil
}

// checkLabel accepts a DNS label: a namespace or a port name.
func checkLabel(n string) error {
	if n == "" || len(n) > 63 {
		return fmt.Errorf("%q must hold 1 to 63 characters", n)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%q is not a DNS label: %q is not allowed (lower-case letters, digits and - only)", n, string(c))
		}
	}
	return nil
}

// checkName checks a DNS host name and returns it lower-cased without a final dot.
func checkName(name string) (string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("%q is not a host name: it must hold 1 to 253 characters", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a host name: every label between dots must hold 1 to 63 characters", name)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name: %q is not allowed", name, string(c))
			}
		}
	}
	return name, nil
}
