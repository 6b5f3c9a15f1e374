//go:build e2e

package fleet

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFleet measures a diagnosis of one node and of the whole 100-node pool through the
// real kubectl, API server and simulated nodes: ns/op is the wall time of one run, peak-MB the
// plugin's peak resident memory, s/node the wall time per node. The goal (issue 11): 100
// nodes in at most twice the wall time of one at concurrency 10 or more, and under 200 MB.
func BenchmarkFleet(b *testing.B) {
	for _, c := range []struct {
		name  string
		nodes int
		args  []string
	}{
		{"nodes=1", 1, []string{"diagnose", "node/" + nodeName(0), "-q", "-o", "json"}},
		{"nodes=100/concurrency=10", poolSize, []string{"diagnose", "nodes", "-l", poolLabel + "=" + poolValue, "--max-concurrency", "10", "-q", "-o", "json"}},
		{"nodes=100/concurrency=25", poolSize, []string{"diagnose", "nodes", "-l", poolLabel + "=" + poolValue, "--max-concurrency", "25", "-q", "-o", "json"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var peak int64
			start := time.Now()
			for b.Loop() {
				r := plugin(b, c.args...)
				if r.code != 0 {
					b.Fatalf("exit %d:\n%s", r.code, tail(r.stderr, 20))
				}
				peak = max(peak, r.maxRSSKB)
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(peak)/1024, "peak-MB")
			b.ReportMetric(elapsed.Seconds()/float64(b.N)/float64(c.nodes), "s/node")
			if left := debugPodsLeft(b); left != 0 {
				b.Fatalf("%d debug pods left", left)
			}
		})
	}
}

// TestFleetCPU is a manual probe (WINNET_FLEET_CPU=1): where a 100-node run's CPU goes.
func TestFleetCPU(t *testing.T) {
	if os.Getenv("WINNET_FLEET_CPU") == "" {
		t.Skip("set WINNET_FLEET_CPU=1")
	}
	read := func() (user, sys int64) {
		b, _ := os.ReadFile("/proc/stat")
		var cpu string
		var u, n, s int64
		fmt.Sscan(string(b), &cpu, &u, &n, &s)
		return u + n, s
	}
	u0, s0 := read()
	start := time.Now()
	cmd := exec.Command("kubectl", "winnet", "diagnose", "nodes", "-l", poolLabel+"="+poolValue, "-q", "-o", "json")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	u1, s1 := read()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	t.Logf("wall %s; machine user %.2fs sys %.2fs; plugin user %.2fs sys %.2fs; %d bytes out; err %v", time.Since(start), float64(u1-u0)/100, float64(s1-s0)/100,
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), len(out), err)
}
