package target

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		arg  string
		want string // normalised TYPE/NAME; "" when an error is expected
	}{
		{"web-0", "pod/web-0"},
		{"  web-0 ", "pod/web-0"},
		{"pod/web-0", "pod/web-0"},
		{"po/web-0", "pod/web-0"},
		{"pods/web-0", "pod/web-0"},
		{"POD/web-0", "pod/web-0"},
		{"pods.v1/web-0", "pod/web-0"},
		{"node/win-1", "node/win-1"},
		{"no/win-1", "node/win-1"},
		{"Nodes/win-1", "node/win-1"},
		{"deploy/web", "deploy/web"},
		{"deployment/web", "deploy/web"},
		{"deployments/web", "deploy/web"},
		{"deployments.apps/web", "deploy/web"},
		{"Deployment.v1.apps/web", "deploy/web"},
		{"sts/db", "sts/db"},
		{"statefulset/db", "sts/db"},
		{"statefulsets.apps/db", "sts/db"},
		{"ds/agent", "ds/agent"},
		{"daemonset/agent", "ds/agent"},
		{"daemonsets.apps/agent", "ds/agent"},
		{"rs/web-5d8", "rs/web-5d8"},
		{"replicaset/web-5d8", "rs/web-5d8"},
		{"replicasets.apps/web-5d8", "rs/web-5d8"},
		{"job/once", "job/once"},
		{"jobs/once", "job/once"},
		{"jobs.batch/once", "job/once"},
		{"svc/web", "svc/web"},
		{"service/web", "svc/web"},
		{"SERVICES/web", "svc/web"},
		{"node.example.com", "pod/node.example.com"}, // a bare name is a pod even with dots

		{"", ""},
		{"   ", ""},
		{"pod/a/b", ""},
		{"foo/x", ""},
		{"deployments.batch/web", ""}, // wrong API group
		{"pods.v2/x", ""},
		{"svc/", ""},
		{"/web", ""},
		{"pod/Web-0", ""},
		{"pod/web_0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			ref, err := Parse(tt.arg)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidTarget) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalidTarget", tt.arg, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) unexpected error: %v", tt.arg, err)
			}
			if got := ref.String(); got != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.arg, got, tt.want)
			}
		})
	}
}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		arg  string
		want []string
	}{
		{"", []string{"no target given", "deployment (deploy)"}},
		{"foo/x", []string{`unknown target type "foo"`, "pod (po), node (no), deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job, service (svc)"}},
		{"pod/a/b", []string{`more than one "/"`, "TYPE/NAME"}},
		{"svc/", []string{"no name", "svc/NAME"}},
		{"pod/Web", []string{`"Web"`, "not a valid pod name", "kubectl get pods"}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, err := Parse(tt.arg)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tt.arg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestTargetKind(t *testing.T) {
	tests := []struct {
		name string
		t    Target
		want Kind
	}{
		{"pod", Target{Pod: pod("shop", "web-0", "win-1", nil, "Running", true, 0)}, KindPod},
		{"node", Target{Node: winNode("win-1", true)}, KindNode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.Kind(); got != tt.want {
				t.Errorf("Kind() = %q, want %q", got, tt.want)
			}
		})
	}
}
