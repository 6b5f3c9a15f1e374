package debugpod

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

// manifests/admission.yaml and the pod Spec builds must agree: the policy's name (errors
// recognise it), the default image, and the deadline bounds the plugin enforces itself.
// Whether the API server admits and refuses what it should is proven in e2e.
func TestAdmissionPolicyMatchesSpec(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "admission.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	var policy admissionv1.ValidatingAdmissionPolicy
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the policy and its binding", len(docs))
	}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &policy); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &binding); err != nil {
		t.Fatal(err)
	}
	if policy.Name != AdmissionPolicyName || binding.Spec.PolicyName != AdmissionPolicyName {
		t.Errorf("policy %q bound as %q, want %q", policy.Name, binding.Spec.PolicyName, AdmissionPolicyName)
	}
	if got := binding.Spec.MatchResources.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != DefaultNamespace {
		t.Errorf("the binding selects namespace %q, want %q", got, DefaultNamespace)
	}
	vars := map[string]string{}
	for _, v := range policy.Spec.Variables {
		vars[v.Name] = v.Expression
	}
	if !strings.Contains(vars["allowedImages"], "'"+DefaultImage+"'") {
		t.Errorf("allowedImages %s lacks the default image %s", vars["allowedImages"], DefaultImage)
	}
	var deadline string
	for _, v := range policy.Spec.Validations {
		if strings.Contains(v.Expression, "activeDeadlineSeconds") {
			deadline = v.Expression
		}
	}
	for _, bound := range []time.Duration{time.Minute, MaxDeadline} {
		if !strings.Contains(deadline, strconv.FormatInt(deadlineSeconds(bound), 10)) {
			t.Errorf("the deadline rule %q lacks the bound %s (%d s)", deadline, bound, deadlineSeconds(bound))
		}
	}
	pod := Spec(Options{})
	if got := *pod.Spec.ActiveDeadlineSeconds; got < 60 || got > deadlineSeconds(MaxDeadline) {
		t.Errorf("the default deadline %d s is outside the policy's bounds", got)
	}
	if pod.Labels[LabelManagedBy] != ManagedByValue || !strings.Contains(policy.Spec.Validations[0].Expression, "'"+ManagedByValue+"'") {
		t.Errorf("the label rule %q does not match the pod's %s=%s", policy.Spec.Validations[0].Expression, LabelManagedBy, pod.Labels[LabelManagedBy])
	}
}
