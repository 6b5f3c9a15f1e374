//go:build windows

package winsrc

import (
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// spawnMu serialises starts, so the inheritable ends made for one child exist only while
// that child is created. The handle list below already keeps other children from inheriting
// them; the lock covers a Windows (or Wine) that ignores the list.
var spawnMu sync.Mutex

// startChild starts path with CreateProcess. The child inherits exactly three handles: an
// empty input (NUL) and the write end of one pipe as both its output and its error. Its
// environment is the collector's, and it gets no console window.
func startChild(path string, args []string) (childProcess, io.ReadCloser, error) {
	app, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, nil, fmt.Errorf("the tool path %q holds a NUL character", path)
	}
	cmdline, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(append([]string{path}, args...)))
	if err != nil {
		return nil, nil, fmt.Errorf("an argument of %s holds a NUL character", path)
	}

	spawnMu.Lock()
	defer spawnMu.Unlock()
	sa := windows.SecurityAttributes{InheritHandle: 1}
	sa.Length = uint32(unsafe.Sizeof(sa))
	var r, w windows.Handle
	if err := windows.CreatePipe(&r, &w, &sa, 0); err != nil {
		return nil, nil, fmt.Errorf("creating the output pipe of %s: %w", path, err)
	}
	defer windows.CloseHandle(w) // the child has its own copy; reads end when it exits
	out := os.NewFile(uintptr(r), "output of "+path)
	if err := windows.SetHandleInformation(r, windows.HANDLE_FLAG_INHERIT, 0); err != nil {
		out.Close()
		return nil, nil, fmt.Errorf("creating the output pipe of %s: %w", path, err)
	}
	nul, err := windows.CreateFile(windows.StringToUTF16Ptr("NUL"), windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, &sa, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		out.Close()
		return nil, nil, fmt.Errorf("opening NUL as the input of %s: %w", path, err)
	}
	defer windows.CloseHandle(nul)

	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		out.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", path, err)
	}
	defer attrs.Delete()
	inherit := []windows.Handle{nul, w}
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&inherit[0]), uintptr(len(inherit))*unsafe.Sizeof(inherit[0])); err != nil {
		out.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", path, err)
	}
	si := windows.StartupInfoEx{
		StartupInfo: windows.StartupInfo{
			Flags:     windows.STARTF_USESTDHANDLES,
			StdInput:  nul,
			StdOutput: w,
			StdErr:    w,
		},
		ProcThreadAttributeList: attrs.List(),
	}
	si.Cb = uint32(unsafe.Sizeof(si))
	var pi windows.ProcessInformation
	flags := uint32(windows.CREATE_NO_WINDOW | windows.EXTENDED_STARTUPINFO_PRESENT)
	if err := windows.CreateProcess(app, cmdline, nil, nil, true, flags, nil, nil, &si.StartupInfo, &pi); err != nil {
		out.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", path, err)
	}
	windows.CloseHandle(pi.Thread)
	return &winProcess{h: pi.Process}, out, nil
}

// winProcess is a child started by startChild.
type winProcess struct{ h windows.Handle }

func (p *winProcess) wait() (int, error) {
	if _, err := windows.WaitForSingleObject(p.h, windows.INFINITE); err != nil {
		return 0, fmt.Errorf("waiting for the process to exit: %w", err)
	}
	var code uint32
	if err := windows.GetExitCodeProcess(p.h, &code); err != nil {
		return 0, fmt.Errorf("reading the process's exit code: %w", err)
	}
	return int(code), nil
}

func (p *winProcess) kill() error { return windows.TerminateProcess(p.h, 1) }

func (p *winProcess) release() { windows.CloseHandle(p.h) }
