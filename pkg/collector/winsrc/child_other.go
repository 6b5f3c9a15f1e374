//go:build !windows

package winsrc

import "syscall"

// childSysProcAttr is Windows-only; off Windows only the tests start children, as they are.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
