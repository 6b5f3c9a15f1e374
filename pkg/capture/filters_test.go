package capture

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-winnet/winnet/pkg/pathplan"
	"github.com/kubectl-winnet/winnet/pkg/pktmon"
)

const podIP = "10.244.1.5"

// svcTo is shop/web resolved: VIP 10.96.12.34, port http 80 -> 8080; port "" as svc/web.
func svcTo(port string) *pathplan.Resolved {
	return &pathplan.Resolved{
		Target:    pathplan.Target{Kind: pathplan.KindService, Name: "web", Port: port},
		Namespace: "shop", IP: "10.96.12.34", Port: 80, Protocol: "TCP",
		ServicePort: &corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
	}
}

func eps(port int, ips ...string) []pathplan.Endpoint {
	var out []pathplan.Endpoint
	for _, ip := range ips {
		out = append(out, pathplan.Endpoint{IP: ip, Port: port})
	}
	return out
}

func manyBackends(n int) []pathplan.Endpoint {
	var ips []string
	for i := 0; i < n; i++ {
		ips = append(ips, fmt.Sprintf("10.244.%d.%d", 2+i/200, 10+i%200))
	}
	return eps(8080, ips...)
}

func userFilters(t *testing.T, specs ...string) []pktmon.Filter {
	t.Helper()
	var out []pktmon.Filter
	for _, s := range specs {
		f, err := pktmon.ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func TestFilters(t *testing.T) {
	pod := netip.MustParseAddr(podIP)
	v6svc := svcTo("80")
	v6svc.IP = "fd00:96::34"
	namedTarget := svcTo("80")
	namedTarget.ServicePort.TargetPort = intstr.FromString("http")
	ipTo := &pathplan.Resolved{Target: pathplan.Target{Kind: pathplan.KindIP, IP: netip.MustParseAddr("10.0.0.9"), PortNum: 443}, IP: "10.0.0.9", Port: 443}
	podTo := &pathplan.Resolved{Target: pathplan.Target{Kind: pathplan.KindPod, Name: "db-0", PortNum: 5432}, Namespace: "shop", IP: "10.244.3.4", Port: 5432}
	selfTo := &pathplan.Resolved{Target: pathplan.Target{Kind: pathplan.KindPod, Name: "web-0", PortNum: 8080}, Namespace: "shop", IP: podIP, Port: 8080}
	hostTo := &pathplan.Resolved{Target: pathplan.Target{Kind: pathplan.KindHost, Name: "example.com", PortNum: 443}, DNSName: "example.com", Port: 443}

	tests := []struct {
		name      string
		node      bool // a node target: no source
		to        *pathplan.Resolved
		endpoints []pathplan.Endpoint
		user      []string
		want      []string // Filter.String of each, in order; nil: no filter at all
		notes     []string // substrings, one note each
		wantErr   []string // substrings of the error
	}{
		{name: "no --to, no --filter: none (the collector narrows to --pod-ip)", want: nil},
		{name: "no --to, node: the --filter flags as given", node: true, user: []string{"udp port 53", "host 10.0.0.9"},
			want: []string{"udp port 53", "host 10.0.0.9"}},
		{name: "no --to, pod: each --filter narrowed to the pod", user: []string{"udp port 53", "host 10.0.0.9"},
			want: []string{"udp host 10.244.1.5 port 53", "host 10.0.0.9 host 10.244.1.5"}},
		{name: "no --to, pod: a --filter already naming the pod is kept", user: []string{"host 10.244.1.5 host 10.0.0.9"},
			want: []string{"host 10.244.1.5 host 10.0.0.9"}},
		{name: "no --to, pod: two other hosts cannot be the pod's traffic", user: []string{"host 10.0.0.8 host 10.0.0.9"},
			wantErr: []string{`--filter "host 10.0.0.8 host 10.0.0.9" cannot match the traffic of pod shop/web-0 (10.244.1.5)`, "node/NAME"}},

		{name: "pod to a Service port: VIP on the service port, backends on the target port", to: svcTo("80"),
			endpoints: eps(8080, "10.244.1.6", "10.244.2.7"),
			want:      []string{"host 10.244.1.5 host 10.96.12.34 port 80", "host 10.244.1.5 host 10.244.1.6 port 8080", "host 10.244.1.5 host 10.244.2.7 port 8080"}},
		{name: "pod to a Service without a port: every port", to: svcTo(""), endpoints: eps(8080, "10.244.1.6"),
			want: []string{"host 10.244.1.5 host 10.96.12.34", "host 10.244.1.5 host 10.244.1.6"}},
		{name: "the pod is itself a backend: left out, with a note", to: svcTo("80"), endpoints: eps(8080, podIP, "10.244.1.6", "10.244.1.6"),
			want:  []string{"host 10.244.1.5 host 10.96.12.34 port 80", "host 10.244.1.5 host 10.244.1.6 port 8080"},
			notes: []string{"pod shop/web-0 is itself one of the Service's backends"}},
		{name: "a Service without ready endpoints: its VIP, with a note", to: svcTo("80"),
			want: []string{"host 10.244.1.5 host 10.96.12.34 port 80"}, notes: []string{"has no ready endpoints"}},
		{name: "a backend whose slice names no port: the numeric target port", to: svcTo("80"), endpoints: eps(0, "10.244.1.6"),
			want: []string{"host 10.244.1.5 host 10.96.12.34 port 80", "host 10.244.1.5 host 10.244.1.6 port 8080"}},
		{name: "a named target port the slice does not give: every port, with a note", to: namedTarget, endpoints: eps(0, "10.244.1.6"),
			want:  []string{"host 10.244.1.5 host 10.96.12.34 port 80", "host 10.244.1.5 host 10.244.1.6"},
			notes: []string{"target port of backend 10.244.1.6 is not known"}},
		{name: "addresses of the other family (the VIP and a backend) are left out", to: v6svc, endpoints: eps(8080, "fd00:244::6", "10.244.1.6"),
			want: []string{"host 10.244.1.5 host 10.244.1.6 port 8080"}, notes: []string{"2 IPv6 address(es) of --to svc/web:80 left out"}},
		{name: "node to a Service: the destination addresses alone", node: true, to: svcTo("80"), endpoints: eps(8080, "10.244.1.6"),
			want: []string{"host 10.96.12.34 port 80", "host 10.244.1.6 port 8080"}},
		{name: "pod to a pod", to: podTo, want: []string{"host 10.244.1.5 host 10.244.3.4 port 5432"}},
		{name: "pod to an address", to: ipTo, want: []string{"host 10.244.1.5 host 10.0.0.9 port 443"}},
		{name: "node to an address", node: true, to: ipTo, want: []string{"host 10.0.0.9 port 443"}},
		{name: "the pod itself: nothing left", to: selfTo, wantErr: []string{"--to pod/web-0:8080 leaves no traffic to capture"}},
		{name: "a host name is refused", to: hostTo, wantErr: []string{"--to example.com:443 names a host", "IP:PORT"}},

		{name: "--to and --filter intersect: a protocol", to: svcTo("80"), endpoints: eps(8080, "10.244.1.6"), user: []string{"tcp"},
			want: []string{"tcp host 10.244.1.5 host 10.96.12.34 port 80", "tcp host 10.244.1.5 host 10.244.1.6 port 8080"}},
		{name: "--to and --filter intersect: one backend by host", to: svcTo("80"), endpoints: eps(8080, "10.244.1.6", "10.244.2.7"),
			user: []string{"host 10.244.2.7"}, want: []string{"host 10.244.2.7 host 10.244.1.5 port 8080"}},
		{name: "--to and --filter intersect: each alternative with each pair", to: podTo, user: []string{"tcp", "udp"},
			want: []string{"tcp host 10.244.1.5 host 10.244.3.4 port 5432", "udp host 10.244.1.5 host 10.244.3.4 port 5432"}},
		{name: "--to and --filter intersect: a second port is the other end", to: ipTo, user: []string{"port 50000"},
			want: []string{"host 10.244.1.5 host 10.0.0.9 port 50000 port 443"}},
		{name: "--to without a port takes the --filter's", to: svcTo(""), endpoints: eps(8080, "10.244.1.6"), user: []string{"udp port 53"},
			want: []string{"udp host 10.244.1.5 host 10.96.12.34 port 53", "udp host 10.244.1.5 host 10.244.1.6 port 53"}},
		{name: "a --filter host that is no end of the --to traffic is refused", to: svcTo("80"), endpoints: eps(8080, "10.244.1.6"),
			user:    []string{"tcp", "host 10.0.0.99"},
			wantErr: []string{`--filter "host 10.0.0.99" cannot match any traffic between pod shop/web-0 (10.244.1.5) and --to svc/web:80`, "drop the --filter or change --to"}},
		{name: "a --filter of ICMP cannot take --to's port", to: ipTo, user: []string{"icmp"},
			wantErr: []string{`--filter "icmp" cannot match`}},
		{name: "a --filter with two more ports is refused", to: ipTo, user: []string{"port 1 port 2"},
			wantErr: []string{`--filter "port 1 port 2" cannot match`}},

		{name: "32 filters fit: the VIP and 31 backends", to: svcTo("80"), endpoints: manyBackends(31), want: make([]string, 32)},
		{name: "too many backends: refused, with the count and what to do", to: svcTo("80"), endpoints: manyBackends(40),
			wantErr: []string{"--to svc/web:80 needs 41 pktmon filters (1 for the Service's VIP and 1 for each of its 40 ready backends), more than the 32 pktmon takes",
				"--to pod/NAME:PORT", `drop --to and narrow with --filter (e.g. --filter "port 80")`}},
		{name: "too many with the --filter alternatives: refused, naming them", to: svcTo("80"), endpoints: manyBackends(20), user: []string{"tcp", "udp"},
			wantErr: []string{"needs 42 pktmon filters", "narrowed by 2 --filter alternatives", "give fewer --filter alternatives"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := FilterInput{To: tt.to, Endpoints: tt.endpoints, User: userFilters(t, tt.user...)}
			if !tt.node {
				in.Source, in.Who = pod, "pod shop/web-0"
			}
			got, notes, err := Filters(in)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; filters %v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, f := range got {
				gotS = append(gotS, f.String())
				// What the collector is sent must read back, and pktmon take it.
				if back, err := pktmon.ParseArg(f.Arg()); err != nil || back.String() != f.String() {
					t.Errorf("filter %q does not survive the collector's argument: %v", f, err)
				}
				if len(f.IPs) > 2 || len(f.Ports) > 2 || f.Empty() {
					t.Errorf("filter %q is not one pktmon takes", f)
				}
			}
			if len(tt.want) == pktmon.MaxFilters && tt.want[0] == "" {
				if len(got) != pktmon.MaxFilters {
					t.Errorf("%d filters, want %d", len(got), pktmon.MaxFilters)
				}
			} else if strings.Join(gotS, "; ") != strings.Join(tt.want, "; ") || (tt.want == nil) != (got == nil) {
				t.Errorf("filters:\n got %q\nwant %q", gotS, tt.want)
			}
			if len(notes) != len(tt.notes) {
				t.Errorf("notes %q, want %d", notes, len(tt.notes))
			}
			for i, w := range tt.notes {
				if i < len(notes) && !strings.Contains(notes[i], w) {
					t.Errorf("note %q lacks %q", notes[i], w)
				}
			}
		})
	}
}

func TestLookupTo(t *testing.T) {
	yes, no := true, false
	http, p8080 := "http", int32(8080)
	objs := []runtime.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.12.34", Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-x", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			Ports: []discoveryv1.EndpointPort{{Name: &http, Port: &p8080}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.1.6"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
				{Addresses: []string{"10.244.1.7"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
			}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "other", Labels: map[string]string{discoveryv1.LabelServiceName: "other"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.9.9"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "db-0"}, Status: corev1.PodStatus{PodIP: "10.244.3.4"}},
	}
	ctx := context.Background()
	parse := func(s string) pathplan.Target {
		tt, err := pathplan.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}

	c := fake.NewClientset(objs...)
	r, got, err := lookupTo(ctx, c, parse("svc/web:http"), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if r.IP != "10.96.12.34" || r.Port != 80 || len(got) != 1 || got[0].IP != "10.244.1.6" || got[0].Port != 8080 {
		t.Errorf("svc/web:http resolved to %s:%d with endpoints %+v; want the VIP on 80 and the one ready backend on 8080", r.IP, r.Port, got)
	}
	if r, _, err := lookupTo(ctx, c, parse("pod/data/db-0:5432"), "shop"); err != nil || r.IP != "10.244.3.4" || r.Port != 5432 {
		t.Errorf("pod/data/db-0:5432: %+v, %v", r, err)
	}
	if _, _, err := lookupTo(ctx, c, parse("svc/nope:80"), "shop"); err == nil || !strings.Contains(err.Error(), "no Service shop/nope was found") {
		t.Errorf("a missing Service: %v", err)
	}
	if _, _, err := lookupTo(ctx, c, parse("svc/web:9090"), "shop"); err == nil || !strings.Contains(err.Error(), "has no port 9090") {
		t.Errorf("a missing port: %v", err)
	}
	if _, _, err := lookupTo(ctx, c, parse("example.com:443"), "shop"); err == nil || !strings.Contains(err.Error(), "names a host") {
		t.Errorf("a host name: %v", err)
	}

	// Without the backends the filters would miss the flow after the load balancer: refused.
	denied := fake.NewClientset(objs...)
	denied.PrependReactor("list", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "", errors.New("RBAC"))
	})
	if _, _, err := lookupTo(ctx, denied, parse("svc/web:80"), "shop"); err == nil || !strings.Contains(err.Error(), "EndpointSlices") || !strings.Contains(err.Error(), "kubectl auth can-i list endpointslices") {
		t.Errorf("endpointslices forbidden: %v", err)
	}
	// A forbidden Service read is said as such, not as "not found".
	noSvc := fake.NewClientset(objs...)
	noSvc.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "web", errors.New("RBAC"))
	})
	if _, _, err := lookupTo(ctx, noSvc, parse("svc/web:80"), "shop"); err == nil || !strings.Contains(err.Error(), "could not all be read") {
		t.Errorf("services forbidden: %v", err)
	}
}
