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
// stdin. The upload is a tar stream read by tar.exe, and the collector's stdout reaches us raw
// through cmd.exe.
//
// Why certutil | findstr before the run: the collector is verified on the node, in the same
// command that starts it, so a file changed between the check and the start cannot run.
package nodecmd

import (
	"bufio"
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

// ExitHashMismatch is the exit code of Run when the collector on the node is not the one expected.
const ExitHashMismatch = 86

// exePath is the collector's path as cmd.exe sees it, before expansion.
const exePath = "%" + SandboxVar + "%\\" + Dir + "\\" + ExeName

func cmdExe(script string) []string {
	// /d: skip AutoRun registry commands, which could print to stdout and corrupt the stream.
	// /s /c: run the script, stripping only the outer quotes the runtime adds.
	return []string{"cmd.exe", "/d", "/s", "/c", script}
}

// Hash prints the SHA-256 of the collector already on the node (certutil's output), or exits 1
// when it is absent. certutil itself exits with an HRESULT (0x80070003 when the folder is
// missing), which client-go rejects as an exit code above 255: "|| exit /b 1" folds every
// failure into a plain 1.
func Hash() []string {
	return cmdExe("certutil.exe -hashfile " + exePath + " SHA256 || exit /b 1")
}

// Upload extracts a tar stream from stdin into the sandbox, then prints the SHA-256 of what was
// written, so the upload and its check take one round trip.
func Upload() []string {
	return cmdExe("tar.exe -x -f - -C %" + SandboxVar + "% && certutil.exe -hashfile " + exePath + " SHA256 || exit /b 1")
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// Run verifies the collector's SHA-256 on the node and, only if it matches, runs it with args.
// A mismatch exits with ExitHashMismatch and prints nothing to stdout.
func Run(sha256hex string, args ...string) ([]string, error) {
	if !hexSHA256.MatchString(sha256hex) {
		return nil, fmt.Errorf("collector sha256 %q is not 64 hex digits", sha256hex)
	}
	for _, a := range args {
		if err := checkArg(a); err != nil {
			return nil, err
		}
	}
	script := "(certutil.exe -hashfile " + exePath + " SHA256 | findstr.exe /x /i " + strings.ToLower(sha256hex) +
		" >nul || exit /b " + fmt.Sprint(ExitHashMismatch) + ") && " + exePath
	if len(args) > 0 {
		script += " " + strings.Join(args, " ")
	}
	return cmdExe(script), nil
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

// ParseHash reads certutil -hashfile output and returns the lower-case hex digest. Older
// builds print the digest as space-separated byte pairs; both forms are accepted.
func ParseHash(out string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.ReplaceAll(strings.TrimSpace(sc.Text()), " ", "")
		if hexSHA256.MatchString(line) {
			return strings.ToLower(line), true
		}
	}
	return "", false
}
