//go:build !windows

package colormode

import "os"

// enableANSI: Unix terminals take ANSI sequences as they are.
func enableANSI(*os.File) error { return nil }
