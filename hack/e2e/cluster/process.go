package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// process is one control plane binary running in the background, its output in a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // the exit status; read only after done is closed
}

// startProcess starts bin with args, appending its stdout and stderr to logPath after a header
// line, so a retried start keeps the failed attempt's output above the new one.
func startProcess(name, bin string, args []string, logPath string, attempt int) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the %s log file: %w", name, err)
	}
	fmt.Fprintf(f, "=== winnet e2e harness, attempt %d: %s %s\n", attempt, bin, strings.Join(args, " "))
	// Not exec.CommandContext: the processes outlive Start's context, they end with Stop.
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end, and kills it if it has not ended after grace.
// It reports whether the process had to be killed.
func (p *process) stop(grace time.Duration) (killed bool) {
	if p.exited() {
		return false
	}
	terminate(p.cmd.Process)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return false
	case <-timer.C:
	}
	kill(p.cmd.Process)
	<-p.done
	return true
}

// Tail limits: enough to show a fatal error and its context, little enough for a test log.
const (
	tailBytes = 8 << 10
	tailLines = 30
)

// logTail returns the last lines of a log file, or a note saying why it cannot.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	start := max(info.Size()-tailBytes, 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, start, info.Size()-start))
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	return lastLines(buf, tailLines, start > 0)
}

// lastLines keeps the last n lines of buf. When buf was cut from a larger file its first line is
// probably partial, so it is dropped.
func lastLines(buf []byte, n int, cut bool) string {
	buf = bytes.TrimRight(buf, "\n")
	lines := strings.Split(string(buf), "\n")
	if cut && len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// addrInUse reports whether a log shows the failure to bind a port picked by freePorts, which
// another process can take between our probe and the child's bind: worth a retry.
func addrInUse(log string) bool {
	return strings.Contains(log, "address already in use")
}

// freePorts returns n distinct loopback ports that were free a moment ago. All listeners are held
// until every port is picked, so the ports differ from each other.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// errNoRSS is returned when a process status has no VmRSS line (a zombie, or not Linux).
var errNoRSS = errors.New("no VmRSS line in the process status")

// rssBytes reads the resident set size of a process from /proc (Linux only).
func rssBytes(pid int) (uint64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the memory use of process %d: %w", pid, err)
	}
	n, err := parseVmRSS(string(data))
	if err != nil {
		return 0, fmt.Errorf("reading the memory use of process %d from %s: %w", pid, path, err)
	}
	return n, nil
}

// parseVmRSS extracts VmRSS from /proc/<pid>/status, a line like "VmRSS:    123456 kB".
func parseVmRSS(status string) (uint64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q: want a number and kB", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS value in %q: %w", strings.TrimSpace(line), err)
		}
		return kb * 1024, nil
	}
	return 0, errNoRSS
}
