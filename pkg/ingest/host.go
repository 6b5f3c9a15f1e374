package ingest

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// KindPodNetwork carries a PodNetwork: `ipconfig /all` run inside a pod (its adapter is a
// container vNIC), which describes the pod's DNS settings, not the node's.
const KindPodNetwork = "pod.network"

// PodNetwork is a pod's own view of its network, from a transcript.
type PodNetwork struct {
	Hostname string         `json:"hostname,omitempty"`
	Adapters []wire.Adapter `json:"adapters,omitempty"`
	DNS      wire.DNSClient `json:"dns"`
}

var (
	ipconfigKV       = regexp.MustCompile(`^\s{2,}([A-Za-z][^.:]*?)[ .]*:\s?(.*)$`)
	ipconfigCont     = regexp.MustCompile(`^\s{20,}(\S.*)$`)
	ipconfigAdapter  = regexp.MustCompile(`^(\S.*?) adapter (.+):\s*$`)
	ipconfigCompart  = regexp.MustCompile(`Network Information for Compartment (\d+)`)
	containerAdapter = regexp.MustCompile(`(?i)^vEthernet \(([0-9a-f]{12,}|cid-[0-9a-f-]+)_`)
	addrSuffix       = regexp.MustCompile(`(%\d+)?\((Preferred|Deprecated|Tentative|Duplicate)\)$`)
)

// recogniseIPConfig reads `ipconfig /all` (and /allcompartments): adapters with addresses,
// gateways, DNS servers and suffixes, and the resolver's search list. Run inside a pod it
// becomes a pod.network record instead of host.adapters.
func recogniseIPConfig(d *Doc) *Output {
	ls := d.Lines()
	start := -1
	for i, l := range ls {
		if strings.TrimSpace(l) == "Windows IP Configuration" {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	var adapters []wire.Adapter
	var dns wire.DNSClient
	hostname := ""
	compartment := 0
	var cur *wire.Adapter
	lastKey := ""
	var mask string
	finish := func() {
		if cur == nil {
			return
		}
		if mask != "" && len(cur.Addresses) > 0 {
			if bits := maskBits(mask); bits > 0 {
				for i := range cur.Addresses {
					if cur.Addresses[i].PrefixLength == 0 && strings.Contains(cur.Addresses[i].Address, ".") {
						cur.Addresses[i].PrefixLength = bits
					}
				}
			}
		}
		adapters = append(adapters, *cur)
		cur, mask, lastKey = nil, "", ""
	}
	for _, l := range ls[start+1:] {
		if isPrompt(l) {
			break
		}
		if m := ipconfigCompart.FindStringSubmatch(l); m != nil {
			finish()
			compartment, _ = strconv.Atoi(m[1])
			continue
		}
		if m := ipconfigAdapter.FindStringSubmatch(l); m != nil {
			finish()
			cur = &wire.Adapter{Name: m[2], Compartment: compartment, Status: "Up"}
			continue
		}
		if m := ipconfigCont.FindStringSubmatch(l); m != nil && lastKey != "" {
			v := strings.TrimSpace(m[1])
			switch lastKey {
			case "DNS Servers":
				if cur != nil {
					cur.DNSServers = append(cur.DNSServers, v)
				}
			case "DNS Suffix Search List":
				dns.SearchList = append(dns.SearchList, v)
			case "Default Gateway":
				if cur != nil && v != "" {
					cur.Gateways = append(cur.Gateways, v)
				}
			case "IPv4 Address", "IPv6 Address", "Link-local IPv6 Address":
				if cur != nil {
					cur.Addresses = append(cur.Addresses, wire.IPAddress{Address: cleanAddr(v)})
				}
			}
			continue
		}
		m := ipconfigKV.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		k, v := strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
		lastKey = k
		if cur == nil {
			switch k {
			case "Host Name":
				hostname = v
			case "Primary Dns Suffix":
				dns.PrimarySuffix = v
			case "DNS Suffix Search List":
				if v != "" {
					dns.SearchList = append(dns.SearchList, v)
				}
			}
			continue
		}
		switch k {
		case "Description":
			cur.Description = v
		case "Physical Address":
			cur.MAC = v
		case "Media State":
			if strings.Contains(v, "disconnected") {
				cur.Status = "Disconnected"
			}
		case "Connection-specific DNS Suffix":
			cur.DNSSuffix = v
		case "IPv4 Address", "IPv6 Address", "Link-local IPv6 Address", "Autoconfiguration IPv4 Address", "IP Address":
			if v != "" {
				cur.Addresses = append(cur.Addresses, wire.IPAddress{Address: cleanAddr(v)})
			}
		case "Subnet Mask":
			mask = v
		case "Default Gateway":
			if v != "" {
				cur.Gateways = append(cur.Gateways, cleanAddr(v))
			}
		case "DNS Servers":
			if v != "" {
				cur.DNSServers = append(cur.DNSServers, v)
			}
		}
	}
	finish()
	if len(adapters) == 0 && hostname == "" {
		return nil
	}
	// The resolver asks the servers of the adapters that have an address.
	for _, a := range adapters {
		if len(a.Addresses) == 0 {
			continue
		}
		for _, s := range a.DNSServers {
			if !contains(dns.Servers, s) {
				dns.Servers = append(dns.Servers, s)
			}
		}
	}
	out := &Output{Format: "ipconfig-all"}
	if inPod(adapters, hostname) {
		out.Format = "ipconfig-all (inside a pod)"
		out.Records = append(out.Records, artifact(KindPodNetwork, PodNetwork{Hostname: hostname, Adapters: adapters, DNS: dns}))
		out.Detail = fmt.Sprintf("pod %s: DNS servers %s, search %s", hostname, strings.Join(dns.Servers, ","), strings.Join(dns.SearchList, ","))
		return out
	}
	out.Records = append(out.Records, artifact(wire.KindHostAdapters, adapters), artifact(wire.KindDNSClient, dns))
	if hostname != "" {
		out.Records = append(out.Records, artifact(wire.KindOSInfo, wire.OSInfo{Hostname: hostname}))
	}
	out.Detail = fmt.Sprintf("host %s: %d adapters", hostname, len(adapters))
	return out
}

// inPod is true when every adapter with an address is a container vNIC: named after a container
// id, described as a container adapter, or named after the pod's HNS endpoint
// "<namespace>_<pod>" where the pod is the host name (kubelet makes a pod's host name its name,
// and CNIs of the dockershim era named the endpoint so).
func inPod(adapters []wire.Adapter, hostname string) bool {
	n := 0
	for _, a := range adapters {
		if len(a.Addresses) == 0 || strings.HasPrefix(a.Name, "Loopback") {
			continue
		}
		n++
		if !containerAdapter.MatchString(a.Name) && !strings.Contains(a.Description, "Container Adapter") &&
			!podEndpointAdapter(a.Name, hostname) {
			return false
		}
	}
	return n > 0
}

// podEndpointAdapter is true for "vEthernet (<namespace>_<hostname>)".
func podEndpointAdapter(name, hostname string) bool {
	if hostname == "" {
		return false
	}
	inner, ok := strings.CutPrefix(name, "vEthernet (")
	if !ok {
		return false
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return false
	}
	ns, pod, ok := strings.Cut(inner, "_")
	return ok && ns != "" && strings.EqualFold(pod, hostname)
}

func cleanAddr(s string) string {
	s = addrSuffix.ReplaceAllString(strings.TrimSpace(s), "")
	return s
}

func maskBits(mask string) int {
	a, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() {
		return 0
	}
	b := a.As4()
	n := 0
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) == 0 {
				return n
			}
			n++
		}
	}
	return n
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// recogniseRoutePrint reads `route print` (IPv4 and IPv6 tables) and Get-NetRoute's table.
func recogniseRoutePrint(d *Doc) *Output {
	ls := d.Lines()
	var routes []wire.Route
	section := ""
	for _, l := range ls {
		t := strings.TrimSpace(l)
		switch {
		case t == "IPv4 Route Table":
			section = "v4"
			continue
		case t == "IPv6 Route Table":
			section = "v6"
			continue
		case strings.HasPrefix(t, "Persistent Routes"), strings.HasPrefix(t, "Interface List"):
			section = ""
			continue
		case strings.HasPrefix(t, "Active Routes"):
			if section == "" {
				section = "v4"
			}
			continue
		}
		fs := fields(t)
		switch section {
		case "v4":
			if len(fs) != 5 {
				continue
			}
			dst, err1 := netip.ParseAddr(fs[0])
			bits := maskBits(fs[1])
			metric, err2 := strconv.Atoi(fs[4])
			if err1 != nil || err2 != nil || (bits == 0 && fs[1] != "0.0.0.0") {
				continue
			}
			r := wire.Route{Destination: netip.PrefixFrom(dst, bits).String(), Metric: metric}
			if fs[2] != "On-link" {
				r.NextHop = fs[2]
			}
			routes = append(routes, r)
		case "v6":
			if len(fs) != 4 {
				continue
			}
			ifi, err1 := strconv.Atoi(fs[0])
			metric, err2 := strconv.Atoi(fs[1])
			if err1 != nil || err2 != nil || !strings.Contains(fs[2], "/") {
				continue
			}
			r := wire.Route{Destination: fs[2], IfIndex: ifi, Metric: metric}
			if fs[3] != "On-link" {
				r.NextHop = fs[3]
			}
			routes = append(routes, r)
		}
	}
	format := "route-print"
	for _, t := range findUnderlinedTables(ls, '-', "ifIndex", "DestinationPrefix", "NextHop") {
		format = "get-netroute"
		for _, r := range t.rows {
			ifi, _ := strconv.Atoi(t.get(r, "ifIndex"))
			metric, _ := strconv.Atoi(t.get(r, "RouteMetric"))
			dst := t.get(r, "DestinationPrefix")
			if !strings.Contains(dst, "/") {
				continue
			}
			route := wire.Route{Destination: dst, IfIndex: ifi, Metric: metric}
			if nh := t.get(r, "NextHop"); nh != "0.0.0.0" && nh != "::" {
				route.NextHop = nh
			}
			routes = append(routes, route)
		}
	}
	if len(routes) == 0 {
		return nil
	}
	return &Output{Format: format, Detail: fmt.Sprintf("%d routes", len(routes)), Records: []wire.Record{artifact(wire.KindHostRoutes, routes)}}
}

var (
	exclHeader = regexp.MustCompile(`(?i)^Protocol (tcp|udp) Port Exclusion Ranges`)
	dynHeader  = regexp.MustCompile(`(?i)^Protocol (tcp|udp) Dynamic Port Range`)
)

// recogniseNetshPorts reads `netsh int ipv4 show excludedportrange tcp|udp` and
// `netsh int ipv4 show dynamicport(range) tcp|udp`, several appended in one file.
func recogniseNetshPorts(d *Doc) *Output {
	pr := wire.PortRanges{}
	proto, mode := "", ""
	for _, l := range d.Lines() {
		t := strings.TrimSpace(l)
		if m := exclHeader.FindStringSubmatch(t); m != nil {
			proto, mode = strings.ToLower(m[1]), "excluded"
			if pr.Excluded == nil {
				pr.Excluded = map[string][]wire.PortRange{}
			}
			if _, ok := pr.Excluded[proto]; !ok {
				pr.Excluded[proto] = []wire.PortRange{}
			}
			continue
		}
		if m := dynHeader.FindStringSubmatch(t); m != nil {
			proto, mode = strings.ToLower(m[1]), "dynamic"
			if pr.Dynamic == nil {
				pr.Dynamic = map[string]wire.PortRange{}
			}
			continue
		}
		if isPrompt(l) {
			mode = ""
			continue
		}
		switch mode {
		case "excluded":
			fs := fields(strings.TrimSuffix(t, "*"))
			if len(fs) != 2 {
				continue
			}
			a, err1 := strconv.Atoi(fs[0])
			b, err2 := strconv.Atoi(fs[1])
			if err1 == nil && err2 == nil && a > 0 && b >= a && b <= 65535 {
				pr.Excluded[proto] = append(pr.Excluded[proto], wire.PortRange{Start: a, End: b})
			}
		case "dynamic":
			k, v, ok := cut(t, ":")
			n, err := strconv.Atoi(v)
			if !ok || err != nil {
				continue
			}
			r := pr.Dynamic[proto]
			switch k {
			case "Start Port":
				r.Start = n
			case "Number of Ports":
				r.End = n // the count, turned into the end below
			}
			pr.Dynamic[proto] = r
		}
	}
	if pr.Excluded == nil && pr.Dynamic == nil {
		return nil
	}
	for p, r := range pr.Dynamic {
		if r.Start > 0 && r.End > 0 {
			r.End = r.Start + r.End - 1
		} else {
			r.End = 0
		}
		pr.Dynamic[p] = r
	}
	n := 0
	for _, rs := range pr.Excluded {
		n += len(rs)
	}
	return &Output{Format: "netsh-portranges", Detail: fmt.Sprintf("%d excluded ranges, %d dynamic ranges", n, len(pr.Dynamic)),
		Records: []wire.Record{artifact(wire.KindPortRanges, pr)}}
}

// recogniseNetshInterfaces reads `netsh int ipv4 show interfaces` (collectlogs' mtu.txt): each
// interface's index, MTU and state, merged into host.adapters by name.
func recogniseNetshInterfaces(d *Doc) *Output {
	var adapters []wire.Adapter
	ls := d.Lines()
	for i := 0; i+1 < len(ls); i++ {
		cols, _ := headerColumns(ls[i])
		if !containsAll(cols, []string{"Idx", "Met", "MTU", "State", "Name"}) {
			continue
		}
		starts, _, ok := underlineSpans(strings.TrimSpace(ls[i+1]), '-')
		if !ok || len(starts) != 5 {
			continue
		}
		for _, l := range ls[i+2:] {
			fs := fields(l)
			if len(fs) < 5 {
				break
			}
			idx, err1 := strconv.Atoi(fs[0])
			mtu, err2 := strconv.ParseInt(fs[2], 10, 64)
			if err1 != nil || err2 != nil {
				break
			}
			a := wire.Adapter{Name: strings.Join(fs[4:], " "), IfIndex: idx, Status: fs[3]}
			if mtu < 1<<20 { // the loopback reports 4294967295
				a.MTU = int(mtu)
			}
			adapters = append(adapters, a)
		}
	}
	if len(adapters) == 0 {
		return nil
	}
	return &Output{Format: "netsh-interfaces", Detail: fmt.Sprintf("%d interfaces", len(adapters)), Records: []wire.Record{artifact(wire.KindHostAdapters, adapters)}}
}

var (
	verRe      = regexp.MustCompile(`Microsoft Windows \[Version (\d+)\.(\d+)\.(\d+)\.(\d+)\]`)
	osVerRe    = regexp.MustCompile(`^Microsoft Windows NT (\d+)\.(\d+)\.(\d+)\.(\d+)`)
	buildRe    = regexp.MustCompile(`Build (\d+)`)
	hotfixLine = regexp.MustCompile(`^\s*\[\d+\]:\s*(KB\d+)`)
)

// recogniseSystemInfo reads `systeminfo` (OS name, build, host name, hotfixes), `ver`
// ("Microsoft Windows [Version 10.0.20348.2700]", which carries the UBR), .NET's OSVersion
// string, the CurrentVersion registry key as Format-List, and Get-HotFix's table.
func recogniseSystemInfo(d *Doc) *Output {
	var osi wire.OSInfo
	var hot []wire.Hotfix
	inHotfix := false
	found := false
	for _, l := range d.Lines() {
		if m := verRe.FindStringSubmatch(l); m != nil {
			osi.Build = m[3]
			osi.UBR, _ = strconv.Atoi(m[4])
			found = true
			continue
		}
		if m := osVerRe.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			osi.Build = m[3]
			found = true
			continue
		}
		if inHotfix {
			if m := hotfixLine.FindStringSubmatch(l); m != nil {
				hot = append(hot, wire.Hotfix{ID: m[1]})
				continue
			}
			inHotfix = false
		}
		k, v, ok := cut(l, ":")
		if !ok || l == "" || l[0] == ' ' {
			continue
		}
		switch k {
		case "OS Name":
			osi.ProductName = strings.TrimPrefix(v, "Microsoft ")
			found = true
		case "OS Version":
			if m := buildRe.FindStringSubmatch(v); m != nil {
				osi.Build = m[1]
			}
		case "Host Name":
			osi.Hostname = v
		case "Hotfix(s)":
			inHotfix = true
		case "ProductName":
			osi.ProductName = v
		case "CurrentBuild", "CurrentBuildNumber":
			if _, err := strconv.Atoi(v); err == nil {
				osi.Build = v
				found = true
			}
		case "UBR":
			osi.UBR, _ = strconv.Atoi(v)
		}
	}
	for _, t := range findUnderlinedTables(d.Lines(), '-', "HotFixID") {
		for _, r := range t.rows {
			if id := t.get(r, "HotFixID"); strings.HasPrefix(id, "KB") {
				hot = append(hot, wire.Hotfix{ID: id, InstalledOn: t.get(r, "InstalledOn")})
			}
		}
	}
	if !found && len(hot) == 0 {
		return nil
	}
	out := &Output{Format: "windows-version"}
	if found {
		out.Records = append(out.Records, artifact(wire.KindOSInfo, osi))
		out.Detail = strings.TrimSpace(osi.ProductName + " build " + osi.Build)
	}
	if len(hot) > 0 {
		out.Records = append(out.Records, artifact(wire.KindHotfixes, hot))
		out.Detail = strings.TrimSpace(out.Detail + fmt.Sprintf(" %d hotfixes", len(hot)))
	}
	return out
}

var scStates = map[string]string{"RUNNING": "Running", "STOPPED": "Stopped", "START_PENDING": "StartPending", "STOP_PENDING": "StopPending",
	"PAUSED": "Paused", "PAUSE_PENDING": "PausePending", "CONTINUE_PENDING": "ContinuePending"}
var scStart = map[string]string{"AUTO_START": "Automatic", "DEMAND_START": "Manual", "DISABLED": "Disabled", "BOOT_START": "Boot", "SYSTEM_START": "System"}

// recogniseServices reads `sc query`/`sc queryex` (and `sc qc` for the start type) and
// Get-Service's table.
func recogniseServices(d *Doc) *Output {
	byName := map[string]*wire.ServiceState{}
	var order []string
	get := func(name string) *wire.ServiceState {
		if s, ok := byName[strings.ToLower(name)]; ok {
			return s
		}
		s := &wire.ServiceState{Name: name}
		byName[strings.ToLower(name)] = s
		order = append(order, strings.ToLower(name))
		return s
	}
	var cur *wire.ServiceState
	for _, l := range d.Lines() {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "SERVICE_NAME:"); ok {
			cur = get(strings.TrimSpace(name))
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := cut(l, ":")
		if !ok {
			continue
		}
		fs := fields(v)
		switch k {
		case "STATE":
			if len(fs) >= 2 {
				cur.State = firstOf(scStates[fs[1]], fs[1])
			}
		case "PID":
			if len(fs) > 0 {
				cur.PID, _ = strconv.Atoi(fs[0])
			}
		case "START_TYPE":
			if len(fs) >= 2 {
				t := scStart[fs[1]]
				if t == "Automatic" && strings.Contains(v, "DELAYED") {
					t = "AutomaticDelayedStart"
				}
				cur.StartType = firstOf(t, fs[1])
			}
		}
	}
	format := "sc-query"
	for _, t := range findUnderlinedTables(d.Lines(), '-', "Status", "Name") {
		format = "get-service"
		for _, r := range t.rows {
			if n := t.get(r, "Name"); n != "" {
				s := get(n)
				s.State = t.get(r, "Status")
				if st := t.get(r, "StartType"); st != "" {
					s.StartType = st
				}
			}
		}
	}
	var svcs []wire.ServiceState
	for _, n := range order {
		if byName[n].State != "" || byName[n].StartType != "" {
			svcs = append(svcs, *byName[n])
		}
	}
	if len(svcs) == 0 {
		return nil
	}
	return &Output{Format: format, Detail: fmt.Sprintf("%d services", len(svcs)), Records: []wire.Record{artifact(wire.KindServices, svcs)}}
}

// recogniseProcesses reads tasklist's table and Get-Process's table.
func recogniseProcesses(d *Doc) *Output {
	var ps []wire.ProcessInfo
	format := ""
	for _, t := range findUnderlinedTables(d.Lines(), '=', "Image Name", "PID") {
		format = "tasklist"
		for _, r := range t.rows {
			pid, err := strconv.Atoi(t.get(r, "PID"))
			if n := t.get(r, "Image Name"); n != "" && err == nil {
				ps = append(ps, wire.ProcessInfo{Name: n, PID: pid})
			}
		}
	}
	for _, t := range findUnderlinedTables(d.Lines(), '-', "Id", "ProcessName") {
		format = "get-process"
		for _, r := range t.rows {
			pid, err := strconv.Atoi(t.get(r, "Id"))
			n := t.get(r, "ProcessName")
			if n == "" || err != nil {
				continue
			}
			if !strings.Contains(n, ".") && !bareProcess[n] {
				n += ".exe" // the collector reports image names, as tasklist does
			}
			ps = append(ps, wire.ProcessInfo{Name: n, PID: pid})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &Output{Format: format, Detail: fmt.Sprintf("%d processes", len(ps)), Records: []wire.Record{artifact(wire.KindProcesses, ps)}}
}

var bareProcess = map[string]bool{"System": true, "Idle": true, "Registry": true, "Memory Compression": true, "Secure System": true}

// tcpStateNames maps Get-NetTCPConnection's state names and numbers to netstat's.
var tcpStateNames = map[string]string{
	"Closed": "CLOSED", "Listen": "LISTENING", "SynSent": "SYN_SENT", "SynReceived": "SYN_RECEIVED", "Established": "ESTABLISHED",
	"FinWait1": "FIN_WAIT_1", "FinWait2": "FIN_WAIT_2", "CloseWait": "CLOSE_WAIT", "Closing": "CLOSING", "LastAck": "LAST_ACK",
	"TimeWait": "TIME_WAIT", "DeleteTCB": "DELETE_TCB", "Bound": "BOUND",
	"1": "CLOSED", "2": "LISTENING", "3": "SYN_SENT", "4": "SYN_RECEIVED", "5": "ESTABLISHED", "6": "FIN_WAIT_1", "7": "FIN_WAIT_2",
	"8": "CLOSE_WAIT", "9": "CLOSING", "10": "LAST_ACK", "11": "TIME_WAIT", "12": "DELETE_TCB", "100": "BOUND",
}

// recogniseNetstat reads `netstat -ano` and Get-NetTCPConnection's table into counts by state.
func recogniseNetstat(d *Doc) *Output {
	tc := wire.TCPConnections{ByState: map[string]int{}}
	format := ""
	ls := d.Lines()
	for i, l := range ls {
		if strings.TrimSpace(l) != "Active Connections" {
			continue
		}
		format = "netstat"
		for _, r := range ls[i+1:] {
			fs := fields(r)
			if len(fs) == 0 {
				continue
			}
			if isPrompt(r) || (fs[0] != "TCP" && fs[0] != "UDP" && fs[0] != "Proto") {
				break
			}
			if fs[0] == "TCP" && len(fs) >= 4 {
				tc.Total++
				tc.ByState[fs[3]]++
			}
		}
	}
	for _, t := range findUnderlinedTables(ls, '-', "LocalAddress", "LocalPort", "State") {
		format = "get-nettcpconnection"
		for _, r := range t.rows {
			st := t.get(r, "State")
			tc.Total++
			tc.ByState[firstOf(tcpStateNames[st], strings.ToUpper(st))]++
		}
	}
	if format == "" || tc.Total == 0 {
		return nil
	}
	return &Output{Format: format, Detail: fmt.Sprintf("%d TCP connections", tc.Total), Records: []wire.Record{artifact(wire.KindTCPConnections, tc)}}
}
