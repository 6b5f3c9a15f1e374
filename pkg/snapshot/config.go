package snapshot

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// KubeProxyConfig is what kube-proxy on the node runs with, merged from its config file, its
// command line and the flags it logs at start (a later source only fills what an earlier one
// left empty, except the command line, which overrides the file as kube-proxy itself does).
type KubeProxyConfig struct {
	Sources               []string        `json:"sources,omitempty"` // which files it was read from
	NetworkName           string          `json:"networkName,omitempty"`
	SourceVIP             string          `json:"sourceVip,omitempty"`
	EnableDSR             *bool           `json:"enableDSR,omitempty"`
	FeatureGates          map[string]bool `json:"featureGates,omitempty"`
	HostnameOverride      string          `json:"hostnameOverride,omitempty"`
	ClusterCIDR           string          `json:"clusterCIDR,omitempty"`
	RootHNSEndpointName   string          `json:"rootHnsEndpointName,omitempty"`
	ForwardHealthCheckVIP *bool           `json:"forwardHealthCheckVip,omitempty"`
	HealthzBindAddress    string          `json:"healthzBindAddress,omitempty"`
	Mode                  string          `json:"mode,omitempty"`
	Version               string          `json:"version,omitempty"` // from the log's "Version info"
}

// DSREnabled reports whether DSR is requested.
func (k *KubeProxyConfig) DSREnabled() bool { return k != nil && k.EnableDSR != nil && *k.EnableDSR }

// CNIConfig is one CNI network config file, parsed leniently: what could be read is filled
// in, what could not is listed in ParseError, Placeholders and Invalid.
type CNIConfig struct {
	Path                  string     `json:"path"`
	Name                  string     `json:"name,omitempty"` // the network name (the HNS network for most Windows plugins)
	CNIVersion            string     `json:"cniVersion,omitempty"`
	Type                  string     `json:"type,omitempty"`         // top-level type, or the first plugin's in a conflist
	Plugins               []string   `json:"plugins,omitempty"`      // every plugin type, delegates included
	DelegateType          string     `json:"delegateType,omitempty"` // flannel's delegate (win-bridge, sdnoverlay, ...)
	IPAMType              string     `json:"ipamType,omitempty"`
	Mode                  string     `json:"mode,omitempty"` // calico vxlan/windows-bgp, azure bridge/transparent
	Subnets               []string   `json:"subnets,omitempty"`
	OutBoundNATExceptions []string   `json:"outBoundNATExceptions,omitempty"`
	HasOutBoundNAT        bool       `json:"hasOutBoundNAT,omitempty"`
	Routes                []SDNRoute `json:"routes,omitempty"`
	DNSServers            []string   `json:"dnsServers,omitempty"`
	DNSSearch             []string   `json:"dnsSearch,omitempty"`
	DNSCapability         bool       `json:"dnsCapability,omitempty"` // runtime supplies the pod's DNS settings
	MTU                   int        `json:"mtu,omitempty"`
	APIVersion            int        `json:"apiVersion,omitempty"` // win-bridge/win-overlay: 2 = HCN (needed with containerd)
	LoopbackDSR           bool       `json:"loopbackDSR,omitempty"`
	Placeholders          []string   `json:"placeholders,omitempty"`
	Invalid               []string   `json:"invalid,omitempty"`
	ParseError            string     `json:"parseError,omitempty"`
}

// HasPlugin reports whether any plugin (or delegate) in the config has type t.
func (c *CNIConfig) HasPlugin(t string) bool {
	for _, p := range c.Plugins {
		if strings.EqualFold(p, t) {
			return true
		}
	}
	return false
}

// KubeletConfig is the part of the kubelet's configuration the analyzer uses.
type KubeletConfig struct {
	Sources                  []string `json:"sources,omitempty"`
	ClusterDNS               []string `json:"clusterDNS,omitempty"`
	ClusterDomain            string   `json:"clusterDomain,omitempty"`
	HostnameOverride         string   `json:"hostnameOverride,omitempty"`
	ContainerRuntimeEndpoint string   `json:"containerRuntimeEndpoint,omitempty"`
}

// FlannelConfig is flannel's net-conf.json and subnet.env.
type FlannelConfig struct {
	Network string `json:"network,omitempty"` // cluster pod CIDR
	Backend string `json:"backend,omitempty"` // vxlan, host-gw
	VNI     int    `json:"vni,omitempty"`
	Port    int    `json:"port,omitempty"`
	Subnet  string `json:"subnet,omitempty"` // this node's lease
	MTU     int    `json:"mtu,omitempty"`
}

// IPAMPool is one address pool from an IPAM state file (e.g. azure-vnet-ipam.json).
type IPAMPool struct {
	Source string `json:"source"`
	Prefix string `json:"prefix"`
	Total  int    `json:"total"`
	InUse  int    `json:"inUse"`
}

// InferRole names a file's role from where it lives when the collector did not set one (the
// Windows collector and the replay backend set it; pasted bundles may not).
func InferRole(p string) string {
	lp := strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	base := path.Base(lp)
	ext := path.Ext(base)
	switch {
	case base == "net-conf.json":
		return wire.RoleFlannelConfig
	case base == "subnet.env":
		return wire.RoleFlannelSubnetEnv
	case strings.Contains(base, "ipam") && ext == ".json":
		return wire.RoleIPAMState
	case ext == ".conflist" || (strings.Contains(lp, "cni") || strings.Contains(lp, "/net.d/")) && (ext == ".conf" || ext == ".json"):
		return wire.RoleCNIConfig
	case strings.Contains(lp, "containerd") && ext == ".toml":
		return wire.RoleContainerdConfig
	case ext == ".log" || strings.Contains(base, ".log."):
		for _, c := range []string{wire.LogKubeProxy, wire.LogKubelet, wire.LogContainerd, wire.LogFlanneld, wire.LogCalico, wire.LogCSIProxy, wire.LogAzureVnet} {
			if strings.Contains(lp, c) || strings.Contains(lp, strings.ReplaceAll(c, "-", "")) {
				return wire.RoleLogPrefix + c
			}
		}
	case strings.Contains(lp, "kube-proxy") || strings.Contains(lp, "kubeproxy"):
		return componentFileRole(base, ext, wire.RoleKubeProxyConfig, wire.RoleKubeProxyArgs)
	case strings.Contains(lp, "kubelet"):
		return componentFileRole(base, ext, wire.RoleKubeletConfig, wire.RoleKubeletArgs)
	case strings.Contains(lp, "calico") && ext == ".ps1" && strings.Contains(base, "config"):
		return wire.RoleCalicoConfig
	}
	return ""
}

// componentFileRole tells a component's config file (YAML/JSON) from its command line (an
// .args file, a start script, a saved command line).
func componentFileRole(base, ext, config, args string) string {
	switch {
	case ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".conf":
		return config
	case ext == ".args" || ext == ".cmd" || ext == ".ps1" || strings.Contains(base, "args") || strings.Contains(base, "cmdline"):
		return args
	}
	return ""
}

// ParseConfigs fills the parsed configuration views of s from its files. Parsing never fails:
// an unreadable file leaves its view empty (CNI configs record the parse error).
func ParseConfigs(s *Snapshot) {
	s.KubeProxy, s.CNIConfigs, s.Kubelet, s.Flannel, s.IPAMPools = nil, nil, nil, nil, nil
	var kp KubeProxyConfig
	var kl KubeletConfig
	var fl FlannelConfig
	haveKP, haveKL, haveFL := false, false, false
	// Config files first, then command lines (which override), then logs (which only fill gaps).
	for pass := 0; pass < 3; pass++ {
		for i := range s.Files {
			f := &s.Files[i]
			switch {
			case pass == 0 && f.Role == wire.RoleKubeProxyConfig:
				haveKP = parseKubeProxyConfig(&kp, f) || haveKP
			case pass == 1 && f.Role == wire.RoleKubeProxyArgs:
				haveKP = applyKubeProxyFlags(&kp, parseFlags(f.Content), true) || haveKP
				if m := kubeNetworkEnv.FindStringSubmatch(f.Content); m != nil && kp.NetworkName == "" {
					kp.NetworkName, haveKP = m[1], true
				}
				kp.Sources = append(kp.Sources, f.Path)
			case pass == 2 && f.Role == wire.RoleLogPrefix+wire.LogKubeProxy:
				if applyKubeProxyFlags(&kp, parseLogFlags(f.Content), false) {
					haveKP = true
					kp.Sources = append(kp.Sources, f.Path)
				}
				if m := versionInfo.FindStringSubmatch(f.Content); m != nil {
					kp.Version = m[1]
				}
			case pass == 0 && f.Role == wire.RoleKubeletConfig:
				haveKL = parseKubeletConfig(&kl, f) || haveKL
			case pass == 1 && f.Role == wire.RoleKubeletArgs:
				haveKL = applyKubeletFlags(&kl, parseFlags(f.Content), true) || haveKL
				kl.Sources = append(kl.Sources, f.Path)
			case pass == 2 && f.Role == wire.RoleLogPrefix+wire.LogKubelet:
				if applyKubeletFlags(&kl, parseLogFlags(f.Content), false) {
					haveKL = true
					kl.Sources = append(kl.Sources, f.Path)
				}
			case pass == 0 && f.Role == wire.RoleCNIConfig:
				s.CNIConfigs = append(s.CNIConfigs, ParseCNIConfig(f.Path, f.Content))
			case pass == 0 && f.Role == wire.RoleFlannelConfig:
				haveFL = parseFlannelNetConf(&fl, f.Content) || haveFL
			case pass == 0 && f.Role == wire.RoleFlannelSubnetEnv:
				haveFL = parseFlannelSubnetEnv(&fl, f.Content) || haveFL
			case pass == 0 && f.Role == wire.RoleIPAMState:
				s.IPAMPools = append(s.IPAMPools, parseIPAMState(f.Path, f.Content)...)
			}
		}
	}
	if haveKP {
		s.KubeProxy = &kp
	}
	if haveKL {
		s.Kubelet = &kl
	}
	if haveFL {
		s.Flannel = &fl
	}
	// The runtime loads the lexically first config in its directory.
	sort.SliceStable(s.CNIConfigs, func(i, j int) bool {
		return cniBase(s.CNIConfigs[i].Path) < cniBase(s.CNIConfigs[j].Path)
	})
}

func cniBase(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	return path.Base(p)
}

var (
	kubeNetworkEnv = regexp.MustCompile(`(?i)KUBE_NETWORK["']?\s*[=:,]\s*["']?([A-Za-z0-9_.\-]+)`)
	versionInfo    = regexp.MustCompile(`"Version info" version="?(v[0-9][^" ]*)`)
	flagToken      = regexp.MustCompile(`--([a-zA-Z0-9][a-zA-Z0-9-]*)(?:(=|\s+)("[^"]*"|'[^']*'|[^\s"'` + "`" + `-][^\s"'` + "`" + `]*))?`)
	logFlag        = regexp.MustCompile(`FLAG: --([a-zA-Z0-9-]+)="([^"]*)"`)
)

// parseFlags reads --name=value, --name value and bare --name (true) from a command line,
// a PowerShell script or a service's ImagePath.
func parseFlags(content string) map[string]string {
	out := map[string]string{}
	for _, m := range flagToken.FindAllStringSubmatch(content, -1) {
		name, sep, val := m[1], m[2], strings.Trim(m[3], `"'`)
		if sep == "" || (sep != "=" && val == "") {
			val = "true"
		}
		out[strings.ToLower(name)] = val
	}
	return out
}

// parseLogFlags reads the `FLAG: --name="value"` lines kube-proxy and kubelet log at start.
func parseLogFlags(content string) map[string]string {
	out := map[string]string{}
	for _, m := range logFlag.FindAllStringSubmatch(content, -1) {
		out[strings.ToLower(m[1])] = m[2]
	}
	return out
}

// applyKubeProxyFlags merges flags into k. override lets a value replace one already set
// (command lines); otherwise only empty fields are filled and values that are only the
// flag's default (false, empty) are ignored, because logged flags show defaults too.
func applyKubeProxyFlags(k *KubeProxyConfig, flags map[string]string, override bool) bool {
	set := false
	str := func(dst *string, name string) {
		// "$var" is an unexpanded PowerShell variable in a start script: not a value.
		if v, ok := flags[name]; ok && v != "" && v != "true" && !strings.HasPrefix(v, "$") && (override || *dst == "") {
			*dst, set = v, true
		}
	}
	boolean := func(dst **bool, name string) {
		v, ok := flags[name]
		if !ok {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil || (!override && (!b || *dst != nil)) {
			return
		}
		*dst, set = &b, true
	}
	str(&k.NetworkName, "network-name")
	str(&k.SourceVIP, "source-vip")
	str(&k.HostnameOverride, "hostname-override")
	str(&k.ClusterCIDR, "cluster-cidr")
	str(&k.HealthzBindAddress, "healthz-bind-address")
	str(&k.Mode, "proxy-mode")
	if override {
		str(&k.RootHNSEndpointName, "root-hnsendpoint-name")
	}
	boolean(&k.EnableDSR, "enable-dsr")
	boolean(&k.ForwardHealthCheckVIP, "forward-healthcheck-vip")
	if v := flags["feature-gates"]; v != "" {
		if k.FeatureGates == nil {
			k.FeatureGates = map[string]bool{}
		}
		for _, kv := range strings.Split(v, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if b, err := strconv.ParseBool(val); ok && err == nil {
				if _, exists := k.FeatureGates[name]; override || !exists {
					k.FeatureGates[name], set = b, true
				}
			}
		}
	}
	return set
}

func parseKubeProxyConfig(k *KubeProxyConfig, f *wire.FileData) bool {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(f.Content), &m); err != nil || m == nil {
		return false
	}
	k.Sources = append(k.Sources, f.Path)
	wk, _ := lookup(m, "winkernel").(map[string]any)
	setStr := func(dst *string, v any) {
		if s, ok := v.(string); ok && s != "" {
			*dst = s
		}
	}
	setStr(&k.NetworkName, lookup(wk, "networkName"))
	setStr(&k.SourceVIP, lookup(wk, "sourceVip"))
	setStr(&k.RootHNSEndpointName, lookup(wk, "rootHnsEndpointName"))
	if b, ok := lookup(wk, "enableDSR").(bool); ok {
		k.EnableDSR = &b
	}
	if b, ok := lookup(wk, "forwardHealthCheckVip").(bool); ok {
		k.ForwardHealthCheckVIP = &b
	}
	setStr(&k.HostnameOverride, lookup(m, "hostnameOverride"))
	setStr(&k.ClusterCIDR, lookup(m, "clusterCIDR"))
	setStr(&k.HealthzBindAddress, lookup(m, "healthzBindAddress"))
	setStr(&k.Mode, lookup(m, "mode"))
	if fg, ok := lookup(m, "featureGates").(map[string]any); ok {
		k.FeatureGates = map[string]bool{}
		for name, v := range fg {
			if b, ok := v.(bool); ok {
				k.FeatureGates[name] = b
			}
		}
	}
	return true
}

func applyKubeletFlags(k *KubeletConfig, flags map[string]string, override bool) bool {
	set := false
	if v := flags["cluster-dns"]; v != "" && v != "true" && (override || len(k.ClusterDNS) == 0) {
		k.ClusterDNS, set = splitList(v), true
	}
	for name, dst := range map[string]*string{"cluster-domain": &k.ClusterDomain, "hostname-override": &k.HostnameOverride,
		"container-runtime-endpoint": &k.ContainerRuntimeEndpoint} {
		if v := flags[name]; v != "" && v != "true" && (override || *dst == "") {
			*dst, set = v, true
		}
	}
	return set
}

func parseKubeletConfig(k *KubeletConfig, f *wire.FileData) bool {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(f.Content), &m); err != nil || m == nil {
		return false
	}
	if kind, _ := lookup(m, "kind").(string); kind != "" && kind != "KubeletConfiguration" {
		return false
	}
	k.Sources = append(k.Sources, f.Path)
	for _, v := range asSlice(lookup(m, "clusterDNS")) {
		if s, ok := v.(string); ok {
			k.ClusterDNS = append(k.ClusterDNS, s)
		}
	}
	if s, ok := lookup(m, "clusterDomain").(string); ok {
		k.ClusterDomain = s
	}
	if s, ok := lookup(m, "containerRuntimeEndpoint").(string); ok {
		k.ContainerRuntimeEndpoint = s
	}
	return true
}

func parseFlannelNetConf(fl *FlannelConfig, content string) bool {
	var m map[string]any
	if err := json.Unmarshal([]byte(content), &m); err != nil {
		return false
	}
	if s, ok := lookup(m, "Network").(string); ok {
		fl.Network = s
	}
	if b, ok := lookup(m, "Backend").(map[string]any); ok {
		if s, ok := lookup(b, "Type").(string); ok {
			fl.Backend = strings.ToLower(s)
		}
		fl.VNI = asInt(lookup(b, "VNI"))
		fl.Port = asInt(lookup(b, "Port"))
	}
	return true
}

func parseFlannelSubnetEnv(fl *FlannelConfig, content string) bool {
	set := false
	for _, line := range strings.Split(content, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.TrimSpace(k) {
		case "FLANNEL_NETWORK":
			if fl.Network == "" {
				fl.Network = v
			}
			set = true
		case "FLANNEL_SUBNET":
			fl.Subnet, set = v, true
		case "FLANNEL_MTU":
			fl.MTU, _ = strconv.Atoi(v)
			set = true
		}
	}
	return set
}

// parseIPAMState counts addresses in every pool of an IPAM state file: any object with an
// "Addresses" map of {"InUse": bool} entries (azure-vnet-ipam.json) is a pool named by its
// key.
func parseIPAMState(src, content string) []IPAMPool {
	var m any
	if err := json.Unmarshal([]byte(content), &m); err != nil {
		return nil
	}
	var out []IPAMPool
	var walk func(key string, v any, depth int)
	walk = func(key string, v any, depth int) {
		obj, ok := v.(map[string]any)
		if !ok || depth > 12 {
			return
		}
		if addrs, ok := lookup(obj, "Addresses").(map[string]any); ok {
			p := IPAMPool{Source: src, Prefix: key, Total: len(addrs)}
			for _, a := range addrs {
				if am, ok := a.(map[string]any); ok {
					if b, _ := lookup(am, "InUse").(bool); b {
						p.InUse++
					}
				}
			}
			out = append(out, p)
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(k, obj[k], depth+1)
		}
	}
	walk("", m, 0)
	return out
}

// placeholder is a template value an install script should have replaced: __KUBE_DNS__,
// {{ .ServiceCIDR }}, <SERVICE_CIDR>, and the prose kind docs print ("<your service cidr>").
var placeholder = regexp.MustCompile(`__[A-Z][A-Z0-9_]*__|\{\{[^{}]*\}\}|<[A-Z][A-Z0-9_-]+>|` +
	`<(?i:your|my|the|insert|enter|replace)[ _-][^<>\n]{1,40}>|<[a-z][a-z0-9 _-]{0,30}(?i:cidr|subnet|ip|range|prefix|address)>`)

// IsPlaceholder reports whether s holds a template placeholder.
func IsPlaceholder(s string) bool { return placeholder.MatchString(s) }

// ParseCNIConfig reads one CNI config (.conf or .conflist) leniently.
func ParseCNIConfig(p, content string) CNIConfig {
	c := CNIConfig{Path: p}
	seen := map[string]bool{}
	for _, ph := range placeholder.FindAllString(content, -1) {
		if !seen[ph] {
			seen[ph] = true
			c.Placeholders = append(c.Placeholders, ph)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(content, "\ufeff")), &m); err != nil {
		c.ParseError = err.Error()
		return c
	}
	c.Name, _ = lookup(m, "name").(string)
	c.CNIVersion, _ = lookup(m, "cniVersion").(string)
	c.Type, _ = lookup(m, "type").(string)
	var parts []map[string]any // the top level, delegates and plugins: each can carry policies, DNS, IPAM
	parts = append(parts, m)
	for _, pl := range asSlice(lookup(m, "plugins")) {
		if pm, ok := pl.(map[string]any); ok {
			parts = append(parts, pm)
			if t, _ := lookup(pm, "type").(string); t != "" {
				if c.Type == "" {
					c.Type = t
				}
				c.Plugins = append(c.Plugins, t)
			}
		}
	}
	if c.Type != "" && lookup(m, "plugins") == nil {
		c.Plugins = append(c.Plugins, c.Type)
	}
	if c.Type == "" {
		c.Invalid = append(c.Invalid, `no plugin "type"`)
	}
	for i := 0; i < len(parts); i++ {
		if d, ok := lookup(parts[i], "delegate").(map[string]any); ok {
			parts = append(parts, d)
			if t, _ := d["type"].(string); t != "" {
				c.DelegateType = t
				c.Plugins = append(c.Plugins, t)
			}
		}
	}
	for _, part := range parts {
		c.readPart(part)
	}
	if c.Name == "" {
		c.Invalid = append(c.Invalid, `no network "name"`)
	}
	return c
}

func (c *CNIConfig) readPart(part map[string]any) {
	if s, ok := lookup(part, "mode").(string); ok && c.Mode == "" {
		c.Mode = s
	}
	if n := asInt(lookup(part, "mtu")); n > 0 && c.MTU == 0 {
		c.MTU = n
	}
	if n := asInt(lookup(part, "apiVersion")); n > 0 {
		c.APIVersion = n
	}
	if b, ok := lookup(part, "windows_loopback_DSR").(bool); ok && b {
		c.LoopbackDSR = true
	}
	if b, ok := lookup(part, "loopbackDSR").(bool); ok && b {
		c.LoopbackDSR = true
	}
	if ws, ok := lookup(part, "windowsSettings").(map[string]any); ok {
		if b, ok := lookup(ws, "enableLoopbackDSR").(bool); ok && b {
			c.LoopbackDSR = true
		}
	}
	if caps, ok := lookup(part, "capabilities").(map[string]any); ok {
		if b, _ := lookup(caps, "dns").(bool); b {
			c.DNSCapability = true
		}
	}
	if dns, ok := lookup(part, "dns").(map[string]any); ok {
		for _, v := range asSlice(lookup(dns, "Nameservers")) {
			if s, ok := v.(string); ok && s != "" {
				c.DNSServers = append(c.DNSServers, s)
			}
		}
		for _, v := range asSlice(lookup(dns, "Search")) {
			if s, ok := v.(string); ok && s != "" {
				c.DNSSearch = append(c.DNSSearch, s)
			}
		}
	}
	if ipam, ok := lookup(part, "ipam").(map[string]any); ok {
		if t, _ := lookup(ipam, "type").(string); t != "" && c.IPAMType == "" {
			c.IPAMType = t
		}
		if s, ok := lookup(ipam, "subnet").(string); ok && s != "" {
			c.addSubnet("ipam.subnet", s)
		}
		for _, set := range asSlice(lookup(ipam, "ranges")) {
			for _, r := range asSlice(set) {
				if rm, ok := r.(map[string]any); ok {
					if s, ok := lookup(rm, "subnet").(string); ok {
						c.addSubnet("ipam.ranges[].subnet", s)
					}
				}
			}
		}
	}
	for _, key := range []string{"policies", "AdditionalArgs"} {
		for _, pol := range asSlice(lookup(part, key)) {
			c.readPolicy(pol)
		}
	}
}

func (c *CNIConfig) addSubnet(where, s string) {
	if strings.EqualFold(s, "usePodCidr") || placeholder.MatchString(s) {
		return // resolved at run time (Calico) or already reported as a placeholder
	}
	if _, err := netip.ParsePrefix(s); err != nil {
		c.Invalid = append(c.Invalid, fmt.Sprintf("%s %q is not a CIDR", where, s))
		return
	}
	c.Subnets = append(c.Subnets, s)
}

// readPolicy reads one {"Name":"EndpointPolicy","Value":{...}} entry; Value is either a v2
// {"Type","Settings":{...}} or a v1 flat policy.
func (c *CNIConfig) readPolicy(pol any) {
	pm, ok := pol.(map[string]any)
	if !ok {
		return
	}
	if name, _ := lookup(pm, "Name").(string); name != "" && !strings.EqualFold(name, "EndpointPolicy") {
		return
	}
	val, ok := lookup(pm, "Value").(map[string]any)
	if !ok {
		return
	}
	typ, _ := lookup(val, "Type").(string)
	settings := val
	if s, ok := lookup(val, "Settings").(map[string]any); ok {
		settings = s
	}
	switch PolicyKind(typ) {
	case "outboundnat":
		c.HasOutBoundNAT = true
		for _, key := range []string{"Exceptions", "ExceptionList"} {
			for _, v := range asSlice(lookup(settings, key)) {
				s, _ := v.(string)
				if s == "" {
					continue
				}
				if !placeholder.MatchString(s) && !isPrefixOrAddr(s) {
					c.Invalid = append(c.Invalid, fmt.Sprintf("OutBoundNAT exception %q is not a CIDR", s))
					continue
				}
				c.OutBoundNATExceptions = append(c.OutBoundNATExceptions, s)
			}
		}
	case "route":
		s, _ := lookup(settings, "DestinationPrefix").(string)
		if s != "" && !placeholder.MatchString(s) && !isPrefixOrAddr(s) {
			c.Invalid = append(c.Invalid, fmt.Sprintf("route destination %q is not a CIDR", s))
			return
		}
		b, _ := lookup(settings, "NeedEncap").(bool)
		nh, _ := lookup(settings, "NextHop").(string)
		c.Routes = append(c.Routes, SDNRoute{DestinationPrefix: s, NeedEncap: b, NextHop: nh})
	default:
		if placeholder.MatchString(typ) {
			return
		}
	}
}

func isPrefixOrAddr(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// lookup reads key from m case-insensitively (CNI configs spell the same field Nameservers
// and nameservers).
func lookup(m map[string]any, key string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}
