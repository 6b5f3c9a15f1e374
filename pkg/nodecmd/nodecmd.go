// Package nodecmd holds every command line the plugin sends to a Windows node, in one place.
//
// Each command is an exec argv for a HostProcess container. We rely only on what every
// Windows Server 2019+ host has: cmd.exe, certutil.exe, findstr.exe and tar.exe (bsdtar).
//
// Why cmd.exe: the collector lives in the container's sandbox folder, whose path is only known
// on the node as %CONTAINER_SANDBOX_MOUNT_POINT% (C:\hpc\ on current containerd, C:\C\<id>\ on
// older ones). cmd.exe expands it; the folder disappears with the debug pod, so nothing we
// upload outlives it.
//
// Why no quotes inside the script: the container runtime joins argv into one Windows command
// line, escaping embedded quotes as \" — which cmd.exe does not understand. The sandbox path
// never holds spaces, so the script needs no quotes at all, and with /s cmd.exe strips exactly
// the one pair of quotes the runtime puts around it.
//
// Why no PowerShell: its console host re-encodes native programs' stdout and may mangle binary
// stdin. The upload is a gzipped tar stream read by tar.exe, and the collector's stdout
// reaches us raw through cmd.exe.
//
// Why one command per diagnosis: each exec is a round trip through the API server and the
// kubelet, which costs more than the bytes it saves. Run verifies the collector already on
// the node and starts it; UploadAndRun extracts it from stdin first. Both verify with
// certutil | findstr in the same command that starts it, so a file changed between the check
// and the start cannot run, and both say by their exit code which step failed.
package nodecmd

import (
	"fmt"
	"regexp"
	"strings"
)

// SandboxVar is the environment variable holding the HostProcess container's own folder.
const SandboxVar = "CONTAINER_SANDBOX_MOUNT_POINT"

// Dir is the folder, relative to the sandbox, that the upload's tar stream creates.
const Dir = "winnet"

// ExeName is the collector's file name on the node.
const ExeName = "winnet-collector.exe"

// TarEntry is the path of the collector inside the upload's tar stream.
const TarEntry = Dir + "/" + ExeName

// Exit codes of Run and UploadAndRun for the steps before the collector starts. The collector
// itself exits 0, 1 or 2, so these cannot be mistaken for its own.
const (
	// ExitHashMismatch: the collector on the node is not the one expected (or there is none).
	// Nothing was printed to stdout.
	ExitHashMismatch = 86
	// ExitUploadFailed: tar.exe could not extract the upload; its stderr says why.
	ExitUploadFailed = 87
)

// exePath is the collector's path as cmd.exe sees it, before expansion.
const exePath = "%" + SandboxVar + "%\\" + Dir + "\\" + ExeName

func cmdExe(script string) []string {
	// /d: skip AutoRun registry commands, which could print to stdout and corrupt the stream.
	// /s /c: run the script, stripping only the outer quotes the runtime adds.
	return []string{"cmd.exe", "/d", "/s", "/c", script}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// Run verifies the collector's SHA-256 on the node and, only if it matches, runs it with args.
// A mismatch, or no collector at all, exits with ExitHashMismatch and prints nothing to stdout.
func Run(sha256hex string, args ...string) ([]string, error) {
	script, err := verifyAndRun(sha256hex, args)
	if err != nil {
		return nil, err
	}
	return cmdExe(script), nil
}

// UploadAndRun extracts the gzipped tar stream on stdin into the sandbox (it holds TarEntry),
// then does what Run does. tar.exe is bsdtar, which reads gzip with -z. A failed extraction
// exits with ExitUploadFailed.
func UploadAndRun(sha256hex string, args ...string) ([]string, error) {
	script, err := verifyAndRun(sha256hex, args)
	if err != nil {
		return nil, err
	}
	return cmdExe("(tar.exe -x -z -f - -C %" + SandboxVar + "% || exit /b " + fmt.Sprint(ExitUploadFailed) + ") && " + script), nil
}

// verifyAndRun is the script shared by Run and UploadAndRun. certutil prints the digest on a
// line of its own; findstr /x /i matches that whole line in either case.
func verifyAndRun(sha256hex string, args []string) (string, error) {
	if !hexSHA256.MatchString(sha256hex) {
		return "", fmt.Errorf("collector sha256 %q is not 64 hex digits", sha256hex)
	}
	for _, a := range args {
		if err := checkArg(a); err != nil {
			return "", err
		}
	}
	script := "(certutil.exe -hashfile " + exePath + " SHA256 | findstr.exe /x /i " + strings.ToLower(sha256hex) +
		" >nul || exit /b " + fmt.Sprint(ExitHashMismatch) + ") && " + exePath
	if len(args) > 0 {
		script += " " + strings.Join(args, " ")
	}
	return script, nil
}

// checkArg refuses collector arguments that cmd.exe would interpret or split: we pass only
// flags, durations, IPs and names, none of which need these characters.
func checkArg(a string) error {
	if a == "" {
		return fmt.Errorf("empty collector argument")
	}
	if strings.ContainsAny(a, " \t\r\n\"&|<>^%()!,;=") {
		return fmt.Errorf("collector argument %q holds a character cmd.exe would interpret", a)
	}
	return nil
}
