// Command kubectl-winnet is the kubectl plugin: `kubectl winnet diagnose pod/x`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	// Cloud providers' kubeconfig auth plugins (exec, OIDC, ...), as kubectl has them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/klog/v2"

	"github.com/kubectl-winnet/winnet/pkg/cmd"
)

// quietKlog silences client-go's internal logging (e.g. "Copying stdout failed" when Ctrl-C
// closes an exec stream): winnet reports every error itself, in sentences.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

func main() {
	quietKlog()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := cmd.NewRootCmd(streams)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		var findings *cmd.FindingsError
		if errors.As(err, &findings) {
			os.Exit(cmd.ExitFindings)
		}
		os.Exit(1)
	}
}
