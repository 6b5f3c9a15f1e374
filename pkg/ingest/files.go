package ingest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Roles this package adds to wire's file roles.
const (
	// RoleCNIState is a CNI plugin's own network state file (azure-vnet.json).
	RoleCNIState = "cni-state"
	// RoleResolvConf is a Linux resolv.conf, kept for comparison with a Windows pod's DNS.
	RoleResolvConf = "resolv-conf"
)

// recogniseCNIConfig reads a CNI .conf or .conflist (cniVersion with type or plugins). A file
// that names a cniVersion but does not parse (unrendered placeholders) is still a CNI config:
// the analyzer reports it as invalid.
func recogniseCNIConfig(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) == 1 && objs[0].has("cniversion") && objs[0].hasAny("type", "plugins") {
		name := objs[0].str("name")
		typ := objs[0].str("type")
		if typ == "" {
			var ts []string
			for _, p := range objs[0].arr("plugins") {
				ts = append(ts, p.str("type"))
			}
			typ = strings.Join(ts, "+")
		}
		return &Output{Format: "cni-config", Detail: fmt.Sprintf("network %q, plugin %s", name, typ), Records: []wire.Record{fileRecord(wire.RoleCNIConfig, jsonFileText(d))}}
	}
	body := commandOutput(d.Text) // a pasted `cat` starts with its prompt
	t := strings.TrimSpace(body)
	if len(objs) == 0 && strings.HasPrefix(t, "{") && strings.Contains(t, `"cniVersion"`) && (strings.Contains(t, `"type"`) || strings.Contains(t, `"plugins"`)) {
		return &Output{Format: "cni-config", Detail: "does not parse as JSON", Records: []wire.Record{fileRecord(wire.RoleCNIConfig, body)},
			Notes: []string{"this CNI config is not valid JSON (unrendered placeholders or a syntax error); the CNI cannot load it"}}
	}
	return nil
}

// recogniseCNIFiles reads the CNI's other files: flannel's net-conf.json, azure-vnet's IPAM
// and network state, and a host-local IPAM reservation (a container ID and interface name).
func recogniseCNIFiles(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) == 1 {
		o := objs[0]
		switch {
		case o.has("network") && o.has("backend"):
			b, _ := o.obj("backend")
			return &Output{Format: "flannel-net-conf", Detail: fmt.Sprintf("network %s, backend %s", o.str("network"), b.str("type")), Records: []wire.Record{fileRecord(wire.RoleFlannelConfig, d.Text)}}
		case o.has("ipam"):
			if ipam, ok := o.obj("ipam"); ok && ipam.has("addressspaces") {
				return &Output{Format: "azure-vnet-ipam-state", Records: []wire.Record{fileRecord(wire.RoleIPAMState, d.Text)}}
			}
		case o.has("network"):
			if nw, ok := o.obj("network"); ok && nw.has("externalinterfaces") {
				return &Output{Format: "azure-vnet-state", Records: []wire.Record{fileRecord(RoleCNIState, d.Text)}}
			}
		}
		return nil
	}
	if hostLocalRe.MatchString(strings.TrimSpace(d.Text)) {
		return &Output{Format: "host-local-ipam-reservation", Records: []wire.Record{fileRecord(wire.RoleIPAMState, d.Text)},
			Notes: []string{"host-local names each reservation file after its IP; keep the folder's file names when you collect them"}}
	}
	return nil
}

var hostLocalRe = regexp.MustCompile(`^[0-9a-f]{64}(\n[\w.-]+)?$`)

// recogniseTextConfigs reads configs that are plain text: flannel's subnet.env, containerd's
// config.toml, calico's Windows config.ps1.
func recogniseTextConfigs(d *Doc) *Output {
	t := d.Text
	switch {
	case strings.Contains(t, "FLANNEL_NETWORK=") || strings.Contains(t, "FLANNEL_SUBNET="):
		n := 0
		for _, l := range d.Lines() {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if !strings.HasPrefix(l, "FLANNEL_") || !strings.Contains(l, "=") {
				return nil
			}
			n++
		}
		return &Output{Format: "flannel-subnet-env", Detail: fmt.Sprintf("%d settings", n), Records: []wire.Record{fileRecord(wire.RoleFlannelSubnetEnv, t)}}
	case strings.Contains(t, "[plugins") && (strings.Contains(t, "io.containerd") || strings.Contains(t, "containerd")) && !strings.Contains(t, "{\n"):
		return &Output{Format: "containerd-config", Records: []wire.Record{fileRecord(wire.RoleContainerdConfig, t)}}
	case strings.Contains(t, "CALICO_NETWORKING_BACKEND") || strings.Contains(t, "$env:CALICO_"):
		return &Output{Format: "calico-config", Records: []wire.Record{fileRecord(wire.RoleCalicoConfig, t)}}
	}
	return nil
}

var (
	kubeProxyCmd = regexp.MustCompile(`(?i)(\S*kube-?proxy(?:\.exe)?"?\s+--\S.*)$`)
	kubeletCmd   = regexp.MustCompile(`(?i)(\S*kubelet(?:\.exe)?"?\s+--\S.*)$`)
)

// recogniseCommandLines finds kube-proxy's and kubelet's command lines anywhere in a text (a
// service definition, sc qc's BINARY_PATH_NAME, a pasted start script).
func recogniseCommandLines(d *Doc) *Output {
	out := &Output{Format: "command-line"}
	var found []string
	for _, l := range d.Lines() {
		if klogRe.MatchString(l) {
			continue // a log line, read by the log recogniser
		}
		if m := kubeProxyCmd.FindStringSubmatch(l); m != nil {
			out.Records = append(out.Records, fileRecord(wire.RoleKubeProxyArgs, cleanCommandLine(m[1])))
			found = append(found, "kube-proxy")
		} else if m := kubeletCmd.FindStringSubmatch(l); m != nil {
			out.Records = append(out.Records, fileRecord(wire.RoleKubeletArgs, cleanCommandLine(m[1])))
			found = append(found, "kubelet")
		}
	}
	if len(found) == 0 {
		return nil
	}
	out.Detail = strings.Join(found, ", ")
	return out
}

// cleanCommandLine drops what wraps a command line in logs and transcripts: brackets, quotes,
// and nssm-style "] => [wrapper]" tails.
func cleanCommandLine(s string) string {
	if i := strings.Index(s, "] =>"); i >= 0 {
		s = s[:i]
	}
	return strings.Trim(strings.TrimSpace(s), `[]"'`)
}

var ipLinkRe = regexp.MustCompile(`^\d+: ([^:@]+)(?:@\S+)?: <[^>]*> mtu (\d+)`)

// recogniseLinuxFiles notes Linux files sent for comparison: resolv.conf and `ip link`.
func recogniseLinuxFiles(d *Doc) *Output {
	ls := d.Lines()
	resolv, other := 0, 0
	for _, l := range ls {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		f := fields(t)[0]
		if f == "nameserver" || f == "search" || f == "options" || f == "domain" {
			resolv++
		} else {
			other++
		}
	}
	if resolv > 0 && other == 0 {
		return &Output{Format: "resolv.conf", Records: []wire.Record{fileRecord(RoleResolvConf, d.Text)},
			Notes: []string{"a Linux resolver configuration, kept for comparison with the Windows pod's DNS settings"}}
	}
	var links []string
	for _, l := range ls {
		if m := ipLinkRe.FindStringSubmatch(l); m != nil {
			links = append(links, m[1]+" mtu "+m[2])
		}
	}
	if len(links) > 0 {
		return &Output{Format: "ip-link", Unused: true, Detail: strings.Join(links, ", "),
			Notes: []string{"Linux interfaces are listed for comparison (e.g. the VXLAN MTU on the Linux side); they are not analyzed"}}
	}
	return nil
}

var svcStatusNames = map[string]string{"1": "Stopped", "2": "StartPending", "3": "StopPending", "4": "Running", "5": "ContinuePending", "6": "PausePending", "7": "Paused"}
var svcStartNames = map[string]string{"0": "Boot", "1": "System", "2": "Automatic", "3": "Manual", "4": "Disabled"}

// recogniseStateJSON reads node state as JSON: winnet's own scenario files (services.json,
// processes.json, os.json, probes.json, hns-version.json) and the PowerShell equivalents
// (Get-Service, Get-Process, Get-NetTCPConnection, Get-ComputerInfo | ConvertTo-Json).
func recogniseStateJSON(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) == 0 {
		return nil
	}
	first := objs[0]
	all := func(f func(o jobj) bool) bool {
		for _, o := range objs {
			if !f(o) {
				return false
			}
		}
		return true
	}
	anyOf := func(f func(o jobj) bool) bool {
		for _, o := range objs {
			if f(o) {
				return true
			}
		}
		return false
	}
	switch {
	case len(objs) == 1 && len(first.keys) <= 3 && first.has("major") && first.has("minor"):
		return &Output{Format: "hns-version", Detail: first.str("major") + "." + first.str("minor"), Records: []wire.Record{rawArtifact(wire.KindHNSVersion, first.raw)}}
	case all(func(o jobj) bool { return o.has("target") && o.has("verdict") }):
		out := &Output{Format: "probes-json", Detail: fmt.Sprintf("%d probes", len(objs))}
		for _, o := range objs {
			var p wire.ProbeData
			if json.Unmarshal(o.raw, &p) == nil {
				out.Records = append(out.Records, wire.Record{V: wire.SchemaMajor, Type: wire.TypeProbe, Source: "probes", Data: o.raw})
			}
		}
		return out
	case all(func(o jobj) bool { return o.has("name") && o.hasAny("state", "status") && !o.has("kind") }) &&
		anyOf(func(o jobj) bool { return o.hasAny("starttype", "pid", "servicename", "servicetype") }):
		// winnet's services.json, or Get-Service | ConvertTo-Json (Status and StartType as numbers).
		var svcs []wire.ServiceState
		for _, o := range objs {
			s := wire.ServiceState{Name: firstOf(o.str("servicename"), o.str("name")), State: o.str("state"), StartType: o.str("starttype")}
			if s.State == "" {
				s.State = firstOf(svcStatusNames[o.str("status")], o.str("status"))
			}
			s.StartType = firstOf(svcStartNames[s.StartType], s.StartType)
			s.PID, _ = strconv.Atoi(o.str("pid"))
			svcs = append(svcs, s)
		}
		return &Output{Format: "services-json", Detail: fmt.Sprintf("%d services", len(svcs)), Records: []wire.Record{artifact(wire.KindServices, svcs)}}
	case all(func(o jobj) bool {
		return (o.has("name") && o.has("pid") && len(o.keys) <= 4) || (o.has("processname") && o.has("id"))
	}):
		var ps []wire.ProcessInfo
		for _, o := range objs {
			p := wire.ProcessInfo{Name: o.str("name")}
			p.PID, _ = strconv.Atoi(firstOf(o.str("pid"), o.str("id")))
			if n := o.str("processname"); n != "" {
				p.Name = n
				if !strings.Contains(n, ".") && !bareProcess[n] {
					p.Name += ".exe"
				}
			}
			ps = append(ps, p)
		}
		return &Output{Format: "processes-json", Detail: fmt.Sprintf("%d processes", len(ps)), Records: []wire.Record{artifact(wire.KindProcesses, ps)}}
	case all(func(o jobj) bool { return o.has("localaddress") && o.has("localport") && o.has("state") }):
		tc := wire.TCPConnections{ByState: map[string]int{}}
		for _, o := range objs {
			st := o.str("state")
			tc.Total++
			tc.ByState[firstOf(tcpStateNames[st], strings.ToUpper(st))]++
		}
		return &Output{Format: "get-nettcpconnection-json", Detail: fmt.Sprintf("%d TCP connections", tc.Total), Records: []wire.Record{artifact(wire.KindTCPConnections, tc)}}
	case len(objs) == 1 && (first.has("productname") || first.has("build")) && len(first.keys) <= 6:
		var o wire.OSInfo
		if json.Unmarshal(first.raw, &o) != nil {
			return nil
		}
		return &Output{Format: "os-info-json", Detail: o.ProductName + " build " + o.Build, Records: []wire.Record{artifact(wire.KindOSInfo, o)}}
	case len(objs) == 1 && first.hasAny("osbuildnumber", "windowsbuildlabex") && first.hasAny("windowsproductname", "osname"):
		o := wire.OSInfo{ProductName: firstOf(first.str("windowsproductname"), first.str("osname")), Build: first.str("osbuildnumber"), Hostname: first.str("csname")}
		if ubr := first.str("windowsubr"); ubr != "" {
			o.UBR, _ = strconv.Atoi(ubr)
		}
		return &Output{Format: "get-computerinfo-json", Detail: o.ProductName + " build " + o.Build, Records: []wire.Record{artifact(wire.KindOSInfo, o)}}
	}
	return nil
}
