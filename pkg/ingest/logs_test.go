package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// TestIsLogLine: every line shape on its own, and lines that only look a little like one.
func TestIsLogLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want bool
	}{
		// klog, full and with the header cut down to the source location.
		{`E0102 03:04:05.678901    4321 proxier.go:1222] "Policy creation failed" err="x"`, true},
		{`proxier.go: 1530] "Endpoint deletion failed" err="hcnDeleteEndpoint failed"`, true},
		{`server.go:482] "Version info" version="v1.29.3"`, true},
		{`hnsV2.go:218]  Failed to find load balancer`, true},
		{`  7716 kuberuntime_manager.go:862] container start failed`, true},
		{`09:10:11.121314    7716 pod_workers.go:1298] "Error syncing pod"`, true},
		{`see proxier.go:1530 for details`, false},
		// klog's structured body without any header.
		{`"Skipped creating Hns LoadBalancer for load balancer resources" serviceName="shop/cart" lbIngressIP="20.30.40.50"`, true},
		{`"Syncing Policies" elapsed="41ms" `, true},
		{`"Hns Endpoint resource" endpointsInfo={"ip":"10.1.0.7","port":8080} refCount=2`, true},
		{`"Cut off mid-value" err="hcnCreateEndpoint failed in Win32: {\"Success\":false,`, true},
		{`"Just a quoted sentence with no pairs."`, false},
		{`"Name","Status","DisplayName"`, false},
		{`"kube-proxy": "Running"`, false},
		// logrus, terminal and logfmt.
		{`FATA[2023-04-05T06:07:08+02:00] failed to register network: could not create IP forward entry`, true},
		{`ERRO[0012] failed to add route`, true},
		{`INFO[0000] Starting up`, true},
		{`WARN[2024-01-01 10:00:00] retrying`, true},
		{`time="2024-01-01T00:00:00Z" level=error msg="RunPodSandbox failed"`, true},
		{`ts=2024-01-01T00:00:00Z caller=main.go:12 level=warn msg="slow"`, true},
		{`INFO: the service started`, false},
		{`ERRO[this is not a time] nope`, false},
		// Go panic traces, from any point of the trace.
		{`panic: runtime error: invalid memory address or nil pointer dereference`, true},
		{`fatal error: concurrent map writes`, true},
		{`[signal 0xc0000005 code=0x0 addr=0x28 pc=0x1a2b3c]`, true},
		{`goroutine 211 [running]:`, true},
		{`k8s.io/kubernetes/pkg/proxy/winkernel.(*Proxier).cleanupAllPolicies(0xc000412000)`, true},
		{`github.com/flannel-io/flannel/pkg/backend/vxlan.(*network).Run(0xc0001a4000, {0x2b3c4d0, 0xc0000a2000})`, true},
		{`main.main()`, true},
		{`created by k8s.io/kubernetes/cmd/kube-proxy/app.(*ProxyServer).Run in goroutine 1`, true},
		{"\t/go/src/k8s.io/kubernetes/pkg/proxy/winkernel/proxier.go:1502 +0x4c1", true},
		{`C:/build/flannel/main.go:310 +0x1b7`, true},
		{`Restart the service (it stopped).`, false},
		{`Get-HnsEndpoint | ConvertTo-Json -Depth 10`, false},
		// JSON lines, bare and behind a prefix.
		{`{"level":"error","msg":"failed","time":"2024-01-01T00:00:00Z"}`, true},
		{`[5120] {"Timestamp":"2024-02-03T04:05:06.7+00:00","ProviderName":"ContainerD","Level":2,"Payload":{"Message":"failed to stop sandbox"}}`, true},
		{`{"ts":1700000000.1,"logger":"cni","message":"ADD done"}`, true},
		{`{"log":"E0102 03:04:05.000000 1 x.go:1] boom\n","stream":"stderr","time":"2024-01-02T03:04:05Z"}`, true},
		{`2024-01-02T03:04:05.123456789Z stderr F {"level":"info","msg":"ok"}`, true},
		{`{"code": 100, "msg": "error reading network config"}`, false},
		{`{"ID":"2b3c","Name":"cbr0","Type":"L2Bridge"}`, false},
		{`Settings={"Name":"x","Message":"y","Level":1}`, false},
		// The CRI log file's prefix in front of a text line.
		{`2024-01-02T03:04:05.123456789Z stderr F FATA[0001] cannot start`, true},
		// Other shapes stay as they were.
		{`2021-10-27 06:31:28.178 [INFO][61] felix/int_dataplane.go 1200: Applying dataplane updates`, true},
		{`2024/08/28 09:46:32 [11185] [cni-net] Plugin azure-vnet version v1.4.54.`, true},
		{`The pod could not reach the database.`, false},
	} {
		if got := isLogLine(c.line); got != c.want {
			t.Errorf("isLogLine(%q) = %v, want %v", c.line, got, c.want)
		}
	}
}

// logOf recognises text as a file named name and returns what the registry made of it and,
// when it was read as a log, the log's file record.
func logOf(t *testing.T, name, text string) (Recognition, *wire.FileData) {
	t.Helper()
	r := Recognize(name, []byte(text))
	if len(r.Errors) > 0 {
		t.Fatalf("recogniser errors: %v", r.Errors)
	}
	for _, rec := range records(r, wire.KindFile) {
		var f wire.FileData
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Role, wire.RoleLogPrefix) {
			return r, &f
		}
	}
	return r, nil
}

func notesOf(r Recognition) string {
	var out []string
	for _, o := range r.Outputs {
		out = append(out, o.Notes...)
	}
	return strings.Join(out, "\n")
}

// logCase is a whole file: what it is named, what it holds, and the log role it must get ("" for
// not a log at all).
type logCase struct {
	name, file, text, role string
	// note must appear in the output's notes.
	note string
}

func runLogCases(t *testing.T, cases []logCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, f := logOf(t, c.file, c.text)
			switch {
			case c.role == "" && f != nil:
				t.Fatalf("read as %s (formats %v), want not a log", f.Role, formats(r))
			case c.role == "":
				return
			case f == nil:
				t.Fatalf("not read as a log (formats %v), want %s", formats(r), c.role)
			case f.Role != c.role:
				t.Fatalf("role %s, want %s (notes %q)", f.Role, c.role, notesOf(r))
			}
			// The analyzer judges each line by its own level: the record holds the file as it was.
			if f.Content != c.text {
				t.Errorf("content changed:\n%q\nwant\n%q", f.Content, c.text)
			}
			if c.note != "" && !strings.Contains(notesOf(r), c.note) {
				t.Errorf("notes %q lack %q", notesOf(r), c.note)
			}
		})
	}
}

const (
	roleKubeProxy  = wire.RoleLogPrefix + wire.LogKubeProxy
	roleKubelet    = wire.RoleLogPrefix + wire.LogKubelet
	roleFlanneld   = wire.RoleLogPrefix + wire.LogFlanneld
	roleCalico     = wire.RoleLogPrefix + wire.LogCalico
	roleContainerd = wire.RoleLogPrefix + wire.LogContainerd
	roleUnknown    = wire.RoleLogPrefix + "unknown"
)

func TestLogTrimmedKlogHeader(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "space after the colon", file: "paste.txt", role: roleKubeProxy,
			text: `proxier.go: 1388] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57)"` + "\n"},
		{name: "no space, deprecated-flags warning names kube-proxy", file: "stderr.txt", role: roleKubeProxy,
			text: `server.go:241] "WARNING: all flags other than --config, --write-config-to, and --cleanup are deprecated. Please begin using a config file ASAP"` + "\n" +
				`run.go:74] "command failed" err="failed validate: invalid mode"` + "\n"},
		{name: "kubelet source files", file: "out.log", role: roleKubelet,
			text: "kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"rpc error\"\n" +
				"pod_workers.go:1298] \"Error syncing pod, skipping\" pod=\"shop/web-0\"\n"},
		{name: "no component clue", file: "out.log", role: roleUnknown,
			text: "reflector.go:325] Listing and watching *v1.Service\nshared_informer.go:311] Waiting for caches to sync\n"},
		{name: "a path with a line number is not a header", file: "notes.txt", role: "",
			text: "Look at proxier.go:1388 and winkernel/hns.go:210 for the calls.\n"},
	})
}

func TestLogStructuredBodies(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "kube-proxy message", file: "a.txt", role: roleKubeProxy,
			text: `"Skipped creating Hns LoadBalancer for nodePort resources" clusterIP="10.0.77.12" nodeport=30999 allEndpointsTerminating=false` + "\n"},
		{name: "several bodies", file: "b.txt", role: roleKubeProxy,
			text: "\"Syncing Policies\"  elapsed=\"12ms\"\n\"syncProxyRules complete\" elapsed=\"20.1ms\"\n\"Hns Endpoint resource\" ip=\"10.4.0.9\"\n"},
		{name: "quoted sentence without pairs", file: "c.txt", role: "",
			text: "\"Skipped creating it, as the docs say.\"\n"},
	})
}

func TestLogLogrusText(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "flannel fatal", file: "pod.log", role: roleFlanneld,
			text: "FATA[2022-06-07T08:09:10+02:00] rpc error: code = Internal desc = could not create IP forward entry: Access is denied. \n"},
		{name: "counter form", file: "pod.log", role: roleContainerd,
			text: "INFO[0000] starting containerd                           revision=abc version=v1.7.2\nWARN[0001] failed to load plugin io.containerd.snapshotter.v1.btrfs\nERRO[0002] failed to start shim\n"},
		{name: "level words without brackets are not logrus", file: "x.txt", role: "",
			text: "INFO this is a heading\nWARN do not do this\n"},
	})
}

func TestLogPanicTraces(t *testing.T) {
	kubeProxyTrace := "panic: runtime error: index out of range [0] with length 0\n\n" +
		"goroutine 118 [running]:\n" +
		"k8s.io/kubernetes/pkg/proxy/winkernel.(*Proxier).syncProxyRules(0xc0003a2000)\n" +
		"\t/workspace/src/k8s.io/kubernetes/pkg/proxy/winkernel/proxier.go:1310 +0x1f2a\n" +
		"k8s.io/kubernetes/pkg/util/async.(*BoundedFrequencyRunner).tryRun(0xc0002b8000)\n" +
		"\t/workspace/src/k8s.io/kubernetes/pkg/util/async/bounded_frequency_runner.go:292 +0xbe\n"
	runLogCases(t, []logCase{
		{name: "kube-proxy from its frames", file: "trace.txt", role: roleKubeProxy, text: kubeProxyTrace},
		// The frames win over a file name that says otherwise.
		{name: "frames beat the name", file: "kubelet.log", role: roleKubeProxy, text: kubeProxyTrace},
		{name: "starts mid-trace, kubelet", file: "crash.txt", role: roleKubelet,
			text: "        /src/k8s.io/kubernetes/pkg/kubelet/pleg/generic.go:221 +0x55\n" +
				"k8s.io/kubernetes/pkg/kubelet/pleg.(*GenericPLEG).Relist(0xc000c1e000)\n" +
				"        /src/k8s.io/kubernetes/pkg/kubelet/pleg/generic.go:180 +0x2f3\n" +
				"created by k8s.io/kubernetes/pkg/kubelet.(*Kubelet).Run\n"},
		{name: "flannel-io", file: "crash.txt", role: roleFlanneld,
			text: "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\n" +
				"github.com/flannel-io/flannel/pkg/backend/hostgw.(*HostgwBackend).RegisterNetwork(0xc0004e0000, {0x1e8f8c0, 0xc0000a4000})\n" +
				"\tC:/gopath/src/github.com/flannel-io/flannel/pkg/backend/hostgw/hostgw_windows.go:140 +0x9a1\n"},
		{name: "coreos/flannel", file: "crash.txt", role: roleFlanneld,
			text: "goroutine 7 [running]:\ngithub.com/coreos/flannel/subnet/kube.(*kubeSubnetManager).Run(0xc0001c4000)\n" +
				"\t/go/src/github.com/coreos/flannel/subnet/kube/kube.go:221 +0x3b\n"},
		{name: "calico", file: "crash.txt", role: roleCalico,
			text: "panic: boom\n\ngoroutine 33 [running]:\ngithub.com/projectcalico/calico/felix/dataplane/windows.(*WindowsDataplane).loopUpdatingDataplane(0xc000100000)\n" +
				"\t/go/src/github.com/projectcalico/calico/felix/dataplane/windows/win_dataplane.go:310 +0x77\n"},
		{name: "containerd", file: "crash.txt", role: roleContainerd,
			text: "panic: close of closed channel\n\ngoroutine 90 [running]:\ngithub.com/containerd/containerd/pkg/cri/server.(*criService).RunPodSandbox(0xc0003c0000, {0x2a1b2c0, 0xc000aa0000}, 0xc000bb0000)\n" +
				"\tC:/src/github.com/containerd/containerd/pkg/cri/server/sandbox_run.go:250 +0x1c40\n"},
		{name: "a trace of nothing known", file: "crash.txt", role: roleUnknown,
			text: "panic: oops\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/x/main.go:5 +0x27\n"},
	})
}

func TestLogJSONLines(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "ETW consumer prefix", file: "etw.txt", role: roleContainerd,
			text: `[7001] {"Timestamp":"2024-03-04T05:06:07.1234567+00:00","ProviderName":"ContainerD","Level":2,"Keywords":0,"Payload":{"EventName":"LogrusEntry","Message":"failed to delete task","Time":"2024-03-04T05:06:07+00:00"}}` + "\n" +
				`[7001] {"Timestamp":"2024-03-04T05:06:08.0000000+00:00","ProviderName":"ContainerD","Level":4,"Keywords":0,"Payload":{"EventName":"LogrusEntry","Message":"TearDown network for sandbox","Time":"2024-03-04T05:06:08+00:00"}}` + "\n"},
		{name: "structured logger", file: "x.json", role: roleUnknown,
			text: "{\"ts\":\"2024-01-01T00:00:00Z\",\"severity\":\"ERROR\",\"message\":\"connection refused\"}\n"},
		{name: "a JSON answer is not a log", file: "reply.json", role: "",
			text: "{\"code\": 100, \"msg\": \"error reading network config\"}\n"},
	})
}

func TestLogShortPastes(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "one line and a bare timestamp", file: "p.txt", role: roleFlanneld,
			text: "\nI0601 10:11:12.131415    2200 main.go:530] Determining IP address of default interface\n2023-06-01T10:11:13.000000000Z\n"},
		{name: "log lines around a bare timestamp", file: "p.txt", role: roleFlanneld,
			text: "FATA[2023-06-01T10:11:12Z] failed to register network: subnet manager not ready\n" +
				"E0601 10:11:14.000001    2200 main.go:210] Failed to find any valid interface to use\n2023-06-01T10:11:15.5Z\n"},
		{name: "prompt and prose among log lines", file: "session.txt", role: roleKubeProxy,
			text: "PS C:\\k> Get-Content .\\kube-proxy.log -Tail 4\n" +
				"Here is what it printed:\n" +
				"E0601 10:00:00.000001    512 proxier.go:1230] Policy creation failed: hcnCreateLoadBalancer failed in Win32\n" +
				"I0601 10:00:00.000002    512 proxier.go:1010] syncProxyRules complete\n"},
		{name: "one log line is not enough against prose", file: "p.txt", role: "",
			text: "We upgraded the nodes yesterday and things broke.\nI0601 10:00:00.000001 512 reflector.go:10] watch\n"},
	})
}

func TestLogBareMessages(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "kube-proxy policy", file: "err.txt", role: roleKubeProxy, note: "inferred from the message",
			text: "Policy creation failed: hcnCreateLoadBalancer failed in Win32: The object already exists. (0x803b0011)\n"},
		{name: "kube-proxy source vip", file: "err.txt", role: roleKubeProxy, note: "inferred from the message",
			text: "Source Vip endpoint creation failed\n"},
		{name: "kubelet sandbox", file: "kube-proxy-pod-event.txt", role: roleKubelet, note: "inferred from the message",
			text: "(combined from similar events): Failed to create pod sandbox: rpc error: code = Unknown desc = networkPlugin cni failed to set up pod \"kube-proxy-abcde_kube-system\" network: no network\n"},
		{name: "containerd sandbox network", file: "err.txt", role: roleContainerd,
			text: "failed to setup network for sandbox \"0a1b2c\": plugin type=\"sdnbridge\" failed (add): no route\n"},
		{name: "containerd task via hcsshim", file: "err.txt", role: roleContainerd,
			text: "   Error: failed to create containerd task: hcsshim::CreateComputeSystem web-1: The virtual machine could not be started.\n"},
		{name: "hcsshim without a failure", file: "err.txt", role: "",
			text: "hcsshim::CreateComputeSystem web-1\n"},
		{name: "a question quoting the message", file: "q.txt", role: "",
			text: "Policy creation failed: why does this happen?\n"},
		{name: "prose mentioning the message", file: "q.txt", role: "",
			text: "After the upgrade I see that policy creation failed: is this known?\n"},
		{name: "a report sentence", file: "q.txt", role: "",
			text: "The logs show Policy creation failed for our service.\n"},
		{name: "a long text with one such line", file: "long.txt", role: "",
			text: strings.Repeat("some other output line\n", 9) + "Policy creation failed: x\n"},
		{name: "mostly other words", file: "mix.txt", role: "",
			text: "Summary of the incident\nNodes affected: three\nPolicy creation failed: x\n"},
	})
}

func TestLogComponentChoice(t *testing.T) {
	flannelStart := "I0601 10:11:12.000001    2200 main.go:530] Determining IP address of default interface\n" +
		"I0601 10:11:12.000002    2200 main.go:244] Created subnet manager: Kubernetes Subnet Manager - win-1\n"
	// Equal content clues for kube-proxy and kubelet: the name decides.
	tie := "I0601 10:11:12.000001    2200 kubelet.go:100] ready\n" +
		"E0601 10:11:12.000002    2200 x.go:10] Policy creation failed\n"
	// A faint clue only (flanneld's kube.go).
	faint := "I0601 10:11:12.000001    2200 kube.go:300] Waiting for node controller\nI0601 10:11:12.000002    2200 kube.go:301] ok\n"
	runLogCases(t, []logCase{
		{name: "flannel start-up words", file: "out.txt", role: roleFlanneld, text: flannelStart},
		{name: "flannel words beat a kube-proxy name", file: "kube-proxy.log", role: roleFlanneld, text: flannelStart},
		{name: "tie, kubelet name", file: "kubelet.log", role: roleKubelet, text: tie},
		{name: "tie, kube-proxy name", file: "kube-proxy-windows-x1.log", role: roleKubeProxy, text: tie},
		{name: "faint clue and a flannel name", file: "kube-flannel-ds-windows-amd64-x1.log", role: roleFlanneld, text: faint, note: "file name"},
		{name: "faint clue, plain name", file: "out.log", role: roleUnknown, text: faint},
		{name: "a name alone does not decide", file: "kube-proxy.log", role: roleUnknown,
			text: "I0601 10:11:12.000001 1 reflector.go:1] watch\nI0601 10:11:12.000002 1 reflector.go:2] watch\n"},
		{name: "kube-proxy's own flags", file: "flags.log", role: roleKubeProxy,
			text: "I0601 10:11:12.000001 1 flags.go:59] FLAG: --ipvs-scheduler=\"\"\nI0601 10:11:12.000002 1 flags.go:59] FLAG: --masquerade-all=\"false\"\n"},
	})
}

// TestLogNegatives: common non-log files must not become logs, whatever their name.
func TestLogNegatives(t *testing.T) {
	runLogCases(t, []logCase{
		{name: "prose", file: "kube-proxy.log", role: "",
			text: "Hi all,\n\nWe run Windows nodes with flannel. Since Monday kube-proxy restarts every few minutes\nand the service is unreachable. Any idea what to check?\n"},
		{name: "powershell transcript", file: "kube-proxy.txt", role: "",
			text: "PS C:\\k> Get-Service kube-proxy\n\nStatus   Name               DisplayName\n------   ----               -----------\nRunning  kube-proxy         kube-proxy\n\nPS C:\\k> Get-HnsNetwork | Select Name, Type\n\nName   Type\n----   ----\ncbr0   L2Bridge\n"},
		{name: "yaml", file: "kubelet.yaml", role: "",
			text: "# pipeline settings\nsteps:\n  - name: build\n    run: go build ./...\n  - name: test\n    run: go test ./...\nenv:\n  GOFLAGS: \"-mod=mod\"\n"},
		{name: "csv", file: "containerd.csv", role: "",
			text: "\"Name\",\"Id\",\"CPU\"\n\"containerd\",\"4120\",\"12.5\"\n\"kubelet\",\"3312\",\"40.1\"\n\"kube-proxy\",\"2210\",\"3.2\"\n"},
		{name: "markdown notes", file: "notes.md", role: "",
			text: "# Notes\n\n- kube-proxy crashed\n- restarted the node\n"},
	})
}
