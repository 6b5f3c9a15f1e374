// Command demo is `make demo`: it starts a real kube-apiserver and etcd, a simulated Windows
// node whose HNS state has a visible problem (the kube-dns Service has no load balancer), and
// runs the README's workflows against a pod on it through the real kubectl — diagnose (DNS),
// diagnose --to a Service, capture — then stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-winnet/winnet/hack/e2e/env"
	"github.com/kubectl-winnet/winnet/hack/e2e/simnode"
)

func main() {
	plugin := flag.String("plugin", "", "kubectl-winnet built with a Linux collector (make e2e-plugin)")
	scenario := flag.String("scenario", "kube-dns-lb-missing", "scenario under hack/scenarios for the Windows node")
	target := flag.String("target", "pod/web-0", "what to diagnose")
	ns := flag.String("n", "shop", "namespace of the target")
	flag.Parse()
	if err := run(*plugin, *scenario, *target, *ns); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(plugin, scenario, target, ns string) error {
	if plugin == "" {
		return fmt.Errorf("--plugin is required (run `make demo`, which builds it)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(os.Stderr, "demo: starting kube-apiserver, etcd and a simulated Windows node ...")
	start := time.Now()
	world, err := env.Up(ctx, env.Options{
		Nodes: []simnode.NodeSpec{
			{Name: "win-node-1", OS: "windows", Scenario: scenario},
			{Name: "linux-node-1", OS: "linux"},
		},
		Scenarios: []string{scenario},
	})
	if err != nil {
		return err
	}
	defer world.Stop()
	fmt.Fprintf(os.Stderr, "demo: cluster up in %s; scenario %q (see hack/scenarios/%s/README.md)\n\n",
		time.Since(start).Round(time.Millisecond), scenario, scenario)

	// The README's workflows, in order: what is wrong with the pod (here: its DNS, the
	// kube-dns VIP has no load balancer), the path to a Service hop by hop, and a capture.
	captures, err := os.MkdirTemp("", "winnet-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(captures)
	steps := [][]string{
		{"winnet", "diagnose", target, "-n", ns},
		{"winnet", "diagnose", target, "-n", ns, "--to", "svc/web:80"},
		{"winnet", "capture", target, "-n", ns, "--filter", "udp port 53", "--duration", "3s", "-w", filepath.Join(captures, "dns.pcapng")},
	}
	for i, args := range steps {
		if i > 0 {
			fmt.Fprintln(os.Stderr)
		}
		fmt.Fprintf(os.Stderr, "$ kubectl %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+world.Cluster.AdminKubeconfig(), "PATH="+filepath.Dir(plugin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
				continue // findings at the --fail-on threshold: the demo's point
			}
			return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
		}
	}
	fmt.Fprintln(os.Stderr, "\ndemo: stopping the cluster")
	return nil
}
