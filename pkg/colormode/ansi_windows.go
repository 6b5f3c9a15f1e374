//go:build windows

package colormode

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableANSI asks the console to interpret ANSI sequences (virtual terminal processing,
// Windows 10 1511 and later); an older console refuses, and gets no colour.
func enableANSI(f *os.File) error {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return err
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING)
}
