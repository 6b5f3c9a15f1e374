package capture

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/kubectl-winnet/winnet/pkg/progress"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func pcapng(t *testing.T, packets int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < packets; i++ {
		frame := make([]byte, 60)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)), CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarOf(t *testing.T, files map[string][]byte, order ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(files[name]))}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(files[name])
	}
	_ = tw.Close()
	return b.Bytes()
}

func TestReceiveWritesThePcapngAndCountsItsPackets(t *testing.T) {
	data := pcapng(t, 7)
	dir := t.TempDir()
	out := filepath.Join(dir, "web.pcapng")
	res := &Result{Node: "win-1", Packets: -1}
	var tracked []string
	track := func(tmp string) func() { tracked = append(tracked, tmp); return func() {} }
	err := receive(bytes.NewReader(tarOf(t, map[string][]byte{"capture.pcapng": data}, "capture.pcapng")), Config{Output: out, Track: track}, res)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("written file differs from the stream (%v)", err)
	}
	if res.Packets != 7 || res.Format != wire.CaptureFormatPcapng || res.Bytes != int64(len(data)) || res.Files[0] != out {
		t.Errorf("result = %+v, want 7 packets of pcapng at %s", res, out)
	}
	if len(tracked) != 1 || !strings.Contains(tracked[0], ".web.pcapng.") {
		t.Errorf("tracked temporary files = %q, want the one beside the destination", tracked)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the capture", len(entries))
	}
}

func TestReceiveETLGoesBesideTheName(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "web.pcapng")
	res := &Result{Packets: -1}
	stream := tarOf(t, map[string][]byte{"capture.etl": []byte("ETL"), "capture.txt": []byte("text")}, "capture.etl", "capture.txt")
	if err := receive(bytes.NewReader(stream), Config{Output: out}, res); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "web.etl"), filepath.Join(dir, "web.txt")}
	if strings.Join(res.Files, ",") != strings.Join(want, ",") || res.Format != wire.CaptureFormatETL || res.Packets != -1 {
		t.Errorf("result = %+v, want files %q, format etl, packets unknown", res, want)
	}
	if b, _ := os.ReadFile(want[1]); string(b) != "text" {
		t.Errorf("text file = %q", b)
	}
}

func TestReceiveToStdoutSendsOnlyTheCapture(t *testing.T) {
	data := pcapng(t, 2)
	var stdout bytes.Buffer
	res := &Result{Packets: -1}
	stream := tarOf(t, map[string][]byte{"capture.pcapng": data, "capture.txt": []byte("text")}, "capture.pcapng", "capture.txt")
	if err := receive(bytes.NewReader(stream), Config{Output: Stdout, Stdout: &stdout}, res); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), data) || res.Packets != 2 {
		t.Errorf("stdout got %d bytes (want %d), %d packets", stdout.Len(), len(data), res.Packets)
	}
}

func TestReceiveKeepsAnExistingFileAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "web.pcapng")
	if err := os.WriteFile(out, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := receive(bytes.NewReader(tarOf(t, map[string][]byte{"capture.pcapng": pcapng(t, 1)}, "capture.pcapng")), Config{Output: out}, &Result{})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("err = %v, want one naming --force", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "mine" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want the existing file only", len(entries))
	}
}

func TestReceiveCutStreamIsAnErrorAndNoFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "web.pcapng")
	stream := tarOf(t, map[string][]byte{"capture.pcapng": pcapng(t, 50)}, "capture.pcapng")
	err := receive(bytes.NewReader(stream[:len(stream)/2]), Config{Output: out}, &Result{Node: "win-1"})
	if err == nil {
		t.Fatal("a capture cut in the middle was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a cut capture left %d files", len(entries))
	}
}

func TestStatusReaderSeparatesRecordsFromLog(t *testing.T) {
	var log, prog bytes.Buffer
	res := &Result{}
	s := &statusReader{p: progress.New(&prog, false), res: res, log: &log, total: time.Minute}
	s.p.Start("capturing")
	rec := func(st wire.CaptureStatus) string {
		b, _ := json.Marshal(st)
		r, _ := json.Marshal(wire.Record{V: 1, Type: wire.TypeProgress, Source: "capture", Kind: wire.KindCaptureStatus, Data: b})
		return string(r) + "\n"
	}
	stream := "collector starting\n" + rec(wire.CaptureStatus{State: wire.CaptureRunning, ElapsedMS: 3000, Bytes: 2_500_000}) +
		rec(wire.CaptureStatus{State: wire.CaptureStopped, Reason: wire.StopSize}) +
		rec(wire.CaptureStatus{State: wire.CaptureSending, Note: "a stale session was stopped"}) +
		`{"v":1,"type":"error","source":"capture","error":"pktmon stop: exit status 1"}` + "\npartial line"
	// Written in odd pieces, as an exec stream delivers it.
	for i := 0; i < len(stream); i += 7 {
		_, _ = s.Write([]byte(stream[i:min(i+7, len(stream))]))
	}
	s.flush()
	if log.String() != "collector starting\npartial line\n" {
		t.Errorf("log = %q, want only the plain lines", log.String())
	}
	if res.Reason != wire.StopSize || res.Note != "a stale session was stopped" {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(prog.String(), "3s of 1m0s, 2.5 MB on the node") {
		t.Errorf("progress lacks the running line:\n%s", prog.String())
	}
	if s.errorText() != "pktmon stop: exit status 1" {
		t.Errorf("errorText = %q", s.errorText())
	}
}
