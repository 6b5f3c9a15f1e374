package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// state is one simulated node's pktmon: its filters and its one capture session, in a folder.
//
// Files: filters.json (the filter list), session.json (the current or last session),
// pktmon.lock (held by a command that changes state, so two collectors on one node serialise
// as pktmon's service would), driver.lock (held by the capture process for its whole life:
// "is a capture running" is "is that lock held", which no stale pid, reused pid or unreaped
// zombie can fake) and driver.log (the capture process's stderr, for a test to show).
type state struct{ dir string }

func (s state) path(name string) string { return filepath.Join(s.dir, name) }

func (s state) ensure() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("creating the pktmon state folder: %w", err)
	}
	return nil
}

// lock takes the command lock, waiting for another command to finish.
func (s state) lock() (unlock func(), err error) {
	if err := s.ensure(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path("pktmon.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the pktmon state: %w", err)
	}
	return func() { f.Close() }, nil
}

// lockDriver takes the capture process's lock without waiting; ok is false when a capture
// holds it. The caller keeps f open for as long as it means to hold the lock.
func (s state) lockDriver() (f *os.File, ok bool, err error) {
	if err := s.ensure(); err != nil {
		return nil, false, err
	}
	f, err = os.OpenFile(s.path("driver.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}

// running reports whether a capture process is alive.
func (s state) running() (bool, error) {
	f, ok, err := s.lockDriver()
	if err != nil {
		return false, err
	}
	if ok {
		f.Close()
	}
	return !ok, nil
}

// readJSON reads a state file into v; found is false when there is none.
func (s state) readJSON(name string, v any) (found bool, err error) {
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("reading %s: %w", s.path(name), err)
	}
	return true, nil
}

// writeJSON replaces a state file at once (a temporary file renamed over it), so a reader
// never sees half of one.
func (s state) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, name+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path(name))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func (s state) filters() ([]filterSpec, error) {
	var fs []filterSpec
	_, err := s.readJSON("filters.json", &fs)
	return fs, err
}

func (s state) saveFilters(fs []filterSpec) error { return s.writeJSON("filters.json", fs) }

// session is a capture: what start asked for, and what became of it.
type session struct {
	ID          string       `json:"id"`
	PID         int          `json:"pid,omitempty"` // the capture process, written by itself
	Options     startOptions `json:"options"`
	Filters     []filterSpec `json:"filters"`     // the list when it started; later changes do not apply
	CaptureJSON string       `json:"captureJSON"` // the scenario's traffic; "" for none
	Started     time.Time    `json:"started"`
	Ended       *time.Time   `json:"ended,omitempty"`
	EndReason   string       `json:"endReason,omitempty"`
	Written     int64        `json:"written,omitempty"` // records logged (at the end)
	Lost        int64        `json:"lost,omitempty"`    // records not logged: the file was full
}

// session is the current or last session, nil when there has been none.
func (s state) session() (*session, error) {
	var sess session
	found, err := s.readJSON("session.json", &sess)
	if err != nil || !found {
		return nil, err
	}
	return &sess, nil
}

func (s state) saveSession(sess *session) error { return s.writeJSON("session.json", sess) }

// endStale marks a session whose capture process is gone without saying so (killed) ended.
// The caller holds the command lock and has seen that no capture runs.
func (s state) endStale(sess *session, why string) error {
	if sess == nil || sess.Ended != nil {
		return nil
	}
	now := time.Now()
	sess.Ended, sess.EndReason = &now, why
	return s.saveSession(sess)
}
