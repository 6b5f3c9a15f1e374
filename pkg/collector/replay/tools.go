package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// toolSources returns one source per tool in tools/: tools/<tool>.txt and
// tools/<tool>.<anything>.txt (vfpctrl.txt, vfpctrl.port-counter.txt) are what <tool> printed,
// sent in name order, as the Windows backend's tool sources send each command's output. A file
// whose first line is "> <tool> <args>" (a console capture) gives the arguments; that line is
// not part of the output.
func toolSources(dir string, log io.Writer) ([]collector.Source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the scenario's %s folder: %w", ToolsDir, err)
	}
	byTool := map[string][]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".txt") || strings.HasPrefix(name, ".") {
			fmt.Fprintf(log, "winnet-collector [replay] skipping %s/%s: tool output must be a <tool>.txt file\n", ToolsDir, name)
			continue
		}
		tool, _, _ := strings.Cut(strings.TrimSuffix(name, ".txt"), ".")
		byTool[tool] = append(byTool[tool], filepath.Join(dir, name))
	}
	tools := make([]string, 0, len(byTool))
	for t := range byTool {
		tools = append(tools, t)
	}
	sort.Strings(tools)
	var sources []collector.Source
	for _, t := range tools {
		files := byTool[t]
		// <tool>.txt first, as the node runs the listing before the commands it leads to.
		sort.Slice(files, func(i, j int) bool {
			mi, mj := filepath.Base(files[i]) == t+".txt", filepath.Base(files[j]) == t+".txt"
			if mi != mj {
				return mi
			}
			return files[i] < files[j]
		})
		sources = append(sources, &toolSource{tool: t, files: files})
	}
	return sources, nil
}

// toolSource replays one tool's outputs.
type toolSource struct {
	tool  string
	files []string
}

// Name matches the Windows backend's tool sources.
func (s *toolSource) Name() string { return wire.KindToolOutput + ":" + s.tool }

func (s *toolSource) Collect(_ context.Context, out collector.Emitter) error {
	for _, p := range s.files {
		b, err := os.ReadFile(p)
		if err != nil {
			_ = out.Error(fmt.Errorf("reading %s/%s: %w", ToolsDir, filepath.Base(p), err))
			continue
		}
		args, output := consoleArgs(s.tool, string(collector.DecodeText(b)))
		if err := out.Artifact(wire.KindToolOutput, nodefiles.ToolRecord(s.tool, args, 0, false, []byte(output), int64(len(output)))); err != nil {
			return err
		}
	}
	return nil
}

// consoleArgs splits off a leading "> tool args" line.
func consoleArgs(tool, text string) ([]string, string) {
	first, rest, _ := strings.Cut(text, "\n")
	fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(first), ">"))
	if !strings.HasPrefix(strings.TrimSpace(first), ">") || len(fields) == 0 ||
		!strings.EqualFold(strings.TrimSuffix(strings.ToLower(fields[0]), ".exe"), tool) {
		return nil, text
	}
	return fields[1:], rest
}
