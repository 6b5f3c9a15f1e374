package wire

// A capture (winnet-collector capture) is not a collection: its stdout carries the capture
// files as a tar stream, binary and unencoded, and these records go to its stderr, one a line
// among its log lines, so the plugin can show progress while the bytes stay raw.

// KindCaptureStatus is a progress record (source "capture") of a running capture.
const KindCaptureStatus = "capture.status"

// Capture states, in order.
const (
	CaptureStarting  = "starting"  // checking pktmon, adding filters
	CaptureRunning   = "capturing" // pktmon is writing
	CaptureStopped   = "stopped"   // pktmon stopped; converting
	CaptureSending   = "sending"   // the tar stream on stdout begins
	CaptureCompleted = "completed" // everything was sent
)

// Why a capture stopped.
const (
	StopDuration = "duration" // --duration elapsed
	StopSize     = "size"     // the capture file reached --max-bytes
	StopAsked    = "stopped"  // the plugin asked (Ctrl-C), or its stdin closed (the plugin went away)
	StopSignal   = "signal"   // the collector was signalled
)

// Capture file formats, the tar entries' extensions.
const (
	CaptureFormatPcapng = "pcapng"
	CaptureFormatETL    = "etl" // with a .txt beside it: the build has no etl2pcap
)

// A drops capture (--drops) also sends, under CaptureDropsDir, what says which component
// dropped the packets: pktmon's component list (CaptureComponentsFile, `pktmon list --json`)
// and, per component, a pcapng of the packets it dropped (CaptureComponentPrefix + ID +
// ".pcapng"). The plugin counts them; they are not written to the user's files.
const (
	CaptureDropsDir        = "drops/"
	CaptureComponentsFile  = "components.json"
	CaptureComponentPrefix = "component-"
)

// CaptureStatus is the data of a KindCaptureStatus record.
type CaptureStatus struct {
	State     string `json:"state"`
	ElapsedMS int64  `json:"elapsedMs,omitempty"`
	// Bytes is the size of pktmon's capture file on the node so far.
	Bytes  int64  `json:"bytes,omitempty"`
	Reason string `json:"reason,omitempty"` // once stopped: why
	Format string `json:"format,omitempty"` // once sending
	// Note says something the user should know: a stale session stopped, a conversion missing.
	Note string `json:"note,omitempty"`
}
