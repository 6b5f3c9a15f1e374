package debugpod

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

func windowsNode(name string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/os": "windows"}},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
}

func ptr[T any](v T) *T { return &v }

// TestSpecDefaults pins the whole pod, so any change to what we ask of a node is deliberate.
func TestSpecDefaults(t *testing.T) {
	got := Spec(Options{Node: windowsNode("akswin000001", corev1.Taint{Key: "os", Value: "windows", Effect: corev1.TaintEffectNoSchedule})})
	want := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "winnet-akswin000001-",
			Namespace:    "winnet-system",
			Labels: map[string]string{
				"app.kubernetes.io/managed-by": "kubectl-winnet",
				"winnet.kubectl.dev/node":      "akswin000001",
			},
			Annotations: map[string]string{"winnet.kubectl.dev/keep": "false"},
		},
		Spec: corev1.PodSpec{
			OS:                            &corev1.PodOS{Name: corev1.Windows},
			NodeName:                      "akswin000001",
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr(int64(1800)),
			TerminationGracePeriodSeconds: ptr(int64(1)),
			AutomountServiceAccountToken:  ptr(false),
			EnableServiceLinks:            ptr(false),
			SecurityContext: &corev1.PodSecurityContext{
				WindowsOptions: &corev1.WindowsSecurityContextOptions{
					HostProcess:   ptr(true),
					RunAsUserName: ptr(`NT AUTHORITY\SYSTEM`),
				},
			},
			Tolerations: []corev1.Toleration{{Key: "os", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{
				Name:            "winnet",
				Image:           "mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0",
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", "Start-Sleep -Seconds 1800"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("10m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				}},
			}},
		},
	}
	// Semantic: a Quantity caches its string form once printed, which DeepEqual would see.
	if !equality.Semantic.DeepEqual(want, got) {
		t.Errorf("Spec() mismatch (-want +got):\n%s", yamlDiff(t, want, got))
	}
}

// yamlDiff lists the YAML lines only one side has: enough to see what changed in a pod.
func yamlDiff(t *testing.T, want, got any) string {
	t.Helper()
	lines := func(v any) []string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	w, g := lines(want), lines(got)
	count := map[string]int{}
	for _, l := range g {
		count[l]++
	}
	var out []string
	for _, l := range w {
		if count[l] > 0 {
			count[l]--
			continue
		}
		out = append(out, "-"+l)
	}
	count = map[string]int{}
	for _, l := range w {
		count[l]++
	}
	for _, l := range g {
		if count[l] > 0 {
			count[l]--
			continue
		}
		out = append(out, "+"+l)
	}
	return strings.Join(out, "\n")
}

func TestSpec(t *testing.T) {
	long := strings.Repeat("averyveryverylongwindowsnodename.", 5) + "example.com"
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, p *corev1.Pod)
	}{
		{
			name: "namespace, image and keep are honoured",
			opts: Options{Namespace: "ops", Image: "registry.local/hpc:v2", Keep: true, Node: windowsNode("n1")},
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Namespace != "ops" || p.Spec.Containers[0].Image != "registry.local/hpc:v2" || p.Annotations[AnnotationKeep] != "true" {
					t.Errorf("got namespace %q image %q keep %q", p.Namespace, p.Spec.Containers[0].Image, p.Annotations[AnnotationKeep])
				}
			},
		},
		{
			name: "deadline rounds up and bounds the sleep",
			opts: Options{Node: windowsNode("n1"), Deadline: 90*time.Second + 500*time.Millisecond},
			check: func(t *testing.T, p *corev1.Pod) {
				if got := *p.Spec.ActiveDeadlineSeconds; got != 91 {
					t.Errorf("activeDeadlineSeconds = %d, want 91", got)
				}
				if cmd := p.Spec.Containers[0].Command; cmd[len(cmd)-1] != "Start-Sleep -Seconds 91" {
					t.Errorf("command = %q, want a sleep of 91 seconds", cmd)
				}
			},
		},
		{
			name: "sub-second deadline is still a positive activeDeadlineSeconds",
			opts: Options{Node: windowsNode("n1"), Deadline: time.Millisecond},
			check: func(t *testing.T, p *corev1.Pod) {
				if got := *p.Spec.ActiveDeadlineSeconds; got != 1 {
					t.Errorf("activeDeadlineSeconds = %d, want 1", got)
				}
			},
		},
		{
			name: "every taint is tolerated once, whatever its value",
			opts: Options{Node: windowsNode("n1",
				corev1.Taint{Key: "os", Value: "windows", Effect: corev1.TaintEffectNoSchedule},
				corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute},
				corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectPreferNoSchedule},
				corev1.Taint{Key: "os", Value: "win2022", Effect: corev1.TaintEffectNoSchedule},
				corev1.Taint{Key: "os", Effect: corev1.TaintEffectNoExecute},
			)},
			check: func(t *testing.T, p *corev1.Pod) {
				want := []corev1.Toleration{
					{Key: "os", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
					{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
					{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule},
					{Key: "os", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				}
				if !reflect.DeepEqual(want, p.Spec.Tolerations) {
					t.Errorf("tolerations\nwant %+v\n got %+v", want, p.Spec.Tolerations)
				}
			},
		},
		{
			name: "dotted node name becomes a DNS label prefix",
			opts: Options{Node: windowsNode("ip-10-0-1-23.ec2.internal")},
			check: func(t *testing.T, p *corev1.Pod) {
				if p.GenerateName != "winnet-ip-10-0-1-23-ec2-internal-" {
					t.Errorf("generateName = %q", p.GenerateName)
				}
				if p.Labels[LabelNode] != "ip-10-0-1-23.ec2.internal" {
					t.Errorf("node label = %q, want the node name itself", p.Labels[LabelNode])
				}
			},
		},
		{
			name: "long node name is truncated and hashed",
			opts: Options{Node: windowsNode(long)},
			check: func(t *testing.T, p *corev1.Pod) {
				generated := p.GenerateName + "x7k2q"
				if errs := validation.IsDNS1123Label(generated); len(errs) > 0 {
					t.Errorf("generated name %q is not a DNS label: %v", generated, errs)
				}
				if !strings.HasPrefix(p.GenerateName, "winnet-averyveryverylong") {
					t.Errorf("generateName %q lost the node name's start", p.GenerateName)
				}
				v := p.Labels[LabelNode]
				if errs := validation.IsValidLabelValue(v); len(errs) > 0 || v == long {
					t.Errorf("node label %q: %v", v, errs)
				}
				if p.Spec.NodeName != long {
					t.Errorf("nodeName = %q, want the full name", p.Spec.NodeName)
				}
			},
		},
		{
			name: "nil node gives an unpinned pod instead of a panic",
			opts: Options{},
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Spec.NodeName != "" || p.Spec.Tolerations != nil || p.GenerateName != "winnet-" {
					t.Errorf("nodeName %q tolerations %v generateName %q", p.Spec.NodeName, p.Spec.Tolerations, p.GenerateName)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Spec(tt.opts))
		})
	}
}

func TestNodeLabelValue(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		node     string
		wantSelf bool
	}{
		{"akswin000001", true},
		{"ip-10-0-1-23.ec2.internal", true},
		{strings.Repeat("a", 63), true},
		{long, false},
		{"-bad-", false},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			got := NodeLabelValue(tt.node)
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Fatalf("NodeLabelValue(%q) = %q, not a label value: %v", tt.node, got, errs)
			}
			if (got == tt.node) != tt.wantSelf {
				t.Errorf("NodeLabelValue(%q) = %q, want the name itself: %v", tt.node, got, tt.wantSelf)
			}
		})
	}
	if NodeLabelValue(long) == NodeLabelValue(long+"b") {
		t.Error("two long names hash to the same label value")
	}
}

func TestShortDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{
		5 * time.Minute:                   "5m",
		time.Hour:                         "1h",
		90 * time.Second:                  "1m30s",
		10 * time.Second:                  "10s",
		20 * time.Millisecond:             "20ms",
		time.Hour + 30*time.Second:        "1h0m30s",
		2*time.Hour + 5*time.Minute:       "2h5m",
		2*time.Hour + 50*time.Minute:      "2h50m",
		2*time.Hour + 50*time.Millisecond: "2h0m0.05s",
	} {
		t.Run(want, func(t *testing.T) {
			if got := shortDuration(in); got != want {
				t.Errorf("shortDuration(%v) = %q, want %q", in, got, want)
			}
		})
	}
}
