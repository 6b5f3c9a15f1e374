package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

func newCleanupCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete every debug pod kubectl winnet left behind (kept with --keep, or after a forced exit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := flags.ToRESTConfig()
			if err != nil {
				return fmt.Errorf("loading your kubeconfig: %w", err)
			}
			c, err := newClient(rc)
			if err != nil {
				return err
			}
			names, err := debugpod.CleanupAll(cmd.Context(), c, ns)
			for _, n := range names {
				fmt.Fprintf(streams.Out, "pod/%s deleted\n", n)
			}
			if err != nil {
				return err
			}
			if len(names) == 0 {
				fmt.Fprintf(streams.ErrOut, "no debug pods found in namespace %s\n", ns)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ns, "debug-namespace", debugpod.DefaultNamespace, "Namespace holding the debug pods")
	return cmd
}
