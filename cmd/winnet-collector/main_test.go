package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func scenario(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func records(t *testing.T, b []byte) []wire.Record {
	t.Helper()
	var recs []wire.Record
	dec := wire.NewDecoder(bytes.NewReader(b))
	for {
		r, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("stdout is not NDJSON: %v\n%s", err, b)
		}
		recs = append(recs, r)
	}
}

func TestUsage(t *testing.T) {
	good := scenario(t, map[string]string{"hns-version.json": `{"Major":13,"Minor":2}`})
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantCode  int
		wantOut   string
		wantErr   string
		skipOnWin bool
	}{
		{name: "no command", args: nil, wantCode: 2, wantErr: "usage:"},
		{name: "unknown command", args: []string{"gather"}, wantCode: 2, wantErr: `unknown command "gather"`},
		{name: "version", args: []string{"version"}, wantCode: 0, wantOut: "winnet-collector dev (wire schema " + wire.SchemaVersion},
		{name: "help", args: []string{"help"}, wantCode: 0, wantOut: "winnet-collector collect"},
		{name: "unknown flag", args: []string{"collect", "--verbose"}, wantCode: 2, wantErr: "flag provided but not defined"},
		{name: "bad duration", args: []string{"collect", "--since", "yesterday"}, wantCode: 2, wantErr: "invalid value"},
		{name: "negative since", args: []string{"collect", "--since=-1h", "--replay", good}, wantCode: 2, wantErr: "negative"},
		{name: "zero timeout", args: []string{"collect", "--source-timeout", "0s", "--replay", good}, wantCode: 2, wantErr: "must be positive"},
		{name: "bad pod IP", args: []string{"collect", "--pod-ip", "10.244.1", "--replay", good}, wantCode: 2, wantErr: "not an IP address"},
		{name: "probe by name", args: []string{"collect", "--probe", "tcp:kube-dns:53", "--replay", good}, wantCode: 2, wantErr: "probes dial IP literals only"},
		{name: "dns probe of a server name", args: []string{"collect", "--probe", "dns:kubernetes.default@kube-dns", "--replay", good}, wantCode: 2, wantErr: "a DNS probe asks one server by its IP"},
		{name: "pod scope without pod IP", args: []string{"collect", "--probe-from", "pod", "--probe", "tcp:10.96.0.10:53", "--replay", good}, wantCode: 2, wantErr: "--probe-from pod needs --pod-ip"},
		{name: "unknown scope", args: []string{"collect", "--probe-from", "node", "--replay", good}, wantCode: 2, wantErr: "want host (from the node, the default) or pod"},
		{name: "stray argument", args: []string{"collect", "now"}, wantCode: 2, wantErr: `found "now"`},
		{name: "missing replay folder", args: []string{"collect", "--replay", filepath.Join(good, "nope")}, wantCode: 1, wantErr: "replay scenario folder"},
		{name: "no backend off Windows", args: []string{"collect"}, wantCode: 1, wantErr: "set WINNET_COLLECTOR_REPLAY or pass --replay", skipOnWin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipOnWin && runtime.GOOS == "windows" {
				t.Skip("the node backend exists on Windows")
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, nil, &out, &errb, env(tt.env))
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, errb.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out.String(), tt.wantOut)
			}
			if !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.wantErr)
			}
			if tt.wantCode != 0 && out.Len() > 0 {
				t.Errorf("a failed start wrote to stdout: %q", out.String())
			}
		})
	}
}

func TestCollectReplay(t *testing.T) {
	fromEnv := scenario(t, map[string]string{
		"hns-version.json":   `{"Major":13,"Minor":2}`,
		"hns-endpoints.json": `[{"ID":`, // broken: an error record, not a failed run
	})
	fromFlag := scenario(t, map[string]string{"os.json": `{"build":"20348"}`})
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantKinds []string
		wantErrs  int
	}{
		{name: "env", args: []string{"collect", "--since", "2h", "--pod-ip", "10.244.1.5"},
			env: map[string]string{replayEnv: fromEnv}, wantKinds: []string{wire.KindHNSVersion}, wantErrs: 1},
		{name: "flag wins over env", args: []string{"collect", "--replay", fromFlag},
			env: map[string]string{replayEnv: fromEnv}, wantKinds: []string{wire.KindOSInfo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, nil, &out, &errb, env(tt.env)); code != 0 {
				t.Fatalf("exit %d; stderr: %s", code, errb.String())
			}
			recs := records(t, out.Bytes())
			if recs[0].Type != wire.TypeHello || recs[len(recs)-1].Type != wire.TypeDone {
				t.Fatalf("not framed by hello..done: %s", out.String())
			}
			var hello wire.HelloData
			if err := json.Unmarshal(recs[0].Data, &hello); err != nil || hello.Backend != "replay" || hello.CollectorVersion != "dev" {
				t.Errorf("hello = %+v (%v)", hello, err)
			}
			var kinds []string
			errs := 0
			for _, r := range recs {
				switch r.Type {
				case wire.TypeArtifact:
					kinds = append(kinds, r.Kind)
				case wire.TypeError:
					errs++
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") || errs != tt.wantErrs {
				t.Errorf("kinds %v with %d errors, want %v with %d", kinds, errs, tt.wantKinds, tt.wantErrs)
			}
		})
	}
}

type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestCollectStreamFailure(t *testing.T) {
	dir := scenario(t, map[string]string{"hns-version.json": `{"Major":13,"Minor":2}`})
	var errb bytes.Buffer
	code := run(context.Background(), []string{"collect", "--replay", dir}, nil, brokenPipe{}, &errb, env(nil))
	if code != 1 || !strings.Contains(errb.String(), "broken pipe") {
		t.Errorf("exit %d, stderr %q; want 1 naming the write error", code, errb.String())
	}
}

func TestCollectProbe(t *testing.T) {
	// A replay answers requested probes from the scenario, whatever their scope: nothing is
	// dialled from the machine that replays.
	dir := scenario(t, map[string]string{"probes.json": `[
	  {"target":"kubernetes.default.svc.cluster.local@10.96.0.10:53","protocol":"dns","verdict":"timeout","method":"pod-compartment","error":"no answer"},
	  {"target":"10.96.12.34:80","protocol":"tcp","verdict":"ok","method":"pod-compartment"}]`})
	tests := []struct {
		name string
		args []string
		want []string // target, verdict and method of each probe record
	}{
		{name: "requested from the pod", args: []string{"--probe-from", "pod", "--pod-ip", "10.244.1.5",
			"--probe", "dns:kubernetes.default.svc.cluster.local@10.96.0.10", "--probe", "tcp:10.96.0.10:53"},
			want: []string{"kubernetes.default.svc.cluster.local@10.96.0.10:53 timeout pod-compartment", "10.96.0.10:53 skipped replay"}},
		{name: "requested from the host", args: []string{"--probe", "tcp:10.96.12.34:80"},
			want: []string{"10.96.12.34:80 ok pod-compartment"}},
		{name: "none requested", args: nil,
			want: []string{"kubernetes.default.svc.cluster.local@10.96.0.10:53 timeout pod-compartment", "10.96.12.34:80 ok pod-compartment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"collect", "--replay", dir}, tt.args...)
			if code := run(context.Background(), args, nil, &out, &errb, env(nil)); code != 0 {
				t.Fatalf("exit %d; stderr: %s", code, errb.String())
			}
			var got []string
			for _, r := range records(t, out.Bytes()) {
				if r.Type == wire.TypeProbe {
					var p wire.ProbeData
					if err := json.Unmarshal(r.Data, &p); err != nil || r.Source != "probes" {
						t.Fatalf("probe record %+v: %v", r, err)
					}
					got = append(got, p.Target+" "+p.Verdict+" "+p.Method)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("probes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
