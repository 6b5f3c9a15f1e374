package replay

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func probeRecords(t *testing.T, recs []wire.Record) (probes []wire.ProbeData, errs []string) {
	t.Helper()
	for _, r := range recs {
		switch {
		case r.Type == wire.TypeProbe:
			var p wire.ProbeData
			if err := json.Unmarshal(r.Data, &p); err != nil {
				t.Fatal(err)
			}
			probes = append(probes, p)
		case r.Type == wire.TypeError && r.Source == "probes":
			errs = append(errs, r.Error)
		}
	}
	return probes, errs
}

func TestRequestedProbes(t *testing.T) {
	scripted := `[
	 {"target":"kubernetes.default.svc.cluster.local@10.96.0.10:53","protocol":"dns","verdict":"timeout","method":"pod-compartment","error":"no answer"},
	 {"target":"10.96.12.34:80","protocol":"TCP","verdict":"ok","latencyMs":2,"method":"pod-compartment"},
	 {"target":"10.96.12.34:80","protocol":"tcp","verdict":"fail","method":"pod-compartment"},
	 {"target":"[FD00::10]:53","protocol":"udp","verdict":"ok","method":"pod-compartment"},
	 {"target":"not a spec","protocol":"tcp","verdict":"ok"}
	]`
	tests := []struct {
		name      string
		files     map[string][]byte
		requested []string
		want      []string // verdict and method of each probe record, in order
		wantErr   string
	}{
		{name: "nothing requested replays the script", files: map[string][]byte{ProbesFile: []byte(scripted)},
			want: []string{"timeout pod-compartment", "ok pod-compartment", "fail pod-compartment", "ok pod-compartment", "ok "}},
		{name: "requests answered in their order", files: map[string][]byte{ProbesFile: []byte(scripted)},
			requested: []string{"tcp:10.96.12.34:80", "dns:Kubernetes.default.svc.cluster.local.@10.96.0.10", "udp:[fd00::10]:53", "tcp:10.96.0.10:53", "dns:kubernetes.default.svc.cluster.local@10.96.0.10/tcp"},
			want:      []string{"ok pod-compartment", "timeout pod-compartment", "ok pod-compartment", "skipped replay", "skipped replay"}},
		{name: "no probes.json", files: map[string][]byte{"os.json": []byte(`{}`)},
			requested: []string{"tcp:10.96.12.34:80"}, want: []string{"skipped replay"}},
		{name: "broken probes.json", files: map[string][]byte{ProbesFile: []byte(`[{"target":`)},
			requested: []string{"tcp:10.96.12.34:80"}, want: []string{"skipped replay"}, wantErr: "scenario file probes.json: not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req []probe.Target
			for _, s := range tt.requested {
				tg, err := probe.ParseTarget(s)
				if err != nil {
					t.Fatal(err)
				}
				req = append(req, tg)
			}
			recs, _ := replayDir(t, writeFiles(t, tt.files), req...)
			probes, errs := probeRecords(t, recs)
			var got []string
			for _, p := range probes {
				got = append(got, p.Verdict+" "+p.Method)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("probes = %v, want %v", got, tt.want)
			}
			for i, p := range probes {
				// Scripted answers keep the scenario's spelling; they stand for the request.
				if i < len(req) && specOf(p) != req[i].String() {
					t.Errorf("probe %d answers %s:%s, want %s", i, p.Protocol, p.Target, req[i])
				}
				if p.Verdict == "skipped" && !strings.Contains(p.Error, NoAnswer) {
					t.Errorf("skipped probe %d says %q, want %q", i, p.Error, NoAnswer)
				}
			}
			if tt.wantErr == "" && len(errs) > 0 || tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.wantErr)) {
				t.Errorf("errors = %q, want %q", errs, tt.wantErr)
			}
		})
	}
}
