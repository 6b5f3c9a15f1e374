package debugpod

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/kubectl-winnet/winnet/pkg/usererr"
)

// Sentinels for every state a user can fix. Errors returned by this package wrap one of them
// (test with errors.Is) and, for API failures, also the API status error, so
// apierrors.IsForbidden and friends keep working. The sentinel's text is only a label; the
// returned error's text is the full sentence with the fix.
var (
	// ErrNamespaceNotFound: the debug namespace does not exist.
	ErrNamespaceNotFound = errors.New("debug namespace not found")
	// ErrPodSecurity: Pod Security admission refused the HostProcess pod.
	ErrPodSecurity = errors.New("debug pod refused by pod security admission")
	// ErrForbidden: RBAC does not let the user manage pods in the debug namespace.
	ErrForbidden = errors.New("not allowed to manage debug pods")
	// ErrQuotaExceeded: a ResourceQuota in the debug namespace refused the pod.
	ErrQuotaExceeded = errors.New("debug pod refused by a resource quota")
	// ErrAdmissionDenied: another admission step (a policy webhook, the service account
	// plugin) refused the pod.
	ErrAdmissionDenied = errors.New("debug pod refused by admission")
	// ErrInvalidPod: the API server found the pod spec invalid for this cluster.
	ErrInvalidPod = errors.New("debug pod spec rejected as invalid")

	// ErrImagePull: the node cannot pull the debug image.
	ErrImagePull = errors.New("node cannot pull the debug image")
	// ErrContainerStart: the node could not create or start the HostProcess container.
	ErrContainerStart = errors.New("node cannot start the debug container")
	// ErrPodFailed: the pod ended (failed, was rejected by the kubelet, or exited) before
	// it was ready.
	ErrPodFailed = errors.New("debug pod ended before it was ready")
	// ErrPodDeleted: someone else deleted the pod while we waited for it.
	ErrPodDeleted = errors.New("debug pod deleted while starting")
	// ErrTimeout: the pod was not running within Options.Timeout.
	ErrTimeout = errors.New("timed out waiting for the debug pod")
)

func newError(kind, cause error, format string, args ...any) error {
	return usererr.New(kind, cause, format, args...)
}

// statusMessage is what the API server said, without client-side decoration.
func statusMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}

// fieldErrors lists an Invalid status's causes as "field: message", which is how the API
// server phrases them; the top-level message repeats them less readably.
func fieldErrors(err error) string {
	var s apierrors.APIStatus
	if !errors.As(err, &s) || s.Status().Details == nil || len(s.Status().Details.Causes) == 0 {
		return statusMessage(err)
	}
	var parts []string
	for _, c := range s.Status().Details.Causes {
		if c.Field != "" {
			parts = append(parts, c.Field+": "+c.Message)
		} else {
			parts = append(parts, c.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// isRBACDenial tells RBAC's refusal ("User "x" cannot create resource "pods" ...") apart from
// admission plugins, which answer Forbidden too.
func isRBACDenial(msg string) bool {
	return strings.Contains(msg, " cannot ") && strings.Contains(msg, " resource ")
}

// forbiddenError phrases an RBAC refusal of verb on pods (or pods/sub) in ns.
func forbiddenError(verb, resource, ns string, err error) error {
	canI := "kubectl auth can-i " + verb + " pods -n " + ns
	if sub, ok := strings.CutPrefix(resource, "pods/"); ok {
		canI = "kubectl auth can-i " + verb + " pods --subresource=" + sub + " -n " + ns
	}
	return newError(ErrForbidden, err,
		"you are not allowed to %s %s in namespace %s (%s); ask an admin to bind the Role winnet-debugger from manifests/rbac.yaml to you (check with: %s)",
		verb, resource, ns, statusMessage(err), canI)
}

// apiError maps a failed call other than create; RBAC refusals get a sentence, the rest a
// wrap naming what was being done.
func apiError(doing, verb, ns string, err error) error {
	if apierrors.IsForbidden(err) && isRBACDenial(statusMessage(err)) {
		return forbiddenError(verb, "pods", ns, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// createError turns a refused pod create into a sentence saying who refused and what to do.
func createError(o Options, err error) error {
	ns := o.Namespace
	msg := statusMessage(err)
	switch {
	case apierrors.IsNotFound(err):
		return newError(ErrNamespaceNotFound, err,
			"namespace %s does not exist: ask an admin to apply manifests/namespace.yaml, or pass --debug-namespace with a namespace that allows privileged pods",
			ns)
	case apierrors.IsForbidden(err) && strings.Contains(msg, "violates PodSecurity"):
		return newError(ErrPodSecurity, err,
			"namespace %[1]s does not allow HostProcess pods (%[2]s); the debug pod needs the \"privileged\" Pod Security level: an admin must run `kubectl label namespace %[1]s pod-security.kubernetes.io/enforce=privileged --overwrite` (kubectl winnet never relabels a namespace itself), or pass --debug-namespace with a namespace that already allows it",
			ns, msg)
	case apierrors.IsForbidden(err) && (strings.Contains(msg, "exceeded quota") || strings.Contains(msg, "failed quota")):
		return newError(ErrQuotaExceeded, err,
			"a ResourceQuota in namespace %[1]s refused the debug pod, which requests cpu %[2]s and memory %[3]s and sets no limits (%[4]s); remove leftover debug pods with `kubectl winnet cleanup`, ask an admin to adjust the quota (kubectl describe resourcequota -n %[1]s), or pass --debug-namespace",
			ns, requestCPU.String(), requestMemory.String(), msg)
	case apierrors.IsForbidden(err) && strings.Contains(msg, "error looking up service account"):
		return newError(ErrAdmissionDenied, err,
			"namespace %[1]s has no default ServiceAccount yet (%[2]s); kube-controller-manager creates it shortly after the namespace: retry in a few seconds, or ask an admin to create it (kubectl create serviceaccount default -n %[1]s)",
			ns, msg)
	case strings.Contains(msg, "ValidatingAdmissionPolicy '"+AdmissionPolicyName+"'"):
		return newError(ErrAdmissionDenied, err,
			"winnet's own admission policy refused the debug pod in namespace %s (%s); it admits only the pod kubectl winnet builds by default: drop --image unless an admin added that image to allowedImages in manifests/admission.yaml, and keep --debug-pod-deadline within 1m to 4h",
			ns, msg)
	case apierrors.IsForbidden(err) && isRBACDenial(msg):
		return forbiddenError("create", "pods", ns, err)
	case apierrors.IsForbidden(err):
		return newError(ErrAdmissionDenied, err,
			"an admission policy refused the debug pod in namespace %s (%s); the debug pod is a privileged HostProcess pod by design: ask the policy's owner to exempt this namespace, or pass --debug-namespace with one that is exempt",
			ns, msg)
	case apierrors.IsInvalid(err):
		fields := fieldErrors(err)
		advice := "check --image and --debug-namespace, and report this if they are right"
		if strings.Contains(fields, "disallowed by cluster policy") {
			advice = "this cluster forbids privileged pods, which HostProcess pods are: its API server runs with --allow-privileged=false, and kubectl winnet cannot work until an admin allows them"
		}
		return newError(ErrInvalidPod, err, "the API server rejected the debug pod for node %s as invalid (%s); %s",
			o.nodeName(), fields, advice)
	}
	return fmt.Errorf("creating the debug pod in namespace %s for node %s: %w", ns, o.nodeName(), err)
}

// transient reports an error that says nothing about the request, only that the API server
// could not answer it now: refused or reset connections (a restart), an early EOF, 503, 429
// and server-side timeouts. Trying again later may succeed.
func transient(err error) bool {
	if err == nil {
		return false
	}
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
}
