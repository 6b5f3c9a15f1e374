// Package cmd holds the cobra commands of kubectl winnet. Each command converts flags into a
// typed config and hands it to a library package; nothing here judges or collects.
package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Version is the plugin's version, Commit the git commit it was built from and BuildDate that
// commit's time in Unix seconds, all set at build time with -ldflags -X (Makefile,
// hack/krew-manifest.sh, .goreleaser.yaml).
var (
	Version   = "dev"
	Commit    = ""
	BuildDate = ""
)

// NewRootCmd builds `kubectl winnet` and its subcommands.
func NewRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-winnet",
		Short: "Find out why a Windows pod cannot reach the network",
		Long: `kubectl winnet diagnoses Windows pod networking without RDP or PowerShell.

It starts a short-lived HostProcess debug pod on the pod's node, runs a small collector
there that reads HNS (networks, endpoints, load balancers), the event log, services and
CNI/kube-proxy files, then judges that state against the cluster's own Services,
EndpointSlices and pods, and tells you what is wrong and how to fix it.`,
		Example: `  # Why can't this pod reach the network?
  kubectl winnet diagnose pod/web-0 -n shop

  # Diagnose the pod behind a Service or workload (winnet picks a running Windows pod)
  kubectl winnet diagnose svc/web -n shop
  kubectl winnet diagnose deploy/web -n shop

  # A whole node, as JSON for scripts
  kubectl winnet diagnose node/akswin000001 -o json`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl winnet",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newDiagnoseCmd(flags, streams),
		newVersionCmd(streams),
		newCleanupCmd(flags, streams),
		newSetupCmd(flags, streams),
		newAnalyzeCmd(streams),
		newCaptureCmd(flags, streams),
	)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	return root
}
