package target

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func pool(n *corev1.Node, pool string) *corev1.Node {
	n.Labels["agentpool"] = pool
	return n
}

func nodeFleet() *fake.Clientset {
	return fake.NewClientset(
		pool(winNode("win-b", true), "win"),
		pool(winNode("win-a", true), "win"),
		pool(winNode("win-down", false), "win"),
		pool(winNode("win-other", true), "other"),
		pool(node("lin-1", "linux", corev1.ConditionTrue, "", ""), "sys"),
		pool(node("lin-2", "linux", corev1.ConditionTrue, "", ""), "win"),
	)
}

func names(cs []NodeChoice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Node.Name)
	}
	return out
}

func TestResolveNodesAllPicksWindowsNodesAndNotesTheRest(t *testing.T) {
	got, notes, err := ResolveNodes(context.Background(), nodeFleet(), NodeSelection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "win-a,win-b,win-down,win-other"; strings.Join(names(got), ",") != want {
		t.Errorf("nodes = %v, want %s (sorted, Windows only)", names(got), want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "2 linux nodes skipped") || !strings.Contains(notes[0], "lin-1, lin-2") {
		t.Errorf("notes = %q, want one naming the 2 Linux nodes", notes)
	}
	for _, c := range got {
		if (c.Node.Name == "win-down") != (c.Err != nil) {
			t.Errorf("node %s: Err = %v; only win-down (not Ready) should carry one", c.Node.Name, c.Err)
		}
	}
	if c := got[2]; !errors.Is(c.Err, ErrNodeNotReady) || !strings.Contains(c.Err.Error(), "kubectl describe node win-down") {
		t.Errorf("win-down's error = %v, want ErrNodeNotReady naming the next step", c.Err)
	}
}

func TestResolveNodesBySelector(t *testing.T) {
	got, notes, err := ResolveNodes(context.Background(), nodeFleet(), NodeSelection{Selector: "agentpool=win"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "win-a,win-b,win-down"; strings.Join(names(got), ",") != want {
		t.Errorf("nodes = %v, want %s", names(got), want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "1 linux node skipped") || !strings.Contains(notes[0], "lin-2") {
		t.Errorf("notes = %q, want lin-2 skipped", notes)
	}
}

func TestResolveNodesNamed(t *testing.T) {
	got, notes, err := ResolveNodes(context.Background(), nodeFleet(), NodeSelection{Names: []string{"win-b", "win-a", "win-b"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names(got), ",") != "win-a,win-b" || notes != nil {
		t.Errorf("nodes = %v notes = %q, want win-a,win-b once each and no notes", names(got), notes)
	}
}

func TestResolveNodesErrors(t *testing.T) {
	cases := []struct {
		name string
		sel  NodeSelection
		want error
		says string
	}{
		{"named Linux node", NodeSelection{Names: []string{"win-a", "lin-1"}}, ErrNotWindows, "kubectl debug node/lin-1"},
		{"named node missing", NodeSelection{Names: []string{"win-zz"}}, ErrNotFound, `node "win-zz" not found`},
		{"selector matches nothing", NodeSelection{Selector: "agentpool=none"}, ErrNoWindowsNodes, `no nodes match -l "agentpool=none"`},
		{"selector matches only Linux", NodeSelection{Selector: "agentpool=sys"}, ErrNoWindowsNodes, "run other systems"},
		{"bad selector", NodeSelection{Selector: "a in (b"}, ErrInvalidTarget, "does not parse"},
		{"names and selector", NodeSelection{Names: []string{"win-a"}, Selector: "a=b"}, ErrInvalidTarget, "not both"},
		{"selector and all", NodeSelection{Selector: "a=b", All: true}, ErrInvalidTarget, "use one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ResolveNodes(context.Background(), nodeFleet(), c.sel)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

func TestResolveNodesListForbidden(t *testing.T) {
	c := nodeFleet()
	c.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("RBAC: no"))
	})
	_, _, err := ResolveNodes(context.Background(), c, NodeSelection{All: true})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "kubectl auth can-i list nodes") {
		t.Errorf("err = %v, want ErrForbidden with the can-i check", err)
	}
}
