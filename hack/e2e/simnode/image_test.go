package simnode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-winnet/winnet/hack/e2e/simnode/wincmd"
)

func TestImageFromAnnotations(t *testing.T) {
	yes := true
	hpc := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
		WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: &yes}}}}
	if !isHostProcess(hpc) {
		t.Fatal("a pod-level HostProcess pod is not seen as one")
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: map[string]string{
			AnnotationTools: "NSLOOKUP.exe, powershell.exe",
			AnnotationDNS:   "Kubernetes.default.svc.cluster.local.=10.96.0.1,two.example=10.0.0.7 10.0.0.8",
			AnnotationOpen:  "10.96.0.1:443",
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}}},
	}
	if isHostProcess(pod) {
		t.Fatal("an ordinary pod is seen as HostProcess")
	}
	h := &wincmd.Host{}
	if err := imageFromAnnotations(pod, h); err != nil {
		t.Fatal(err)
	}
	want := &wincmd.Host{
		Tools: []string{"nslookup.exe", "powershell.exe"},
		DNS:   map[string][]string{"kubernetes.default.svc.cluster.local": {"10.96.0.1"}, "two.example": {"10.0.0.7", "10.0.0.8"}},
		Open:  []string{"10.96.0.1:443"},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	pod.Annotations[AnnotationDNS] = "no-equals-sign"
	if err := imageFromAnnotations(pod, &wincmd.Host{}); err == nil {
		t.Fatal("a malformed DNS annotation was accepted")
	}
}
