package cmd

import (
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-winnet/winnet/pkg/embedded"
)

// newClient raises client-go's default rate limit (5 QPS), which would throttle the dozen
// permission reviews winnet makes up front, as kubectl does for its own discovery.
func newClient(c *rest.Config) (kubernetes.Interface, error) {
	return newClientLimited(c, 50)
}

// newClientLimited is newClient at qps (burst twice that), for a run that fans out: a
// many-node diagnosis makes a handful of requests per node, that many nodes at once. A rate
// set in the kubeconfig's REST config is kept.
func newClientLimited(c *rest.Config, qps float32) (kubernetes.Interface, error) {
	c = rest.CopyConfig(c)
	if c.QPS == 0 {
		c.QPS, c.Burst = qps, int(2*qps)
	}
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client from your kubeconfig: %w", err)
	}
	return cs, nil
}

// connection is what a command that runs the collector needs: the embedded collector, and
// the REST config and client pinned once (context, cluster, namespace), so nothing that
// changes in the kubeconfig during the run can redirect the cleanup.
type connection struct {
	collector  *embedded.Collector
	restConfig *rest.Config
	client     kubernetes.Interface
}

// connect loads the collector and the kubeconfig; qps is the client's rate (newClientLimited).
func connect(flags *genericclioptions.ConfigFlags, qps float32) (*connection, error) {
	collector, err := embedded.Load()
	if err != nil {
		return nil, err
	}
	restConfig, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading your kubeconfig: %w", err)
	}
	client, err := newClientLimited(restConfig, qps)
	if err != nil {
		return nil, err
	}
	return &connection{collector: collector, restConfig: restConfig, client: client}, nil
}
