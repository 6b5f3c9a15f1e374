package analyze

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-winnet/winnet/pkg/facts"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

const missingLBs = "HNS load balancers (" + wire.KindHCNLoadBalancers + ") were not collected"

// maxServiceFindings bounds per-Service findings; past it one summary finding lists the rest,
// so a node where kube-proxy programmed nothing still gives a readable report.
const maxServiceFindings = 20

// svcProblem is one Service's problems for a rule.
type svcProblem struct {
	svc *corev1.Service
	sev string
	ev  []Evidence
	fr  []string // front ends affected
}

type svcProblems struct {
	order []*corev1.Service
	m     map[*corev1.Service]*svcProblem
}

func (sp *svcProblems) add(svc *corev1.Service, sev, front string, ev ...Evidence) {
	if sp.m == nil {
		sp.m = map[*corev1.Service]*svcProblem{}
	}
	p := sp.m[svc]
	if p == nil {
		p = &svcProblem{svc: svc, sev: sev}
		sp.m[svc] = p
		sp.order = append(sp.order, svc)
	}
	if SeverityRank(sev) > SeverityRank(p.sev) {
		p.sev = sev
	}
	p.fr = append(p.fr, front)
	for _, e := range ev {
		dup := false
		for _, have := range p.ev {
			dup = dup || have == e
		}
		if !dup && len(p.ev) < 30 {
			p.ev = append(p.ev, e)
		}
	}
}

// emit turns per-Service problems into findings: kube-dns first, then by severity and name;
// past maxServiceFindings the rest are summarised in one finding.
func (sp *svcProblems) emit(x *index, one func(p *svcProblem) Finding, summary func(rest []*svcProblem) Finding) []Finding {
	list := make([]*svcProblem, 0, len(sp.order))
	for _, s := range sp.order {
		list = append(list, sp.m[s])
	}
	isDNS := func(p *svcProblem) bool { return x.c != nil && x.c.KubeDNS != nil && p.svc == x.c.KubeDNS }
	sort.SliceStable(list, func(i, j int) bool {
		if isDNS(list[i]) != isDNS(list[j]) {
			return isDNS(list[i])
		}
		if SeverityRank(list[i].sev) != SeverityRank(list[j].sev) {
			return SeverityRank(list[i].sev) > SeverityRank(list[j].sev)
		}
		return list[i].svc.Namespace+"/"+list[i].svc.Name < list[j].svc.Namespace+"/"+list[j].svc.Name
	})
	var out []Finding
	for i, p := range list {
		if i == maxServiceFindings && len(list) > maxServiceFindings+1 {
			out = append(out, summary(list[i:]))
			break
		}
		out = append(out, one(p))
	}
	return out
}

func summaryObjects(rest []*svcProblem) ([]ObjectRef, string) {
	var objs []ObjectRef
	worst := SeverityInfo
	for i, p := range rest {
		if SeverityRank(p.sev) > SeverityRank(worst) {
			worst = p.sev
		}
		if i < 20 {
			objs = append(objs, serviceRef(p.svc))
		}
	}
	return objs, worst
}

func (x *index) isKubeDNS(svc *corev1.Service) bool {
	return x.c != nil && x.c.KubeDNS != nil && x.c.KubeDNS.Namespace == svc.Namespace && x.c.KubeDNS.Name == svc.Name
}

// serviceLBMissing: a Service port with ready endpoints has no HNS load balancer for one of
// its front ends (ClusterIP, NodePort, external IP, load balancer ingress IP).
func serviceLBMissing(in Input) ([]Finding, string) {
	x := in.ix()
	if !in.Snapshot.HaveLoadBalancers() {
		if fs := lbSkippedFromLog(x); len(fs) > 0 {
			return fs, ""
		}
		return nil, missingLBs
	}
	e := x.expectations()
	if e.missingWhy != "" {
		if fs := lbSkippedFromLog(x); len(fs) > 0 {
			return fs, ""
		}
		return nil, e.missingWhy
	}
	kp := x.kubeProxyLog()
	var sp svcProblems
	for i := range e.list {
		ex := &e.list[i]
		if ex.skip != "" || ex.lb >= 0 {
			continue
		}
		var ev []Evidence
		if ex.front.VIP != "" {
			ev = append(ev, kp.failuresMentioning(ex.front.VIP, 3)...)
			ev = append(ev, x.hnsEventsMentioning(ex.front.VIP, 2)...)
		}
		sp.add(ex.svc, SeverityError, fmt.Sprintf("%s (port %s, %d ready %s)", ex.frontText(), ex.portName(), ex.allReady, plural(ex.allReady, "endpoint", "endpoints")), ev...)
	}
	remedy := func(p *svcProblem) string {
		r := "kube-proxy did not program this Service on the node, so connections to it from this node fail."
		if x.isKubeDNS(p.svc) {
			r += " Pods on this node cannot resolve names: the kube-dns VIP has no load balancer."
		}
		switch {
		case hasCode(p.ev, "0x803b0013"):
			r += " HNS refused the load balancer with \"port already exists\" (0x803b0013): a stale HNS policy or a " +
				"reserved port holds the front end. Restart kube-proxy (it deletes and re-creates every load balancer); if " +
				"it persists, check excluded port ranges (netsh int ipv4 show excludedportrange protocol=tcp)."
		case len(p.ev) > 0:
			r += " The kube-proxy log and HNS events quoted say why; restarting kube-proxy re-creates every load balancer."
		default:
			r += " Look for HNS errors in kube-proxy's log on the node; restarting kube-proxy re-creates every load balancer " +
				"(load balancers deleted behind its back are not re-created until it restarts, kubernetes/kubernetes#135802)."
		}
		return r
	}
	return sp.emit(x, func(p *svcProblem) Finding {
		ev := []Evidence{{Artifact: wire.KindHCNLoadBalancers, Detail: fmt.Sprintf("%d load balancers, none for: %s", len(x.s.LoadBalancers), strings.Join(p.fr, "; "))}}
		ev = append(ev, Evidence{Artifact: "EndpointSlice", Object: p.svc.Namespace + "/" + p.svc.Name, Detail: "has ready endpoints"})
		return Finding{
			ID: "service-lb-missing", Severity: p.sev,
			Title:       fmt.Sprintf("Service %s/%s has no HNS load balancer on node %s for %s", p.svc.Namespace, p.svc.Name, x.node, strings.Join(p.fr, ", ")),
			Evidence:    append(ev, p.ev...),
			Remediation: remedy(p),
			Objects:     []ObjectRef{serviceRef(p.svc)},
		}
	}, func(rest []*svcProblem) Finding {
		objs, worst := summaryObjects(rest)
		return Finding{
			ID: "service-lb-missing", Severity: worst,
			Title:       fmt.Sprintf("%d more Services have no HNS load balancer on node %s", len(rest), x.node),
			Evidence:    []Evidence{{Artifact: wire.KindHCNLoadBalancers, Detail: fmt.Sprintf("%d load balancers on the node", len(x.s.LoadBalancers))}},
			Remediation: "So many missing load balancers point at kube-proxy itself: check that it runs and read its log, then restart it.",
			Objects:     objs,
		}
	}), ""
}

func hasCode(ev []Evidence, code string) bool {
	for _, e := range ev {
		if strings.Contains(strings.ToLower(e.Detail), code) {
			return true
		}
	}
	return false
}

// kube-proxy says so when it decides not to create a load balancer ("Skipped creating Hns
// LoadBalancer for cluster ip resources. Reason : all endpoints are terminating"
// clusterIP="10.0.0.5"), naming the VIP.
var (
	lbSkipped  = regexp.MustCompile(`(?i)skipp(?:ed|ing) creating hns loadbalancer`)
	lineVIP    = regexp.MustCompile(`(?i)(?:clusterIP|vip|ip)[=:]\s*"?(\d{1,3}(?:\.\d{1,3}){3})`)
	lineReason = regexp.MustCompile(`(?i)reason\s*:\s*([^"]+)`)
)

// lbSkippedFromLog: without the node's load balancers or the Services, kube-proxy's own word
// that it skipped a VIP is the evidence. The next sync may create it, so this is a warning
// unless the load balancer list confirms the VIP has none.
func lbSkippedFromLog(x *index) []Finding {
	byVIP := map[string][]Evidence{}
	var vips []string
	reasons := map[string]string{}
	for _, l := range x.componentLog(wire.LogKubeProxy) {
		if !lbSkipped.MatchString(l.text) {
			continue
		}
		vip := ""
		if m := lineVIP.FindStringSubmatch(l.text); m != nil {
			vip = m[1]
		}
		if _, ok := byVIP[vip]; !ok {
			vips = append(vips, vip)
		}
		byVIP[vip] = append(byVIP[vip], l.evidence())
		if m := lineReason.FindStringSubmatch(l.text); m != nil {
			reasons[vip] = strings.TrimSpace(m[1])
		}
	}
	var out []Finding
	for _, vip := range vips {
		sev, reason := SeverityWarning, "only kube-proxy's log says so; the node's load balancers were not collected to confirm it"
		if x.s.HaveLoadBalancers() && vip != "" {
			if x.lbForVIP(vip) {
				continue
			}
			sev, reason = SeverityError, ""
		}
		what := "a Service VIP"
		if vip != "" {
			what = vip
		}
		if s := x.servicesByIP[vip]; s != nil {
			what = fmt.Sprintf("%s (Service %s/%s)", vip, s.Namespace, s.Name)
		}
		title := fmt.Sprintf("kube-proxy skipped the HNS load balancer for %s on node %s", what, x.node)
		if r := reasons[vip]; r != "" {
			title += ": " + r
		}
		out = append(out, Finding{
			ID: "service-lb-missing", Severity: sev, SeverityReason: reason,
			Title:    title,
			Evidence: capEvidence(byVIP[vip], 3, wire.KindFile),
			Remediation: "Connections to this VIP from the node's pods fail while it has no load balancer. kube-proxy skips a " +
				"VIP when it believes the Service has no usable endpoints; check the Service's EndpointSlices (ready and " +
				"terminating endpoints) and its traffic policies. A kube-proxy that skips a VIP whose endpoints are ready " +
				"elsewhere has a known winkernel defect (externalTrafficPolicy Local in v1.26, kubernetes/kubernetes#115783): " +
				"upgrade kube-proxy.",
			Objects: []ObjectRef{nodeRef(x.node)},
		})
	}
	return out
}

// lbForVIP reports whether a load balancer on the node fronts vip.
func (x *index) lbForVIP(vip string) bool {
	for i := range x.s.LoadBalancers {
		for _, v := range x.s.LoadBalancers[i].FrontendVIPs {
			if v == vip {
				return true
			}
		}
	}
	return false
}

// hnsEventsMentioning returns up to max HNS error events whose message mentions s.
func (x *index) hnsEventsMentioning(s string, max int) []Evidence {
	var out []Evidence
	for _, e := range x.s.Events {
		if len(out) >= max {
			break
		}
		if strings.Contains(e.Channel, "Host-Network-Service") && (e.Level == "Error" || e.Level == "Critical") && strings.Contains(e.Message, s) {
			out = append(out, Evidence{Artifact: wire.KindEvents, Object: fmt.Sprintf("%s event %d at %s", e.Channel, e.ID, e.Time.Format("2006-01-02T15:04:05Z07:00")), Detail: withCodes(oneLine(e.Message), e.Message)})
		}
	}
	return out
}

// healthzPort is kube-proxy's health port (healthzBindAddress, default 10256).
func (x *index) healthzPort() int {
	if kp := x.s.KubeProxy; kp != nil && kp.HealthzBindAddress != "" {
		if i := strings.LastIndex(kp.HealthzBindAddress, ":"); i >= 0 {
			if n := atoi(kp.HealthzBindAddress[i+1:]); n > 0 {
				return n
			}
		}
	}
	return 10256
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// serviceLBStale: a load balancer for a front end no Service has (or for a Service with no
// ready endpoints), or one referencing endpoints that no longer exist.
func serviceLBStale(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveLoadBalancers() {
		return nil, missingLBs
	}
	x := in.ix()
	e := x.expectations()
	if e.missingWhy != "" {
		return nil, e.missingWhy
	}
	if why := x.clusterMissing("services"); why != "" {
		return nil, why
	}
	haveEPs := in.Snapshot.HaveEndpoints()
	hz := x.healthzPort()
	var ev []Evidence
	dangling := 0
	for i := range x.s.LoadBalancers {
		lb := &x.s.LoadBalancers[i]
		var why []string
		switch c := e.claimedBy[i]; {
		case c >= 0 && e.list[c].skip != "":
			ex := &e.list[c]
			why = append(why, fmt.Sprintf("front end %s belongs to Service %s, which kube-proxy should not program: %s", ex.frontText(), ex.svcName(), ex.skip))
		case c < 0:
			for _, p := range lb.Ports {
				if e.hcPorts[p.ExternalPort] != nil || p.ExternalPort == hz {
					continue // the health-check load balancer kube-proxy adds for ingress IPs (forwardHealthCheckVip)
				}
				vip := "<node>"
				if len(lb.FrontendVIPs) > 0 {
					vip = strings.Join(lb.FrontendVIPs, ",")
				}
				why = append(why, fmt.Sprintf("front end %s:%d/%s matches no Service", vip, p.ExternalPort, p.Protocol))
			}
		}
		if haveEPs && x.danglingCount(lb) > 0 {
			if _, gone := x.backendIPs(lb); len(gone) > 0 {
				dangling++
				why = append(why, fmt.Sprintf("references %d endpoint(s) that no longer exist (%s)", len(gone), listOrNone(gone)))
			}
		}
		if len(why) > 0 {
			ev = append(ev, Evidence{Artifact: wire.KindHCNLoadBalancers, Object: "load balancer " + lb.ID, Detail: strings.Join(why, "; ")})
		}
	}
	if len(ev) == 0 {
		return nil, ""
	}
	f := Finding{
		ID: "service-lb-stale", Severity: SeverityWarning,
		Title:    fmt.Sprintf("%d stale HNS load %s on node %s", len(ev), plural(len(ev), "balancer", "balancers"), x.node),
		Evidence: capEvidence(ev, 20, wire.KindHCNLoadBalancers),
		Remediation: "These load balancers answer for front ends no Service has now, or send traffic to endpoints that are " +
			"gone. kube-proxy deletes all load balancers when it starts: restart it on the node. If they come back, read its " +
			"log for deletion errors.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	if dangling > 0 {
		f.Severity = SeverityError
		f.SeverityReason = "load balancers point at endpoints that no longer exist: connections to those backends are dropped"
	}
	return []Finding{f}, ""
}

// portsMatch reports whether the load balancer forwards the expected front end to the target port.
func portsMatch(lb *snapshot.LoadBalancer, ex *expected) bool {
	for _, p := range lb.Ports {
		if p.Protocol == ex.front.Protocol && p.ExternalPort == ex.front.Port && p.InternalPort != ex.targetPort && p.InternalPort != 0 {
			return false
		}
	}
	return true
}

// serviceLBBackendsMismatch: a load balancer's backends differ from what the Service's ready
// endpoints (narrowed by traffic policy) say they should be, or it forwards to the wrong port.
func serviceLBBackendsMismatch(in Input) ([]Finding, string) {
	if !in.Snapshot.HaveLoadBalancers() {
		return nil, missingLBs
	}
	if !in.Snapshot.HaveEndpoints() {
		return nil, missingEndpoints
	}
	x := in.ix()
	e := x.expectations()
	if e.missingWhy != "" {
		return nil, e.missingWhy
	}
	var sp svcProblems
	for i := range e.list {
		ex := &e.list[i]
		if ex.skip != "" {
			continue
		}
		if ex.lb < 0 {
			continue // service-lb-missing
		}
		lb := &x.s.LoadBalancers[ex.lb]
		if x.sameBackends(lb, ex.backends) && (ex.targetPort == 0 || portsMatch(lb, ex)) {
			continue
		}
		ips, gone := x.backendIPs(lb)
		missing, extra := diff(ex.backends, ips), diff(ips, ex.backends)
		var what []string
		sev := SeverityWarning
		if len(extra) > 0 {
			what = append(what, "backends no longer ready: "+listOrNone(extra))
			sev = SeverityError
		}
		if len(gone) > 0 {
			what = append(what, fmt.Sprintf("%d backend endpoint(s) gone from HNS", len(gone)))
			sev = SeverityError
		}
		if len(missing) > 0 {
			what = append(what, "ready endpoints not in the load balancer: "+listOrNone(missing))
		}
		if ex.targetPort > 0 {
			for _, p := range lb.Ports {
				if p.Protocol == ex.front.Protocol && p.ExternalPort == ex.front.Port && p.InternalPort != ex.targetPort && p.InternalPort != 0 {
					what = append(what, fmt.Sprintf("forwards to port %d, the Service's target port is %d", p.InternalPort, ex.targetPort))
					sev = SeverityError
				}
			}
		}
		if len(what) == 0 {
			continue
		}
		sp.add(ex.svc, sev, ex.frontText(), Evidence{Artifact: wire.KindHCNLoadBalancers, Object: "load balancer " + lb.ID,
			Detail: fmt.Sprintf("%s: %s", ex.frontText(), strings.Join(what, "; "))})
	}
	return sp.emit(x, func(p *svcProblem) Finding {
		f := Finding{
			ID: "service-lb-backends-mismatch", Severity: p.sev,
			Title:    fmt.Sprintf("Service %s/%s's HNS load balancers on node %s do not match its ready endpoints", p.svc.Namespace, p.svc.Name, x.node),
			Evidence: append(capEvidence(p.ev, 10, wire.KindHCNLoadBalancers), Evidence{Artifact: "EndpointSlice", Object: p.svc.Namespace + "/" + p.svc.Name}),
			Remediation: "kube-proxy has not caught up with the Service's endpoints (a failed update, or HNS state changed " +
				"behind it). Connections from this node go to pods that are gone or miss new ones. Check kube-proxy's log for " +
				"errors and restart it to rebuild the load balancers.",
			Objects: []ObjectRef{serviceRef(p.svc)},
		}
		if p.sev == SeverityWarning {
			f.SeverityReason = "only capacity is lost: every backend in the load balancer is still ready"
		}
		return f
	}, func(rest []*svcProblem) Finding {
		objs, worst := summaryObjects(rest)
		return Finding{ID: "service-lb-backends-mismatch", Severity: worst,
			Title:       fmt.Sprintf("%d more Services' load balancers on node %s do not match their endpoints", len(rest), x.node),
			Remediation: "kube-proxy is far behind the cluster: restart it on the node and read its log.", Objects: objs}
	}), ""
}

// trafficPolicyLocalNoEndpoints: internal/externalTrafficPolicy Local leaves this node
// without a load balancer for a front end.
func trafficPolicyLocalNoEndpoints(in Input) ([]Finding, string) {
	x := in.ix()
	e := x.expectations()
	if e.missingWhy != "" {
		return nil, e.missingWhy
	}
	var sp svcProblems
	dsr := x.dsrSupported()
	for i := range e.list {
		ex := &e.list[i]
		if !ex.localOnly || len(ex.backends) > 0 || ex.allReady == 0 {
			continue
		}
		sev := SeverityWarning
		what := fmt.Sprintf("%s: %d ready endpoints in the cluster, none on this node", ex.frontText(), ex.allReady)
		if ex.kind != frontClusterIP && ex.svc.Spec.HealthCheckNodePort > 0 {
			sev = SeverityInfo
		}
		sp.add(ex.svc, sev, ex.frontText(), Evidence{Artifact: "EndpointSlice", Object: ex.svcName(), Detail: what})
	}
	if !dsr {
		for i := range x.c.Services {
			s := &x.c.Services[i]
			if s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
				sp.add(s, SeverityInfo, "externalTrafficPolicy Local", Evidence{Artifact: wire.KindHNSVersion, Detail: "HNS " + x.s.HNSVersion + " has no DSR: kube-proxy ignores externalTrafficPolicy Local and uses every endpoint"})
			}
		}
	}
	return sp.emit(x, func(p *svcProblem) Finding {
		f := Finding{
			ID: "traffic-policy-local-no-endpoints", Severity: p.sev,
			Title:    fmt.Sprintf("Service %s/%s has traffic policy Local and no usable load balancer on node %s (%s)", p.svc.Namespace, p.svc.Name, x.node, strings.Join(p.fr, ", ")),
			Evidence: capEvidence(p.ev, 10, "EndpointSlice"),
			Remediation: "With internalTrafficPolicy Local, pods on a node reach the Service only through endpoints on the " +
				"same node; with externalTrafficPolicy Local, traffic to this node's NodePort or external IP is dropped. " +
				"Run an endpoint on this node (a DaemonSet, or topology spread), or use the Cluster policy.",
			Objects: []ObjectRef{serviceRef(p.svc)},
		}
		switch p.sev {
		case SeverityInfo:
			f.SeverityReason = "external traffic only: the cloud load balancer's health check (healthCheckNodePort) steers it to nodes with endpoints"
		}
		return f
	}, func(rest []*svcProblem) Finding {
		objs, worst := summaryObjects(rest)
		return Finding{ID: "traffic-policy-local-no-endpoints", Severity: worst,
			Title:       fmt.Sprintf("%d more Services with traffic policy Local have no endpoint on node %s", len(rest), x.node),
			Remediation: "See the findings above.", Objects: objs}
	}), ""
}

// serviceRunning reports SCM evidence: whether one of names is installed, and running.
func (x *index) serviceState(names ...string) (installed, running bool, state string) {
	for _, s := range x.s.Services {
		for _, n := range names {
			if strings.EqualFold(s.Name, n) && s.State != "NotInstalled" && s.State != "" {
				installed, state = true, s.State
				if strings.EqualFold(s.State, "Running") {
					return true, true, state
				}
			}
		}
	}
	return installed, false, state
}

func (x *index) processRunning(names ...string) bool {
	for _, p := range x.s.Processes {
		pn := strings.TrimSuffix(strings.ToLower(p.Name), ".exe")
		for _, n := range names {
			if pn == strings.ToLower(n) {
				return true
			}
		}
	}
	return false
}

func (x *index) components(role string) []facts.Component {
	if x.c == nil {
		return nil
	}
	var out []facts.Component
	for _, c := range x.c.Components {
		if c.Role == role {
			out = append(out, c)
		}
	}
	return out
}

// kubeProxyNotRunning: kube-proxy is neither a running service, a running process nor a
// ready pod on the node.
func kubeProxyNotRunning(in Input) ([]Finding, string) {
	x := in.ix()
	haveSvc, haveProc := in.Snapshot.Have[wire.KindServices], in.Snapshot.Have[wire.KindProcesses]
	pods := x.components(facts.RoleKubeProxy)
	installed, running, state := x.serviceState("kubeproxy", "kube-proxy")
	if running || x.processRunning("kube-proxy") {
		return nil, ""
	}
	for _, c := range pods {
		if c.Ready {
			return nil, ""
		}
	}
	var ev []Evidence
	if haveSvc {
		d := "no kubeproxy or kube-proxy Windows service"
		if installed {
			d = "the kube-proxy Windows service is " + state
		}
		ev = append(ev, Evidence{Artifact: wire.KindServices, Detail: d})
	}
	if haveProc {
		ev = append(ev, Evidence{Artifact: wire.KindProcesses, Detail: fmt.Sprintf("%d processes, no kube-proxy.exe", len(x.s.Processes))})
	}
	for _, c := range pods {
		ev = append(ev, Evidence{Artifact: "Pod", Object: c.Namespace + "/" + c.Pod, Detail: fmt.Sprintf("phase %s, not ready, %d restarts %s", c.Phase, c.Restarts, c.Waiting)})
	}
	// Decisive evidence: the process list (kube-proxy runs as a service, a HostProcess pod or
	// a process of rke2/k3s, all visible there), an installed but stopped service, or a
	// kube-proxy pod on the node that is not ready.
	decisive := haveProc || installed || len(pods) > 0
	if !decisive {
		// Its own last words: a log that ends with a crash (a panic and its stack, klog F,
		// "command failed", its service wrapper's "child process exited") is a kube-proxy
		// that exited.
		fatal, ended, _ := endedFatally(x.componentLog(wire.LogKubeProxy), 3)
		if !ended {
			return nil, "neither the node's process list nor a kube-proxy service, pod, or log or event-log entries ending in a crash was collected"
		}
		ev = append(ev, evidenceOf(fatal)...)
	}
	if x.processRunning("rke2", "k3s") {
		return nil, "" // kube-proxy runs inside the rke2/k3s agent process
	}
	kp := x.kubeProxyLog()
	for i, l := range kp.startup {
		if i == 5 {
			break
		}
		ev = append(ev, l.evidence())
	}
	if cfg := x.s.KubeProxy; cfg != nil {
		if on, set := cfg.FeatureGates["WinOverlay"]; set && !on && versionAtLeast(cfg.Version, 1, 34) {
			ev = append(ev, Evidence{Artifact: wire.KindFile, Object: strings.Join(cfg.Sources, ", "),
				Detail: "feature gate WinOverlay=false: the gate is GA and locked on since v1.34, and kube-proxy " + cfg.Version + " exits at start with it set false"})
		}
	}
	f := Finding{
		ID: "kube-proxy-not-running", Severity: SeverityError,
		Title:    fmt.Sprintf("kube-proxy is not running on node %s", x.node),
		Evidence: ev,
		Remediation: "Without kube-proxy no Service (ClusterIP, NodePort, DNS) works from this node, and HNS load " +
			"balancers are not updated. Start it (Start-Service kubeproxy, or check its DaemonSet pod); the log lines " +
			"quoted say why it stopped.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	for _, c := range pods {
		f.Objects = append(f.Objects, ObjectRef{Kind: "Pod", Namespace: c.Namespace, Name: c.Pod})
	}
	return []Finding{f}, ""
}

// versionAtLeast compares a "v1.34.2"-style version with major.minor ("" is false).
func versionAtLeast(v string, major, minor int) bool {
	v = strings.TrimPrefix(v, "v")
	a, rest, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	b, _, _ := strings.Cut(rest, ".")
	b = strings.TrimRightFunc(b, func(r rune) bool { return r < '0' || r > '9' })
	ma, mi := atoi(a), atoi(b)
	return ma > major || (ma == major && mi >= minor)
}

// kubeProxyPolicyErrors: kube-proxy failed to program HNS; codes are decoded in words.
func kubeProxyPolicyErrors(in Input) ([]Finding, string) {
	x := in.ix()
	kp := x.kubeProxyLog()
	if len(kp.files) == 0 {
		return nil, "no kube-proxy log was collected"
	}
	lines := append(append([]logLine(nil), kp.failures...), kp.localMiss...)
	if len(lines) == 0 {
		return nil, ""
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].file != lines[j].file {
			return lines[i].file.Path < lines[j].file.Path
		}
		return lines[i].n < lines[j].n
	})
	counts := map[string]int{}
	var codes []string
	for _, l := range lines {
		for _, c := range errorCodesIn(l.text) {
			if counts[c.Code] == 0 {
				codes = append(codes, c.Code)
			}
			counts[c.Code]++
		}
	}
	var summary []string
	for _, c := range codes {
		summary = append(summary, fmt.Sprintf("%s %s ×%d", c, DecodeHNSError(c), counts[c]))
	}
	var ev []Evidence
	// The first and the last lines: the onset and whether it still happens.
	for i, l := range lines {
		if i < 10 || i >= len(lines)-10 {
			ev = append(ev, l.evidence())
		} else if i == 10 {
			ev = append(ev, Evidence{Artifact: wire.KindFile, Detail: fmt.Sprintf("… %d more lines", len(lines)-20)})
		}
	}
	title := fmt.Sprintf("kube-proxy failed to program HNS (%d log %s)", len(lines), plural(len(lines), "line", "lines"))
	if len(summary) > 0 {
		title += ": " + strings.Join(summary, ", ")
	}
	f := Finding{
		ID: "kube-proxy-policy-errors", Severity: SeverityError,
		Title:    title,
		Evidence: ev,
		Remediation: "Services whose load balancers failed are unreachable from this node. \"port already exists\" " +
			"(0x803b0013) means a stale HNS policy or a reserved port holds the front end; \"Local endpoint not found\" " +
			"means the CNI lost a pod's endpoint. Restart kube-proxy (it deletes and re-creates all load balancers at " +
			"start); if the errors return, check excluded port ranges and the CNI.",
		Objects: []ObjectRef{nodeRef(x.node)},
	}
	var advice []string
	for _, c := range codes {
		if a := codeAdvice[c]; a != "" {
			advice = append(advice, a)
		}
	}
	if len(advice) > 0 {
		f.Remediation += " " + strings.Join(advice, " ")
	}
	last := lines[len(lines)-1]
	if start, ok := kp.lastStart(); ok && !last.t.IsZero() && !start.t.IsZero() && start.t.After(last.t) {
		f.Severity = SeverityWarning
		f.SeverityReason = fmt.Sprintf("kube-proxy restarted at %s, after the last error", start.t.Format("01-02 15:04:05"))
	} else if len(kp.failures) == 0 {
		f.Severity = SeverityWarning
		f.SeverityReason = "only \"Local endpoint not found\": kube-proxy skipped pods whose endpoint the CNI has not made (see pod-endpoint-missing)"
	}
	return []Finding{f}, ""
}
