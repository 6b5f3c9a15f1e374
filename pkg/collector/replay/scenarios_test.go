package replay

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// scenariosDir is hack/scenarios, relative to this package.
var scenariosDir = filepath.Join("..", "..", "..", "hack", "scenarios")

// TestScenarios replays every scenario folder and checks it is a clean, complete node: framed,
// no error records, and every kind a node reports.
func TestScenarios(t *testing.T) {
	entries, err := os.ReadDir(scenariosDir)
	if err != nil {
		t.Fatalf("reading %s: %v", scenariosDir, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	for _, must := range []string{"healthy-l2bridge", "kube-dns-lb-missing"} {
		if !contains(names, must) {
			t.Errorf("scenario %s is missing from %s", must, scenariosDir)
		}
	}
	wantKinds := []string{
		wire.KindEvents, wire.KindFile, wire.KindHCNEndpoints, wire.KindHCNLoadBalancers, wire.KindHCNNamespaces,
		wire.KindHCNNetworks, wire.KindHNSEndpointsV1, wire.KindHNSVersion, wire.KindOSInfo, wire.KindProcesses, wire.KindServices,
		wire.KindDNSClient, wire.KindFirewall, wire.KindHostAdapters, wire.KindHostNeighbors, wire.KindHostRoutes,
		wire.KindHotfixes, wire.KindPortRanges, wire.KindTCPConnections,
	}
	sort.Strings(wantKinds)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(scenariosDir, name)
			recs, log := replayDir(t, dir)
			if strings.Contains(log, "skipping") {
				t.Errorf("the scenario holds files replay does not know: %s", log)
			}
			kinds := map[string]bool{}
			files := map[string]wire.FileData{}
			probes, progress := 0, map[string]int{}
			for _, r := range recs {
				switch r.Type {
				case wire.TypeError:
					t.Errorf("error record from %s: %s", r.Source, r.Error)
				case wire.TypeArtifact:
					kinds[r.Kind] = true
					if r.Kind == wire.KindFile {
						var fd wire.FileData
						if err := json.Unmarshal(r.Data, &fd); err != nil {
							t.Fatalf("file record: %v", err)
						}
						files[fd.Path] = fd
					}
				case wire.TypeProbe:
					probes++
				case wire.TypeProgress:
					progress[r.Source]++
				}
			}
			var got []string
			for k := range kinds {
				got = append(got, k)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(wantKinds, " ") {
				t.Errorf("kinds = %v, want %v", got, wantKinds)
			}
			if fd, ok := files[`C:\k\kube-proxy.log`]; !ok || fd.Role != "log:kube-proxy" || fd.Content == "" {
				t.Errorf("kube-proxy log = %+v, want C:\\k\\kube-proxy.log with its lines", fd)
			}
			if _, err := os.Stat(filepath.Join(dir, ProbesFile)); err == nil && probes == 0 {
				t.Errorf("%s exists but no probe record was emitted", ProbesFile)
			}
			for src, n := range progress {
				if n != 2 {
					t.Errorf("source %s has %d progress records, want start and end", src, n)
				}
			}
			for _, meta := range []string{"README.md", "cluster.yaml"} {
				if _, err := os.Stat(filepath.Join(dir, meta)); err != nil {
					t.Errorf("every scenario needs a %s: %v", meta, err)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
