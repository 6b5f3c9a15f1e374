//go:build winnet_linux_collector

package embedded

import "embed"

// The end-to-end build (tag winnet_linux_collector) carries a Linux build of the collector,
// which the simulated Windows node runs with its replay backend. Kept apart from bin/ so a test
// build can never leak into a release.
//
//go:embed bin-linux
var files embed.FS

const dir = "bin-linux"
