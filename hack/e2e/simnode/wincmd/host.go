// Package wincmd is a strict stand-in for the Windows side of a HostProcess container's exec:
// the runtime's argv-to-command-line join, cmd.exe's parsing, and the inbox programs the
// plugin relies on (certutil, findstr, tar, where). In an ordinary pod, whose image the plugin
// probes from when the collector cannot enter its compartment, nslookup.exe and the exact
// PowerShell scripts pkg/nodecmd builds run too, when Host.Tools lists them (podtools.go). It exists so end-to-end tests fail when the
// plugin sends something a real Windows node would not run: a Linux shell, a Linux path, a
// quoting rule only POSIX shells follow.
//
// Only the sandbox folder exists (C:\hpc\, mapped to Host.Root). A sandboxed .exe is run as
// the Linux program it really is (the collector's Linux build), so the output that comes back
// is the real collector's.
package wincmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Host is one HostProcess container as seen from inside.
type Host struct {
	// Root is the Linux folder standing in for the container's sandbox,
	// %CONTAINER_SANDBOX_MOUNT_POINT% = C:\hpc\. It must exist.
	Root string
	// Env holds extra environment variables: cmd.exe expands them and programs started from
	// the sandbox receive them (e.g. WINNET_COLLECTOR_REPLAY).
	Env map[string]string
	// Hostname is %COMPUTERNAME%; empty leaves it undefined.
	Hostname string
	// Tools are the programs of the container's image beyond the inbox ones simulated for
	// every container (cmd.exe, certutil, findstr, tar, where): nslookup.exe and powershell.exe,
	// lower case. Only those listed run, and where.exe finds them and the inbox ones (podtools.go).
	Tools []string
	// DNS answers nslookup.exe and Resolve-DnsName: lower-case name without the final dot ->
	// its A records, whatever server is asked. A name not listed does not exist (NXDOMAIN).
	DNS map[string][]string
	// Open lists the IP:PORT a TCP handshake from this container completes with; any other
	// address refuses it.
	Open []string
}

// Exec runs argv as the container runtime would for an exec request, and returns the exit
// code as the runtime reports it (Windows exit codes are unsigned 32-bit). A command that
// fails is not an error: it has an exit code and Windows-like text on stderr. err is only for
// the run being cut short by ctx.
func (h *Host) Exec(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// stdout and stderr may be one writer, and pipelines write from two goroutines.
	var mu sync.Mutex
	out := &lockedWriter{w: stdout, mu: &mu}
	errw := &lockedWriter{w: stderr, mu: &mu}
	in := newInput(stdin)
	defer in.close()

	if len(argv) == 0 || argv[0] == "" {
		fmt.Fprint(errw, "hcs::System::CreateProcess: the command line is empty: The parameter is incorrect.\r\n")
		return 1, nil
	}
	prog, ok := h.lookupProgram(argv[0])
	if !ok {
		// What containerd reports when hcsshim cannot start the process.
		fmt.Fprintf(errw, "failed to exec in container: hcs::System::CreateProcess %s: %s\r\n", argv[0], msgFileNotFound)
		return 1, nil
	}
	rc := prog.run(ctx, h, stdio{in: in, out: out, err: errw}, JoinCommandLine(argv), argv)
	code := int(uint32(rc))
	if err := ctx.Err(); err != nil {
		return code, fmt.Errorf("%s was stopped before it finished: %w", argv[0], err)
	}
	return code, nil
}

// program is one runnable: cmdline is its raw Windows command line, argv that line parsed
// by the C runtime's rules.
type program struct {
	run func(ctx context.Context, h *Host, std stdio, cmdline string, argv []string) int32
}

// systemProgram returns the simulated inbox program of that file name (lower case).
// A switch, not a map: cmd.exe itself runs programs, and a map would be an init cycle.
func systemProgram(base string) (program, bool) {
	switch base {
	case "cmd.exe":
		return program{run: runCmdExe}, true
	case "certutil.exe":
		return program{run: runCertutil}, true
	case "findstr.exe":
		return program{run: runFindstr}, true
	case "tar.exe":
		return program{run: runTar}, true
	case "where.exe":
		return program{run: runWhere}, true
	}
	return program{}, false
}

// notSimulated are inbox programs a node has that the simulator does not provide; naming
// them gets a message saying so instead of a misleading "not found".
var notSimulated = map[string]bool{
	"powershell.exe": true, "hnsdiag.exe": true, "vfpctrl.exe": true, "pktmon.exe": true,
	"ipconfig.exe": true, "netsh.exe": true, "sc.exe": true, "reg.exe": true,
	"whoami.exe": true, "hostname.exe": true, "nslookup.exe": true, "ping.exe": true,
	"curl.exe": true, "tasklist.exe": true, "route.exe": true, "netstat.exe": true,
}

// lookupProgram finds a program the way cmd.exe and the runtime search for one: a bare name
// (with or without .exe) on the system PATH or in the current folder (the sandbox), or a
// path. Linux names and paths (sh, /bin/sh) are found nowhere.
func (h *Host) lookupProgram(name string) (program, bool) {
	if name == "" {
		return program{}, false
	}
	norm := strings.ToLower(strings.ReplaceAll(name, "/", `\`))
	isPath := strings.ContainsAny(norm, `\:`)
	base := norm
	if isPath {
		dir := ""
		if i := strings.LastIndexByte(norm, '\\'); i >= 0 {
			dir, base = norm[:i+1], norm[i+1:]
		} else {
			i := strings.IndexByte(norm, ':') // drive-relative, e.g. c:cmd.exe
			dir, base = norm[:i+1], norm[i+1:]
		}
		dir = strings.TrimPrefix(dir, "c:")
		for strings.Contains(dir, `\\`) {
			dir = strings.ReplaceAll(dir, `\\`, `\`)
		}
		if dir != `\windows\system32\` {
			return h.sandboxProgram(name)
		}
	}
	if filepath.Ext(base) == "" {
		base += ".exe"
	}
	if p, ok := systemProgram(base); ok {
		return p, true
	}
	if p, ok := h.imageTool(base); ok {
		return p, true
	}
	if notSimulated[base] {
		return program{run: func(_ context.Context, _ *Host, std stdio, _ string, _ []string) int32 {
			fmt.Fprintf(std.err, "wincmd: %s exists on Windows nodes but is not simulated; add it to hack/e2e/simnode/wincmd if the plugin needs it\r\n", base)
			return exitNotRecognized
		}}, true
	}
	if isPath {
		return program{}, false
	}
	// cmd.exe looks in the current folder, the sandbox, before PATH.
	return h.sandboxProgram(name)
}

// sandboxProgram resolves an .exe inside the sandbox (the extension may be left out).
func (h *Host) sandboxProgram(name string) (program, bool) {
	p, err := h.MapPath(name)
	if err != nil {
		return program{}, false
	}
	if filepath.Ext(p) == "" {
		for _, cand := range []string{p + ".exe", p + ".EXE"} {
			if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
				p = cand
				break
			}
		}
	}
	if !strings.EqualFold(filepath.Ext(p), ".exe") {
		return program{}, false
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return program{}, false
	}
	return program{run: func(ctx context.Context, h *Host, std stdio, _ string, argv []string) int32 {
		return h.runSandboxExe(ctx, p, std, argv)
	}}, true
}

// shellEnv is the environment cmd.exe sees: a Windows Server base, Host.Env, and the sandbox
// variable, which no caller can override.
func (h *Host) shellEnv() map[string]string {
	env := map[string]string{
		"SystemRoot":  `C:\Windows`,
		"windir":      `C:\Windows`,
		"SystemDrive": `C:`,
		"ComSpec":     `C:\Windows\system32\cmd.exe`,
		"PATHEXT":     `.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC`,
		"Path":        `C:\Windows\system32;C:\Windows;C:\Windows\System32\Wbem;C:\Windows\System32\WindowsPowerShell\v1.0\`,
		"TEMP":        `C:\Windows\TEMP`,
		"TMP":         `C:\Windows\TEMP`,
		"USERNAME":    `SYSTEM`,
		"OS":          `Windows_NT`,
	}
	if h.Hostname != "" {
		env["COMPUTERNAME"] = h.Hostname
	}
	for k, v := range h.Env {
		env[k] = v
	}
	env["CONTAINER_SANDBOX_MOUNT_POINT"] = SandboxPath
	return env
}

// childEnv is the environment of a sandboxed program, which is a Linux process: the
// harness's own environment (not the Windows base, whose Path would mislead it), Host.Env and
// the sandbox variable.
func (h *Host) childEnv() []string {
	env := os.Environ()
	keys := make([]string, 0, len(h.Env))
	for k := range h.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+h.Env[k])
	}
	return append(env, "CONTAINER_SANDBOX_MOUNT_POINT="+SandboxPath)
}

// lockedWriter serialises writes that may come from both sides of a pipe.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.mu == nil {
		return l.w.Write(p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// discard is the NUL device.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var errBrokenPipe = errors.New("the pipe is being closed")

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }
