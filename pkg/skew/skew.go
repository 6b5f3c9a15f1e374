// Package skew warns when the cluster's Kubernetes version is far from the one winnet's
// client libraries were built for. kubectl supports one minor version either way; winnet's API
// surface (pods, pods/exec, SelfSubjectAccessReview, EndpointSlices, NetworkPolicies) is older
// and stabler, so it warns only beyond MaxMinors, and never refuses: a warning explains a
// failure that may follow, it does not predict one.
package skew

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
)

// MaxMinors is how many minor versions apart the cluster may be before winnet says so.
const MaxMinors = 3

// clientMinor is the Kubernetes minor version of the linked k8s.io/client-go (v0.37.x is
// Kubernetes 1.37); 0 when the build does not say (tests, go run without module info).
func clientMinor() int {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return 0
	}
	for _, m := range bi.Deps {
		if m.Path == "k8s.io/client-go" {
			parts := strings.Split(strings.TrimPrefix(m.Version, "v"), ".")
			if len(parts) >= 2 && parts[0] == "0" {
				n, _ := strconv.Atoi(parts[1])
				return n
			}
		}
	}
	return 0
}

// Warning compares the server's version with client minor; "" when they are close enough or
// either is unknown.
func Warning(server *version.Info, client int) string {
	if server == nil || client == 0 || server.Major != "1" {
		return ""
	}
	// Managed clusters report minors such as "30+".
	m, err := strconv.Atoi(strings.TrimRight(server.Minor, "+"))
	if err != nil {
		return ""
	}
	d := m - client
	if d < 0 {
		d = -d
	}
	if d <= MaxMinors {
		return ""
	}
	return fmt.Sprintf("the cluster runs Kubernetes %s and winnet is built for 1.%d (%d minor versions apart): if a step fails oddly, use a winnet release closer to the cluster's version",
		server.GitVersion, client, d)
}

// Check asks the server for its version and returns the warning to show, if any. A server
// that does not answer /version yields no warning: the steps that follow will say more.
func Check(d discovery.ServerVersionInterface) string {
	v, err := d.ServerVersion()
	if err != nil {
		return ""
	}
	return Warning(v, clientMinor())
}
