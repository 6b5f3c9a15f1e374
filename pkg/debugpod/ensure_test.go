package debugpod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const ns = DefaultNamespace

var podsGVR = corev1.SchemeGroupVersion.WithResource("pods")

// newClient is a fake clientset that, like the API server, turns generateName into a name
// (winnet-<node>-00001, -00002, ...) and gives each created pod a UID.
func newClient(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	n := 0
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" && p.GenerateName != "" {
			n++
			p.Name = fmt.Sprintf("%s%05d", p.GenerateName, n)
			p.UID = types.UID("uid-" + p.Name[len(p.Name)-5:])
		}
		return false, nil, nil // let the object tracker store it
	})
	return c
}

// scriptWatch makes every pod watch return a fresh watcher preloaded with the events that
// script returns, so pod states are driven without timing. The watcher stays open afterwards.
func scriptWatch(c *fake.Clientset, script func(call int) []watch.Event) {
	calls := 0
	c.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		calls++
		evs := script(calls)
		w := watch.NewFakeWithChanSize(len(evs)+1, false)
		for _, ev := range evs {
			w.Action(ev.Type, ev.Object)
		}
		return true, w, nil
	})
}

// firstName is the name newClient gives the first pod created for node n1.
const firstName = "winnet-n1-00001"

type podState func(p *corev1.Pod)

func pod(name string, states ...podState) *corev1.Pod {
	p := Spec(Options{Node: windowsNode("n1")})
	p.Name = name
	p.GenerateName = ""
	p.UID = types.UID("uid-" + name[len(name)-5:])
	for _, s := range states {
		s(p)
	}
	return p
}

func waiting(reason, msg string) podState {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name:  ContainerName,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
		}}
	}
}

func running(startedAgo time.Duration) podState {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.StartTime = &metav1.Time{Time: time.Now().Add(-startedAgo)}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: ContainerName, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}
	}
}

func failed(reason, msg string) podState {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.Reason = reason
		p.Status.Message = msg
	}
}

func kept(p *corev1.Pod) { p.Annotations[AnnotationKeep] = "true" }

func terminating(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Now()} }

func modified(p *corev1.Pod) watch.Event { return watch.Event{Type: watch.Modified, Object: p} }

// recorder collects Progress sentences.
type recorder struct{ msgs []string }

func (r *recorder) progress(m string) { r.msgs = append(r.msgs, m) }

func (r *recorder) has(sub string) bool {
	for _, m := range r.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

func podExists(t *testing.T, c *fake.Clientset, name string) bool {
	t.Helper()
	_, err := c.Tracker().Get(podsGVR, ns, name)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("reading pod %s from the fake: %v", name, err)
	}
	return err == nil
}

func countActions(c *fake.Clientset, verb string) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == "pods" {
			n++
		}
	}
	return n
}

func TestEnsureWaitsForStates(t *testing.T) {
	node := windowsNode("n1")
	node.Status.NodeInfo.ContainerRuntimeVersion = "containerd://1.5.9"
	image := DefaultImage

	tests := []struct {
		name         string
		keep         bool
		events       []watch.Event
		wantErr      error
		wantMsg      []string // substrings of the error
		wantProgress []string
		wantPodLeft  bool
	}{
		{
			name:         "becomes running after creating its container",
			events:       []watch.Event{modified(pod(firstName, waiting("ContainerCreating", ""))), modified(pod(firstName, running(0)))},
			wantProgress: []string{"creating a debug pod in namespace winnet-system on node n1", "creating the debug pod's container", "debug pod winnet-system/" + firstName + " is running"},
			wantPodLeft:  true,
		},
		{
			name: "a transient pull error is retried",
			events: []watch.Event{
				modified(pod(firstName, waiting("ErrImagePull", "i/o timeout"))),
				modified(pod(firstName, waiting("ContainerCreating", ""))),
				modified(pod(firstName, running(0))),
			},
			wantProgress: []string{"could not pull image " + image + ", the kubelet will retry: i/o timeout"},
			wantPodLeft:  true,
		},
		{
			name: "pull back-off reports the pull error it hides",
			events: []watch.Event{
				modified(pod(firstName, waiting("ErrImagePull", `failed to resolve reference "x": not found`))),
				modified(pod(firstName, waiting("ImagePullBackOff", "Back-off pulling image"))),
			},
			wantErr: ErrImagePull,
			wantMsg: []string{"node n1 cannot pull image " + image, `ImagePullBackOff: failed to resolve reference "x": not found`, "check --image and the node's registry access"},
		},
		{
			name:    "invalid image name fails at once",
			events:  []watch.Event{modified(pod(firstName, waiting("InvalidImageName", "couldn't parse image name")))},
			wantErr: ErrImagePull,
			wantMsg: []string{"InvalidImageName: couldn't parse image name"},
		},
		{
			name:    "container creation error names the runtime",
			events:  []watch.Event{modified(pod(firstName, waiting("CreateContainerError", "hcs::CreateComputeSystem: The parameter is incorrect.")))},
			wantErr: ErrContainerStart,
			wantMsg: []string{"CreateContainerError: hcs::CreateComputeSystem: The parameter is incorrect.", "containerd 1.6 or newer", "node n1 runs containerd://1.5.9"},
		},
		{
			name:    "run container error",
			events:  []watch.Event{modified(pod(firstName, waiting("RunContainerError", "failed to start")))},
			wantErr: ErrContainerStart,
		},
		{
			name:    "deadline exceeded",
			events:  []watch.Event{modified(pod(firstName, failed("DeadlineExceeded", "Pod was active on the node longer than the specified deadline")))},
			wantErr: ErrPodFailed,
			wantMsg: []string{"reached its activeDeadlineSeconds", "DeadlineExceeded: Pod was active"},
		},
		{
			name:    "rejected by the kubelet",
			events:  []watch.Event{modified(pod(firstName, failed("OutOfcpu", "Node didn't have enough resource: cpu")))},
			wantErr: ErrPodFailed,
			wantMsg: []string{"failed on node n1", "OutOfcpu: Node didn't have enough resource: cpu", "kubectl describe node n1"},
		},
		{
			name: "exited before ready",
			events: []watch.Event{modified(pod(firstName, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodSucceeded
			}))},
			wantErr: ErrPodFailed,
			wantMsg: []string{"exited before it was ready"},
		},
		{
			name:    "deleted by someone else",
			events:  []watch.Event{{Type: watch.Deleted, Object: pod(firstName)}},
			wantErr: ErrPodDeleted,
			wantMsg: []string{"was deleted by someone else", "run the command again"},
		},
		{
			name:    "terminating counts as deleted",
			events:  []watch.Event{modified(pod(firstName, terminating))},
			wantErr: ErrPodDeleted,
		},
		{
			name:        "kept pod is left in place on failure",
			keep:        true,
			events:      []watch.Event{modified(pod(firstName, failed("OutOfmemory", "")))},
			wantErr:     ErrPodFailed,
			wantPodLeft: true,
		},
		{
			name: "events about other pods are ignored",
			events: []watch.Event{
				{Type: watch.Deleted, Object: pod("winnet-n1-99999")},
				modified(pod(firstName, running(0))),
			},
			wantPodLeft: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient()
			scriptWatch(c, func(int) []watch.Event { return tt.events })
			rec := &recorder{}
			h, err := Ensure(context.Background(), c, Options{Node: node, Keep: tt.keep, Timeout: time.Minute, Progress: rec.progress})

			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Ensure() error = %v", err)
				}
				if h.Name() != firstName || h.Namespace() != ns || h.Reused || h.Pod.Status.Phase != corev1.PodRunning {
					t.Errorf("handle = %s/%s reused=%v phase=%s", h.Namespace(), h.Name(), h.Reused, h.Pod.Status.Phase)
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Ensure() error = %v, want %v", err, tt.wantErr)
				}
				if h != nil {
					t.Errorf("Ensure() returned a handle with an error")
				}
			}
			for _, sub := range tt.wantMsg {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
			for _, sub := range tt.wantProgress {
				if !rec.has(sub) {
					t.Errorf("progress %q does not contain %q", rec.msgs, sub)
				}
			}
			if left := podExists(t, c, firstName); left != tt.wantPodLeft {
				t.Errorf("pod left behind = %v, want %v", left, tt.wantPodLeft)
			}
		})
	}
}

func TestEnsureCreatedPod(t *testing.T) {
	c := newClient()
	scriptWatch(c, func(int) []watch.Event { return []watch.Event{modified(pod(firstName, running(0)))} })
	if _, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1")}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.Tracker().Get(podsGVR, ns, firstName)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*corev1.Pod)
	if _, err := time.Parse(time.RFC3339, p.Annotations[AnnotationCreatedAt]); err != nil {
		t.Errorf("created-at annotation %q: %v", p.Annotations[AnnotationCreatedAt], err)
	}
	if p.Spec.NodeName != "n1" || p.Labels[LabelManagedBy] != ManagedByValue {
		t.Errorf("created pod nodeName=%q labels=%v", p.Spec.NodeName, p.Labels)
	}
}

// A watch that closes, or reports an error, is replaced after a fresh list: the list alone
// may already show the pod running.
func TestEnsureSurvivesWatchEnding(t *testing.T) {
	tests := []struct {
		name  string
		first func(w *watch.FakeWatcher)
	}{
		{"closed", func(w *watch.FakeWatcher) { w.Stop() }},
		{"error event", func(w *watch.FakeWatcher) {
			w.Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient()
			watches := 0
			c.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
				watches++
				w := watch.NewFakeWithChanSize(1, false)
				if watches == 1 {
					// The pod starts while nobody watches.
					if err := c.Tracker().Update(podsGVR, pod(firstName, running(0)), ns); err != nil {
						t.Errorf("updating the pod: %v", err)
					}
					tt.first(w)
				}
				return true, w, nil
			})
			h, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1"), Timeout: time.Minute})
			if err != nil {
				t.Fatalf("Ensure() error = %v", err)
			}
			if h.Pod.Status.Phase != corev1.PodRunning {
				t.Errorf("phase = %s", h.Pod.Status.Phase)
			}
			// One list to look for a kept pod, one before each watch.
			if lists := countActions(c, "list"); lists != 3 || watches != 1 {
				t.Errorf("lists = %d, watches = %d; want 3 and 1", lists, watches)
			}
		})
	}
}

func TestEnsureTimeout(t *testing.T) {
	tests := []struct {
		name        string
		keep        bool
		wantInspect string
		wantPodLeft bool
	}{
		{"deleted, with advice to keep it", false, "rerun with --keep and inspect it with `kubectl describe pod -n winnet-system -l winnet.kubectl.dev/node=n1`", false},
		{"kept, with its name", true, "`kubectl describe pod -n winnet-system " + firstName + "` (it was kept)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient()
			scriptWatch(c, func(int) []watch.Event { return nil }) // never changes
			_, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1"), Keep: tt.keep, Timeout: 20 * time.Millisecond})
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("Ensure() error = %v, want ErrTimeout", err)
			}
			for _, sub := range []string{
				"is still not running after 20ms",
				"; last state: Pending, not yet started by the kubelet on node n1 (is the node Ready? kubectl get node n1); ",
				"rerun with a longer --timeout",
				tt.wantInspect,
			} {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
			if left := podExists(t, c, firstName); left != tt.wantPodLeft {
				t.Errorf("pod left behind = %v, want %v", left, tt.wantPodLeft)
			}
		})
	}
}

// Ctrl-C while waiting: the error says so, and the pod is still deleted.
func TestEnsureCancelledStillDeletes(t *testing.T) {
	c := newClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scriptWatch(c, func(int) []watch.Event {
		cancel()
		return nil
	})
	_, err := Ensure(ctx, c, Options{Node: windowsNode("n1")})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Ensure() error = %v, want context.Canceled", err)
	}
	if podExists(t, c, firstName) {
		t.Error("pod left behind after cancellation")
	}
}

// A Ctrl-C while the create is in flight: the server creates the pod anyway (the request was
// sent), so the pod is created, then deleted, even with --keep.
func TestEnsureCancelledDuringCreateDeletes(t *testing.T) {
	for _, keep := range []bool{false, true} {
		c := newClient()
		ctx, cancel := context.WithCancel(context.Background())
		c.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel()
			return false, nil, nil // the tracker still creates it
		})
		_, err := Ensure(ctx, c, Options{Node: windowsNode("n1"), Keep: keep})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped while creating the debug pod") {
			t.Errorf("keep=%v: Ensure() error = %v, want context.Canceled while creating", keep, err)
		}
		if podExists(t, c, firstName) {
			t.Errorf("keep=%v: the pod created as Ctrl-C came is left behind", keep)
		}
		cancel()
	}
}

func TestEnsureRequiresNode(t *testing.T) {
	c := newClient()
	if _, err := Ensure(context.Background(), c, Options{}); err == nil {
		t.Fatal("Ensure() without a node succeeded")
	}
	if n := countActions(c, "create"); n != 0 {
		t.Errorf("created %d pods without a node", n)
	}
}

func TestEnsureReuse(t *testing.T) {
	const old = "winnet-n1-kept1"
	tests := []struct {
		name       string
		existing   *corev1.Pod
		wantReused bool
	}{
		{"kept, running, same image", pod(old, kept, running(time.Minute)), true},
		{"not kept: another run owns it", pod(old, running(time.Minute)), false},
		{"kept but another image", pod(old, kept, running(time.Minute), func(p *corev1.Pod) { p.Spec.Containers[0].Image = "old/image:v0.9" }), false},
		{"kept but terminating", pod(old, kept, running(time.Minute), terminating), false},
		{"kept but still pending", pod(old, kept, waiting("ContainerCreating", "")), false},
		{"kept but its deadline is near", pod(old, kept, running(28*time.Minute)), false},
		{"kept but on another node with the same label", pod(old, kept, running(time.Minute), func(p *corev1.Pod) { p.Spec.NodeName = "n2" }), false},
		{"kept but not ready", pod(old, kept, running(time.Minute), func(p *corev1.Pod) { p.Status.ContainerStatuses[0].Ready = false }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(tt.existing)
			scriptWatch(c, func(int) []watch.Event { return []watch.Event{modified(pod(firstName, running(0)))} })
			rec := &recorder{}
			h, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1"), Progress: rec.progress})
			if err != nil {
				t.Fatalf("Ensure() error = %v", err)
			}
			if h.Reused != tt.wantReused {
				t.Fatalf("Reused = %v, want %v", h.Reused, tt.wantReused)
			}
			wantName, wantCreates := firstName, 1
			if tt.wantReused {
				wantName, wantCreates = old, 0
				if !h.Kept || !rec.has("reusing kept debug pod winnet-system/"+old) {
					t.Errorf("Kept = %v, progress %q", h.Kept, rec.msgs)
				}
			}
			if h.Name() != wantName || countActions(c, "create") != wantCreates {
				t.Errorf("handle %s after %d creates; want %s after %d", h.Name(), countActions(c, "create"), wantName, wantCreates)
			}
			// Cleanup never deletes a pod an earlier run kept.
			if err := h.Cleanup(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if !podExists(t, c, old) {
				t.Error("cleanup deleted the kept pod")
			}
		})
	}
}

func TestEnsureCreateErrors(t *testing.T) {
	podsGR := schema.GroupResource{Resource: "pods"}
	forbidden := func(msg string) error { return apierrors.NewForbidden(podsGR, "", errors.New(msg)) }
	tests := []struct {
		name    string
		err     error
		wantErr error
		wantMsg []string
	}{
		{
			name:    "namespace missing",
			err:     apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns),
			wantErr: ErrNamespaceNotFound,
			wantMsg: []string{"namespace winnet-system does not exist: ask an admin to apply manifests/namespace.yaml, or pass --debug-namespace"},
		},
		{
			name:    "pod security",
			err:     forbidden(`violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)`),
			wantErr: ErrPodSecurity,
			wantMsg: []string{
				`violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`,
				"`kubectl label namespace winnet-system pod-security.kubernetes.io/enforce=privileged --overwrite`",
				"never relabels a namespace itself",
			},
		},
		{
			name:    "rbac",
			err:     forbidden(`User "dev" cannot create resource "pods" in API group "" in the namespace "winnet-system"`),
			wantErr: ErrForbidden,
			wantMsg: []string{"not allowed to create pods in namespace winnet-system", "manifests/rbac.yaml", "kubectl auth can-i create pods -n winnet-system", `User "dev" cannot create`},
		},
		{
			name:    "quota exceeded",
			err:     forbidden("exceeded quota: pods-cap, requested: pods=1, used: pods=10, limited: pods=10"),
			wantErr: ErrQuotaExceeded,
			wantMsg: []string{"exceeded quota: pods-cap", "requests cpu 10m and memory 64Mi", "kubectl winnet cleanup", "kubectl describe resourcequota -n winnet-system"},
		},
		{
			name:    "quota demands limits",
			err:     forbidden("failed quota: compute: must specify limits.cpu for: winnet"),
			wantErr: ErrQuotaExceeded,
		},
		{
			name:    "policy webhook",
			err:     forbidden(`admission webhook "validation.gatekeeper.sh" denied the request: [psp-host-network] hostNetwork not allowed`),
			wantErr: ErrAdmissionDenied,
			wantMsg: []string{"an admission policy refused the debug pod", "hostNetwork not allowed"},
		},
		{
			name:    "no default service account",
			err:     forbidden(`error looking up service account winnet-system/default: serviceaccount "default" not found`),
			wantErr: ErrAdmissionDenied,
			wantMsg: []string{"no default ServiceAccount", "kubectl create serviceaccount default -n winnet-system"},
		},
		{
			name: "privileged disallowed",
			err: apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "", field.ErrorList{
				field.Forbidden(field.NewPath("spec", "securityContext", "windowsOptions", "hostProcess"), "disallowed by cluster policy"),
			}),
			wantErr: ErrInvalidPod,
			wantMsg: []string{"spec.securityContext.windowsOptions.hostProcess: Forbidden: disallowed by cluster policy", "--allow-privileged=false"},
		},
		{
			name: "other invalid",
			err: apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "", field.ErrorList{
				field.Invalid(field.NewPath("spec", "containers").Index(0).Child("image"), " bad", "must not have leading or trailing whitespace"),
			}),
			wantErr: ErrInvalidPod,
			wantMsg: []string{"spec.containers[0].image: Invalid value", "check --image"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient()
			c.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tt.err
			})
			_, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1")})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Ensure() error = %v, want %v", err, tt.wantErr)
			}
			// The API status stays reachable for callers that look at it.
			if apierrors.ReasonForError(err) != apierrors.ReasonForError(tt.err) {
				t.Errorf("reason %q lost, got %q", apierrors.ReasonForError(tt.err), apierrors.ReasonForError(err))
			}
			for _, sub := range tt.wantMsg {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
		})
	}

	t.Run("other failures are wrapped", func(t *testing.T) {
		c := newClient()
		cause := apierrors.NewServerTimeout(schema.GroupResource{Resource: "pods"}, "create", 1)
		c.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, cause })
		_, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1")})
		if !apierrors.IsServerTimeout(err) || !strings.HasPrefix(err.Error(), "creating the debug pod in namespace winnet-system for node n1: ") {
			t.Errorf("Ensure() error = %v", err)
		}
	})
}
