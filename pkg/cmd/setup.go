package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-winnet/winnet/manifests"
	"github.com/kubectl-winnet/winnet/pkg/debugpod"
	"github.com/kubectl-winnet/winnet/pkg/setup"
)

func newSetupCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var o setup.Options
	var dryRun string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "For cluster admins: create the debug namespace, the users' roles and the admission policy",
		Long: "Applies the manifests shipped with this plugin (manifests/namespace.yaml, rbac.yaml, admission.yaml) with\n" +
			"server-side apply, field manager " + setup.FieldManager + ":\n" +
			"  - namespace " + debugpod.DefaultNamespace + ", enforcing the privileged Pod Security level HostProcess pods need,\n" +
			"  - the winnet-reader ClusterRole and winnet-debugger Role (exactly the verbs kubectl winnet uses),\n" +
			"  - a ValidatingAdmissionPolicy that admits only kubectl winnet's own debug pod in that namespace.\n" +
			"The roles are bound only to the --bind-group and --bind-user you name; without them, bind the roles your own way.\n" +
			"Running it again updates the objects to this version's manifests.",
		Example: "  # see what would be applied, checked by the API server\n  kubectl winnet setup --dry-run=server\n\n" +
			"  # set up the cluster and let the group net-ops use kubectl winnet\n  kubectl winnet setup --bind-group net-ops",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.DryRun, err = debugpod.ParseDryRun(dryRun); err != nil {
				return err
			}
			objs, err := setup.Plan(manifests.Files, manifests.Order, o)
			if err != nil {
				return err
			}
			suffix := " serverside-applied"
			switch o.DryRun {
			case debugpod.DryRunClient:
				suffix = " would be applied (dry run)"
			case debugpod.DryRunServer:
				suffix = " serverside-applied (server dry run)"
			}
			var c kubernetes.Interface // a client dry run talks to no cluster
			if o.DryRun != debugpod.DryRunClient {
				rc, err := flags.ToRESTConfig()
				if err != nil {
					return fmt.Errorf("loading your kubeconfig: %w", err)
				}
				if c, err = newClient(rc); err != nil {
					return err
				}
			}
			err = setup.Apply(cmd.Context(), c, objs, o, func(obj setup.Object) { fmt.Fprintln(streams.Out, obj.String()+suffix) })
			if err != nil {
				return err
			}
			if len(o.Groups)+len(o.Users) == 0 {
				fmt.Fprintln(streams.ErrOut, "note: the roles are not bound to anyone yet: rerun with --bind-group or --bind-user, or bind winnet-reader (ClusterRoleBinding) and winnet-debugger (RoleBinding in "+debugpod.DefaultNamespace+") yourself")
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&o.Groups, "bind-group", nil, "Bind both roles to this group (repeatable)")
	cmd.Flags().StringSliceVar(&o.Users, "bind-user", nil, "Bind both roles to this user (repeatable; --user is kubectl's own, the kubeconfig user)")
	cmd.Flags().StringVar(&dryRun, "dry-run", string(debugpod.DryRunNone), `"client" names what would be applied; "server" has the API server check every object without storing it`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	return cmd
}
