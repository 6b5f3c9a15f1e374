package pathplan

import (
	"sort"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
)

// Resolve looks a parsed target up in the cluster's objects, as Build does for --to, without
// planning any probe: svc/NAME and pod/NAME are looked up in namespace (the pod's) when the
// target names none. It fails with a message for the user when the target does not exist or
// has no address.
func Resolve(cl *facts.Cluster, t Target, namespace string) (*Resolved, error) {
	if cl == nil {
		cl = &facts.Cluster{}
	}
	return resolve(cl, t, namespace, DefaultDomain)
}

// Endpoint is one ready address of a resolved Service.
type Endpoint struct {
	IP string
	// Port is the backend port of the resolved Service port: the EndpointSlice's port of the
	// same name (its target port); 0 when the address's slice has none.
	Port int
	Pod  *facts.PodInfo // the pod behind the address, when the slice names one that is known
}

// ReadyEndpoints lists the ready addresses of a resolved Service's EndpointSlices, once each,
// ordered by address. It returns nil for any other target.
func ReadyEndpoints(cl *facts.Cluster, to *Resolved) []Endpoint {
	if cl == nil || to == nil || to.Target.Kind != KindService {
		return nil
	}
	portName := ""
	if to.ServicePort != nil {
		portName = to.ServicePort.Name
	}
	var out []Endpoint
	seen := map[string]bool{}
	for i := range cl.EndpointSlices {
		sl := &cl.EndpointSlices[i]
		if sl.Namespace != to.Namespace || sl.Labels[discoveryv1.LabelServiceName] != to.Target.Name {
			continue
		}
		port := 0
		for _, sp := range sl.Ports {
			if sp.Port != nil && (sp.Name == nil && portName == "" || sp.Name != nil && *sp.Name == portName) {
				port = int(*sp.Port)
			}
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			var pod *facts.PodInfo
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				pod = findPod(cl, ep.TargetRef.Namespace, ep.TargetRef.Name)
			}
			for _, a := range ep.Addresses {
				if !seen[a] {
					seen[a] = true
					out = append(out, Endpoint{IP: a, Port: port, Pod: pod})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP < out[j].IP })
	return out
}

func findPod(cl *facts.Cluster, ns, name string) *facts.PodInfo {
	for i := range cl.AllPods {
		if p := &cl.AllPods[i]; p.Namespace == ns && p.Name == name {
			return p
		}
	}
	return nil
}
