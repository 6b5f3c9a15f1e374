// Package nodefiles finds and reads the files of a Windows node that the runbook reads: the
// containerd config and the CNI configs it points at, kubelet and kube-proxy configs and
// arguments, flannel, Calico and Azure CNI state, kubeconfigs, and the tails of their logs.
//
// It is OS-neutral: it sees the node through Windows paths and a Root that maps them to paths
// the os package can open. The Windows backend (winsrc) maps them to themselves; the replay
// backend maps them into a scenario's files/ folder. Both read, cap and redact through the same
// code, so a replayed file record is byte for byte what the node would have sent.
package nodefiles

import (
	"path"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Class says how much of a file is kept.
type Class int

const (
	// Config files are kept whole up to MaxConfigBytes (a larger one keeps its tail).
	Config Class = iota
	// Log files keep their newest MaxLogBytes.
	Log
)

// Size caps. A log's newest lines say what is wrong now; a config over 1 MiB is not one.
// The run's total keeps a node with hundreds of rotated logs from flooding the stream.
const (
	MaxLogBytes    = 256 << 10
	MaxConfigBytes = 1 << 20
	MaxTotalBytes  = 24 << 20
	// MaxLogMatches is how many files one log pattern yields, newest first (rotated logs pile
	// up; the newest say what is wrong now).
	MaxLogMatches = 3
	// MaxConfigMatches is how many files one config pattern or folder yields.
	MaxConfigMatches = 32
	// MaxListedNames is how many names a CNI binaries listing keeps.
	MaxListedNames = 256
)

// Candidate is one place a node keeps a file worth reading.
type Candidate struct {
	// Path is a Windows path; its last element may hold path.Match wildcards (* ?), matched
	// without regard to case as Windows does.
	Path  string
	Role  string // a wire.Role* value, or "" when no role fits
	Class Class
}

func logRole(component string) string { return wire.RoleLogPrefix + component }

// ContainerdConfigs are where containerd's config lives on Windows: its default path, and the
// one some installers use.
var ContainerdConfigs = []Candidate{
	{Path: `C:\Program Files\containerd\config.toml`, Role: wire.RoleContainerdConfig},
	{Path: `C:\ProgramData\containerd\config.toml`, Role: wire.RoleContainerdConfig},
}

// DefaultCNIConfDirs are read for CNI configs besides the conf_dir containerd's config names:
// the upstream default, the one sig-windows-tools and aks-engine use, containerd's own Windows
// default, and AKS's Azure CNI folder.
var DefaultCNIConfDirs = []string{
	`C:\etc\cni\net.d`,
	`C:\k\cni\config`,
	`C:\Program Files\containerd\cni\conf`,
	`C:\k\azurecni\netconf`,
}

// DefaultCNIBinDirs are listed besides the bin_dir containerd's config names.
var DefaultCNIBinDirs = []string{
	`C:\opt\cni\bin`,
	`C:\k\cni`,
	`C:\Program Files\containerd\cni\bin`,
	`C:\k\azurecni\bin`,
}

// cniConfigExts are the extensions libcni loads from a conf dir.
var cniConfigExts = []string{".conf", ".conflist", ".json"}

// Candidates is the table of files read on every node, besides the containerd config and the
// CNI configs. A pattern that matches nothing is skipped silently: every node has only some.
//
// Where the paths come from: kubeadm and sig-windows-tools (C:\var\lib\kubelet,
// C:\var\lib\kube-proxy, C:\etc\kube-flannel, C:\run\flannel, C:\var\log), aks-engine and AKS
// (C:\k: kubeletstart.ps1, kubeproxystart.ps1, kubeclusterconfig.json, azure-vnet*), Calico for
// Windows (C:\CalicoWindows), and csi-proxy.
var Candidates = []Candidate{
	// kubelet: its config (clusterDNS, clusterDomain) and its command line.
	{Path: `C:\var\lib\kubelet\config.yaml`, Role: wire.RoleKubeletConfig},
	{Path: `C:\var\lib\kubelet\kubeadm-flags.env`, Role: wire.RoleKubeletArgs},
	{Path: `C:\k\kubeletstart.ps1`, Role: wire.RoleKubeletArgs},
	// AKS's cluster settings (DNS service IP, CIDRs); no role fits, the analyzer reads it by path.
	{Path: `C:\k\kubeclusterconfig.json`},

	// kube-proxy: KubeProxyConfiguration and command lines.
	{Path: `C:\var\lib\kube-proxy\config.conf`, Role: wire.RoleKubeProxyConfig},
	{Path: `C:\k\kube-proxy*.yaml`, Role: wire.RoleKubeProxyConfig},
	{Path: `C:\k\kube-proxy*.conf`, Role: wire.RoleKubeProxyConfig},
	{Path: `C:\k\kubeproxystart.ps1`, Role: wire.RoleKubeProxyArgs},
	{Path: `C:\k\kube-proxy*.ps1`, Role: wire.RoleKubeProxyArgs},
	{Path: `C:\k\kube-proxy*.cmd`, Role: wire.RoleKubeProxyArgs},

	// Kubeconfigs beside those configs: the API server address, redacted of credentials.
	{Path: `C:\k\config`, Role: wire.RoleKubeconfig},
	{Path: `C:\etc\kubernetes\kubelet.conf`, Role: wire.RoleKubeconfig},
	{Path: `C:\var\lib\kube-proxy\kubeconfig.conf`, Role: wire.RoleKubeconfig},
	{Path: `C:\CalicoWindows\calico-kube-config`, Role: wire.RoleKubeconfig},

	// flannel.
	{Path: `C:\etc\kube-flannel\net-conf.json`, Role: wire.RoleFlannelConfig},
	{Path: `C:\run\flannel\subnet.env`, Role: wire.RoleFlannelSubnetEnv},
	{Path: `C:\k\flannel\*.json`, Role: wire.RoleFlannelConfig},
	{Path: `C:\k\flannel\*.env`, Role: wire.RoleFlannelSubnetEnv},

	// Calico for Windows.
	{Path: `C:\CalicoWindows\config.ps1`, Role: wire.RoleCalicoConfig},

	// Azure CNI's IP allocations.
	{Path: `C:\k\azure-vnet-ipam.json`, Role: wire.RoleIPAMState},

	// Logs, newest MaxLogMatches per pattern, tails only.
	{Path: `C:\k\kubelet*.log`, Role: logRole(wire.LogKubelet), Class: Log},
	{Path: `C:\var\log\kubelet\*.log`, Role: logRole(wire.LogKubelet), Class: Log},
	{Path: `C:\var\log\kubelet*.log`, Role: logRole(wire.LogKubelet), Class: Log},
	{Path: `C:\k\kube-proxy*.log`, Role: logRole(wire.LogKubeProxy), Class: Log},
	{Path: `C:\k\kubeproxy*.log`, Role: logRole(wire.LogKubeProxy), Class: Log},
	{Path: `C:\var\log\kube-proxy\*.log`, Role: logRole(wire.LogKubeProxy), Class: Log},
	{Path: `C:\var\log\kube-proxy*.log`, Role: logRole(wire.LogKubeProxy), Class: Log},
	{Path: `C:\k\flanneld*.log`, Role: logRole(wire.LogFlanneld), Class: Log},
	{Path: `C:\k\flannel\*.log`, Role: logRole(wire.LogFlanneld), Class: Log},
	{Path: `C:\var\log\flanneld\*.log`, Role: logRole(wire.LogFlanneld), Class: Log},
	{Path: `C:\var\log\flanneld*.log`, Role: logRole(wire.LogFlanneld), Class: Log},
	{Path: `C:\CalicoWindows\*.log`, Role: logRole(wire.LogCalico), Class: Log},
	{Path: `C:\CalicoWindows\logs\*.log`, Role: logRole(wire.LogCalico), Class: Log},
	{Path: `C:\k\containerd*.log`, Role: logRole(wire.LogContainerd), Class: Log},
	{Path: `C:\ProgramData\containerd\*.log`, Role: logRole(wire.LogContainerd), Class: Log},
	{Path: `C:\var\log\containerd\*.log`, Role: logRole(wire.LogContainerd), Class: Log},
	{Path: `C:\var\log\containerd*.log`, Role: logRole(wire.LogContainerd), Class: Log},
	{Path: `C:\k\azure-vnet*.log`, Role: logRole(wire.LogAzureVnet), Class: Log},
	{Path: `C:\k\csi-proxy*.log`, Role: logRole(wire.LogCSIProxy), Class: Log},
	{Path: `C:\var\log\csi-proxy\*.log`, Role: logRole(wire.LogCSIProxy), Class: Log},
	{Path: `C:\var\log\csi-proxy*.log`, Role: logRole(wire.LogCSIProxy), Class: Log},
}

// splitWin splits a Windows path into its folder and last element.
func splitWin(p string) (dir, base string) {
	i := strings.LastIndex(p, `\`)
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// matchBase reports whether name matches the wildcard pattern, ignoring case as Windows does.
func matchBase(pattern, name string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(name))
	return err == nil && ok
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }

// RoleFor returns the role of the file at a Windows path: the role of the table entry that
// matches it, else a guess from where such files conventionally live (for replayed folders
// that hold files outside the table). It returns "" when nothing fits.
func RoleFor(winPath string) string {
	c, ok := candidateFor(winPath)
	if ok {
		return c.Role
	}
	return guessRole(winPath)
}

// ClassFor returns how much of the file at winPath to keep: logs keep their tail.
func ClassFor(winPath, role string) Class {
	if c, ok := candidateFor(winPath); ok {
		return c.Class
	}
	if strings.HasPrefix(role, wire.RoleLogPrefix) {
		return Log
	}
	return Config
}

func candidateFor(winPath string) (Candidate, bool) {
	dir, base := splitWin(winPath)
	for _, list := range [][]Candidate{ContainerdConfigs, Candidates} {
		for _, c := range list {
			cdir, cbase := splitWin(c.Path)
			if strings.EqualFold(cdir, dir) && matchBase(cbase, base) {
				return c, true
			}
		}
	}
	return Candidate{}, false
}

func guessRole(winPath string) string {
	p := strings.ToLower(winPath)
	_, base := splitWin(p)
	ext := ""
	if i := strings.LastIndex(base, "."); i >= 0 {
		ext = base[i:]
	}
	switch {
	case (strings.Contains(p, `\cni\`) || strings.Contains(p, `\net.d\`) || strings.Contains(p, `\netconf\`)) && isCNIConfigName(base):
		return wire.RoleCNIConfig
	case strings.Contains(p, "containerd") && ext == ".toml":
		return wire.RoleContainerdConfig
	case ext == ".log" || strings.Contains(base, ".log."):
		for _, c := range []string{wire.LogKubeProxy, wire.LogKubelet, wire.LogContainerd, wire.LogFlanneld, wire.LogCalico, wire.LogCSIProxy, wire.LogAzureVnet} {
			if strings.Contains(p, c) {
				return logRole(c)
			}
		}
		if strings.Contains(p, "kubeproxy") {
			return logRole(wire.LogKubeProxy)
		}
	}
	return ""
}

func isCNIConfigName(name string) bool {
	name = strings.ToLower(name)
	for _, ext := range cniConfigExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}
