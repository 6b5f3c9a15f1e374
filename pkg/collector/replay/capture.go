package replay

// CaptureFile is a scenario's traffic for captures: the flows the simulated pktmon
// (hack/e2e/simnode/fakepktmon, its README gives the format) turns into packets. A collection
// does not read it; `winnet-collector capture` runs that pktmon on the same scenario.
const CaptureFile = "capture.json"
