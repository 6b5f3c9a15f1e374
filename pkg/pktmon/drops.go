package pktmon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Which component dropped a packet is told by pktmon's own documented commands only:
// `etl2pcap --drop-only --component-id ID` keeps the packets that component dropped, and
// `list --json` names the components. The drop *reason* is printed by etl2txt, whose layout
// is not documented in text, so it is passed on to the user as pktmon wrote it, not parsed.

// Etl2pcapDrops is `pktmon etl2pcap ETL --drop-only [--component-id ID] --out PCAPNG`: the
// dropped packets (etl2pcap leaves them out by default), of one component when component > 0.
func Etl2pcapDrops(etl, out string, component int) []string {
	args := []string{"etl2pcap", etl, "--drop-only"}
	if component > 0 {
		args = append(args, "--component-id", strconv.Itoa(component))
	}
	return append(args, "--out", out)
}

// ListJSON is `pktmon list --json`, every component (it implies --all and --include-hidden).
func ListJSON() []string { return []string{"list", "--json"} }

// Component is one networking component pktmon monitors: a NIC, a filter driver such as VFP,
// a protocol, the vSwitch.
type Component struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Group string `json:"group,omitempty"` // the adapter binding it belongs to
}

// listGroup is one binding of `pktmon list --json`: a group name and its components, each
// with its properties as name/value pairs. Go's JSON decoder matches the keys whatever their
// case, as PowerShell's ConvertFrom-Json does for the scripts that read this output.
type listGroup struct {
	Group      string `json:"group"`
	Components []struct {
		ID         json.RawMessage `json:"id"`
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Properties []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	} `json:"components"`
}

// ParseComponents reads `pktmon list --json`: an array of groups (one object when there is one
// group). A component listed in two groups is kept once. A vSwitch may come without a name;
// its "Switch Name" property is its name then.
func ParseComponents(out []byte) ([]Component, error) {
	out = bytes.TrimSpace(bytes.TrimPrefix(out, []byte("\xef\xbb\xbf")))
	var groups []listGroup
	if len(out) > 0 && out[0] == '{' {
		var g listGroup
		if err := json.Unmarshal(out, &g); err != nil {
			return nil, fmt.Errorf("pktmon list --json: %w", err)
		}
		groups = []listGroup{g}
	} else if err := json.Unmarshal(out, &groups); err != nil {
		return nil, fmt.Errorf("pktmon list --json: %w", err)
	}
	seen := map[int]bool{}
	var comps []Component
	for _, g := range groups {
		for _, c := range g.Components {
			id, err := strconv.Atoi(strings.Trim(string(c.ID), `" `))
			if err != nil || id <= 0 {
				return nil, fmt.Errorf("pktmon list --json: component %q has no usable id (%s)", c.Name, c.ID)
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			name := c.Name
			for _, p := range c.Properties {
				var v string
				if name == "" && strings.EqualFold(p.Name, "Switch Name") && json.Unmarshal(p.Value, &v) == nil {
					name = v
				}
			}
			comps = append(comps, Component{ID: id, Name: name, Type: c.Type, Group: g.Group})
		}
	}
	return comps, nil
}
