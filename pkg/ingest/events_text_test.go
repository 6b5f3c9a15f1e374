package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// kubeEventsOf decodes the kube.events records of r.
func kubeEventsOf(t *testing.T, r Recognition) []KubeEvent {
	t.Helper()
	var out []KubeEvent
	for _, rec := range records(r, KindKubeEvents) {
		var evs []KubeEvent
		if err := json.Unmarshal(rec.Data, &evs); err != nil {
			t.Fatal(err)
		}
		out = append(out, evs...)
	}
	return out
}

func hasFormat(r Recognition, f string) bool {
	for _, have := range formats(r) {
		if have == f {
			return true
		}
	}
	return false
}

func recognizeText(t *testing.T, text string) Recognition {
	t.Helper()
	r := Recognize("paste.txt", []byte(text))
	if len(r.Errors) > 0 {
		t.Fatalf("recogniser errors: %v", r.Errors)
	}
	return r
}

// TestDescribeEventsRows: Events rows without the describe block around them give the events a
// whole describe gives, the pod named by the messages and the node by the old From column.
func TestDescribeEventsRows(t *testing.T) {
	const sandboxMsg = `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "4f1c" network for pod "web-7d9f": networkPlugin cni failed to set up pod "web-7d9f_shop" network: hnsCall failed in Win32: The network was not found. (0x803b0001)`
	for _, c := range []struct {
		name, text string
		want       []KubeEvent // nil: no events at all
		node       string
	}{
		{name: "one row, old kubectl From column",
			text: "  Warning  FailedCreatePodSandBox  3m (x12 over 3m)  kubelet, win-node-7  " + sandboxMsg + "\n",
			want: []KubeEvent{{Namespace: "shop", Object: "pod/web-7d9f", Type: "Warning", Reason: "FailedCreatePodSandBox", LastSeen: "3m (x12 over 3m)", Message: sandboxMsg}},
			node: "win-node-7"},
		{name: "one row without indentation, new From column",
			text: "Warning  FailedCreatePodSandBox  41s  kubelet  Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"9a2e\": plugin type=\"sdnoverlay\" failed\n",
			want: []KubeEvent{{Type: "Warning", Reason: "FailedCreatePodSandBox", LastSeen: "41s", Message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "9a2e": plugin type="sdnoverlay" failed`}}},
		{name: "Events header, a scheduler row names the pod for all rows",
			text: "Events:\n" +
				"  Type     Reason                  Age                  From               Message\n" +
				"  ----     ------                  ----                 ----               -------\n" +
				"  Normal   Scheduled               12m                  default-scheduler  Successfully assigned kube-system/agent-x2v9q to win-b\n" +
				"  Warning  FailedCreatePodSandBox  2m10s (x40 over 12m) kubelet            Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox container for pod \"agent-x2v9q\": Error response from daemon: network nat not found\n" +
				"  Normal   SandboxChanged          90s (x41 over 12m)   kubelet            Pod sandbox changed, it will be killed and re-created.\n",
			want: []KubeEvent{
				{Namespace: "kube-system", Object: "pod/agent-x2v9q", Type: "Normal", Reason: "Scheduled", LastSeen: "12m", Message: "Successfully assigned kube-system/agent-x2v9q to win-b"},
				{Namespace: "kube-system", Object: "pod/agent-x2v9q", Type: "Warning", Reason: "FailedCreatePodSandBox", LastSeen: "2m10s (x40 over 12m)", Message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox container for pod "agent-x2v9q": Error response from daemon: network nat not found`},
				{Namespace: "kube-system", Object: "pod/agent-x2v9q", Type: "Normal", Reason: "SandboxChanged", LastSeen: "90s (x41 over 12m)", Message: "Pod sandbox changed, it will be killed and re-created."},
			},
			node: "win-b"},
		{name: "a message the terminal wrapped",
			text: "  Warning  FailedCreatePodSandBox  5m  kubelet, n1  Failed to create pod sandbox: rpc error: code = Unknown\n" +
				"           desc = hnsCall failed in Win32: Element not found. (0x490)\n\nPS C:\\> hostname\n",
			want: []KubeEvent{{Type: "Warning", Reason: "FailedCreatePodSandBox", LastSeen: "5m", Message: "Failed to create pod sandbox: rpc error: code = Unknown desc = hnsCall failed in Win32: Element not found. (0x490)"}},
			node: "n1"},
		{name: "rows of two nodes: no node hint",
			text: "  Warning  FailedMount  1m  kubelet, a  MountVolume.SetUp failed\n  Warning  FailedMount  1m  kubelet, b  MountVolume.SetUp failed\n",
			want: []KubeEvent{{Type: "Warning", Reason: "FailedMount", LastSeen: "1m", Message: "MountVolume.SetUp failed"}, {Type: "Warning", Reason: "FailedMount", LastSeen: "1m", Message: "MountVolume.SetUp failed"}}},

		// Negatives: prose and other tables that start the same way.
		{name: "prose starting with Warning", text: "Warning  the node restarted twice last night, see the kubelet log\n"},
		{name: "a row without an age", text: "  Warning  FailedCreatePodSandBox  kubelet  Failed to create pod sandbox: x\n"},
		{name: "a kubectl get events row", text: "LAST SEEN   TYPE      REASON                   OBJECT        MESSAGE\n5m          Warning   FailedCreatePodSandBox   pod/web-0     Failed to create pod sandbox: x\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			got := kubeEventsOf(t, r)
			if c.want == nil {
				if hasFormat(r, "kubectl-describe-events") {
					t.Fatalf("read as describe events: %+v", got)
				}
				return
			}
			if !hasFormat(r, "kubectl-describe-events") {
				t.Fatalf("formats %v, want kubectl-describe-events", formats(r))
			}
			if len(got) != len(c.want) {
				t.Fatalf("events %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("event %d:\n%+v\nwant\n%+v", i, got[i], c.want[i])
				}
			}
			var hosts []string
			for _, rec := range records(r, wire.KindOSInfo) {
				var o wire.OSInfo
				_ = json.Unmarshal(rec.Data, &o)
				hosts = append(hosts, o.Hostname)
			}
			if strings.Join(hosts, ",") != c.node {
				t.Errorf("node hint %v, want %q", hosts, c.node)
			}
			// The Warning messages reach the analyzer as kubelet log lines, as a describe's do.
			if c.want[0].Type == "Warning" {
				f := fileOf(t, r, wire.RoleLogPrefix+wire.LogKubelet)
				if !strings.Contains(f.Content, "W "+c.want[0].Reason) {
					t.Errorf("kubelet messages: %q", f.Content)
				}
			}
		})
	}
}

// TestDescribeEventsBesideDescribe: rows inside a whole describe are that pod's, read once;
// rows pasted after the next prompt are read on their own.
func TestDescribeEventsBesideDescribe(t *testing.T) {
	text := "Name:         web-0\nNamespace:    shop\nNode:         win-1/10.0.0.4\nIP:           10.244.1.9\nEvents:\n" +
		"  Type     Reason   Age  From     Message\n  ----     ------   ---  ----     -------\n" +
		"  Warning  BackOff  1m   kubelet  Back-off restarting failed container\n" +
		"PS C:\\> kubectl describe pod db-0 | Select-Object -Last 2\n" +
		"  Warning  Unhealthy  30s (x3 over 1m)  kubelet  Readiness probe failed: connection refused\n"
	r := recognizeText(t, text)
	evs := kubeEventsOf(t, r)
	if len(evs) != 2 {
		t.Fatalf("events %+v, want one from the describe and one from the bare row", evs)
	}
	if evs[0].Object != "pod/web-0" || evs[0].Reason != "BackOff" || evs[1].Object != "" || evs[1].Reason != "Unhealthy" {
		t.Errorf("events %+v", evs)
	}
}

// TestKubeletEventMessage: a kubelet event message on its own line is one Warning event, its
// reason inferred from the kubelet's own wording; anything else is left alone. The messages sit
// in a pasted session (a file holding nothing but the message is a bare log line, which the log
// reader takes first: TestKubeletEventMessageAlone).
func TestKubeletEventMessage(t *testing.T) {
	const before, after = "PS C:\\> kubectl get events -A -o custom-columns=MESSAGE:.message --no-headers\n", "PS C:\\> hostname\nwin-3\n"
	for _, c := range []struct {
		name, msg       string
		reason, ns, pod string
		wantNone        bool
	}{
		{name: "combined, pod from the CNI's pod ID",
			msg:    `(combined from similar events): Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "aa11" network for pod "proxy-5k2lx": networkPlugin cni failed to set up pod "proxy-5k2lx_kube-system" network: error while GETHNSNewtorkByName(vxlan0): Network vxlan0 not found`,
			reason: "FailedCreatePodSandBox", ns: "kube-system", pod: "pod/proxy-5k2lx"},
		{name: "pod status failure, pod from \"for pod\"",
			msg:    `Unable to get pod sandbox status: rpc error: code = Unknown desc = failed to get sandbox ip for pod "api-1": hcnGetEndpoint failed`,
			reason: "FailedPodSandBoxStatus", pod: "pod/api-1"},
		{name: "no pod named",
			msg:    "Failed to create pod sandbox: rpc error: code = DeadlineExceeded desc = context deadline exceeded",
			reason: "FailedCreatePodSandBox"},
		{name: "a sentence about the message", msg: "We keep getting Failed to create pod sandbox: rpc error on every node.", wantNone: true},
		{name: "the prefix alone", msg: "Failed to create pod sandbox: ", wantNone: true},
		{name: "a different kubelet message", msg: "Back-off restarting failed container web in pod web-0_shop", wantNone: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, before+c.msg+"\n"+after)
			evs := kubeEventsOf(t, r)
			if c.wantNone {
				if hasFormat(r, "kubelet-event-message") {
					t.Fatalf("read as a kubelet event: %+v", evs)
				}
				return
			}
			if !hasFormat(r, "kubelet-event-message") {
				t.Fatalf("formats %v, want kubelet-event-message", formats(r))
			}
			if len(evs) != 1 || evs[0].Type != "Warning" || evs[0].Reason != c.reason || evs[0].Namespace != c.ns || evs[0].Object != c.pod ||
				evs[0].Message != c.msg {
				t.Errorf("events %+v", evs)
			}
			if f := fileOf(t, r, wire.RoleLogPrefix+wire.LogKubelet); !strings.Contains(f.Content, c.msg) {
				t.Errorf("kubelet messages: %q", f.Content)
			}
		})
	}
}

// TestKubeletEventMessageAlone: a file that is only the message reaches the analyzer as the
// kubelet's words either way: as an event, or as a bare kubelet log line.
func TestKubeletEventMessageAlone(t *testing.T) {
	msg := "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"77ab\": hnsCall failed in Win32: The object already exists. (0x803b0011)\n"
	r := recognizeText(t, msg)
	if _, f := logOf(t, "x", msg); f == nil || f.Role != wire.RoleLogPrefix+wire.LogKubelet || !strings.Contains(f.Content, "0x803b0011") {
		t.Fatalf("formats %v: the message does not reach the kubelet's log", formats(r))
	}
}

// TestWinEventTable: Get-WinEvent and Get-EventLog tables, wrapped or cut, into the events
// Get-WinEvent | ConvertTo-Json gives.
func TestWinEventTable(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []wire.Event
	}{
		{name: "rows without a header, message wrapped to its column",
			text: "3/4/2025 9:05:07 PM 7031 Error            The Host Network Service service terminated\n" +
				"                                          unexpectedly.  It has done this 2 time(s).  The\n" +
				"                                          following corrective action will be taken in 10000\n" +
				"                                          milliseconds: Restart the service.\n" +
				"3/4/2025 9:05:17 PM 7036 Information      The Host Network Service service entered the running state.\n",
			want: []wire.Event{
				{Channel: "System", Provider: "Service Control Manager", ID: 7031, Level: "Error", Time: time.Date(2025, 3, 4, 21, 5, 7, 0, time.UTC),
					Message: "The Host Network Service service terminated unexpectedly.  It has done this 2 time(s).  The following corrective action will be taken in 10000 milliseconds: Restart the service."},
				{Channel: "System", Provider: "Service Control Manager", ID: 7036, Level: "Information", Time: time.Date(2025, 3, 4, 21, 5, 17, 0, time.UTC),
					Message: "The Host Network Service service entered the running state."},
			}},
		{name: "Get-WinEvent with its command, provider group and header",
			text: "PS C:\\> Get-WinEvent -LogName Microsoft-Windows-Hyper-V-VmSwitch-Operational -MaxEvents 1\n\n" +
				"   ProviderName: Microsoft-Windows-Hyper-V-VmSwitch\n\n" +
				"TimeCreated                      Id LevelDisplayName Message\n" +
				"-----------                      -- ---------------- -------\n" +
				"2025-01-02 03:04:05             232 Error            NIC 1C3E--5A removed from switch\n",
			want: []wire.Event{{Channel: "Microsoft-Windows-Hyper-V-VmSwitch-Operational", Provider: "Microsoft-Windows-Hyper-V-VmSwitch", ID: 232, Level: "Error",
				Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Message: "NIC 1C3E--5A removed from switch"}}},
		{name: "Get-EventLog: instance ID, a cut source, no year",
			text: "PS C:\\> Get-EventLog -LogName System -Newest 1\n\n" +
				"   Index Time          EntryType   Source                 InstanceID Message\n" +
				"   ----- ----          ---------   ------                 ---------- -------\n" +
				"    4711 Mar 04 21:05  Error       Service Control M...   3221232503 The Host Network Service service terminated unexpected...\n",
			want: []wire.Event{{Channel: "System", Provider: "Service Control Manager", ID: 7031, Level: "Error",
				Message: "The Host Network Service service terminated unexpected...", RecordID: 4711}}},
		{name: "not SCM, no command: no channel",
			text: "1/2/2025 3:04:05 AM 4 Warning          Something else happened\n",
			want: []wire.Event{{ID: 4, Level: "Warning", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Message: "Something else happened"}}},
		// Negatives.
		{name: "a log line with a date", text: "3/4/2025 9:05:07 PM the service was restarted by hand\n"},
		{name: "a date, a number and prose", text: "3/4/2025 9:05:07 PM 12 minutes later it was back\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recognizeText(t, c.text)
			if c.want == nil {
				if hasFormat(r, "windows-events-table") {
					t.Fatalf("read as events: %v", formats(r))
				}
				return
			}
			var got []wire.Event
			one(t, r, wire.KindEvents, &got)
			if len(got) != len(c.want) {
				t.Fatalf("events %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("event %d:\n%+v\nwant\n%+v", i, got[i], c.want[i])
				}
			}
		})
	}
}
