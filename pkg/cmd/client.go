package cmd

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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
