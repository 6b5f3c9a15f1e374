package analyze

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/snapshot"
)

// The healthy fixtures model four common Windows networking setups from public shapes (see
// each folder's SOURCE.md). A correct analyzer finds nothing wrong with any of them.
var healthyFixtures = []struct {
	dir, node string
}{
	{"healthy-l2bridge", "win-1"},
	{"healthy-overlay-flannel", "win-1"},
	{"healthy-calico", "win-1"},
	{"healthy-azure-cni", "akswin000000"},
}

func TestHealthyFixtures(t *testing.T) {
	for _, fx := range healthyFixtures {
		for _, target := range []string{"shop/web-0", ""} {
			t.Run(fx.dir+"/"+target, func(t *testing.T) {
				in := loadFixture(t, filepath.Join("testdata", fx.dir), fx.node, target)
				res := Run(in)
				for _, f := range res.Findings {
					t.Errorf("%s %s: %s\n  evidence: %+v", f.Severity, f.ID, f.Title, f.Evidence)
				}
				// Nearly every check must have had its evidence: a healthy verdict that rests on
				// "not checked" proves nothing.
				allowed := map[string]bool{"overlay remote subnets": fx.dir == "healthy-calico", "NetworkPolicy verdict for probed flows": target == ""}
				for _, nc := range res.NotChecked {
					if !allowed[nc.Check] {
						t.Errorf("not checked %q: %s", nc.Check, nc.Missing)
					}
				}
			})
		}
	}
}

// TestHealthyFixturesAreLive breaks each fixture the same way and expects the analyzer to
// notice: the fixtures' cluster and node halves are wired together.
func TestHealthyFixturesAreLive(t *testing.T) {
	for _, fx := range healthyFixtures {
		t.Run(fx.dir, func(t *testing.T) {
			in := loadFixture(t, filepath.Join("testdata", fx.dir), fx.node, "shop/web-0")
			dns := serviceIPs(in.Cluster.KubeDNS)[0]
			var kept []snapshot.LoadBalancer
			for _, lb := range in.Snapshot.LoadBalancers {
				if len(lb.FrontendVIPs) == 0 || lb.FrontendVIPs[0] != dns {
					kept = append(kept, lb)
				}
			}
			s := *in.Snapshot
			s.LoadBalancers = kept
			in.Snapshot = &s
			ids := map[string]bool{}
			for _, f := range Run(in).Findings {
				ids[f.ID] = true
			}
			if !ids["service-lb-missing"] {
				t.Fatalf("removing the kube-dns load balancers went unnoticed: %v", ids)
			}
		})
	}
}

// TestScenarios runs the analyzer over the e2e scenarios (hack/scenarios), whose READMEs say
// what each should show.
func TestScenarios(t *testing.T) {
	dir := filepath.Join("..", "..", "hack", "scenarios")
	t.Run("kube-dns-lb-missing", func(t *testing.T) {
		in := loadFixture(t, filepath.Join(dir, "kube-dns-lb-missing"), "win-node-1", "shop/web-0")
		res := Run(in)
		got := map[string]string{}
		for _, f := range res.Findings {
			got[f.ID] = f.Severity
		}
		for id, sev := range map[string]string{"service-lb-missing": SeverityError, "kube-proxy-policy-errors": SeverityError,
			"hns-errors": SeverityWarning, "dns-resolution-failed": SeverityError, "stale-remote-endpoint": SeverityWarning} {
			if got[id] != sev {
				t.Errorf("%s: severity %q, want %q (all: %v)", id, got[id], sev, got)
			}
		}
		for _, f := range res.Findings {
			if f.ID == "service-lb-missing" && (!strings.Contains(f.Title, "kube-system/kube-dns") || !hasCode(f.Evidence, "0x803b0013")) {
				t.Errorf("service-lb-missing does not name kube-dns and the 0x803b0013 root cause: %+v", f)
			}
		}
	})
	t.Run("healthy-l2bridge", func(t *testing.T) {
		in := loadFixture(t, filepath.Join(dir, "healthy-l2bridge"), "win-node-1", "shop/web-0")
		for _, f := range Run(in).Findings {
			if f.Severity == SeverityError {
				t.Errorf("error finding on the healthy scenario: %s %s", f.ID, f.Title)
			}
		}
	})
}
