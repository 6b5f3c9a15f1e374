// Package report assembles what one diagnosis found into a versioned document and renders it:
// a table for people, JSON or YAML (with our own apiVersion/kind) for scripts.
package report

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/analyze"
	"github.com/kubectl-winnet/winnet/pkg/pathexplain"
	"github.com/kubectl-winnet/winnet/pkg/snapshot"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// APIVersion and Kind identify the report schema so scripts can pin it.
const (
	APIVersion = "winnet.kubectl.dev/v1alpha1"
	Kind       = "DiagnosisReport"
)

// Report is one node's diagnosis.
type Report struct {
	APIVersion  string                 `json:"apiVersion"`
	Kind        string                 `json:"kind"`
	GeneratedAt time.Time              `json:"generatedAt"`
	Plugin      Versions               `json:"plugin"`
	Collector   *wire.HelloData        `json:"collector,omitempty"`
	Target      Target                 `json:"target"`
	Node        Node                   `json:"node"`
	PodNetwork  *PodNetwork            `json:"podNetwork,omitempty"`
	Path        *pathexplain.Path      `json:"path,omitempty"` // set by the caller when probes walked a path
	Findings    []analyze.Finding      `json:"findings"`
	NotChecked  []analyze.NotChecked   `json:"notChecked,omitempty"`
	Collected   Collected              `json:"collected"`
	Errors      []snapshot.SourceError `json:"collectorErrors,omitempty"`
	Timings     []Timing               `json:"timings,omitempty"`
	DebugPod    *DebugPod              `json:"debugPod,omitempty"`
	// Incomplete says why collection stopped before its end: the report holds only what
	// arrived before, and an artifact absent from it was not proven absent on the node.
	Incomplete string `json:"incomplete,omitempty"`
}

// Versions names the plugin build and the collector it carries.
type Versions struct {
	Version         string `json:"version"`
	CollectorSHA256 string `json:"collectorSHA256,omitempty"`
}

// Target is what was diagnosed.
type Target struct {
	Input     string `json:"input"`
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	PodIP     string `json:"podIP,omitempty"`
	Node      string `json:"node"`
	Note      string `json:"note,omitempty"`
}

// Node summarises the node's build and HNS.
type Node struct {
	Name       string `json:"name"`
	OS         string `json:"os,omitempty"`
	HNSVersion string `json:"hnsVersion,omitempty"`
}

// Collected is what the collector found, for the user to see even without findings.
type Collected struct {
	Networks      []snapshot.Network      `json:"networks"`
	Endpoints     []Endpoint              `json:"endpoints"`
	LoadBalancers []snapshot.LoadBalancer `json:"loadBalancers"`
	HNSEvents     []wire.Event            `json:"hnsEvents,omitempty"`
	Unknown       []string                `json:"unknownKinds,omitempty"`
}

// Endpoint is a snapshot endpoint marked when it is the target pod's own.
type Endpoint struct {
	snapshot.Endpoint
	Target bool `json:"target,omitempty"`
}

// Timing is how long one phase of the run took.
type Timing struct {
	Phase      string `json:"phase"`
	DurationMS int64  `json:"durationMs"`
}

// DebugPod says which debug pod served the run, whether it was left running, and what putting
// the collector there cost: exec round trips (1 when the pod is fresh or holds this plugin's
// collector, 2 when a kept pod held another build) and bytes uploaded (0 when it was there).
type DebugPod struct {
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Kept        bool   `json:"kept"`
	Reused      bool   `json:"reused"`
	RoundTrips  int    `json:"execRoundTrips"`
	Uploaded    bool   `json:"collectorUploaded"`
	UploadBytes int64  `json:"uploadBytes"`
}

// maxEvents bounds the events shown; the bundle keeps them all.
const maxEvents = 20

// Build assembles a report from a snapshot and the analyzer's result.
func Build(snap *snapshot.Snapshot, res analyze.Result, target Target, plugin Versions) *Report {
	r := &Report{
		APIVersion: APIVersion, Kind: Kind, GeneratedAt: time.Now().UTC(),
		Plugin: plugin, Collector: snap.Collector, Target: target,
		Node:       Node{Name: target.Node, HNSVersion: snap.HNSVersion},
		Findings:   res.Findings,
		NotChecked: res.NotChecked,
		Errors:     snap.Errors,
	}
	if r.Findings == nil {
		r.Findings = []analyze.Finding{}
	}
	if target.Pod != "" {
		r.PodNetwork = podNetwork(snap, target.PodIP)
	}
	if snap.OS != nil {
		r.Node.OS = strings.TrimSpace(snap.OS.ProductName + " build " + snap.OS.Build)
		if snap.OS.UBR > 0 {
			r.Node.OS += "." + itoa(snap.OS.UBR)
		}
	}
	r.Collected.Networks = nonNil(snap.Networks)
	r.Collected.LoadBalancers = nonNil(snap.LoadBalancers)
	r.Collected.Endpoints = []Endpoint{}
	for _, e := range snap.Endpoints {
		r.Collected.Endpoints = append(r.Collected.Endpoints, Endpoint{Endpoint: e, Target: target.PodIP != "" && e.IP == target.PodIP && !e.Remote})
	}
	// The target's endpoint first, then local before remote, then by IP.
	sort.SliceStable(r.Collected.Endpoints, func(i, j int) bool {
		a, b := r.Collected.Endpoints[i], r.Collected.Endpoints[j]
		if a.Target != b.Target {
			return a.Target
		}
		if a.Remote != b.Remote {
			return !a.Remote
		}
		return a.IP < b.IP
	})
	var evs []wire.Event
	for _, e := range snap.Events {
		if strings.Contains(e.Channel, "Host-Network-Service") {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.After(evs[j].Time) })
	if len(evs) > maxEvents {
		evs = evs[:maxEvents]
	}
	r.Collected.HNSEvents = evs
	r.Collected.Unknown = snap.Unknown
	return r
}

// Worst returns the highest severity among the findings ("" when there are none).
func (r *Report) Worst() string {
	worst := ""
	for _, f := range r.Findings {
		if analyze.SeverityRank(f.Severity) > analyze.SeverityRank(worst) {
			worst = f.Severity
		}
	}
	return worst
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
