//go:build windows

package winsrc

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// childSysProcAttr starts inbox tools with CREATE_NO_WINDOW. The collector usually runs with
// no console (its handles are the exec's pipes), and Windows gives a console program started
// from such a process a new console of its own, for nothing: the tool writes to our pipe.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NO_WINDOW}
}
