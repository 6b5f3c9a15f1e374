package cmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-winnet/winnet/pkg/target"
)

func TestNodeSelection(t *testing.T) {
	cases := []struct {
		args     []string
		selector string
		all      bool
		want     *target.NodeSelection
		err      string
	}{
		{args: []string{"pod/web-0"}},
		{args: []string{"node/a"}},
		{args: []string{"node/a", "node/b"}, want: &target.NodeSelection{Names: []string{"a", "b"}}},
		{args: []string{"nodes"}, selector: "pool=win", want: &target.NodeSelection{Selector: "pool=win"}},
		{args: []string{"nodes"}, want: &target.NodeSelection{All: true}},
		{all: true, want: &target.NodeSelection{All: true}},
		{args: []string{"nodes"}, all: true, want: &target.NodeSelection{All: true}},
		{args: nil, err: "no target given"},
		{args: []string{"node/a", "pod/web-0"}, err: `"pod/web-0" is not a node`},
		{args: []string{"nodes", "node/a"}, err: "cannot be mixed"},
		{args: []string{"node/a"}, selector: "x=y", err: "not both"},
		{args: []string{"nodes"}, selector: "x=y", all: true, err: "use one"},
		{args: []string{"node/a", "bad/x/y"}, err: "write it as TYPE/NAME"},
	}
	for _, c := range cases {
		got, err := nodeSelection(c.args, c.selector, c.all)
		if c.err != "" {
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.err)) {
				t.Errorf("%v -l %q all=%v: err = %v, want one saying %q", c.args, c.selector, c.all, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%v -l %q all=%v (-want +got):\n%s", c.args, c.selector, c.all, diff)
		}
	}
}

func TestFleetRefusesOnePodFlags(t *testing.T) {
	for _, o := range []diagnoseOptions{{to: "svc/web", maxConcurrency: 1}, {maxConcurrency: 0}} {
		if err := o.validateFleet(); err == nil {
			t.Errorf("%+v: a many-node run accepted it", o)
		}
	}
	ok := diagnoseOptions{maxConcurrency: 10}
	if err := ok.validateFleet(); err != nil {
		t.Errorf("plain many-node run refused: %v", err)
	}
}
