package debugpod

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

func TestCleanup(t *testing.T) {
	tests := []struct {
		name        string
		keep        bool
		cancelFirst bool // Ctrl-C before cleanup
		goneAlready bool
		deleteErr   error
		wantErr     error
		wantPodLeft bool
	}{
		{name: "deletes the pod it created"},
		{name: "deletes after the caller's context is cancelled", cancelFirst: true},
		{name: "leaves a kept pod", keep: true, wantPodLeft: true},
		{name: "a pod already gone is success", goneAlready: true},
		{
			name:        "refused delete says which permission",
			deleteErr:   apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, firstName, errors.New(`User "dev" cannot delete resource "pods" in API group "" in the namespace "winnet-system"`)),
			wantErr:     ErrForbidden,
			wantPodLeft: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient()
			scriptWatch(c, func(int) []watch.Event { return []watch.Event{modified(pod(firstName, running(0)))} })
			h, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1"), Keep: tt.keep})
			if err != nil {
				t.Fatal(err)
			}
			if tt.goneAlready {
				if err := c.Tracker().Delete(podsGVR, ns, firstName); err != nil {
					t.Fatal(err)
				}
			}
			if tt.deleteErr != nil {
				c.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tt.deleteErr })
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancelFirst {
				cancel()
			}
			defer cancel()
			h.Pod.Namespace = "elsewhere" // a changed Pod must not redirect the delete

			err = h.Cleanup(ctx, c)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Cleanup() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "not allowed to delete pods in namespace winnet-system") {
				t.Errorf("error %q does not name the missing permission", err)
			}
			if left := podExists(t, c, firstName); left != tt.wantPodLeft {
				t.Errorf("pod left = %v, want %v", left, tt.wantPodLeft)
			}
			for _, a := range c.Actions() {
				if d, ok := a.(k8stesting.DeleteAction); ok && tt.deleteErr == nil {
					opts := d.GetDeleteOptions()
					if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 || d.GetNamespace() != ns {
						t.Errorf("delete in %q with grace period %v, want winnet-system and 0", d.GetNamespace(), opts.GracePeriodSeconds)
					}
				}
			}
		})
	}

	t.Run("nil handle", func(t *testing.T) {
		var h *Handle
		if err := h.Cleanup(context.Background(), newClient()); err != nil {
			t.Errorf("Cleanup() on nil = %v", err)
		}
	})
}

func TestCleanupAll(t *testing.T) {
	labelled := func(name, namespace string, keep bool) *corev1.Pod {
		p := pod(name)
		p.Namespace = namespace
		if keep {
			kept(p)
		}
		return p
	}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns, Labels: map[string]string{"app": "x"}}}
	c := newClient(
		labelled("winnet-n1-aaaaa", ns, false),
		labelled("winnet-n2-bbbbb", ns, true),
		labelled("winnet-n3-ccccc", "other-ns", false),
		other,
	)
	refs := func(fs []PodRef) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.String())
		}
		sort.Strings(out)
		return out
	}
	inNS := []string{ns + "/winnet-n1-aaaaa", ns + "/winnet-n2-bbbbb"}
	elsewhere := []string{"other-ns/winnet-n3-ccccc"}
	all := append(slices.Clone(elsewhere), inNS...) // sorted

	// A dry run names every debug pod in every namespace and deletes none.
	found, note, err := CleanupAll(context.Background(), c, SweepOptions{DryRun: DryRunClient})
	if err != nil || note != "" || !reflect.DeepEqual(refs(found), all) {
		t.Fatalf("dry run: %q, note %q, %v; want %q", refs(found), note, err, all)
	}
	for _, name := range []string{"winnet-n1-aaaaa", "winnet-n2-bbbbb"} {
		if !podExists(t, c, name) {
			t.Errorf("dry run deleted %s", name)
		}
	}

	// One namespace named: the others are left alone.
	found, _, err = CleanupAll(context.Background(), c, SweepOptions{Namespace: ns})
	if err != nil || !reflect.DeepEqual(refs(found), inNS) {
		t.Fatalf("namespace %s: %q, %v; want %q", ns, refs(found), err, inNS)
	}
	if _, err := c.Tracker().Get(podsGVR, "other-ns", "winnet-n3-ccccc"); err != nil {
		t.Errorf("deleted a debug pod in another namespace: %v", err)
	}
	if !podExists(t, c, "app") {
		t.Error("deleted a pod that is not ours")
	}

	// Every namespace: the rest goes.
	found, _, err = CleanupAll(context.Background(), c, SweepOptions{})
	if err != nil || !reflect.DeepEqual(refs(found), elsewhere) {
		t.Fatalf("every namespace: %q, %v; want %q", refs(found), err, elsewhere)
	}

	t.Run("server dry run asks the API server not to persist the delete", func(t *testing.T) {
		c := newClient(labelled("winnet-n1-aaaaa", ns, false))
		var dry []string
		c.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			dry = a.(k8stesting.DeleteAction).GetDeleteOptions().DryRun
			return true, nil, nil // the server would keep the pod
		})
		found, _, err := CleanupAll(context.Background(), c, SweepOptions{Namespace: ns, DryRun: DryRunServer})
		if err != nil || len(found) != 1 || !reflect.DeepEqual(dry, []string{metav1.DryRunAll}) {
			t.Errorf("CleanupAll() = %v, %v; delete dryRun %q", found, err, dry)
		}
	})
	t.Run("cluster-wide list refused: the debug namespace is swept and the note says so", func(t *testing.T) {
		c := newClient(labelled("winnet-n1-aaaaa", DefaultNamespace, false))
		c.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() == "" {
				return true, nil, apierrors.NewForbidden(podsGVR.GroupResource(), "", errors.New("cannot list resource \"pods\" at the cluster scope"))
			}
			return false, nil, nil
		})
		found, note, err := CleanupAll(context.Background(), c, SweepOptions{})
		if err != nil || len(found) != 1 || found[0].Name != "winnet-n1-aaaaa" || !strings.Contains(note, DefaultNamespace) {
			t.Errorf("CleanupAll() = %v, note %q, %v", found, note, err)
		}
	})

	t.Run("one refused delete does not stop the others", func(t *testing.T) {
		c := newClient(labelled("winnet-n1-aaaaa", ns, false), labelled("winnet-n2-bbbbb", ns, false))
		c.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.(k8stesting.DeleteAction).GetName() == "winnet-n1-aaaaa" {
				return true, nil, apierrors.NewInternalError(errors.New("etcd unavailable"))
			}
			return false, nil, nil
		})
		got, _, err := CleanupAll(context.Background(), c, SweepOptions{Namespace: ns})
		if !reflect.DeepEqual(got, []PodRef{{ns, "winnet-n2-bbbbb"}}) || err == nil || !strings.Contains(err.Error(), "winnet-n1-aaaaa") {
			t.Errorf("CleanupAll() = %v, %v", got, err)
		}
	})
}

// An API server that refuses connections for a while (restarting) delays the delete; it does
// not skip it.
func TestCleanupRetriesWhileAPIServerIsDown(t *testing.T) {
	c := newClient()
	scriptWatch(c, func(int) []watch.Event { return []watch.Event{modified(pod(firstName, running(0)))} })
	h, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1")})
	if err != nil {
		t.Fatal(err)
	}
	refused := &url.Error{Op: "Delete", URL: "https://127.0.0.1:6443/api/v1/namespaces/winnet-system/pods/" + firstName,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	attempts := 0
	c.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		attempts++
		if attempts <= 3 {
			return true, nil, refused
		}
		return false, nil, nil
	})
	if err := h.Cleanup(context.Background(), c); err != nil {
		t.Fatalf("Cleanup() = %v, want success once the API server answers", err)
	}
	if attempts != 4 {
		t.Errorf("%d delete attempts, want 4 (3 refused, then one that lands)", attempts)
	}
	if podExists(t, c, firstName) {
		t.Error("the debug pod is still there")
	}
}

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewServerTimeout(gr, "delete", 1), true},
		{apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{apierrors.NewNotFound(gr, "x"), false},
		{errors.New("some other failure"), false},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// A wait that meets a refused connection (the API server restarting) keeps waiting.
func TestEnsureWaitsThroughAPIServerRestart(t *testing.T) {
	c := newClient()
	scriptWatch(c, func(int) []watch.Event { return []watch.Event{modified(pod(firstName, running(0)))} })
	refusals := 0
	c.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// Only the wait's lists (by name), not the search for a kept pod before the create.
		if a.(k8stesting.ListAction).GetListRestrictions().Fields.Empty() {
			return false, nil, nil
		}
		if refusals < 2 {
			refusals++
			return true, nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return false, nil, nil
	})
	var progress []string
	h, err := Ensure(context.Background(), c, Options{Node: windowsNode("n1"), Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatalf("Ensure() = %v, want the pod once the API server answers", err)
	}
	if h.Name() != firstName || refusals != 2 {
		t.Errorf("pod %q after %d refusals, want %q after 2", h.Name(), refusals, firstName)
	}
	if !slices.Contains(progress, "the API server is not answering; retrying until --timeout") {
		t.Errorf("progress %q does not say the API server is not answering", progress)
	}
}

func TestParseDryRun(t *testing.T) {
	for _, s := range []string{"none", "client", "server"} {
		if d, err := ParseDryRun(s); err != nil || string(d) != s {
			t.Errorf("ParseDryRun(%q) = %q, %v", s, d, err)
		}
	}
	if _, err := ParseDryRun("true"); err == nil || !strings.Contains(err.Error(), "use none, client or server") {
		t.Errorf("ParseDryRun(true) error = %v, want the modes named", err)
	}
}
