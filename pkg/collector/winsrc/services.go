package winsrc

// watchedServices are the Windows services whose state says whether node networking can work:
// HNS and the compute service behind it, the kubelet and kube-proxy (both service names in
// use), the runtime, the CNI daemons that run as services, the CSI proxy and the DNS client.
var watchedServices = []string{
	"hns", "vmcompute", "kubelet", "kubeproxy", "kube-proxy", "containerd",
	"flanneld", "CalicoNode", "CalicoFelix", "csi-proxy", "Dnscache",
}

// StateNotInstalled is the state reported for a watched service the node does not have.
const StateNotInstalled = "NotInstalled"

// serviceStateName names an SCM SERVICE_STATUS.dwCurrentState value as PowerShell does.
func serviceStateName(state uint32) string {
	switch state {
	case 1:
		return "Stopped"
	case 2:
		return "StartPending"
	case 3:
		return "StopPending"
	case 4:
		return "Running"
	case 5:
		return "ContinuePending"
	case 6:
		return "PausePending"
	case 7:
		return "Paused"
	}
	return "Unknown"
}

// startTypeName names a QUERY_SERVICE_CONFIG.dwStartType value as PowerShell does.
func startTypeName(startType uint32, delayed bool) string {
	switch startType {
	case 0:
		return "Boot"
	case 1:
		return "System"
	case 2:
		if delayed {
			return "AutomaticDelayedStart"
		}
		return "Automatic"
	case 3:
		return "Manual"
	case 4:
		return "Disabled"
	}
	return "Unknown"
}
