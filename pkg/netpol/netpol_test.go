package netpol

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The test cluster: three namespaces, pods in each, and addresses outside the cluster.
var (
	nsShop = namespace("shop", map[string]string{"team": "shop", "env": "prod"})
	nsOps  = namespace("ops", map[string]string{"team": "ops", "env": "prod"})
	nsDev  = namespace("dev", map[string]string{"team": "dev", "env": "test"})

	always = corev1.ContainerRestartPolicyAlways

	web = &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{
				{Name: "app", Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080},
					{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
					{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				}},
			},
			InitContainers: []corev1.Container{
				{Name: "mesh", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001}}},
				{Name: "setup", Ports: []corev1.ContainerPort{{Name: "setup", ContainerPort: 7000}}},
			},
		},
		Status: corev1.PodStatus{PodIP: "10.244.1.10"},
	}
	db = &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db", Labels: map[string]string{"app": "db"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "pg", Ports: []corev1.ContainerPort{{Name: "pg", ContainerPort: 5432}}},
		}},
		Status: corev1.PodStatus{PodIP: "10.244.1.11"},
	}
	shopClient = pod("shop", "client", map[string]string{"app": "client"}, "10.244.1.12")
	monitor    = pod("ops", "monitor", map[string]string{"app": "prom"}, "10.244.2.5")
	opsTool    = pod("ops", "tool", map[string]string{"app": "tool"}, "10.244.2.6")
	devClient  = pod("dev", "client", map[string]string{"app": "client"}, "10.244.3.7")
	devProm    = pod("dev", "prom", map[string]string{"app": "prom"}, "10.244.3.8")
	web6       = pod("shop", "web6", map[string]string{"app": "web"}, "fd00::10")
	hostPod    = func() *corev1.Pod {
		p := pod("shop", "agent", map[string]string{"app": "agent"}, "192.168.0.4")
		p.Spec.HostNetwork = true
		return p
	}()
)

func namespace(name string, l map[string]string) *corev1.Namespace {
	all := map[string]string{corev1.LabelMetadataName: name}
	for k, v := range l {
		all[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: all}}
}

func pod(ns, name string, l map[string]string, ip string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}, Status: corev1.PodStatus{PodIP: ip}}
}

// at is a pod endpoint with its namespace's labels, as the plugin would pass it.
func at(p *corev1.Pod) Endpoint {
	for _, n := range []*corev1.Namespace{nsShop, nsOps, nsDev} {
		if n.Name == p.Namespace {
			return Endpoint{Pod: p, Namespace: n}
		}
	}
	return Endpoint{Pod: p}
}

func ip(s string) Endpoint { return Endpoint{IP: netip.MustParseAddr(s)} }

func tcp(from, to Endpoint, port int32) Flow {
	return Flow{From: from, To: to, Protocol: corev1.ProtocolTCP, Port: port}
}

func flow(from, to Endpoint, proto corev1.Protocol, port int32) Flow {
	return Flow{From: from, To: to, Protocol: proto, Port: port}
}

// policies decodes YAML documents separated by "---", strictly, so a typo in a test policy
// fails the test instead of silently dropping a field.
func policies(t *testing.T, docs string) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var p networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
			t.Fatalf("test policy does not decode: %v\n%s", err, doc)
		}
		out = append(out, p)
	}
	return out
}

func ref(policy string, dir Direction, rule, peer, port int) *RuleRef {
	return &RuleRef{Policy: policy, Direction: dir, Rule: rule, Peer: peer, Port: port}
}

// dirWant is the part of a DirectionVerdict a case pins; Reason and Caveats have their own tests.
type dirWant struct {
	Selected bool
	Allowed  bool
	By       *RuleRef
	Policies []string
}

// open is the verdict of a direction no policy selects (or that does not apply).
var open = dirWant{Allowed: true}

func allowedBy(by *RuleRef, pols ...string) dirWant {
	return dirWant{Selected: true, Allowed: true, By: by, Policies: pols}
}

func denied(pols ...string) dirWant { return dirWant{Selected: true, Policies: pols} }

type evalCase struct {
	name     string
	policies string
	flow     Flow
	egress   dirWant
	ingress  dirWant
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(policies(t, tc.policies), tc.flow)
			got := struct{ Egress, Ingress dirWant }{
				Egress:  dirWant{v.Egress.Selected, v.Egress.Allowed, v.Egress.By, v.Egress.Policies},
				Ingress: dirWant{v.Ingress.Selected, v.Ingress.Allowed, v.Ingress.By, v.Ingress.Policies},
			}
			want := struct{ Egress, Ingress dirWant }{tc.egress, tc.ingress}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("verdict mismatch (-want +got):\n%s\negress: %s\ningress: %s", diff, v.Egress.Reason, v.Ingress.Reason)
			}
			if wantAllowed := tc.egress.Allowed && tc.ingress.Allowed; v.Allowed != wantAllowed {
				t.Errorf("Allowed = %v, want %v", v.Allowed, wantAllowed)
			}
			if v.Egress.Reason == "" || v.Ingress.Reason == "" {
				t.Errorf("every direction needs a reason: egress %q, ingress %q", v.Egress.Reason, v.Ingress.Reason)
			}
		})
	}
}

const denyAllIngressWeb = `
metadata: {namespace: shop, name: deny-web}
spec:
  podSelector: {matchLabels: {app: web}}
`

func TestSelectionAndDefaults(t *testing.T) {
	runCases(t, []evalCase{
		{
			name: "no policies allow everything",
			flow: tcp(at(devClient), at(web), 8080), egress: open, ingress: open,
		},
		{
			name:     "policyTypes defaults to Ingress only when there are no egress rules",
			policies: denyAllIngressWeb,
			flow:     tcp(at(web), at(db), 5432), egress: open, ingress: open,
		},
		{
			name:     "empty ingress rules deny all ingress to the selected pod",
			policies: denyAllIngressWeb,
			flow:     tcp(at(shopClient), at(web), 8080), egress: open, ingress: denied("shop/deny-web"),
		},
		{
			name: "policyTypes defaults to Ingress and Egress when there are egress rules, so ingress is denied",
			policies: `
metadata: {namespace: shop, name: web-out}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]
`,
			flow: tcp(at(shopClient), at(web), 8080), egress: open, ingress: denied("shop/web-out"),
		},
		{
			name: "defaulted Egress applies its egress rules",
			policies: `
metadata: {namespace: shop, name: web-out}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]
`,
			flow:   tcp(at(web), at(db), 5432),
			egress: allowedBy(ref("shop/web-out", Egress, 0, 0, -1), "shop/web-out"), ingress: open,
		},
		{
			name: "explicit policyTypes Egress without egress rules denies all egress and leaves ingress alone",
			policies: `
metadata: {namespace: shop, name: no-out}
spec:
  podSelector: {}
  policyTypes: [Egress]
`,
			flow: tcp(at(web), at(db), 5432), egress: denied("shop/no-out"), ingress: open,
		},
		{
			name: "explicit policyTypes Ingress ignores egress rules",
			policies: `
metadata: {namespace: shop, name: in-only}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{}]
  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}]}]
`,
			flow: tcp(at(web), ip("203.0.113.7"), 443), egress: open, ingress: open,
		},
		{
			name: "empty podSelector selects every pod of the policy's namespace",
			policies: `
metadata: {namespace: shop, name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`,
			flow: tcp(at(web), at(db), 5432), egress: denied("shop/default-deny"), ingress: denied("shop/default-deny"),
		},
		{
			name: "a policy in another namespace does not select the pod even with an empty podSelector",
			policies: `
metadata: {namespace: dev, name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`,
			flow: tcp(at(shopClient), at(web), 8080), egress: open, ingress: open,
		},
		{
			name:     "a podSelector that does not match leaves the pod unselected",
			policies: denyAllIngressWeb,
			flow:     tcp(at(web), at(db), 5432), egress: open, ingress: open,
		},
		{
			name: "rule with no peers and no ports allows everything, from outside the cluster too",
			policies: `
metadata: {namespace: shop, name: allow-all}
spec:
  podSelector: {}
  ingress: [{}]
`,
			flow: tcp(ip("203.0.113.7"), at(web), 1234), egress: open,
			ingress: allowedBy(ref("shop/allow-all", Ingress, 0, -1, -1), "shop/allow-all"),
		},
		{
			name: "rule with no peers but ports allows every source on those ports",
			policies: `
metadata: {namespace: shop, name: web-8080}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 8080}]}]
`,
			flow: tcp(at(devClient), at(web), 8080), egress: open,
			ingress: allowedBy(ref("shop/web-8080", Ingress, 0, -1, 0), "shop/web-8080"),
		},
		{
			name: "egress allow-all rule",
			policies: `
metadata: {namespace: shop, name: out-all}
spec:
  podSelector: {}
  egress: [{}]
`,
			flow:   tcp(at(web), ip("2001:db8::7"), 443),
			egress: allowedBy(ref("shop/out-all", Egress, 0, -1, -1), "shop/out-all"), ingress: open,
		},
	})
}

func TestPeers(t *testing.T) {
	const fromSameNamespace = `
metadata: {namespace: shop, name: same-ns}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}]}]
`
	const fromClients = `
metadata: {namespace: shop, name: clients}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
`
	const fromDev = `
metadata: {namespace: shop, name: from-dev}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: dev}}}]}]
`
	const fromAnyNamespace = `
metadata: {namespace: shop, name: any-ns}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {}}]}]
`
	const promInOps = `
metadata: {namespace: shop, name: prom-in-ops}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
      podSelector: {matchLabels: {app: prom}}
`
	const opsOrProm = `
metadata: {namespace: shop, name: ops-or-prom}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
    - podSelector: {matchLabels: {app: prom}}
`
	const egressToDB = `
metadata: {namespace: shop, name: to-db}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]
`
	runCases(t, []evalCase{
		{name: "podSelector {} peer matches pods of the policy's namespace", policies: fromSameNamespace,
			flow: tcp(at(db), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/same-ns", Ingress, 0, 0, -1), "shop/same-ns")},
		{name: "podSelector {} peer does not match pods of other namespaces", policies: fromSameNamespace,
			flow: tcp(at(devClient), at(web), 8080), egress: open, ingress: denied("shop/same-ns")},
		{name: "podSelector {} peer does not match external addresses", policies: fromSameNamespace,
			flow: tcp(ip("203.0.113.7"), at(web), 8080), egress: open, ingress: denied("shop/same-ns")},
		{name: "podSelector peer matches labelled pod in the policy's namespace", policies: fromClients,
			flow: tcp(at(shopClient), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/clients", Ingress, 0, 0, -1), "shop/clients")},
		{name: "podSelector peer does not match same labels in another namespace", policies: fromClients,
			flow: tcp(at(devClient), at(web), 8080), egress: open, ingress: denied("shop/clients")},
		{name: "namespaceSelector peer matches any pod of a matching namespace", policies: fromDev,
			flow: tcp(at(devProm), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/from-dev", Ingress, 0, 0, -1), "shop/from-dev")},
		{name: "namespaceSelector peer does not match other namespaces", policies: fromDev,
			flow: tcp(at(monitor), at(web), 8080), egress: open, ingress: denied("shop/from-dev")},
		{name: "namespaceSelector {} matches pods of every namespace", policies: fromAnyNamespace,
			flow: tcp(at(monitor), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/any-ns", Ingress, 0, 0, -1), "shop/any-ns")},
		{name: "namespaceSelector {} does not match external addresses", policies: fromAnyNamespace,
			flow: tcp(ip("10.0.0.1"), at(web), 8080), egress: open, ingress: denied("shop/any-ns")},
		{name: "namespaceSelector AND podSelector: both match", policies: promInOps,
			flow: tcp(at(monitor), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/prom-in-ops", Ingress, 0, 0, -1), "shop/prom-in-ops")},
		{name: "namespaceSelector AND podSelector: namespace matches, pod does not", policies: promInOps,
			flow: tcp(at(opsTool), at(web), 8080), egress: open, ingress: denied("shop/prom-in-ops")},
		{name: "namespaceSelector AND podSelector: pod matches, namespace does not", policies: promInOps,
			flow: tcp(at(devProm), at(web), 8080), egress: open, ingress: denied("shop/prom-in-ops")},
		{name: "separate peers are OR: namespace peer matches", policies: opsOrProm,
			flow: tcp(at(opsTool), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/ops-or-prom", Ingress, 0, 0, -1), "shop/ops-or-prom")},
		{name: "separate peers are OR: a lone podSelector stays in the policy's namespace", policies: opsOrProm,
			flow: tcp(at(devProm), at(web), 8080), egress: open, ingress: denied("shop/ops-or-prom")},
		{name: "egress podSelector peer matches the destination pod", policies: egressToDB,
			flow: tcp(at(web), at(db), 5432), egress: allowedBy(ref("shop/to-db", Egress, 0, 0, -1), "shop/to-db"), ingress: open},
		{name: "egress podSelector peer does not match another destination", policies: egressToDB,
			flow: tcp(at(web), at(shopClient), 80), egress: denied("shop/to-db"), ingress: open},
	})
}

func TestMatchExpressions(t *testing.T) {
	const exprs = `
metadata: {namespace: shop, name: exprs}
spec:
  podSelector:
    matchExpressions: [{key: tier, operator: Exists}]
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: env, operator: NotIn, values: [test]}]
      podSelector:
        matchExpressions:
        - {key: app, operator: In, values: [prom, tool]}
        - {key: debug, operator: DoesNotExist}
`
	debugProm := pod("ops", "debug-prom", map[string]string{"app": "prom", "debug": "true"}, "10.244.2.9")
	runCases(t, []evalCase{
		{name: "Exists selects the pod with the key", policies: exprs,
			flow: tcp(at(shopClient), at(web), 8080), egress: open, ingress: denied("shop/exprs")},
		{name: "Exists does not select a pod without the key", policies: exprs,
			flow: tcp(at(shopClient), at(db), 5432), egress: open, ingress: open},
		{name: "In, DoesNotExist and NotIn all hold", policies: exprs,
			flow: tcp(at(opsTool), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/exprs", Ingress, 0, 0, -1), "shop/exprs")},
		{name: "NotIn excludes a namespace with the listed value", policies: exprs,
			flow: tcp(at(devProm), at(web), 8080), egress: open, ingress: denied("shop/exprs")},
		{name: "In excludes a value not listed", policies: exprs,
			flow: tcp(at(monitor), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/exprs", Ingress, 0, 0, -1), "shop/exprs")},
		{name: "DoesNotExist excludes a pod with the key", policies: exprs,
			flow: tcp(at(debugProm), at(web), 8080), egress: open, ingress: denied("shop/exprs")},
	})
}

func TestIPBlock(t *testing.T) {
	const v4 = `
metadata: {namespace: shop, name: v4}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.0/28, 203.0.113.128/25]}}]
  egress:
  - to: [{ipBlock: {cidr: 198.51.100.0/24, except: [198.51.100.7/32]}}]
`
	const v6 = `
metadata: {namespace: shop, name: v6}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}}]
  egress:
  - to: [{ipBlock: {cidr: "0.0.0.0/0"}}, {ipBlock: {cidr: "2001:db8::/32"}}]
`
	const podCIDR = `
metadata: {namespace: shop, name: pod-cidr}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16}}]}]
`
	runCases(t, []evalCase{
		{name: "v4 address inside cidr and outside excepts", policies: v4,
			flow: tcp(ip("203.0.113.77"), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/v4", Ingress, 0, 0, -1), "shop/v4")},
		{name: "v4 address in the first except", policies: v4,
			flow: tcp(ip("203.0.113.7"), at(web), 8080), egress: open, ingress: denied("shop/v4")},
		{name: "v4 address in the second except", policies: v4,
			flow: tcp(ip("203.0.113.200"), at(web), 8080), egress: open, ingress: denied("shop/v4")},
		{name: "v4 address outside cidr", policies: v4,
			flow: tcp(ip("192.0.2.1"), at(web), 8080), egress: open, ingress: denied("shop/v4")},
		{name: "v4 egress to a non-pod destination inside cidr", policies: v4,
			flow: tcp(at(web), ip("198.51.100.8"), 443), egress: allowedBy(ref("shop/v4", Egress, 0, 0, -1), "shop/v4"), ingress: open},
		{name: "v4 egress to an excepted /32", policies: v4,
			flow: tcp(at(web), ip("198.51.100.7"), 443), egress: denied("shop/v4"), ingress: open},
		{name: "v4-mapped v6 address is matched as v4", policies: v4,
			flow: tcp(at(web), ip("::ffff:198.51.100.8"), 443), egress: allowedBy(ref("shop/v4", Egress, 0, 0, -1), "shop/v4"), ingress: open},
		{name: "v6 address inside cidr", policies: v6,
			flow: tcp(ip("2001:db8:2::5"), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/v6", Ingress, 0, 0, -1), "shop/v6")},
		{name: "v6 address in except", policies: v6,
			flow: tcp(ip("2001:db8:1::5"), at(web), 8080), egress: open, ingress: denied("shop/v6")},
		{name: "v4 address never matches a v6 cidr", policies: v6,
			flow: tcp(ip("32.1.13.184"), at(web), 8080), egress: open, ingress: denied("shop/v6")},
		{name: "v6 destination skips 0.0.0.0/0 and matches the v6 peer", policies: v6,
			flow: tcp(at(web), ip("2001:db8::7"), 443), egress: allowedBy(ref("shop/v6", Egress, 0, 1, -1), "shop/v6"), ingress: open},
		{name: "v6 destination outside every peer", policies: v6,
			flow: tcp(at(web), ip("2001:4860::8888"), 443), egress: denied("shop/v6"), ingress: open},
		{name: "ipBlock matches a pod IP (this package's documented choice)", policies: podCIDR,
			flow: tcp(at(devClient), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/pod-cidr", Ingress, 0, 0, -1), "shop/pod-cidr")},
		{name: "the flow's IP overrides the pod's status IP", policies: podCIDR,
			flow: tcp(Endpoint{Pod: devClient, Namespace: nsDev, IP: netip.MustParseAddr("fd00::7")}, at(web), 8080), egress: open, ingress: denied("shop/pod-cidr")},
	})

	t.Run("ipBlock matching a pod IP carries a caveat", func(t *testing.T) {
		v := Evaluate(policies(t, podCIDR), tcp(at(devClient), at(web), 8080))
		if !hasCaveat(v.Ingress, "implementation-defined") {
			t.Errorf("caveats %q: want one saying ipBlock on pod IPs is implementation-defined", v.Ingress.Caveats)
		}
	})
	t.Run("ipBlock matching an external IP carries no caveat", func(t *testing.T) {
		v := Evaluate(policies(t, v4), tcp(ip("203.0.113.77"), at(web), 8080))
		if len(v.Ingress.Caveats) != 0 {
			t.Errorf("caveats = %q, want none", v.Ingress.Caveats)
		}
	})
	t.Run("a pod without an IP cannot match ipBlock and says why", func(t *testing.T) {
		noIP := pod("dev", "pending", nil, "")
		v := Evaluate(policies(t, podCIDR), tcp(at(noIP), at(web), 8080))
		if v.Ingress.Allowed || !hasCaveat(v.Ingress, "IP of pod dev/pending is unknown") {
			t.Errorf("allowed = %v, caveats %q", v.Ingress.Allowed, v.Ingress.Caveats)
		}
	})
	t.Run("a v6 pod is matched by its own IP", func(t *testing.T) {
		v := Evaluate(policies(t, `
metadata: {namespace: shop, name: v6-pods}
spec:
  podSelector: {}
  egress: [{to: [{ipBlock: {cidr: "fd00::/64"}}]}]
`), tcp(at(web6), at(web6), 80))
		if !v.Egress.Allowed {
			t.Errorf("egress from %s: %s", web6.Status.PodIP, v.Egress.Reason)
		}
	})
}

func TestPorts(t *testing.T) {
	const named = `
metadata: {namespace: shop, name: named}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports:
    - port: http
    - port: dns
      protocol: UDP
    - port: proxy
    - port: setup
`
	const namedUDPMismatch = `
metadata: {namespace: shop, name: http-udp}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: http, protocol: UDP}]}]
`
	const egressNamed = `
metadata: {namespace: shop, name: out-named}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{ports: [{port: pg}]}]
`
	const ranges = `
metadata: {namespace: shop, name: ranges}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 80}, {port: 30000, endPort: 32767}]}]
`
	const protocols = `
metadata: {namespace: shop, name: protocols}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports:
    - port: 53
    - port: 3868
      protocol: SCTP
    - protocol: UDP
`
	runCases(t, []evalCase{
		{name: "named port resolves to the destination container's port", policies: named,
			flow: tcp(at(devClient), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/named", Ingress, 0, -1, 0), "shop/named")},
		{name: "named port does not match another port of the pod", policies: named,
			flow: tcp(at(devClient), at(web), 9090), egress: open, ingress: denied("shop/named")},
		{name: "named UDP port matches with its protocol", policies: named,
			flow: flow(at(devClient), at(web), corev1.ProtocolUDP, 53), egress: open, ingress: allowedBy(ref("shop/named", Ingress, 0, -1, 1), "shop/named")},
		{name: "named port of a sidecar (restartable init container) counts", policies: named,
			flow: tcp(at(devClient), at(web), 15001), egress: open, ingress: allowedBy(ref("shop/named", Ingress, 0, -1, 2), "shop/named")},
		{name: "named port of a plain init container does not count", policies: named,
			flow: tcp(at(devClient), at(web), 7000), egress: open, ingress: denied("shop/named")},
		{name: "named port requires the container port's protocol to match", policies: namedUDPMismatch,
			flow: flow(at(devClient), at(web), corev1.ProtocolUDP, 8080), egress: open, ingress: denied("shop/http-udp")},
		{name: "egress named port resolves against the destination pod", policies: egressNamed,
			flow: tcp(at(web), at(db), 5432), egress: allowedBy(ref("shop/out-named", Egress, 0, -1, 0), "shop/out-named"), ingress: open},
		{name: "egress named port is not resolved against the source pod", policies: egressNamed,
			flow: tcp(at(web), at(shopClient), 5432), egress: denied("shop/out-named"), ingress: open},
		{name: "egress named port to a non-pod destination matches nothing", policies: egressNamed,
			flow: tcp(at(web), ip("203.0.113.7"), 5432), egress: denied("shop/out-named"), ingress: open},
		{name: "single port", policies: ranges,
			flow: tcp(at(devClient), at(web), 80), egress: open, ingress: allowedBy(ref("shop/ranges", Ingress, 0, -1, 0), "shop/ranges")},
		{name: "range start is inclusive", policies: ranges,
			flow: tcp(at(devClient), at(web), 30000), egress: open, ingress: allowedBy(ref("shop/ranges", Ingress, 0, -1, 1), "shop/ranges")},
		{name: "range end is inclusive", policies: ranges,
			flow: tcp(at(devClient), at(web), 32767), egress: open, ingress: allowedBy(ref("shop/ranges", Ingress, 0, -1, 1), "shop/ranges")},
		{name: "above the range", policies: ranges,
			flow: tcp(at(devClient), at(web), 32768), egress: open, ingress: denied("shop/ranges")},
		{name: "below the range", policies: ranges,
			flow: tcp(at(devClient), at(web), 29999), egress: open, ingress: denied("shop/ranges")},
		{name: "port without protocol defaults to TCP: UDP flow is not allowed", policies: ranges,
			flow: flow(at(devClient), at(web), corev1.ProtocolUDP, 80), egress: open, ingress: denied("shop/ranges")},
		{name: "port without protocol defaults to TCP: TCP flow", policies: protocols,
			flow: tcp(at(devClient), at(web), 53), egress: open, ingress: allowedBy(ref("shop/protocols", Ingress, 0, -1, 0), "shop/protocols")},
		{name: "flow without protocol defaults to TCP", policies: protocols,
			flow: flow(at(devClient), at(web), "", 53), egress: open, ingress: allowedBy(ref("shop/protocols", Ingress, 0, -1, 0), "shop/protocols")},
		{name: "SCTP port matches an SCTP flow", policies: protocols,
			flow: flow(at(devClient), at(web), corev1.ProtocolSCTP, 3868), egress: open, ingress: allowedBy(ref("shop/protocols", Ingress, 0, -1, 1), "shop/protocols")},
		{name: "SCTP port does not match a TCP flow", policies: protocols,
			flow: tcp(at(devClient), at(web), 3868), egress: open, ingress: denied("shop/protocols")},
		{name: "protocol without port allows every port of that protocol", policies: protocols,
			flow: flow(at(devClient), at(web), corev1.ProtocolUDP, 9999), egress: open, ingress: allowedBy(ref("shop/protocols", Ingress, 0, -1, 2), "shop/protocols")},
		{name: "protocol without port does not allow other protocols", policies: protocols,
			flow: flow(at(devClient), at(web), corev1.ProtocolSCTP, 9999), egress: open, ingress: denied("shop/protocols")},
	})
}

func TestUnionAndDirections(t *testing.T) {
	const two = `
metadata: {namespace: shop, name: b-from-ops}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]
---
metadata: {namespace: shop, name: a-from-dev}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 192.0.2.0/24}}]
  - from: [{podSelector: {matchLabels: {app: db}}}, {namespaceSelector: {matchLabels: {team: dev}}}]
    ports: [{port: 9090}, {port: 8080}]
---
metadata: {namespace: dev, name: client-out}
spec:
  podSelector: {matchLabels: {app: client}}
  egress: [{to: [{namespaceSelector: {matchLabels: {team: ops}}}]}]
`
	runCases(t, []evalCase{
		{name: "second policy allows what the first does not", policies: two,
			flow: tcp(at(monitor), at(web), 8080), egress: open,
			ingress: allowedBy(ref("shop/b-from-ops", Ingress, 0, 0, -1), "shop/a-from-dev", "shop/b-from-ops")},
		{name: "by names the rule, peer and port indexes", policies: two,
			flow:   tcp(at(devProm), at(web), 8080),
			egress: open, ingress: allowedBy(ref("shop/a-from-dev", Ingress, 1, 1, 1), "shop/a-from-dev", "shop/b-from-ops")},
		{name: "no policy of the union allows it", policies: two,
			flow: tcp(at(devProm), at(web), 22), egress: open, ingress: denied("shop/a-from-dev", "shop/b-from-ops")},
		{name: "only the policies that select the pod are listed", policies: two,
			flow: tcp(at(web), at(db), 5432), egress: open, ingress: denied("shop/a-from-dev")},
		{name: "egress allowed but ingress denied denies the flow", policies: two,
			flow:   tcp(at(devClient), at(db), 5432),
			egress: denied("dev/client-out"), ingress: denied("shop/a-from-dev")},
		{name: "egress and ingress both allow", policies: two,
			flow:   tcp(at(devClient), at(monitor), 9100),
			egress: allowedBy(ref("dev/client-out", Egress, 0, 0, -1), "dev/client-out"), ingress: open},
		{name: "non-pod destination: only egress is evaluated", policies: two,
			flow: tcp(at(devClient), ip("192.0.2.1"), 443), egress: denied("dev/client-out"), ingress: open},
		{name: "non-pod source: only ingress is evaluated", policies: two,
			flow: tcp(ip("192.0.2.1"), at(web), 8080), egress: open, ingress: allowedBy(ref("shop/a-from-dev", Ingress, 0, 0, -1), "shop/a-from-dev", "shop/b-from-ops")},
		{name: "neither end a pod", policies: two,
			flow: tcp(ip("192.0.2.1"), ip("198.51.100.1"), 443), egress: open, ingress: open},
	})

	t.Run("the verdict does not depend on the order policies are listed in", func(t *testing.T) {
		pols := policies(t, two)
		f := tcp(at(devProm), at(web), 8080)
		want := Evaluate(pols, f)
		slices.Reverse(pols)
		if diff := cmp.Diff(want, Evaluate(pols, f)); diff != "" {
			t.Errorf("reversed order (-want +got):\n%s", diff)
		}
	})
	t.Run("rules record what each rule matched", func(t *testing.T) {
		v := Evaluate(policies(t, two), tcp(at(devProm), at(web), 22))
		want := []RuleCheck{
			{Policy: "shop/a-from-dev", Direction: Ingress, Rule: 0, PeerMatched: false, PortMatched: true},
			{Policy: "shop/a-from-dev", Direction: Ingress, Rule: 1, PeerMatched: true, PortMatched: false},
			{Policy: "shop/b-from-ops", Direction: Ingress, Rule: 0, PeerMatched: false, PortMatched: true},
		}
		if diff := cmp.Diff(want, v.Ingress.Rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
	})
}

func hasCaveat(dv DirectionVerdict, sub string) bool {
	return slices.ContainsFunc(dv.Caveats, func(c string) bool { return strings.Contains(c, sub) })
}

func TestReasons(t *testing.T) {
	const twoRules = `
metadata: {namespace: shop, name: web-in}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
    ports: [{port: 9090}]
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
`
	tests := []struct {
		name     string
		policies string
		flow     Flow
		dir      func(Verdict) DirectionVerdict
		want     []string
	}{
		{name: "not selected", flow: tcp(at(devClient), at(web), 8080),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"no NetworkPolicy selects pod shop/web (10.244.1.10) for ingress", "allowed"}},
		{name: "non-pod destination", flow: tcp(at(web), ip("203.0.113.7"), 443),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"destination 203.0.113.7 is not a pod", "no ingress policy applies"}},
		{name: "non-pod source", flow: tcp(ip("203.0.113.7"), at(web), 443),
			dir:  func(v Verdict) DirectionVerdict { return v.Egress },
			want: []string{"source 203.0.113.7 is not a pod", "no egress policy applies"}},
		{name: "allowed names the rule", policies: twoRules, flow: tcp(at(shopClient), at(web), 8080),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"shop/web-in ingress[1] (from[0], ports[0]) allows TCP/8080 from pod shop/client (10.244.1.12)"}},
		{name: "no rules", policies: denyAllIngressWeb, flow: tcp(at(shopClient), at(web), 8080),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"NetworkPolicy shop/deny-web selects", "has no ingress rules", "all ingress is denied"}},
		{name: "default deny with the closest rule: peer matches, port does not", policies: twoRules, flow: tcp(at(shopClient), at(web), 9090),
			dir: func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"NetworkPolicy shop/web-in selects pod shop/web", "no rule allows TCP/9090 from pod shop/client", "default deny",
				"closest: shop/web-in ingress[0] matches TCP/9090 but not the source"}},
		{name: "default deny with the closest rule: port matches, peer does not", policies: twoRules, flow: tcp(at(shopClient), at(web), 8081),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"closest: shop/web-in ingress[1] matches the source but not TCP/8081"}},
		{name: "egress denial speaks of the destination", policies: `
metadata: {namespace: shop, name: out}
spec:
  podSelector: {}
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 53, protocol: UDP}]}]
`, flow: flow(at(web), ip("10.96.0.10"), corev1.ProtocolTCP, 53),
			dir:  func(v Verdict) DirectionVerdict { return v.Egress },
			want: []string{"no rule allows TCP/53 to 10.96.0.10", "closest: shop/out egress[0] matches the destination but not TCP/53"}},
		{name: "hostNetwork destination is still evaluated and flagged", policies: `
metadata: {namespace: shop, name: all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`, flow: tcp(at(web), at(hostPod), 10250),
			dir:  func(v Verdict) DirectionVerdict { return v.Ingress },
			want: []string{"selects pod shop/agent", "default deny", "hostNetwork", "implementation-defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dv := tt.dir(Evaluate(policies(t, tt.policies), tt.flow))
			for _, w := range tt.want {
				if !strings.Contains(dv.Reason, w) {
					t.Errorf("reason %q lacks %q", dv.Reason, w)
				}
			}
		})
	}
}

func TestHostNetwork(t *testing.T) {
	pols := policies(t, `
metadata: {namespace: shop, name: all-in}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
`)
	t.Run("selected hostNetwork pod is evaluated with a caveat", func(t *testing.T) {
		v := Evaluate(pols, tcp(at(db), at(hostPod), 9100))
		if !v.Ingress.Selected || !v.Ingress.Allowed {
			t.Fatalf("want selected and allowed, got %+v", v.Ingress)
		}
		if !strings.Contains(v.Ingress.Reason, "hostNetwork") || !hasCaveat(v.Ingress, "hostNetwork") {
			t.Errorf("reason %q / caveats %q: want the hostNetwork note", v.Ingress.Reason, v.Ingress.Caveats)
		}
	})
	t.Run("hostNetwork source matched by selectors carries a caveat", func(t *testing.T) {
		v := Evaluate(pols, tcp(at(hostPod), at(web), 8080))
		if !v.Ingress.Allowed || !hasCaveat(v.Ingress, "node's IP") {
			t.Errorf("allowed %v, caveats %q: want allowed with the node IP caveat", v.Ingress.Allowed, v.Ingress.Caveats)
		}
		if strings.Contains(v.Ingress.Reason, "hostNetwork pods") {
			t.Errorf("reason %q: the destination is not hostNetwork", v.Ingress.Reason)
		}
	})
}

func TestNamespaceLabelsUnknown(t *testing.T) {
	pols := policies(t, `
metadata: {namespace: shop, name: ns-sel}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}}]
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
`)
	tests := []struct {
		name        string
		from        Endpoint
		wantAllowed bool
		wantCaveat  bool
	}{
		{"name label is known without the Namespace object", Endpoint{Pod: devClient}, true, false},
		{"other labels are unknown without the Namespace object", Endpoint{Pod: monitor}, false, true},
		{"other labels are known with the Namespace object", Endpoint{Pod: monitor, Namespace: nsOps}, true, false},
		{"name label is filled in when the Namespace object lacks it", Endpoint{Pod: devClient, Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dev"}}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(pols, tcp(tt.from, at(web), 8080))
			if v.Ingress.Allowed != tt.wantAllowed {
				t.Errorf("allowed = %v, want %v: %s", v.Ingress.Allowed, tt.wantAllowed, v.Ingress.Reason)
			}
			if got := hasCaveat(v.Ingress, "were not given"); got != tt.wantCaveat {
				t.Errorf("caveat = %v, want %v: %q", got, tt.wantCaveat, v.Ingress.Caveats)
			}
		})
	}
}

func TestInvalidPoliciesDoNotPanic(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		wantCaveat string
		wantAllow  bool
	}{
		{"bad cidr", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: not-a-cidr}}]}]
`, "invalid ipBlock cidr", false},
		{"bad except is ignored", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24, except: [nope]}}]}]
`, "invalid ipBlock except", true},
		{"ipBlock with a selector", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}, podSelector: {}}]}]
`, "combines ipBlock with selectors", false},
		{"empty peer", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{}]}]
`, "is empty", false},
		{"bad peer selector", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Bogus}]}}]}]
`, "invalid namespaceSelector", false},
		{"bad policy podSelector selects nothing", `
metadata: {namespace: shop, name: bad}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In}]}
`, "invalid podSelector and was ignored", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(policies(t, tt.policy), tcp(ip("203.0.113.7"), at(web), 8080))
			if v.Ingress.Allowed != tt.wantAllow {
				t.Errorf("allowed = %v, want %v: %s", v.Ingress.Allowed, tt.wantAllow, v.Ingress.Reason)
			}
			if !hasCaveat(v.Ingress, tt.wantCaveat) {
				t.Errorf("caveats %q lack %q", v.Ingress.Caveats, tt.wantCaveat)
			}
		})
	}
	t.Run("empty flow", func(t *testing.T) {
		v := Evaluate(nil, Flow{})
		if !v.Allowed {
			t.Errorf("a flow between unknown endpoints with no policies must be allowed: %+v", v)
		}
	})
}

func TestRuleRefString(t *testing.T) {
	tests := []struct {
		ref  RuleRef
		want string
	}{
		{RuleRef{Policy: "shop/web", Direction: Ingress, Rule: 2, Peer: 1, Port: 0}, "shop/web ingress[2] (from[1], ports[0])"},
		{RuleRef{Policy: "shop/web", Direction: Egress, Rule: 0, Peer: -1, Port: -1}, "shop/web egress[0] (all to, all ports)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.ref.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
