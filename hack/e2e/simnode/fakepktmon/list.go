package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// cmdList is `pktmon list [--all|-a] [--include-hidden|-i] [--json]`: the components the
// scenario's flows are logged at, numbered as a capture numbers them. --json prints the
// layout Windows Admin Center's packet monitoring scripts read from real pktmon: an array of
// binding groups, each with its components' Id, Name, Type and Properties.
func cmdList(args []string, stdout io.Writer) error {
	canon := map[string]string{"-a": "all", "--all": "all", "-i": "hidden", "--include-hidden": "hidden", "--json": "json"}
	seen := map[string]bool{}
	for _, a := range args {
		k, ok := canon[strings.ToLower(a)]
		if !ok {
			return fmt.Errorf("list: unknown option %q (list takes --all, --include-hidden and --json)", a)
		}
		if seen[k] {
			return fmt.Errorf("list: %s given twice", a)
		}
		seen[k] = true
	}
	asJSON := seen["json"]
	flows, err := loadCapture(scenarioCapture())
	if err != nil {
		return err
	}
	comps := componentsOf(flows)
	if !asJSON {
		fmt.Fprintln(stdout, "Simulated node")
		fmt.Fprintln(stdout, "    Id Name")
		for _, c := range comps {
			fmt.Fprintf(stdout, "    %2d %s\n", c.ID, c.Name)
		}
		return nil
	}
	type property struct {
		Name  string `json:"Name"`
		Value any    `json:"Value"`
	}
	type listed struct {
		ID         uint16     `json:"Id"`
		Name       string     `json:"Name"`
		Type       string     `json:"Type"`
		Properties []property `json:"Properties"`
	}
	group := struct {
		Group      string   `json:"Group"`
		Components []listed `json:"Components"`
	}{Group: "Simulated node"}
	for _, c := range comps {
		typ := "Filter"
		if strings.Contains(strings.ToLower(c.Name), "nic") {
			typ = "Miniport"
		}
		group.Components = append(group.Components, listed{ID: c.ID, Name: c.Name, Type: typ, Properties: []property{{Name: "ifIndex", Value: int(c.ID) + 10}}})
	}
	b, err := json.MarshalIndent([]any{group}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// scenarioCapture is the scenario's capture.json, "" when no scenario is set.
func scenarioCapture() string {
	dir := os.Getenv(replayEnv)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, captureFile)
}
