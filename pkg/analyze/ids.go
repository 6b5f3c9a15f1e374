package analyze

// IDs is every finding id this analyzer can report: the project catalog (shared FINDINGS.md,
// copied here because CI builds without it) followed by the ids this package added, which
// are documented in pkg/analyze/FINDINGS.md. A test checks that every id has a registered
// rule, and every registered rule's ids are listed here.
var IDs = []string{
	// Pod and endpoint.
	"pod-endpoint-missing",
	"pod-endpoint-unhealthy",
	"duplicate-endpoint-ip",
	"stale-local-endpoint",
	"stale-remote-endpoint",
	"pod-ip-exhaustion",
	// DNS.
	"dns-server-mismatch",
	"dns-suffix-incomplete",
	"dns-dotted-name-semantics",
	"dns-resolution-failed",
	// Services and kube-proxy.
	"service-lb-missing",
	"service-lb-stale",
	"service-lb-backends-mismatch",
	"traffic-policy-local-no-endpoints",
	"kube-proxy-not-running",
	"kube-proxy-policy-errors",
	"source-vip-missing",
	"source-vip-invalid",
	"dsr-unsupported",
	"healthcheck-port-conflict",
	// Network, CNI and node.
	"hns-network-missing",
	"cni-config-invalid",
	"cni-config-drift",
	"cni-daemon-not-running",
	"cni-runtime-incompatible",
	"outboundnat-exceptions-mismatch",
	"networkpolicy-snat-conflict",
	"networkpolicy-not-enforced",
	"networkpolicy-denies",
	"overlay-mtu-mismatch",
	"hns-restarted",
	"hns-errors",
	"os-build-known-issue",
	"port-exhaustion",
	"port-reservation-conflict",
	"firewall-blocking",
	// Added by this package (pkg/analyze/FINDINGS.md).
	"hns-network-unhealthy",
	"overlay-remote-subnet-missing",
}

// CatalogIDs is how many leading entries of IDs come from the project catalog.
const CatalogIDs = 36
