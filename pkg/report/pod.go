package report

import (
	"fmt"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// PodNetwork is the target pod's resolver configuration, as the pod itself sees it when the
// collector entered its compartment, else as HNS holds it on the pod's endpoint. A pod whose
// DNS servers are not kube-dns's ClusterIP fails every Service name, so this is shown first.
type PodNetwork struct {
	DNSServers  []string `json:"dnsServers,omitempty"`
	DNSSearch   []string `json:"dnsSearch,omitempty"`
	From        string   `json:"from"`                  // "pod compartment" or "HNS endpoint"
	Compartment int      `json:"compartment,omitempty"` // the pod's network compartment, when entered
}

// podNetwork builds the report's pod view; nil when nothing is known.
func podNetwork(snap *snapshot.Snapshot, podIP string) *PodNetwork {
	servers, search, from := snap.PodDNSServers(podIP)
	if from == "" {
		return nil
	}
	pn := &PodNetwork{DNSServers: servers, DNSSearch: search, From: from}
	if snap.Pod != nil && snap.Pod.Compartment != nil {
		pn.Compartment = snap.Pod.Compartment.Compartment
	}
	return pn
}

func renderPodNetwork(p func(string, ...any), pn *PodNetwork) {
	if pn == nil {
		return
	}
	where := pn.From
	if pn.Compartment > 0 {
		where += fmt.Sprintf(" %d", pn.Compartment)
	}
	p("POD NETWORK (from the %s)\n", where)
	p("  DNS servers:\t%s\n", dash(strings.Join(pn.DNSServers, ", ")))
	p("  DNS search:\t%s\n", dash(strings.Join(pn.DNSSearch, ", ")))
	p("\n")
}
