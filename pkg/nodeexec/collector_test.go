package nodeexec

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/pkg/nodecmd"
)

type fakeCollector struct {
	exe       []byte
	uploadErr error
}

func (f fakeCollector) SHA256() string {
	s := sha256.Sum256(f.exe)
	return hex.EncodeToString(s[:])
}

// Upload packs the exe as hack/embed-collector.sh does.
func (f fakeCollector) Upload() ([]byte, error) {
	if f.uploadErr != nil {
		return nil, f.uploadErr
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: nodecmd.TarEntry, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(f.exe))})
	_, _ = tw.Write(f.exe)
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes(), nil
}

var collectArgs = []string{"collect", "--since", "1h0m0s"}

// fakeNode answers the two nodecmd command lines the way a Windows node would, from a file
// map: verify the collector it holds and run it (printing a hello record), after extracting
// the gzipped tar on stdin for UploadAndRun.
type fakeNode struct {
	t        *testing.T
	files    map[string][]byte // tar entry -> content
	corrupt  bool              // what lands on disk differs from what was sent
	tarFails bool              // tar.exe cannot extract
	exitCode int               // the collector's own exit code
	calls    [][]string
}

func (n *fakeNode) Exec(_ context.Context, _ *corev1.Pod, _ string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	n.calls = append(n.calls, argv)
	want := fakeCollector{exe: []byte("MZ collector")}.SHA256()
	run, _ := nodecmd.Run(want, collectArgs...)
	upload, _ := nodecmd.UploadAndRun(want, collectArgs...)
	switch {
	case slices.Equal(argv, run):
		if stdin != nil {
			n.t.Errorf("Run sent stdin; it has nothing to upload")
		}
	case slices.Equal(argv, upload):
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		if n.tarFails {
			fmt.Fprint(stderr, "tar.exe: winnet/winnet-collector.exe: Can't unlink already-existing object\r\n")
			return &ExitError{Code: nodecmd.ExitUploadFailed}
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return &ExitError{Code: nodecmd.ExitUploadFailed}
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return &ExitError{Code: nodecmd.ExitUploadFailed}
			}
			content, _ := io.ReadAll(tr)
			if n.corrupt {
				content = append(content, 'X')
			}
			n.files[h.Name] = content
		}
	default:
		return fmt.Errorf("unexpected command %q", argv)
	}
	s := sha256.Sum256(n.files[nodecmd.TarEntry])
	if _, ok := n.files[nodecmd.TarEntry]; !ok || hex.EncodeToString(s[:]) != want {
		return &ExitError{Code: nodecmd.ExitHashMismatch}
	}
	fmt.Fprintln(stdout, `{"v":1,"type":"hello"}`)
	if n.exitCode != 0 {
		return &ExitError{Code: n.exitCode}
	}
	return nil
}

func newRunner(n *fakeNode, fresh bool) *Runner {
	return &Runner{Exec: n, Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n1"}},
		Container: "winnet", Collector: fakeCollector{exe: []byte("MZ collector")}, Fresh: fresh}
}

func TestRunRoundTrips(t *testing.T) {
	archive, _ := fakeCollector{exe: []byte("MZ collector")}.Upload()
	for _, tt := range []struct {
		name       string
		fresh      bool
		holds      []byte // the collector on the node before the run; nil for none
		roundTrips int
		uploaded   bool
	}{
		{name: "a fresh pod: upload, verify and run in one exec", fresh: true, roundTrips: 1, uploaded: true},
		{name: "a kept pod holding this collector: verify and run in one exec", holds: []byte("MZ collector"), roundTrips: 1},
		{name: "a kept pod holding another build: the mismatch, then upload and run", holds: []byte("old build"), roundTrips: 2, uploaded: true},
		{name: "a kept pod holding none: the mismatch, then upload and run", roundTrips: 2, uploaded: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := &fakeNode{t: t, files: map[string][]byte{}}
			if tt.holds != nil {
				node.files[nodecmd.TarEntry] = tt.holds
			}
			r := newRunner(node, tt.fresh)
			var out bytes.Buffer
			if err := r.Run(context.Background(), collectArgs, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if out.String() != "{\"v\":1,\"type\":\"hello\"}\n" {
				t.Errorf("stdout = %q, want the collector's one hello record", out.String())
			}
			if r.RoundTrips != tt.roundTrips || len(node.calls) != tt.roundTrips {
				t.Errorf("%d round trips (%d execs on the node), want %d", r.RoundTrips, len(node.calls), tt.roundTrips)
			}
			wantBytes := int64(0)
			if tt.uploaded {
				wantBytes = int64(len(archive))
			}
			if r.Uploaded != tt.uploaded || r.UploadBytes != wantBytes {
				t.Errorf("Uploaded %v, UploadBytes %d; want %v, %d", r.Uploaded, r.UploadBytes, tt.uploaded, wantBytes)
			}
			if got := string(node.files[nodecmd.TarEntry]); got != "MZ collector" {
				t.Errorf("the node holds %q after the run", got)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	for _, tt := range []struct {
		name  string
		node  fakeNode
		coll  *fakeCollector
		is    error
		want  string
		execs int
	}{
		{name: "the upload lands altered", node: fakeNode{corrupt: true}, is: ErrHashMismatch, want: "right after the upload", execs: 1},
		{name: "tar.exe fails", node: fakeNode{tarFails: true}, is: ErrUploadFailed, want: "check the node's free disk space", execs: 1},
		{name: "the collector fails", node: fakeNode{exitCode: 2}, want: "exited with code 2", execs: 1},
		{name: "a corrupt build is never sent", coll: &fakeCollector{uploadErr: errors.New("the embedded collector is corrupt")}, want: "corrupt", execs: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node
			node.t, node.files = t, map[string][]byte{}
			r := newRunner(&node, true)
			if tt.coll != nil {
				r.Collector = *tt.coll
			}
			err := r.Run(context.Background(), collectArgs, io.Discard, io.Discard)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.is, tt.want)
			}
			if len(node.calls) != tt.execs {
				t.Errorf("%d execs, want %d", len(node.calls), tt.execs)
			}
		})
	}
}
