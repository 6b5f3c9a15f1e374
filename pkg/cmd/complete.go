package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// targetTypes are offered before the user has typed a slash.
var targetTypes = []string{"pod/", "deploy/", "sts/", "ds/", "rs/", "job/", "svc/", "node/"}

// completeTarget offers TYPE/ prefixes and the names of pods, nodes, Services and workloads,
// read with a short timeout so a slow cluster never hangs the shell.
func completeTarget(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		types := targetTypes
		if len(args) > 0 {
			// Only nodes come in numbers: node/a node/b.
			if !strings.HasPrefix(args[0], "node/") {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			types = []string{"node/"}
		}
		typ, prefix, hasSlash := strings.Cut(toComplete, "/")
		if len(args) > 0 && hasSlash && typ != "node" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if !hasSlash {
			var out []string
			for _, t := range types {
				if strings.HasPrefix(t, toComplete) {
					out = append(out, t)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		rc, err := flags.ToRESTConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		c, err := newClient(rc)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ns, _, _ := flags.ToRawKubeConfigLoader().Namespace()
		ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
		defer cancel()
		names := listNames(ctx, c, typ, ns)
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, typ+"/"+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func listNames(ctx context.Context, c kubernetes.Interface, typ, ns string) []string {
	var names []string
	opts := metav1.ListOptions{}
	switch strings.ToLower(typ) {
	case "pod", "pods", "po":
		if l, err := c.CoreV1().Pods(ns).List(ctx, opts); err == nil {
			for _, p := range l.Items {
				if p.Spec.OS == nil || p.Spec.OS.Name == "windows" { // prefer Windows pods; unknown OS kept
					names = append(names, p.Name)
				}
			}
		}
	case "node", "nodes", "no":
		if l, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/os=windows"}); err == nil {
			for _, n := range l.Items {
				names = append(names, n.Name)
			}
		}
	case "svc", "service", "services":
		if l, err := c.CoreV1().Services(ns).List(ctx, opts); err == nil {
			for _, s := range l.Items {
				names = append(names, s.Name)
			}
		}
	case "deploy", "deployment", "deployments":
		if l, err := c.AppsV1().Deployments(ns).List(ctx, opts); err == nil {
			for _, d := range l.Items {
				names = append(names, d.Name)
			}
		}
	case "sts", "statefulset", "statefulsets":
		if l, err := c.AppsV1().StatefulSets(ns).List(ctx, opts); err == nil {
			for _, d := range l.Items {
				names = append(names, d.Name)
			}
		}
	case "ds", "daemonset", "daemonsets":
		if l, err := c.AppsV1().DaemonSets(ns).List(ctx, opts); err == nil {
			for _, d := range l.Items {
				names = append(names, d.Name)
			}
		}
	case "rs", "replicaset", "replicasets":
		if l, err := c.AppsV1().ReplicaSets(ns).List(ctx, opts); err == nil {
			for _, d := range l.Items {
				names = append(names, d.Name)
			}
		}
	case "job", "jobs":
		if l, err := c.BatchV1().Jobs(ns).List(ctx, opts); err == nil {
			for _, d := range l.Items {
				names = append(names, d.Name)
			}
		}
	}
	return names
}
