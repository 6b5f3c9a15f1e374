package wincmd

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// HRESULTs certutil exits with (it returns its HRESULT as the process exit code).
const (
	hrFileNotFound = int32(-2147024894) // 0x80070002
	hrPathNotFound = int32(-2147024893) // 0x80070003
	hrAccessDenied = int32(-2147024891) // 0x80070005
	hrInvalidArg   = int32(-2147024809) // 0x80070057
	hrBadAlgID     = int32(-2146893816) // 0x80090008
)

var certutilHashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA1": sha1.New, "SHA256": sha256.New, "SHA384": sha512.New384, "SHA512": sha512.New,
}

// runCertutil implements `certutil -hashfile <file> [alg]`, the only verb the plugin uses.
// Like the real tool it prints everything, failures included, on stdout.
func runCertutil(_ context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	args := argv[1:]
	if len(args) == 0 || !(strings.EqualFold(args[0], "-hashfile") || strings.EqualFold(args[0], "/hashfile")) {
		verb := ""
		if len(args) > 0 {
			verb = args[0]
		}
		fmt.Fprintf(std.out, "wincmd: certutil.exe %s is not simulated; only -hashfile is\r\n", verb)
		return hrInvalidArg
	}
	if len(args) < 2 || len(args) > 3 {
		fmt.Fprint(std.out, "CertUtil: -hashfile command FAILED: 0x80070057 (WIN32: 87 ERROR_INVALID_PARAMETER)\r\nCertUtil: The parameter is incorrect.\r\n")
		return hrInvalidArg
	}
	file := args[1]
	alg := "SHA1"
	if len(args) == 3 {
		alg = strings.ToUpper(args[2])
	}
	newHash, ok := certutilHashes[alg]
	if !ok {
		fmt.Fprint(std.out, "CertUtil: -hashfile command FAILED: 0x80090008 (-2146893816 NTE_BAD_ALGID)\r\nCertUtil: Invalid algorithm specified.\r\n")
		return hrBadAlgID
	}
	fail := func(perr *pathError) int32 {
		hr, name := hrPathNotFound, "ERROR_PATH_NOT_FOUND"
		switch perr.code {
		case 2:
			hr, name = hrFileNotFound, "ERROR_FILE_NOT_FOUND"
		case 5:
			hr, name = hrAccessDenied, "ERROR_ACCESS_DENIED"
		case 123:
			hr, name = int32(-2147024773), "ERROR_INVALID_NAME"
		}
		fmt.Fprintf(std.out, "CertUtil: -hashfile command FAILED: 0x%08x (WIN32: %d %s)\r\nCertUtil: %s\r\n", uint32(hr), perr.code, name, perr.text)
		return hr
	}
	p, err := h.MapPath(file)
	if err != nil {
		var perr *pathError
		errors.As(err, &perr)
		return fail(perr)
	}
	f, err := os.Open(p)
	if err != nil {
		return fail(statError(p, err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		return fail(&pathError{text: "Access is denied.", code: 5})
	}
	sum := newHash()
	if _, err := io.Copy(sum, f); err != nil {
		return fail(&pathError{text: "Access is denied.", code: 5})
	}
	fmt.Fprintf(std.out, "%s hash of %s:\r\n%s\r\nCertUtil: -hashfile command completed successfully.\r\n", alg, file, hex.EncodeToString(sum.Sum(nil)))
	return 0
}

// runFindstr implements findstr over stdin with literal strings and the options /X /I /V /B
// /E /L /C:. Exit 0 when a line matched, 1 when none did, 2 for a bad command line.
func runFindstr(ctx context.Context, _ *Host, std stdio, _ string, argv []string) int32 {
	var exact, fold, invert, begin, end bool
	var words []string
	haveWords := false
	regex := false
	literal := false
	args := argv[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "/") && len(args[0]) > 1 {
		opt := args[0][1:]
		args = args[1:]
		if strings.HasPrefix(strings.ToLower(opt), "c:") {
			words = append(words, opt[2:])
			haveWords = true
			continue
		}
		for _, o := range strings.ToLower(opt) {
			switch o {
			case 'x':
				exact = true
			case 'i':
				fold = true
			case 'v':
				invert = true
			case 'b':
				begin = true
			case 'e':
				end = true
			case 'l':
				literal = true
			case 'r':
				regex = true
			case 'n', 'm', 'o', 'p', 's', 'a', 'f', 'd', 'g':
				fmt.Fprintf(std.err, "wincmd: findstr option /%c is not simulated\r\n", o)
				return 2
			default:
				fmt.Fprintf(std.err, "FINDSTR: /%c ignored\r\n", o)
			}
		}
	}
	if !haveWords {
		if len(args) == 0 {
			fmt.Fprint(std.err, "FINDSTR: Bad command line\r\n")
			return 2
		}
		// Without /C: the string is a space-separated list of alternatives.
		words = strings.Fields(args[0])
		args = args[1:]
	}
	if len(args) > 0 {
		fmt.Fprint(std.err, "wincmd: findstr over files is not simulated; it reads stdin only\r\n")
		return 2
	}
	if len(words) == 0 {
		fmt.Fprint(std.err, "FINDSTR: Bad command line\r\n")
		return 2
	}
	// Without /L or /R findstr decides from the first string; regular expressions are not
	// simulated, so refuse anything findstr would read as one.
	if regex || (!literal && strings.ContainsAny(words[0], `.*^$[]\`)) {
		fmt.Fprint(std.err, "wincmd: findstr regular expressions are not simulated; pass /L or a plain string\r\n")
		return 2
	}
	match := func(line string) bool {
		for _, w := range words {
			l, s := line, w
			if fold {
				l, s = strings.ToLower(l), strings.ToLower(s)
			}
			var ok bool
			switch {
			case exact:
				ok = l == s
			case begin && end:
				ok = strings.HasPrefix(l, s) && strings.HasSuffix(l, s)
			case begin:
				ok = strings.HasPrefix(l, s)
			case end:
				ok = strings.HasSuffix(l, s)
			default:
				ok = strings.Contains(l, s)
			}
			if ok {
				return true
			}
		}
		return false
	}
	found := false
	r := bufio.NewReader(std.in.reader(ctx))
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			content := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if match(content) != invert {
				found = true
				if !strings.HasSuffix(line, "\n") {
					line += "\r\n"
				}
				fmt.Fprint(std.out, line)
			}
		}
		if err != nil {
			break
		}
	}
	if found {
		return 0
	}
	return 1
}

// runTar implements bsdtar's extract mode: tar.exe -x [-v] [-z] -f <file|-> [-C <dir>]. Like
// bsdtar it recognises a gzipped archive by its content, with or without -z (which bsdtar
// accepts in -c, -x and -t modes and, reading, ignores), and reads a gzip stream to its end.
func runTar(ctx context.Context, h *Host, std stdio, _ string, argv []string) int32 {
	var mode, file, dir string
	verbose := false
	args := argv[1:]
	// bsdtar accepts a first word without a dash as bundled options ("xf -").
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args[0] = "-" + args[0]
	}
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--extract":
			mode = "x"
			continue
		case strings.HasPrefix(a, "--file="):
			file = strings.TrimPrefix(a, "--file=")
			continue
		case strings.HasPrefix(a, "--directory="):
			dir = strings.TrimPrefix(a, "--directory=")
			continue
		case !strings.HasPrefix(a, "-") || a == "-" || strings.HasPrefix(a, "--"):
			fmt.Fprintf(std.err, "wincmd: tar.exe argument %q is not simulated\r\n", a)
			return 1
		}
		for _, o := range a[1:] {
			switch o {
			case 'x', 'c', 't', 'r', 'u':
				mode = string(o)
			case 'v':
				verbose = true
			case 'z':
				// Reading, bsdtar ignores -z ("In extract or list modes, this option is
				// ignored"): it recognises gzip by content, below.
			case 'f', 'C':
				if len(args) == 0 {
					fmt.Fprintf(std.err, "tar.exe: Option -%c requires an argument\r\nUsage:\r\n  List:    tar.exe -tf <archive-filename>\r\n  Extract: tar.exe -xf <archive-filename>\r\n  Create:  tar.exe -cf <archive-filename> [filenames...]\r\n  Help:    tar.exe --help\r\n", o)
					return 1
				}
				if o == 'f' {
					file = args[0]
				} else {
					dir = args[0]
				}
				args = args[1:]
			default:
				fmt.Fprintf(std.err, "wincmd: tar.exe option -%c is not simulated\r\n", o)
				return 1
			}
		}
	}
	switch mode {
	case "":
		fmt.Fprint(std.err, "tar.exe: Must specify one of -c, -r, -t, -u, -x\r\n")
		return 1
	case "x":
	default:
		fmt.Fprintf(std.err, "wincmd: tar.exe -%s is not simulated; only -x is\r\n", mode)
		return 1
	}
	var src io.Reader
	switch file {
	case "", "-":
		// bsdtar on Windows reads the tape device by default; the plugin always says -f -.
		src = std.in.reader(ctx)
	default:
		p, err := h.MapPath(file)
		if err == nil {
			var f *os.File
			if f, err = os.Open(p); err == nil {
				defer f.Close()
				src = f
			}
		}
		if err != nil {
			fmt.Fprintf(std.err, "tar.exe: Error opening archive: Failed to open '%s'\r\n", file)
			return 1
		}
	}
	dest := h.Root
	if dir != "" {
		p, err := h.MapPath(dir)
		if err == nil {
			var fi os.FileInfo
			if fi, err = os.Stat(p); err == nil && !fi.IsDir() {
				err = errPathNotFound
			}
		}
		if err != nil {
			fmt.Fprintf(std.err, "tar.exe: could not chdir to '%s'\r\n", dir)
			return 1
		}
		dest = p
	}
	src, gzipped, msg := decompress(src)
	if msg != "" {
		fmt.Fprintf(std.err, "tar.exe: %s\r\n", msg)
		return 1
	}
	failed := false
	tr := tar.NewReader(src)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(std.err, "tar.exe: %s\r\n", tarReadError(err))
			failed = true
			break
		}
		if verbose {
			fmt.Fprintf(std.err, "x %s\r\n", hdr.Name)
		}
		if msg := extractEntry(tr, hdr, dest); msg != "" {
			fmt.Fprintf(std.err, "tar.exe: %s: %s\r\n", hdr.Name, msg)
			failed = true
		}
	}
	if gzipped && !failed {
		// The gzip trailer (its CRC) and any further member come after the tar's end.
		if _, err := io.Copy(io.Discard, src); err != nil {
			fmt.Fprintf(std.err, "tar.exe: %s\r\n", tarReadError(err))
			failed = true
		}
	}
	if failed {
		fmt.Fprint(std.err, "tar.exe: Error exit delayed from previous errors.\r\n")
		return 1
	}
	return 0
}

// decompress returns src itself, or its gunzipped content when it starts with gzip's magic
// bytes, as libarchive detects the filter; msg is bsdtar's text when the gzip header is bad.
// runTar reads a gzip stream to its end, checking its CRC: libarchive looks for a further
// member after each one, so tar.exe, too, waits for stdin to close.
// The magic is read without reading ahead, so a plain tar leaves what follows its end on
// stdin for the next program.
func decompress(src io.Reader) (r io.Reader, gzipped bool, msg string) {
	magic := make([]byte, 2)
	n, _ := io.ReadFull(src, magic)
	src = io.MultiReader(bytes.NewReader(magic[:n]), src)
	if n < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return src, false, ""
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, true, "Error opening archive: " + tarReadError(err)
	}
	return zr, true, ""
}

func tarReadError(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "Truncated tar archive detected while reading data"
	}
	if errors.Is(err, tar.ErrHeader) {
		return "Damaged tar archive (bad header checksum)"
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
		return "gzip decompression failed"
	}
	return err.Error()
}

// extractEntry writes one entry under dest and returns bsdtar-like text on failure. Entries
// that would land outside dest are refused, as bsdtar does without -P.
func extractEntry(tr *tar.Reader, hdr *tar.Header, dest string) string {
	name := strings.ReplaceAll(hdr.Name, `\`, "/")
	if strings.HasPrefix(name, "/") || (len(name) >= 2 && name[1] == ':') {
		return "Path is absolute"
	}
	var comps []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			return "Path contains '..'"
		default:
			if strings.ContainsAny(c, `<>:"|?*`) {
				return "Can't create '" + hdr.Name + "': Invalid argument"
			}
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 {
		return ""
	}
	target := resolveFold(dest, comps)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return "Can't create directory: " + err.Error()
		}
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "Can't create directory: " + err.Error()
		}
		// bsdtar unlinks before writing; the exec bit is for the Linux collector, Windows has none.
		_ = os.Remove(target)
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err != nil {
			return "Can't create '" + hdr.Name + "': " + err.Error()
		}
		_, cerr := io.Copy(f, tr)
		if err := f.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return tarReadError(cerr)
		}
		if !hdr.ModTime.IsZero() {
			_ = os.Chtimes(target, hdr.ModTime, hdr.ModTime)
		}
	case tar.TypeXGlobalHeader:
	default:
		return "links and special files are not simulated"
	}
	return ""
}

// runSandboxExe runs a sandboxed .exe as the Linux program it is, wired to cmd.exe's handles,
// and kills it when ctx ends.
func (h *Host) runSandboxExe(ctx context.Context, linux string, std stdio, argv []string) int32 {
	procCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(procCtx, linux, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = h.Root
	cmd.Env = h.childEnv()
	cmd.Stdout = std.out
	cmd.Stderr = std.err
	// Output pipes held open by a grandchild must not hang the exec forever.
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(std.err, "The system cannot execute the specified program.\r\n(wincmd: %v)\r\n", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(std.err, "The system cannot execute the specified program.\r\n(wincmd: %v)\r\n", err)
		return 1
	}
	// Feed stdin ourselves so it is closed at EOF (the child sees the end) and so a child that
	// exits early hands back the bytes it never read.
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		defer stdin.Close()
		buf := make([]byte, 32*1024)
		for {
			n, rerr := std.in.read(procCtx, buf)
			if n > 0 {
				m, werr := stdin.Write(buf[:n])
				if werr != nil {
					std.in.unread(buf[m:n])
					return
				}
			}
			if rerr != nil {
				return
			}
		}
	}()
	err = cmd.Wait()
	cancel()
	<-fed
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			return int32(code)
		}
		// Killed: TerminateProcess leaves exit code 1.
		return 1
	}
	fmt.Fprintf(std.err, "wincmd: waiting for %s: %v\r\n", argv[0], err)
	return 1
}
