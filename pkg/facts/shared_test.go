package facts

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The facts of each node read through one shared pass are what a Gather of that node reads.
func TestSharedForEqualsGather(t *testing.T) {
	objs := append(objects(), node("win-2", "10.0.0.6", "10.244.3.0/24"),
		pod("shop", "web-1", "win-2", "10.244.3.5", map[string]string{"app": "web"}, true))
	c := fake.NewClientset(objs...)
	shared := GatherShared(context.Background(), c, []string{"win-1", "win-2"}, "shop")
	sortPods := cmpopts.SortSlices(func(a, b PodInfo) bool { return a.Namespace+a.Name < b.Namespace+b.Name })
	for _, n := range []string{"win-1", "win-2"} {
		want := Gather(context.Background(), c, n, "shop")
		got := shared.For(n)
		if diff := cmp.Diff(want, got, sortPods, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("node %s: shared facts differ from Gather (-gather +shared):\n%s", n, diff)
		}
	}
}

// A hundred nodes cost one list of pods, not a hundred.
func TestSharedListsPodsOnce(t *testing.T) {
	c := fake.NewClientset(objects()...)
	lists := 0
	c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		return false, nil, nil
	})
	nodes := make([]string, 100)
	for i := range nodes {
		nodes[i] = "win-1"
	}
	s := GatherShared(context.Background(), c, nodes, "shop")
	if lists != 1 {
		t.Errorf("%d pod lists for 100 nodes, want 1", lists)
	}
	if got := len(s.For("win-1").Pods); got != 3 {
		t.Errorf("%d pods on win-1, want 3", got)
	}
	if got := s.For("win-9"); got.Missing["node"] == "" {
		t.Errorf("an unknown node's facts should say the node is missing: %v", got.Missing)
	}
}
