package winsrc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// toolTimeout bounds each child process: an inbox tool that hangs (vfpctrl waits on the
// switch, hnsdiag on HNS) is killed, and its partial output is kept.
const toolTimeout = 20 * time.Second

// inboxTool is a Windows tool the collector runs only when the node has it.
type inboxTool struct {
	name  string   // as in the record, e.g. "hnsdiag"
	exe   string   // looked up on PATH
	known []string // where Windows ships it, in case PATH does not hold it
}

var (
	hnsdiagTool = inboxTool{name: "hnsdiag", exe: "hnsdiag.exe", known: []string{`C:\Windows\System32\hnsdiag.exe`}}
	vfpctrlTool = inboxTool{name: "vfpctrl", exe: "vfpctrl.exe", known: []string{`C:\Windows\System32\vfpctrl.exe`}}
)

// toolRunner finds and runs inbox tools; tests replace its lookups.
type toolRunner struct {
	lookPath func(exe string) (string, bool) // finds exe on PATH
	exists   func(path string) bool
	timeout  time.Duration
}

func defaultRunner() toolRunner {
	return toolRunner{lookPath: lookPath, exists: isRegularFile, timeout: toolTimeout}
}

// lookPath finds exe on PATH with exec.LookPath, which never takes a folder relative to the
// working one (exec.ErrDot): the pod's environment sets PATH, and a tool found relative to
// the working folder is not the node's.
func lookPath(exe string) (string, bool) {
	p, err := exec.LookPath(exe)
	return p, err == nil
}

func isRegularFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// find returns the tool's path, or false when the node does not have it.
func (r toolRunner) find(t inboxTool) (string, bool) {
	if p, ok := r.lookPath(t.exe); ok {
		return p, true
	}
	for _, p := range t.known {
		if r.exists(p) {
			return p, true
		}
	}
	return "", false
}

// run runs one tool command with the runner's timeout and returns its record. The output
// (stdout and stderr together, as a console shows them) is capped while it is read, so a
// runaway tool cannot fill memory. A failure to start is an error; a non-zero exit is not:
// what the tool printed says why.
func (r toolRunner) run(ctx context.Context, t inboxTool, path string, args ...string) (wire.ToolOutput, error) {
	run := childRun{timeout: r.timeout, limit: nodefiles.MaxToolOutputBytes + 1}
	res, err := runChild(ctx, run, path, args)
	if err != nil {
		return wire.ToolOutput{}, fmt.Errorf("running %s %s: %w", t.name, strings.Join(args, " "), err)
	}
	rec := nodefiles.ToolRecord(t.name, args, res.exitCode, res.timedOut, res.output, res.total)
	if res.timedOut {
		rec.Output += fmt.Sprintf("\n[winnet: %s was stopped after %s]\n", t.name, r.timeout)
	}
	if res.cut {
		rec.Output += fmt.Sprintf("\n[winnet: %s exited but a process it started kept its output open; the output stops here]\n", t.name)
	}
	return rec, nil
}

// hnsdiagSource runs `hnsdiag list all -d`: HNS's own view of networks, endpoints, load
// balancers and namespaces, as support asks for it. One child process.
type hnsdiagSource struct{ runner toolRunner }

func (hnsdiagSource) Name() string { return wire.KindToolOutput + ":" + hnsdiagTool.name }

func (s hnsdiagSource) Collect(ctx context.Context, out collector.Emitter) error {
	path, ok := s.runner.find(hnsdiagTool)
	if !ok {
		out.Logf("%s is not on this node (not on PATH, not in System32); skipped", hnsdiagTool.exe)
		return nil
	}
	rec, err := s.runner.run(ctx, hnsdiagTool, path, "list", "all", "-d")
	if err != nil {
		return err
	}
	return out.Artifact(wire.KindToolOutput, rec)
}

// vfpctrlSource runs `vfpctrl /list-vmswitch-port` and, when the pod under diagnosis is known
// and its port is found (by the MAC of its HNS endpoint), `/port <name> /get-port-state` and
// `/port <name> /get-port-counter`. One to three child processes.
type vfpctrlSource struct {
	runner toolRunner
	podIP  string
	// podMAC returns the MAC of the local HNS endpoint holding podIP.
	podMAC func(ctx context.Context, podIP string) (string, error)
}

func (vfpctrlSource) Name() string { return wire.KindToolOutput + ":" + vfpctrlTool.name }

func (s vfpctrlSource) Collect(ctx context.Context, out collector.Emitter) error {
	path, ok := s.runner.find(vfpctrlTool)
	if !ok {
		out.Logf("%s is not on this node (not on PATH, not in System32); skipped", vfpctrlTool.exe)
		return nil
	}
	list, err := s.runner.run(ctx, vfpctrlTool, path, "/list-vmswitch-port")
	if err != nil {
		return err
	}
	if err := out.Artifact(wire.KindToolOutput, list); err != nil {
		return err
	}
	if s.podIP == "" || s.podMAC == nil {
		return nil
	}
	mac, err := s.podMAC(ctx, s.podIP)
	if err != nil {
		out.Logf("not reading the VFP port of pod %s: %v", s.podIP, err)
		return nil
	}
	port, ok := findVFPPort(parseVFPPorts(list.Output), mac)
	if !ok {
		out.Logf("not reading the VFP port of pod %s: no port in the vfpctrl listing has its MAC %s", s.podIP, mac)
		return nil
	}
	for _, cmd := range []string{"/get-port-state", "/get-port-counter"} {
		rec, err := s.runner.run(ctx, vfpctrlTool, path, "/port", port.Name, cmd)
		if err != nil {
			return err
		}
		if err := out.Artifact(wire.KindToolOutput, rec); err != nil {
			return err
		}
	}
	return nil
}

// vfpPort is one port of `vfpctrl /list-vmswitch-port`.
type vfpPort struct {
	Name, FriendlyName, MAC string
}

// parseVFPPorts reads the port blocks of `vfpctrl /list-vmswitch-port`: "Key : value" lines,
// each block starting at "Port name". Other lines are ignored.
func parseVFPPorts(text string) []vfpPort {
	var ports []vfpPort
	for _, line := range strings.Split(text, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.Join(strings.Fields(key), " "))
		value = strings.TrimSpace(value)
		switch key {
		case "port name":
			ports = append(ports, vfpPort{Name: value})
		case "port friendly name":
			if len(ports) > 0 {
				ports[len(ports)-1].FriendlyName = value
			}
		case "mac address":
			if len(ports) > 0 {
				ports[len(ports)-1].MAC = value
			}
		}
	}
	return ports
}

// findVFPPort finds the port with the given MAC, whatever its notation (00-15-5D-.., 00155d..).
func findVFPPort(ports []vfpPort, mac string) (vfpPort, bool) {
	want := normalizeMAC(mac)
	if want == "" {
		return vfpPort{}, false
	}
	for _, p := range ports {
		if p.Name != "" && normalizeMAC(p.MAC) == want {
			return p, true
		}
	}
	return vfpPort{}, false
}

func normalizeMAC(mac string) string {
	return strings.ToLower(strings.NewReplacer("-", "", ":", "", ".", "", " ", "").Replace(mac))
}

// endpointMAC finds, in an HNS v1 endpoint list, the MAC of the local endpoint holding ip.
func endpointMAC(v1Endpoints []byte, ip string) (string, error) {
	var eps []struct {
		IPAddress        string
		MacAddress       string
		IsRemoteEndpoint bool
	}
	if err := json.Unmarshal(v1Endpoints, &eps); err != nil {
		return "", fmt.Errorf("reading the HNS v1 endpoint list: %w", err)
	}
	for _, ep := range eps {
		if ep.IPAddress == ip && !ep.IsRemoteEndpoint && ep.MacAddress != "" {
			return ep.MacAddress, nil
		}
	}
	return "", fmt.Errorf("no local HNS endpoint has IP %s", ip)
}
