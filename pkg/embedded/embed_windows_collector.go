//go:build !winnet_linux_collector

package embedded

import "embed"

// The release build carries the windows/amd64 collector.
//
//go:embed bin
var files embed.FS

const dir = "bin"
