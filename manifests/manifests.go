// Package manifests holds the YAML an admin applies once per cluster (the debug namespace, the
// users' roles, the admission policy), embedded so `kubectl winnet setup` applies exactly the
// files shipped beside it.
package manifests

import "embed"

// Files are namespace.yaml, rbac.yaml and admission.yaml.
//
//go:embed *.yaml
var Files embed.FS

// Order is the order they apply in: the namespace before what lives in it, roles before the
// policy that narrows what they allow.
var Order = []string{"namespace.yaml", "rbac.yaml", "admission.yaml"}
