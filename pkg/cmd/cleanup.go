package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-winnet/winnet/pkg/debugpod"
)

func newCleanupCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var ns, dryRun string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete every debug pod kubectl winnet left behind (kept with --keep, or after a forced exit)",
		Long: "Deletes every pod labelled app.kubernetes.io/managed-by=kubectl-winnet, kept ones included, in every\n" +
			"namespace you may list pods in (only the debug namespace when you may not list cluster-wide).\n" +
			"Debug pods are all kubectl winnet creates on a cluster.",
		Example: "  # what would be deleted\n  kubectl winnet cleanup --dry-run\n\n" +
			"  # delete the debug pods in one namespace only\n  kubectl winnet cleanup --debug-namespace winnet-system",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := debugpod.ParseDryRun(dryRun)
			if err != nil {
				return err
			}
			o := debugpod.SweepOptions{Namespace: ns, DryRun: mode}
			rc, err := flags.ToRESTConfig()
			if err != nil {
				return fmt.Errorf("loading your kubeconfig: %w", err)
			}
			c, err := newClient(rc)
			if err != nil {
				return err
			}
			found, note, err := debugpod.CleanupAll(cmd.Context(), c, o)
			if note != "" {
				fmt.Fprintln(streams.ErrOut, "note: "+note)
			}
			suffix := ""
			if o.DryRun != debugpod.DryRunNone {
				suffix = " (dry run)"
			}
			for _, p := range found {
				fmt.Fprintf(streams.Out, "pod/%s deleted from namespace %s%s\n", p.Name, p.Namespace, suffix)
			}
			if err != nil {
				return err
			}
			if len(found) == 0 {
				where := "any namespace you may list"
				if o.Namespace != "" {
					where = "namespace " + o.Namespace
				}
				fmt.Fprintf(streams.ErrOut, "no debug pods found in %s\n", where)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ns, "debug-namespace", "", "Sweep only this namespace (default: every namespace you may list pods in, else "+debugpod.DefaultNamespace+")")
	cmd.Flags().StringVar(&dryRun, "dry-run", string(debugpod.DryRunNone), `"client" lists the debug pods that would be deleted; "server" also asks the API server to admit the deletes`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	return cmd
}
