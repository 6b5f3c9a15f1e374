package winsrc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// hnsV1List is one HNS v1 listing read with HNSCall: the path it GETs and the kind it emits.
type hnsV1List struct {
	path string
	kind string
}

// hnsV1Lists: the v1 view of endpoints carries IsRemoteEndpoint and State (3 = AttachedSharing,
// what a healthy local endpoint shows), which HCN v2 lacks; policy lists are the load
// balancers of nodes whose kube-proxy still uses the v1 API.
var hnsV1Lists = []hnsV1List{
	{path: "/endpoints/", kind: wire.KindHNSEndpointsV1},
	{path: "/policylists/", kind: wire.KindHNSPolicyLists},
}

// maxHNSV1Bytes bounds one v1 listing: the record must stay under wire.MaxRecordBytes.
const maxHNSV1Bytes = 24 << 20

// errHNSV1Unavailable says HNSCall cannot be used here; it wraps ErrHNSUnavailable.
func hnsV1Unavailable(cause error, path string) error {
	return fmt.Errorf("%w; the HNS v1 API (HNSCall GET %s) is not available on this host, so the v1 view is missing", cause, path)
}

// hnsV1Output extracts the Output array of an HNS v1 response:
// {"Success":true,"Error":"","Output":[...]}. A null or missing Output is an empty list.
func hnsV1Output(path, response string) ([]byte, error) {
	if len(response) > maxHNSV1Bytes {
		return nil, fmt.Errorf("HNSCall GET %s returned %d MiB, over the %d MiB a record may hold; the v1 view is left out",
			path, len(response)>>20, maxHNSV1Bytes>>20)
	}
	var r struct {
		Success bool
		Error   string
		Output  json.RawMessage
	}
	if err := json.Unmarshal([]byte(response), &r); err != nil {
		return nil, fmt.Errorf("the HNS response to GET %s is not JSON (%q): %w", path, shorten(response, 80), err)
	}
	if !r.Success {
		msg := r.Error
		if msg == "" {
			msg = "no reason given"
		}
		return nil, errors.New("HNS refused GET " + path + ": " + msg)
	}
	out := bytes.TrimSpace(r.Output)
	if len(out) == 0 || string(out) == "null" {
		return []byte("[]"), nil
	}
	if out[0] == '{' { // one object where a list is expected
		return append(append([]byte{'['}, out...), ']'), nil
	}
	if out[0] != '[' {
		return nil, fmt.Errorf("the HNS response to GET %s holds %q where a list is expected", path, shorten(string(out), 80))
	}
	return out, nil
}
