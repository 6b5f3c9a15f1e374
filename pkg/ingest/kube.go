package ingest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// KindKubeEvents carries []KubeEvent: Kubernetes events (`kubectl get events`, the Events of
// `kubectl describe pod`), e.g. FailedCreatePodSandBox with the CNI's error.
const KindKubeEvents = "kube.events"

// KubeEvent is one Kubernetes event, as much of it as the source showed.
type KubeEvent struct {
	Namespace string `json:"namespace,omitempty"`
	Object    string `json:"object,omitempty"` // kind/name, e.g. pod/web-0
	Type      string `json:"type,omitempty"`   // Normal | Warning
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message"`
	Count     int    `json:"count,omitempty"`
	LastSeen  string `json:"lastSeen,omitempty"` // RFC 3339 or kubectl's relative age ("5m")
}

// kubeTypeMeta is what identifies a Kubernetes object.
type kubeTypeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// yamlDocs splits multi-document YAML and converts each document to JSON; documents that are
// not YAML maps are skipped.
func yamlDocs(text string) []json.RawMessage {
	var out []json.RawMessage
	for _, doc := range splitYAML(text) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil || len(j) == 0 || j[0] != '{' {
			continue
		}
		out = append(out, j)
	}
	return out
}

func splitYAML(text string) []string {
	var docs []string
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimLeft(line, "-")) == "" {
			docs = append(docs, b.String())
			b.Reset()
			continue
		}
		if line == "..." {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return append(docs, b.String())
}

// kubeValues returns the JSON documents of d that look like Kubernetes objects (apiVersion and
// kind), from JSON or YAML.
func kubeValues(d *Doc) []json.RawMessage {
	var vals []json.RawMessage
	if js := d.JSONValues(); len(js) > 0 {
		for _, v := range js {
			if len(v) > 0 && v[0] == '[' { // an array of objects
				for _, o := range flattenJSON(v) {
					vals = append(vals, o.raw)
				}
				continue
			}
			vals = append(vals, v)
		}
	} else if strings.Contains(d.Text, "apiVersion:") && strings.Contains(d.Text, "kind:") {
		vals = yamlDocs(d.Text)
	}
	var out []json.RawMessage
	for _, v := range vals {
		var tm kubeTypeMeta
		if json.Unmarshal(v, &tm) != nil || tm.APIVersion == "" || tm.Kind == "" {
			continue
		}
		out = append(out, v)
	}
	return out
}

// recogniseKubeConfigs reads kube-proxy's and kubelet's own configuration files
// (KubeProxyConfiguration, KubeletConfiguration), JSON or YAML.
func recogniseKubeConfigs(d *Doc) *Output {
	vals := kubeValues(d)
	if len(vals) != 1 {
		return nil
	}
	var tm kubeTypeMeta
	_ = json.Unmarshal(vals[0], &tm)
	switch tm.Kind {
	case "KubeProxyConfiguration":
		return &Output{Format: "kube-proxy-config", Records: []wire.Record{fileRecord(wire.RoleKubeProxyConfig, d.Text)}}
	case "KubeletConfiguration":
		return &Output{Format: "kubelet-config", Records: []wire.Record{fileRecord(wire.RoleKubeletConfig, d.Text)}}
	case "Config":
		if strings.Contains(tm.APIVersion, "/") {
			return nil
		}
		return &Output{Format: "kubeconfig", Unused: true, Notes: []string{"a kubeconfig holds credentials, not node state; it was not used"}}
	}
	return nil
}

// recogniseKubeObjects reads `kubectl get ... -o yaml|json`: one object, several documents, a
// v1 List or a typed list (PodList, ...). Pods, Services, EndpointSlices, Endpoints,
// NetworkPolicies, Nodes, ConfigMaps and Events are kept; other kinds are counted in a note.
func recogniseKubeObjects(d *Doc) *Output {
	vals := kubeValues(d)
	if len(vals) == 0 {
		return nil
	}
	out := &Output{Format: "kubernetes-objects"}
	counts := map[string]int{}
	skipped := map[string]int{}
	var events []KubeEvent
	var bad []string
	var add func(raw json.RawMessage, depth int)
	add = func(raw json.RawMessage, depth int) {
		var tm kubeTypeMeta
		if json.Unmarshal(raw, &tm) != nil {
			return
		}
		if (tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List")) && depth == 0 {
			itemKind := strings.TrimSuffix(tm.Kind, "List")
			for _, it := range tm.Items {
				if itemKind != "" {
					// Typed lists (PodList) omit the items' kind.
					it = withKind(it, tm.APIVersion, itemKind)
				}
				add(it, depth+1)
			}
			return
		}
		obj, ev, rec, err := decodeKube(tm, raw)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("a %s could not be decoded (%v)", tm.Kind, err))
		case obj != nil:
			out.Kube = append(out.Kube, KubeObject{Object: obj, Full: true})
			counts[tm.Kind]++
		case ev != nil:
			events = append(events, *ev)
			counts["Event"]++
		case rec != nil:
			out.Records = append(out.Records, *rec)
			counts[tm.Kind]++
		default:
			skipped[tm.Kind]++
		}
	}
	for _, v := range vals {
		add(v, 0)
	}
	if len(events) > 0 {
		out.Records = append(out.Records, eventRecords(events)...)
	}
	if len(out.Kube) == 0 && len(out.Records) == 0 {
		if len(skipped) == 0 && len(bad) == 0 {
			return nil
		}
		out.Unused = true
	}
	out.Detail = kindCounts(counts)
	if len(skipped) > 0 {
		out.Notes = append(out.Notes, "not used: "+kindCounts(skipped))
	}
	if len(bad) > 5 {
		bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
	}
	out.Notes = append(out.Notes, bad...)
	return out
}

func withKind(raw json.RawMessage, apiVersion, kind string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if _, ok := m["kind"]; !ok {
		m["kind"], _ = json.Marshal(kind)
	}
	if _, ok := m["apiVersion"]; !ok {
		m["apiVersion"], _ = json.Marshal(apiVersion)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

func kindCounts(m map[string]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// decodeKube decodes the kinds the analyzer uses. A ConfigMap holding kube-proxy's
// configuration becomes a kube-proxy-config file record.
func decodeKube(tm kubeTypeMeta, raw json.RawMessage) (runtime.Object, *KubeEvent, *wire.Record, error) {
	group := ""
	if i := strings.LastIndex(tm.APIVersion, "/"); i >= 0 {
		group = tm.APIVersion[:i]
	}
	switch {
	case group == "" && tm.Kind == "Pod":
		var o corev1.Pod
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "" && tm.Kind == "Service":
		var o corev1.Service
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "" && tm.Kind == "Endpoints":
		var o corev1.Endpoints
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "" && tm.Kind == "Node":
		var o corev1.Node
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "discovery.k8s.io" && tm.Kind == "EndpointSlice":
		var o discoveryv1.EndpointSlice
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "networking.k8s.io" && tm.Kind == "NetworkPolicy":
		var o networkingv1.NetworkPolicy
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		return &o, nil, nil, nil
	case group == "" && tm.Kind == "ConfigMap":
		var o corev1.ConfigMap
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		for _, v := range o.Data {
			if strings.Contains(v, "kind: KubeProxyConfiguration") || strings.Contains(v, `"kind":"KubeProxyConfiguration"`) {
				r := fileRecord(wire.RoleKubeProxyConfig, v)
				setFilePath(&r, "configmap/"+o.Namespace+"/"+o.Name)
				return nil, nil, &r, nil
			}
		}
		return &o, nil, nil, nil
	case (group == "" || group == "events.k8s.io") && tm.Kind == "Event":
		var o corev1.Event
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, nil, err
		}
		ev := KubeEvent{Namespace: o.Namespace, Type: o.Type, Reason: o.Reason, Message: o.Message, Count: int(o.Count)}
		if o.InvolvedObject.Name != "" {
			ev.Object = strings.ToLower(o.InvolvedObject.Kind) + "/" + o.InvolvedObject.Name
		}
		if !o.LastTimestamp.IsZero() {
			ev.LastSeen = o.LastTimestamp.UTC().Format("2006-01-02T15:04:05Z")
		} else if !o.EventTime.IsZero() {
			ev.LastSeen = o.EventTime.UTC().Format("2006-01-02T15:04:05Z")
		}
		if group == "events.k8s.io" { // events.k8s.io/v1 names the fields differently
			var n struct {
				Note      string `json:"note"`
				Regarding struct{ Kind, Name string }
			}
			if json.Unmarshal(raw, &n) == nil {
				ev.Message = firstOf(ev.Message, n.Note)
				if ev.Object == "" && n.Regarding.Name != "" {
					ev.Object = strings.ToLower(n.Regarding.Kind) + "/" + n.Regarding.Name
				}
			}
		}
		return nil, &ev, nil, nil
	}
	return nil, nil, nil, nil
}

// setFilePath sets the path of a file record's FileData.
func setFilePath(r *wire.Record, path string) {
	var f wire.FileData
	if json.Unmarshal(r.Data, &f) != nil {
		return
	}
	f.Path = path
	r.Data, _ = json.Marshal(f)
}

// eventRecords carries events twice: as kube.events, and their Warning messages as the lines
// of a kubelet log. The kubelet writes those messages (FailedCreatePodSandBox with the CNI's
// "no available addresses", HNS error codes), so rules that read the kubelet's log for a
// cause find it in a pasted `kubectl get events` or `kubectl describe pod` too.
func eventRecords(events []KubeEvent) []wire.Record {
	recs := []wire.Record{artifact(KindKubeEvents, events)}
	var lines []string
	for _, e := range events {
		if strings.EqualFold(e.Type, "Normal") || e.Message == "" {
			continue
		}
		line := "W " + e.Reason
		if e.Object != "" {
			line += " " + e.Object
		}
		lines = append(lines, line+": "+strings.Join(strings.Fields(e.Message), " "))
	}
	if len(lines) > 0 {
		content := strings.Join(lines, "\n") + "\n"
		recs = append(recs, artifact(wire.KindFile, wire.FileData{
			Path: "kubectl events (kubelet messages)", Role: wire.RoleLogPrefix + wire.LogKubelet,
			Size: int64(len(content)), Content: content,
		}))
	}
	return recs
}
