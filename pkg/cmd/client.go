package cmd

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// newClient raises client-go's default rate limit (5 QPS), which would throttle the dozen
// permission reviews winnet makes up front, as kubectl does for its own discovery.
func newClient(c *rest.Config) (kubernetes.Interface, error) {
	c = rest.CopyConfig(c)
	if c.QPS == 0 {
		c.QPS, c.Burst = 50, 100
	}
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client from your kubeconfig: %w", err)
	}
	return cs, nil
}
