// Package debugpod manages the lifecycle of the HostProcess debug pod that kubectl winnet
// runs on a Windows node: building its spec, creating (or reusing) it, waiting until it can
// take an exec, and deleting it again even after Ctrl-C.
//
// Everything here talks to the cluster through kubernetes.Interface only, so the logic is
// tested against client-go's fake clientset.
package debugpod

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// DefaultNamespace is where debug pods run; manifests/namespace.yaml creates it with the
	// privileged Pod Security level that HostProcess pods need.
	DefaultNamespace = "winnet-system"
	// DefaultImage is the minimal HostProcess base image. A HostProcess container runs host
	// binaries, so the image only has to exist; it need not match the host's Windows version.
	DefaultImage = "mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0"

	// LabelManagedBy marks every pod this package creates, so `kubectl winnet cleanup` can
	// find leftovers by label.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on our pods.
	ManagedByValue = "kubectl-winnet"
	// LabelNode holds NodeLabelValue(node name), to find a node's debug pods by label.
	LabelNode = "winnet.kubectl.dev/node"
	// AnnotationKeep is "true" on pods the user asked to keep; later runs may reuse them.
	AnnotationKeep = "winnet.kubectl.dev/keep"
	// AnnotationCreatedAt records when the plugin created the pod (RFC 3339, UTC). It is set by
	// Ensure, not Spec, so that Spec stays a pure function of its options.
	AnnotationCreatedAt = "winnet.kubectl.dev/created-at"

	// ContainerName is the debug pod's only container: the target of every exec.
	ContainerName = "winnet"

	// DefaultDeadline bounds the debug pod's whole life (activeDeadlineSeconds).
	DefaultDeadline = 30 * time.Minute
	// MaxDeadline is the longest activeDeadlineSeconds manifests/admission.yaml admits.
	MaxDeadline = 4 * time.Hour
	// AdmissionPolicyName is the ValidatingAdmissionPolicy in manifests/admission.yaml.
	AdmissionPolicyName = "winnet-debug-pods"
	// DefaultTimeout bounds how long Ensure waits for the pod to be running.
	DefaultTimeout = 5 * time.Minute
)

// The requests are deliberately small: the pod mostly sleeps, and a request the node cannot
// satisfy would keep it from being admitted on a busy node — exactly the node being debugged.
// There are no limits: a HostProcess container's limits apply to its job object, which would
// also cap the collector started through exec.
var (
	requestCPU    = resource.MustParse("10m")
	requestMemory = resource.MustParse("64Mi")
)

// terminationGracePeriod is short because the container only sleeps: there is nothing to
// flush, and a slow stop only delays the deletion the user is waiting for.
const terminationGracePeriod int64 = 1

// maxGenerateNameLen keeps generated names within a DNS label (63), counting the five random
// characters the API server appends to generateName.
const maxGenerateNameLen = validation.DNS1123LabelMaxLength - 5

// Options says which debug pod to run and how long to wait for it.
type Options struct {
	// Namespace of the debug pod; DefaultNamespace when empty.
	Namespace string
	// Image of the debug container; DefaultImage when empty.
	Image string
	// Node the pod is pinned to (nodeName); its taints become tolerations. Required by Ensure.
	Node *corev1.Node
	// Deadline is the pod's activeDeadlineSeconds, its server-side self-destruct;
	// DefaultDeadline when zero.
	Deadline time.Duration
	// Keep leaves the pod in place after Cleanup, marked for reuse by later runs.
	Keep bool
	// Timeout bounds the wait for the pod to be running; DefaultTimeout when zero.
	Timeout time.Duration
	// Progress, when set, receives one sentence per state change, for the status line.
	Progress func(msg string)
}

// withDefaults fills the zero fields. It does not validate: see Ensure.
func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Deadline == 0 {
		o.Deadline = DefaultDeadline
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o
}

func (o Options) nodeName() string {
	if o.Node == nil {
		return ""
	}
	return o.Node.Name
}

// deadlineSeconds rounds up, so a deadline is never shorter than asked, and is at least 1
// (activeDeadlineSeconds must be positive).
func deadlineSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// NodeLabelValue is the value of LabelNode for a node. Node names are DNS subdomains of up to
// 253 characters but label values stop at 63, so a name that is not a valid label value is
// replaced by a hash of it. Readers must still compare spec.nodeName: the label only narrows
// the list.
func NodeLabelValue(node string) string {
	if len(validation.IsValidLabelValue(node)) == 0 {
		return node
	}
	sum := sha256.Sum256([]byte(node))
	return "sha256-" + hex.EncodeToString(sum[:])[:40]
}

// generateNamePrefix is "winnet-<node>-", reduced to a DNS label: dots and any other character
// a label cannot hold become dashes, and the node part is cut so the generated name fits in 63.
func generateNamePrefix(node string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(node) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	part := b.String()
	const head = "winnet-"
	if limit := maxGenerateNameLen - len(head) - 1; len(part) > limit {
		part = part[:limit]
	}
	part = strings.Trim(part, "-")
	if part == "" {
		return head
	}
	return head + part + "-"
}

// sleepCommand keeps the container alive so exec has a target, and no longer than the pod's
// deadline: if the kubelet cannot enforce activeDeadlineSeconds (it restarts, or loses the API
// server), the process still ends by itself and, with restartPolicy Never, nothing restarts it.
//
// Why PowerShell's Start-Sleep: a HostProcess container runs the host's own binaries (the base
// image is empty), and powershell.exe is on every Windows Server host that can run HostProcess
// containers. It sleeps exactly as long as asked and reads as what it is in `kubectl describe`.
// The alternatives are worse: timeout.exe exits at once without a console ("Input redirection
// is not supported"), and `ping -n` only approximates seconds. -NoProfile matters beyond
// start-up time: the host's profile scripts would otherwise run as SYSTEM; -NonInteractive
// makes PowerShell fail rather than prompt on a console nobody reads.
func sleepCommand(seconds int64) []string {
	return []string{
		"powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive",
		"-Command", "Start-Sleep -Seconds " + strconv.FormatInt(seconds, 10),
	}
}

// tolerations tolerates each taint the node has right now, whatever its value, so the pod is
// admitted on tainted Windows nodes (their usual os=windows:NoSchedule taint included).
func tolerations(node *corev1.Node) []corev1.Toleration {
	if node == nil {
		return nil
	}
	type keyEffect struct {
		key    string
		effect corev1.TaintEffect
	}
	seen := map[keyEffect]bool{}
	var out []corev1.Toleration
	for _, t := range node.Spec.Taints {
		ke := keyEffect{t.Key, t.Effect}
		if t.Key == "" || seen[ke] {
			continue
		}
		seen[ke] = true
		out = append(out, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpExists, Effect: t.Effect})
	}
	return out
}

// Spec builds the debug pod for o, applying the defaults of zero fields. It is pure: the same
// options always give the same pod. A nil o.Node gives a pod with no nodeName, which Ensure
// refuses to create.
func Spec(o Options) *corev1.Pod {
	o = o.withDefaults()
	node := o.nodeName()
	keep := "false"
	if o.Keep {
		keep = "true"
	}
	deadline := deadlineSeconds(o.Deadline)
	hostProcess := true
	systemUser := `NT AUTHORITY\SYSTEM`
	grace := terminationGracePeriod
	no := false

	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generateNamePrefix(node),
			Namespace:    o.Namespace,
			Labels: map[string]string{
				LabelManagedBy: ManagedByValue,
				LabelNode:      NodeLabelValue(node),
			},
			Annotations: map[string]string{AnnotationKeep: keep},
		},
		Spec: corev1.PodSpec{
			OS:                            &corev1.PodOS{Name: corev1.Windows},
			NodeName:                      node,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &deadline,
			TerminationGracePeriodSeconds: &grace,
			// The collector reads the node, never the API: no token in a SYSTEM process.
			AutomountServiceAccountToken: &no,
			EnableServiceLinks:           &no,
			SecurityContext: &corev1.PodSecurityContext{
				WindowsOptions: &corev1.WindowsSecurityContextOptions{
					HostProcess:   &hostProcess,
					RunAsUserName: &systemUser,
				},
			},
			Tolerations: tolerations(o.Node),
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           o.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         sleepCommand(deadline),
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    requestCPU,
						corev1.ResourceMemory: requestMemory,
					},
				},
			}},
		},
	}
}
