package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func cmdFilterAdd(st state, args []string, stdout io.Writer) error {
	f, err := parseFilterAdd(args)
	if err != nil {
		return err
	}
	unlock, err := st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	list, err := st.filters()
	if err != nil {
		return err
	}
	if len(list) >= maxFilters {
		return fmt.Errorf("filter add: there are already %d packet filters, the most pktmon takes", maxFilters)
	}
	if err := st.saveFilters(append(list, f)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Filter added.")
	return nil
}

func cmdFilterList(st state, stdout io.Writer) error {
	list, err := st.filters()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "There are no packet filters.")
		return nil
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tName\tMAC Address\tData Link\tProtocol\tIP Address\tPort\tEncap")
	fmt.Fprintln(tw, "-\t----\t-----------\t---------\t--------\t----------\t----\t-----")
	for i, f := range list {
		var ports []string
		for _, p := range f.Ports {
			ports = append(ports, strconv.Itoa(int(p)))
		}
		encap := ""
		if f.Encap {
			encap = "VXLAN " + strconv.Itoa(int(f.VXLANPort))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, dash(f.Name), dash(strings.Join(f.MACs, ", ")),
			dash(f.DataLink), dash(f.Protocol), dash(strings.Join(f.IPs, ", ")), dash(strings.Join(ports, ", ")), dash(encap))
	}
	return tw.Flush()
}

func cmdFilterRemove(st state, stdout io.Writer) error {
	unlock, err := st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := st.saveFilters(nil); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "All packet filters removed.")
	return nil
}

// startTimeout bounds the wait for the capture process to report it is capturing.
const startTimeout = 10 * time.Second

func cmdStart(st state, args []string, stdout io.Writer) error {
	o, err := parseStart(args)
	if err != nil {
		return err
	}
	// The caller's current folder, not the capture process's (which runs in /).
	if o.File, err = filepath.Abs(o.File); err != nil {
		return err
	}
	unlock, err := st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	running, err := st.running()
	if err != nil {
		return err
	}
	prev, err := st.session()
	if err != nil {
		return err
	}
	if running {
		file := "?"
		if prev != nil {
			file = prev.Options.File
		}
		return fmt.Errorf("Packet Monitor is already running (log file %s); run 'pktmon stop' first", file)
	}
	if err := st.endStale(prev, "the capture process was gone"); err != nil {
		return err
	}
	filters, err := st.filters()
	if err != nil {
		return err
	}
	sess := &session{ID: newID(), Options: o, Filters: filters}
	if p := scenarioCapture(); p != "" {
		if sess.CaptureJSON, err = filepath.Abs(p); err != nil {
			return err
		}
	}
	if err := st.saveSession(sess); err != nil {
		return err
	}
	if err := spawnDriver(st, sess.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Logger Parameters:\n    Logger name:        PktMon\n    Logging mode:       %s\n    Log file:           %s\n    Max file size:      %d MB\n\n",
		o.LogMode, o.File, o.FileSizeMB)
	pkt := strconv.Itoa(o.PktSize) + " bytes"
	if o.PktSize == 0 {
		pkt = "whole packets"
	}
	fmt.Fprintf(stdout, "Packet capture: components %s, type %s, %s, %d filters\n", o.Comp, o.Type, pkt, len(filters))
	return nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// spawnDriver starts the capture process detached (its own session, no tie to the caller's
// stdio, so a caller that collects output returns at once) and waits until it reports on the
// pipe it gets as fd 3 that it is capturing, or why it is not.
func spawnDriver(st state, id string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return err
	}
	defer devnull.Close()
	logf, err := os.OpenFile(st.path("driver.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		w.Close()
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe, driverArg, st.dir, id)
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close() // the child's copy is the only writer left: its exit ends the read
	if err != nil {
		return fmt.Errorf("starting the capture process: %w", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(startTimeout))
	msg, rerr := io.ReadAll(io.LimitReader(r, 4096))
	if rerr == nil && string(msg) == readyMsg {
		return cmd.Process.Release()
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	why := strings.TrimSpace(string(msg))
	if why == "" {
		log, _ := os.ReadFile(st.path("driver.log"))
		why = "it exited without a word; its log: " + strings.TrimSpace(string(log))
		if rerr != nil {
			why = fmt.Sprintf("no answer in %s", startTimeout)
		}
	}
	sess, _ := st.session()
	_ = st.endStale(sess, "it did not start")
	return errors.New("the capture did not start: " + why)
}

const readyMsg = "capturing"

// Stop waits this long for the capture process to flush and exit, then kills it.
const stopTimeout = 10 * time.Second

func cmdStop(st state, stdout io.Writer) error {
	unlock, err := st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	running, err := st.running()
	if err != nil {
		return err
	}
	sess, err := st.session()
	if err != nil {
		return err
	}
	if !running {
		if err := st.endStale(sess, "the capture process was gone"); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Packet Monitor is not running.")
		return nil
	}
	if sess == nil || sess.PID <= 0 {
		return errors.New("a capture runs but its session record is missing: the state folder was changed by hand")
	}
	if err := syscall.Kill(sess.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling the capture process %d: %w", sess.PID, err)
	}
	if !waitStopped(st, stopTimeout) {
		_ = syscall.Kill(sess.PID, syscall.SIGKILL)
		waitStopped(st, 2*time.Second)
		_ = st.endStale(sess, "killed: it did not stop in "+stopTimeout.String())
		return fmt.Errorf("the capture process %d did not stop in %s and was killed; %s may be incomplete", sess.PID, stopTimeout, sess.Options.File)
	}
	// The capture process wrote its end (counts) into the session as it exited.
	if s, err := st.session(); err == nil && s != nil {
		sess = s
	}
	fmt.Fprintln(stdout, "Flushing logs...")
	fmt.Fprintln(stdout, "Merging metadata...")
	if sess.Lost > 0 {
		fmt.Fprintf(stdout, "Events lost: %d (the log file reached its %d MB limit)\n", sess.Lost, sess.Options.FileSizeMB)
	} else {
		fmt.Fprintln(stdout, "Events lost: 0")
	}
	fmt.Fprintf(stdout, "Log file: %s\n", sess.Options.File)
	return nil
}

func waitStopped(st state, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		running, err := st.running()
		if err == nil && !running {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cmdStatus(st state, stdout io.Writer) error {
	running, err := st.running()
	if err != nil {
		return err
	}
	sess, err := st.session()
	if err != nil {
		return err
	}
	if !running || sess == nil {
		fmt.Fprintln(stdout, "Packet Monitor is not running.")
		if sess != nil && sess.Ended != nil {
			fmt.Fprintf(stdout, "Last capture: log file %s, ended %s (%s)\n", sess.Options.File,
				sess.Ended.UTC().Format(time.RFC3339), sess.EndReason)
		}
		return nil
	}
	o := sess.Options
	var b bytes.Buffer
	fmt.Fprintln(&b, "Packet Monitor is running.")
	fmt.Fprintf(&b, "Started: %s\n", sess.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Capture: components %s, type %s, packet size %d, %d filters\n", o.Comp, o.Type, o.PktSize, len(sess.Filters))
	fmt.Fprintf(&b, "Logging mode: %s; max file size %d MB\n", o.LogMode, o.FileSizeMB)
	size := "?"
	if fi, err := os.Stat(o.File); err == nil {
		size = strconv.FormatInt(fi.Size(), 10)
	}
	fmt.Fprintf(&b, "Log file: %s (%s bytes)\n", o.File, size)
	_, err = stdout.Write(b.Bytes())
	return err
}
