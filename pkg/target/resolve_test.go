package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func node(name, os string, ready corev1.ConditionStatus, reason, msg string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if os != "" {
		n.Labels[corev1.LabelOSStable] = os
	}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: reason, Message: msg}}
	}
	return n
}

func winNode(name string, ready bool) *corev1.Node {
	if ready {
		return node(name, "windows", corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	}
	return node(name, "windows", corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready")
}

// pod builds a pod created createdMin minutes after t0 (larger is newer).
func pod(ns, name, nodeName string, lbls map[string]string, phase corev1.PodPhase, ready bool, createdMin int) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, Labels: lbls,
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(createdMin) * time.Minute)),
		},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: phase},
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func sel(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func app(a string) map[string]string { return map[string]string{"app": a} }

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "shop", Name: name} }

// world is one namespace "shop" with a bit of everything.
func world() []runtime.Object {
	unschedulable := pod("shop", "pending-pod", "", app("pending"), corev1.PodPending, false, 0)
	unschedulable.Status.Conditions = append(unschedulable.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
	})
	infoOnly := node("win-noinfo", "", corev1.ConditionTrue, "", "")
	infoOnly.Status.NodeInfo.OperatingSystem = "windows"
	return []runtime.Object{
		winNode("win-1", true),
		winNode("win-2", true),
		winNode("win-down", false),
		infoOnly,
		node("lin-1", "linux", corev1.ConditionTrue, "", ""),
		node("win-silent", "windows", "", "", ""),

		pod("shop", "web-0", "win-1", app("web"), corev1.PodRunning, true, 30),
		pod("shop", "web-1", "win-2", app("web"), corev1.PodRunning, true, 20),
		pod("shop", "web-2", "win-1", app("web"), corev1.PodRunning, false, 40),
		pod("shop", "db-0", "win-2", app("db"), corev1.PodRunning, true, 0),
		pod("shop", "agent-win", "win-1", app("agent"), corev1.PodRunning, true, 0),
		pod("shop", "agent-lin", "lin-1", app("agent"), corev1.PodRunning, true, 0),
		pod("shop", "once-x", "win-2", app("once"), corev1.PodPending, false, 5),
		pod("shop", "once-y", "win-2", app("once"), corev1.PodFailed, false, 1),
		pod("shop", "linpod", "lin-1", app("lin"), corev1.PodRunning, true, 0),
		pod("shop", "lin-b", "lin-1", app("lin"), corev1.PodRunning, true, 0),
		pod("shop", "lin-c", "", app("lin"), corev1.PodPending, false, 0),
		unschedulable,
		pod("shop", "done-pod", "win-1", nil, corev1.PodSucceeded, false, 0),
		pod("shop", "done-unbound", "", nil, corev1.PodFailed, false, 0),
		pod("shop", "orphan", "win-gone", app("orphan"), corev1.PodRunning, true, 0),
		pod("shop", "down-a", "win-down", app("down"), corev1.PodRunning, true, 1),
		pod("shop", "down-b", "win-down", app("down"), corev1.PodRunning, true, 2),
		pod("shop", "silent-pod", "win-silent", nil, corev1.PodRunning, true, 0),
		pod("default", "dflt", "win-1", nil, corev1.PodRunning, true, 0),

		&appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: sel("web")}},
		&appsv1.Deployment{ObjectMeta: meta("nosel")},
		&appsv1.Deployment{ObjectMeta: meta("emptysel"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{}}},
		&appsv1.Deployment{ObjectMeta: meta("badsel"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}},
		}}},
		&appsv1.Deployment{ObjectMeta: meta("idle"), Spec: appsv1.DeploymentSpec{Selector: sel("nothing")}},
		&appsv1.Deployment{ObjectMeta: meta("down"), Spec: appsv1.DeploymentSpec{Selector: sel("down")}},
		&appsv1.Deployment{ObjectMeta: meta("orphan"), Spec: appsv1.DeploymentSpec{Selector: sel("orphan")}},
		&appsv1.ReplicaSet{ObjectMeta: meta("web-rs"), Spec: appsv1.ReplicaSetSpec{Selector: sel("web")}},
		&appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{Selector: sel("db")}},
		&appsv1.DaemonSet{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Selector: sel("agent")}},
		&batchv1.Job{ObjectMeta: meta("once"), Spec: batchv1.JobSpec{Selector: sel("once")}},
		&corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{Selector: app("web")}},
		&corev1.Service{ObjectMeta: meta("lin"), Spec: corev1.ServiceSpec{Selector: app("lin")}},
		&corev1.Service{ObjectMeta: meta("manual")},
	}
}

// got is the comparable part of a Target.
type got struct {
	Kind Kind
	Pod  string // namespace/name
	Node string
	From string
	Note string
}

func summary(t *Target) got {
	g := got{Kind: t.Kind(), From: t.From, Note: t.Note}
	if t.Pod != nil {
		g.Pod = t.Pod.Namespace + "/" + t.Pod.Name
	}
	if t.Node != nil {
		g.Node = t.Node.Name
	}
	return g
}

var sentinels = []error{
	ErrInvalidTarget, ErrNotFound, ErrForbidden, ErrNoSelector, ErrNoWindowsPods,
	ErrPodNotScheduled, ErrPodNotRunning, ErrNotWindows, ErrNodeNotReady, ErrNodeGone,
}

// checkErr asserts err matches want and no other sentinel, and reads as the user needs.
func checkErr(t *testing.T, err, want error, msgs []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not match %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("error %q also matches %v", err, s)
		}
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not contain %q", err, m)
		}
	}
	if msg := err.Error(); msg != "" && strings.ToUpper(msg[:1]) == msg[:1] && strings.ToLower(msg[:1]) != msg[:1] {
		t.Errorf("error %q starts with a capital letter", err)
	}
}

func forbidOn(verb, resource string) func(*fake.Clientset) {
	return func(c *fake.Clientset) {
		c.PrependReactor(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			name := ""
			if g, ok := a.(k8stesting.GetAction); ok {
				name = g.GetName()
			}
			gr := schema.GroupResource{Group: a.GetResource().Group, Resource: resource}
			return true, nil, apierrors.NewForbidden(gr, name,
				fmt.Errorf("User \"bob\" cannot %s resource %q", verb, resource))
		})
	}
}

func TestResolve(t *testing.T) {
	web := got{Kind: KindPod, Pod: "shop/web-0", Node: "win-1", From: "pod/web-0"}
	node1 := got{Kind: KindNode, Node: "win-1", From: "node/win-1"}
	webNote := func(from string) got {
		return got{Kind: KindPod, Pod: "shop/web-0", Node: "win-1", From: from,
			Note: "picked pod shop/web-0 (1 of 3 running Windows pods of " + from + ")"}
	}
	tests := []struct {
		name    string
		ns      string // "shop" when empty and noDefault is false
		useNS   bool   // pass ns as is, even ""
		arg     string
		react   func(*fake.Clientset)
		want    got
		wantErr error
		msgs    []string
	}{
		// Every accepted form.
		{name: "pod/", arg: "pod/web-0", want: web},
		{name: "po/", arg: "po/web-0", want: web},
		{name: "pods/", arg: "pods/web-0", want: web},
		{name: "bare name", arg: "web-0", want: web},
		{name: "type is case-insensitive", arg: "Pod/web-0", want: web},
		{name: "pending pod on a node is diagnosable", arg: "once-x",
			want: got{Kind: KindPod, Pod: "shop/once-x", Node: "win-2", From: "pod/once-x"}},
		{name: "node/", arg: "node/win-1", want: node1},
		{name: "no/", arg: "no/win-1", want: node1},
		{name: "nodes/", arg: "NODES/win-1", want: node1},
		{name: "node without os label, OS from nodeInfo", arg: "node/win-noinfo",
			want: got{Kind: KindNode, Node: "win-noinfo", From: "node/win-noinfo"}},
		{name: "deploy/", arg: "deploy/web", want: webNote("deploy/web")},
		{name: "deployment/", arg: "deployment/web", want: webNote("deploy/web")},
		{name: "deployments/", arg: "deployments/web", want: webNote("deploy/web")},
		{name: "deployments.apps/", arg: "deployments.apps/web", want: webNote("deploy/web")},
		{name: "rs/", arg: "rs/web-rs", want: webNote("rs/web-rs")},
		{name: "replicaset/", arg: "replicaset/web-rs", want: webNote("rs/web-rs")},
		{name: "svc/", arg: "svc/web", want: webNote("svc/web")},
		{name: "service/", arg: "service/web", want: webNote("svc/web")},
		{name: "services/", arg: "services/web", want: webNote("svc/web")},
		{name: "sts/", arg: "sts/db", want: got{Kind: KindPod, Pod: "shop/db-0", Node: "win-2", From: "sts/db",
			Note: "picked pod shop/db-0 (the only running Windows pod of sts/db)"}},
		{name: "statefulsets.apps/", arg: "statefulsets.apps/db", want: got{Kind: KindPod, Pod: "shop/db-0", Node: "win-2", From: "sts/db",
			Note: "picked pod shop/db-0 (the only running Windows pod of sts/db)"}},
		{name: "ds/ skips linux pods", arg: "ds/agent", want: got{Kind: KindPod, Pod: "shop/agent-win", Node: "win-1", From: "ds/agent",
			Note: "picked pod shop/agent-win (the only running Windows pod of ds/agent); skipped 1 other pod: 1 on linux nodes"}},
		{name: "daemonset/", arg: "daemonset/agent", want: got{Kind: KindPod, Pod: "shop/agent-win", Node: "win-1", From: "ds/agent",
			Note: "picked pod shop/agent-win (the only running Windows pod of ds/agent); skipped 1 other pod: 1 on linux nodes"}},
		{name: "job/ picks a pending pod, skips a finished one", arg: "job/once", want: got{Kind: KindPod, Pod: "shop/once-x", Node: "win-2", From: "job/once",
			Note: "picked pod shop/once-x (the only Windows pod of job/once); it is not Ready (phase Pending); skipped 1 other pod: 1 finished"}},
		{name: "jobs.batch/", arg: "jobs.batch/once", want: got{Kind: KindPod, Pod: "shop/once-x", Node: "win-2", From: "job/once",
			Note: "picked pod shop/once-x (the only Windows pod of job/once); it is not Ready (phase Pending); skipped 1 other pod: 1 finished"}},
		{name: "empty namespace means default", useNS: true, ns: "", arg: "dflt",
			want: got{Kind: KindPod, Pod: "default/dflt", Node: "win-1", From: "pod/dflt"}},

		// Syntax.
		{name: "unknown type", arg: "cm/web", wantErr: ErrInvalidTarget, msgs: []string{`"cm"`, "service (svc)"}},

		// Not found.
		{name: "pod not found", arg: "pod/nope", wantErr: ErrNotFound,
			msgs: []string{`pod "nope" not found in namespace "shop"`, "-n", "--context", "kubectl get pods -n shop"}},
		{name: "pod in another namespace", ns: "other", arg: "web-0", wantErr: ErrNotFound,
			msgs: []string{`pod "web-0" not found in namespace "other"`, "kubectl get pods -n other"}},
		{name: "node not found", arg: "node/nope", wantErr: ErrNotFound,
			msgs: []string{`node "nope" not found`, "kubectl get nodes -l kubernetes.io/os=windows"}},
		{name: "deployment not found", arg: "deploy/nope", wantErr: ErrNotFound,
			msgs: []string{`deployment "nope" not found in namespace "shop"`, "kubectl get deployments -n shop"}},
		{name: "statefulset not found", arg: "sts/nope", wantErr: ErrNotFound, msgs: []string{`statefulset "nope" not found`}},
		{name: "daemonset not found", arg: "ds/nope", wantErr: ErrNotFound, msgs: []string{`daemonset "nope" not found`}},
		{name: "replicaset not found", arg: "rs/nope", wantErr: ErrNotFound, msgs: []string{`replicaset "nope" not found`}},
		{name: "job not found", arg: "job/nope", wantErr: ErrNotFound, msgs: []string{`job "nope" not found`, "kubectl get jobs -n shop"}},
		{name: "service not found", arg: "svc/nope", wantErr: ErrNotFound,
			msgs: []string{`service "nope" not found in namespace "shop"`, "kubectl get services -n shop"}},

		// Pod states.
		{name: "pod not scheduled", arg: "pending-pod", wantErr: ErrPodNotScheduled,
			msgs: []string{`pod "pending-pod" in namespace "shop" is not scheduled`, "phase Pending", "Unschedulable",
				"0/3 nodes are available", "kubectl describe pod pending-pod -n shop"}},
		{name: "pod succeeded", arg: "done-pod", wantErr: ErrPodNotRunning,
			msgs: []string{"phase Succeeded", "nothing left", "kubectl winnet diagnose node/win-1"}},
		{name: "failed pod never bound", arg: "done-unbound", wantErr: ErrPodNotRunning,
			msgs: []string{"phase Failed", "node/NAME"}},
		{name: "pod on linux node", arg: "linpod", wantErr: ErrNotWindows,
			msgs: []string{`node "lin-1"`, `kubernetes.io/os label is "linux"`, "Windows nodes only", "kubectl debug -it linpod -n shop"}},
		{name: "pod on not-ready node", arg: "down-a", wantErr: ErrNodeNotReady,
			msgs: []string{`node "win-down"`, "Ready=False", "KubeletNotReady", "container runtime network not ready",
				"debug pod cannot start", "kubectl describe node win-down"}},
		{name: "pod on deleted node", arg: "orphan", wantErr: ErrNodeGone,
			msgs: []string{`node "win-gone"`, "no longer exists", "kubectl get pods -n shop -o wide"}},

		// Node states.
		{name: "linux node", arg: "node/lin-1", wantErr: ErrNotWindows,
			msgs: []string{`node "lin-1"`, `kubernetes.io/os label is "linux"`, "kubectl debug node/lin-1"}},
		{name: "not-ready node", arg: "node/win-down", wantErr: ErrNodeNotReady,
			msgs: []string{`node "win-down" is not Ready`, "Ready=False, reason KubeletNotReady", "kubectl describe node win-down"}},
		{name: "node without Ready condition", arg: "node/win-silent", wantErr: ErrNodeNotReady,
			msgs: []string{"no Ready condition"}},
		{name: "pod on node without Ready condition", arg: "silent-pod", wantErr: ErrNodeNotReady,
			msgs: []string{`node "win-silent"`, "no Ready condition"}},

		// Workloads and Services that lead nowhere.
		{name: "service without selector", arg: "svc/manual", wantErr: ErrNoSelector,
			msgs: []string{`service "manual" in namespace "shop" has no pod selector`, "pod/NAME", "kubernetes.io/service-name=manual"}},
		{name: "deployment without selector", arg: "deploy/nosel", wantErr: ErrNoSelector,
			msgs: []string{`deployment "nosel"`, "no pod selector", "pod/NAME"}},
		{name: "deployment with empty selector", arg: "deploy/emptysel", wantErr: ErrNoSelector},
		{name: "deployment with invalid selector", arg: "deploy/badsel", wantErr: ErrNoSelector,
			msgs: []string{"cannot use", "Bogus"}},
		{name: "deployment with no pods", arg: "deploy/idle", wantErr: ErrNoWindowsPods,
			msgs: []string{`deploy/idle in namespace "shop" selects no pods`, "app=nothing", "kubectl get pods -n shop -l 'app=nothing'"}},
		{name: "service with only linux pods", arg: "svc/lin", wantErr: ErrNoWindowsPods,
			msgs: []string{"has 3 pods but none is on a Windows node", "1 not scheduled yet, 2 on linux nodes",
				"kubernetes.io/os: windows", "kubectl get pods -n shop -l 'app=lin' -o wide"}},
		{name: "deployment whose node was deleted", arg: "deploy/orphan", wantErr: ErrNoWindowsPods,
			msgs: []string{"1 on deleted nodes"}},
		{name: "deployment whose windows nodes are all down", arg: "deploy/down", wantErr: ErrNodeNotReady,
			msgs: []string{`pod "down-b"`, "best of 2 Windows pods of deploy/down", `node "win-down"`, "Ready=False"}},

		// RBAC.
		{name: "get pod forbidden", arg: "pod/web-0", react: forbidOn("get", "pods"), wantErr: ErrForbidden,
			msgs: []string{`refused to get pods "web-0" in namespace "shop"`, `User "bob"`, "get and list pods",
				"kubectl auth can-i get pods -n shop"}},
		{name: "list pods forbidden", arg: "svc/web", react: forbidOn("list", "pods"), wantErr: ErrForbidden,
			msgs: []string{"finding the pods of svc/web", `refused to list pods in namespace "shop"`, "kubectl auth can-i list pods -n shop"}},
		{name: "get deployment forbidden", arg: "deploy/web", react: forbidOn("get", "deployments"), wantErr: ErrForbidden,
			msgs: []string{`refused to get deployments.apps "web"`, "kubectl auth can-i get deployments.apps -n shop"}},
		{name: "get service forbidden", arg: "svc/web", react: forbidOn("get", "services"), wantErr: ErrForbidden,
			msgs: []string{`refused to get services "web"`}},
		{name: "get node forbidden for node target", arg: "node/win-1", react: forbidOn("get", "nodes"), wantErr: ErrForbidden,
			msgs: []string{`refused to get nodes "win-1"`, "kubectl auth can-i get nodes"}},
		{name: "get node forbidden, pod does not declare its OS", arg: "pod/web-0", react: forbidOn("get", "nodes"), wantErr: ErrForbidden,
			msgs: []string{`refused to get nodes "win-1"`, `pod "web-0" does not declare its OS`}},
		{name: "get node forbidden while picking", arg: "svc/web", react: forbidOn("get", "nodes"), wantErr: ErrForbidden,
			msgs: []string{"choosing a Windows pod of svc/web", `refused to get nodes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := tt.ns
			if ns == "" && !tt.useNS {
				ns = "shop"
			}
			c := fake.NewClientset(world()...)
			if tt.react != nil {
				tt.react(c)
			}
			tgt, err := Resolve(context.Background(), c, ns, tt.arg)
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr, tt.msgs)
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q) unexpected error: %v", tt.arg, err)
			}
			if g := summary(tgt); g != tt.want {
				t.Errorf("Resolve(%q):\n got %+v\nwant %+v", tt.arg, g, tt.want)
			}
			if tgt.Node == nil {
				t.Fatal("Target.Node is nil")
			}
			if tgt.Pod != nil && tgt.Pod.Spec.NodeName != tgt.Node.Name {
				t.Errorf("pod is on %q but Target.Node is %q", tgt.Pod.Spec.NodeName, tgt.Node.Name)
			}
		})
	}
}

// TestResolveKeepsAPIErrors checks callers can still inspect the API status under our sentence.
func TestResolveKeepsAPIErrors(t *testing.T) {
	tests := []struct {
		name  string
		arg   string
		react func(*fake.Clientset)
		is    func(error) bool
	}{
		{"not found", "pod/nope", nil, apierrors.IsNotFound},
		{"forbidden get", "pod/web-0", forbidOn("get", "pods"), apierrors.IsForbidden},
		{"forbidden list", "deploy/web", forbidOn("list", "pods"), apierrors.IsForbidden},
		{"other API error", "deploy/web", func(c *fake.Clientset) {
			c.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewInternalError(errors.New("etcd is sad"))
			})
		}, apierrors.IsInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset(world()...)
			if tt.react != nil {
				tt.react(c)
			}
			_, err := Resolve(context.Background(), c, "shop", tt.arg)
			if err == nil || !tt.is(err) {
				t.Fatalf("Resolve(%q) error = %v, want the API status kept", tt.arg, err)
			}
		})
	}
}

func TestResolveOtherAPIErrorIsWrapped(t *testing.T) {
	c := fake.NewClientset(world()...)
	c.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is sad"))
	})
	_, err := Resolve(context.Background(), c, "shop", "deploy/web")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			t.Errorf("error %q matches %v; an unexpected API failure is not a user-fixable state", err, s)
		}
	}
	if want := `getting deployment "web" in namespace "shop"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestResolveNodeForbiddenFallback(t *testing.T) {
	withOS := func(p *corev1.Pod, os string) *corev1.Pod {
		p.Spec.OS = &corev1.PodOS{Name: corev1.OSName(os)}
		return p
	}
	withSelector := func(p *corev1.Pod, os string) *corev1.Pod {
		p.Spec.NodeSelector = map[string]string{corev1.LabelOSStable: os}
		return p
	}
	tests := []struct {
		name    string
		objs    []runtime.Object
		arg     string
		want    got
		wantErr error
		msgs    []string
	}{
		{
			name: "spec.os.name windows",
			objs: []runtime.Object{withOS(pod("shop", "p", "win-1", nil, corev1.PodRunning, true, 0), "windows")},
			arg:  "pod/p",
			want: got{Kind: KindPod, Pod: "shop/p", Node: "win-1", From: "pod/p"},
		},
		{
			name: "nodeSelector windows",
			objs: []runtime.Object{withSelector(pod("shop", "p", "win-1", nil, corev1.PodRunning, true, 0), "windows")},
			arg:  "p",
			want: got{Kind: KindPod, Pod: "shop/p", Node: "win-1", From: "pod/p"},
		},
		{
			name: "nodeSelector linux",
			objs: []runtime.Object{withSelector(pod("shop", "p", "lin-1", nil, corev1.PodRunning, true, 0), "linux")},
			arg:  "p", wantErr: ErrNotWindows,
			msgs: []string{`node "lin-1"`, "may not read", `nodeSelector kubernetes.io/os is "linux"`},
		},
		{
			name: "workload picks among pods that declare windows",
			objs: []runtime.Object{
				&appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: sel("web")}},
				withOS(pod("shop", "a", "win-1", app("web"), corev1.PodRunning, true, 1), "windows"),
				withOS(pod("shop", "b", "lin-1", app("web"), corev1.PodRunning, true, 2), "linux"),
			},
			arg: "deploy/web",
			want: got{Kind: KindPod, Pod: "shop/a", Node: "win-1", From: "deploy/web",
				Note: "picked pod shop/a (the only running Windows pod of deploy/web); skipped 1 other pod: 1 on linux nodes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset(tt.objs...)
			forbidOn("get", "nodes")(c)
			tgt, err := Resolve(context.Background(), c, "shop", tt.arg)
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr, tt.msgs)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if g := summary(tgt); g != tt.want {
				t.Errorf("got %+v\nwant %+v", g, tt.want)
			}
			if os := tgt.Node.Labels[corev1.LabelOSStable]; os != "windows" {
				t.Errorf("stub node os label = %q, want windows", os)
			}
			if len(tgt.Node.Status.Conditions) != 0 {
				t.Errorf("stub node has conditions %v; it must not pretend to know the node's state", tgt.Node.Status.Conditions)
			}
		})
	}
}

func TestPickOrder(t *testing.T) {
	deploy := &appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: sel("web")}}
	nodes := []runtime.Object{winNode("win-1", true), winNode("win-down", false)}
	p := func(name, nodeName string, phase corev1.PodPhase, ready bool, created int) *corev1.Pod {
		return pod("shop", name, nodeName, app("web"), phase, ready, created)
	}
	terminating := p("a-old-terminating", "win-1", corev1.PodRunning, true, 50)
	now := metav1.NewTime(t0.Add(time.Hour))
	terminating.DeletionTimestamp = &now
	terminating.Finalizers = []string{"example.com/hold"} // the fake tracker keeps it like the API would

	tests := []struct {
		name     string
		pods     []*corev1.Pod
		wantPod  string
		wantNote string
	}{
		{
			name:     "ready beats newer not-ready",
			pods:     []*corev1.Pod{p("old-ready", "win-1", corev1.PodRunning, true, 1), p("new-unready", "win-1", corev1.PodRunning, false, 9)},
			wantPod:  "old-ready",
			wantNote: "picked pod shop/old-ready (1 of 2 running Windows pods of deploy/web)",
		},
		{
			name:     "running beats newer pending",
			pods:     []*corev1.Pod{p("running", "win-1", corev1.PodRunning, false, 1), p("pending", "win-1", corev1.PodPending, false, 9)},
			wantPod:  "running",
			wantNote: "picked pod shop/running (1 of 2 Windows pods of deploy/web, 1 running); it is not Ready (phase Running)",
		},
		{
			name:     "ready node beats ready pod on a not-ready node",
			pods:     []*corev1.Pod{p("on-down", "win-down", corev1.PodRunning, true, 9), p("on-up", "win-1", corev1.PodRunning, false, 1)},
			wantPod:  "on-up",
			wantNote: "picked pod shop/on-up (1 of 2 running Windows pods of deploy/web); it is not Ready (phase Running)",
		},
		{
			name:     "not terminating beats newer terminating",
			pods:     []*corev1.Pod{terminating, p("z-live", "win-1", corev1.PodRunning, true, 1)},
			wantPod:  "z-live",
			wantNote: "picked pod shop/z-live (1 of 2 running Windows pods of deploy/web)",
		},
		{
			name:     "newest among equals",
			pods:     []*corev1.Pod{p("a", "win-1", corev1.PodRunning, true, 1), p("b", "win-1", corev1.PodRunning, true, 3), p("c", "win-1", corev1.PodRunning, true, 2)},
			wantPod:  "b",
			wantNote: "picked pod shop/b (1 of 3 running Windows pods of deploy/web)",
		},
		{
			name:     "name breaks ties",
			pods:     []*corev1.Pod{p("web-b", "win-1", corev1.PodRunning, true, 1), p("web-a", "win-1", corev1.PodRunning, true, 1), p("web-c", "win-1", corev1.PodRunning, true, 1)},
			wantPod:  "web-a",
			wantNote: "picked pod shop/web-a (1 of 3 running Windows pods of deploy/web)",
		},
		{
			name:     "all pending",
			pods:     []*corev1.Pod{p("x", "win-1", corev1.PodPending, false, 1), p("y", "win-1", corev1.PodPending, false, 2)},
			wantPod:  "y",
			wantNote: "picked pod shop/y (1 of 2 Windows pods of deploy/web); it is not Ready (phase Pending)",
		},
	}
	for _, tt := range tests {
		// Every rotation of the input order must give the same pick.
		for rot := range tt.pods {
			t.Run(fmt.Sprintf("%s/rotation-%d", tt.name, rot), func(t *testing.T) {
				objs := append([]runtime.Object{deploy}, nodes...)
				for i := range tt.pods {
					objs = append(objs, tt.pods[(i+rot)%len(tt.pods)].DeepCopy())
				}
				tgt, err := Resolve(context.Background(), fake.NewClientset(objs...), "shop", "deploy/web")
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tgt.Pod.Name != tt.wantPod {
					t.Errorf("picked %q, want %q", tgt.Pod.Name, tt.wantPod)
				}
				if tgt.Note != tt.wantNote {
					t.Errorf("note:\n got %q\nwant %q", tgt.Note, tt.wantNote)
				}
			})
		}
	}
}

func TestListPodsFollowsContinue(t *testing.T) {
	c := fake.NewClientset(winNode("win-1", true),
		&appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: sel("web")}})
	pages := map[string]*corev1.PodList{
		"": {ListMeta: metav1.ListMeta{Continue: "page2"},
			Items: []corev1.Pod{*pod("shop", "first", "win-1", app("web"), corev1.PodRunning, true, 1)}},
		"page2": {Items: []corev1.Pod{*pod("shop", "second", "win-1", app("web"), corev1.PodRunning, true, 2)}},
	}
	var calls int
	c.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		opts := a.(k8stesting.ListActionImpl).GetListOptions()
		if opts.Limit != listPageSize {
			t.Errorf("list Limit = %d, want %d", opts.Limit, listPageSize)
		}
		page, ok := pages[opts.Continue]
		if !ok {
			return true, nil, fmt.Errorf("unexpected continue token %q", opts.Continue)
		}
		return true, page, nil
	})
	tgt, err := Resolve(context.Background(), c, "shop", "deploy/web")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if calls != 2 {
		t.Errorf("list calls = %d, want 2", calls)
	}
	if tgt.Pod.Name != "second" {
		t.Errorf("picked %q, want %q (the newer pod, on the second page)", tgt.Pod.Name, "second")
	}
	if want := "picked pod shop/second (1 of 2 running Windows pods of deploy/web)"; tgt.Note != want {
		t.Errorf("note = %q, want %q", tgt.Note, want)
	}
}

func TestNodesAreReadOncePerName(t *testing.T) {
	objs := []runtime.Object{winNode("win-1", true),
		&appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: sel("web")}}}
	for i := range 5 {
		objs = append(objs, pod("shop", fmt.Sprintf("web-%d", i), "win-1", app("web"), corev1.PodRunning, true, i))
	}
	c := fake.NewClientset(objs...)
	if _, err := Resolve(context.Background(), c, "shop", "deploy/web"); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	gets := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "nodes" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("node gets = %d, want 1", gets)
	}
}

func TestResolveBadInput(t *testing.T) {
	tests := []struct {
		name    string
		client  bool
		arg     string
		wantErr error
		msg     string
	}{
		{"nil client", false, "pod/web-0", nil, "no Kubernetes client"},
		{"bad arg is reported before the missing client", false, "a/b/c", ErrInvalidTarget, "TYPE/NAME"},
		{"empty arg", true, "", ErrInvalidTarget, "no target given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *fake.Clientset
			var err error
			if tt.client {
				c = fake.NewClientset()
				_, err = Resolve(context.Background(), c, "shop", tt.arg)
			} else {
				_, err = Resolve(context.Background(), nil, "shop", tt.arg)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not match %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}
