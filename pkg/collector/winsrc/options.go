package winsrc

import "time"

// Options are what the Windows sources need from the command line.
type Options struct {
	// Since is the event-log look-back window.
	Since time.Duration
	// PodIP, when set, is the pod under diagnosis: the vfpctrl source then also reads the
	// counters of that pod's VFP port.
	PodIP string
}
