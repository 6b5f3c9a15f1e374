//go:build windows

package winsrc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/hostparse"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// netshTimeout bounds one netsh run; it answers these queries in well under a second.
const netshTimeout = 15 * time.Second

// portRangesSource reads the dynamic (ephemeral) and excluded port ranges, TCP and UDP.
// Windows documents no API for the excluded ranges (Hyper-V, WinNAT and HNS reserve blocks
// there, and a NodePort or hostPort inside one cannot bind), so it runs the inbox netsh and
// parses its text, keyed on layout rather than words (see hostparse.ParseExcludedPortRanges).
type portRangesSource struct{}

func (portRangesSource) Name() string { return wire.KindPortRanges }

func (portRangesSource) Collect(ctx context.Context, out collector.Emitter) error {
	netsh, err := systemTool("netsh.exe")
	if err != nil {
		return err
	}
	pr := wire.PortRanges{Dynamic: map[string]wire.PortRange{}, Excluded: map[string][]wire.PortRange{}}
	var errs []error
	silent := 0 // queries netsh answered with nothing at all
	for _, proto := range []string{"tcp", "udp"} {
		text, err := runTool(ctx, netsh, "int", "ipv4", "show", "dynamicport", proto)
		if err == nil && strings.TrimSpace(text) == "" {
			silent++
		}
		if err == nil {
			var r wire.PortRange
			if r, err = hostparse.ParseDynamicPortRange(text); err == nil {
				pr.Dynamic[proto] = r
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("the %s dynamic port range: %w", proto, err))
		}

		text, err = runTool(ctx, netsh, "int", "ipv4", "show", "excludedportrange", "protocol="+proto)
		if err == nil && strings.TrimSpace(text) == "" {
			silent++
		}
		if err == nil {
			var rs []wire.PortRange
			if rs, err = hostparse.ParseExcludedPortRanges(text); err == nil {
				pr.Excluded[proto] = rs
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("the %s excluded port ranges: %w", proto, err))
		}
	}
	if silent == 4 {
		return fmt.Errorf("%s printed nothing for any port range query; its interface helper is missing (as under Wine) or broken, so no port ranges are reported", netsh)
	}
	if len(pr.Dynamic) == 0 && len(pr.Excluded) == 0 {
		// One line: error records are single-line messages.
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("reading the port ranges with %s: %s", netsh, strings.Join(msgs, "; "))
	}
	for _, err := range errs {
		_ = out.Error(err)
	}
	return out.Artifact(wire.KindPortRanges, pr)
}

// systemTool finds an inbox tool in System32, never through PATH (which the pod's
// environment sets), or says it is missing.
func systemTool(exe string) (string, error) {
	dir, err := windows.GetSystemDirectory()
	if err != nil {
		return "", fmt.Errorf("locating the System32 folder to run %s: %w", exe, err)
	}
	path := filepath.Join(dir, exe)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is not in %s (%w); this Windows image lacks the inbox tool", exe, dir, err)
	}
	return path, nil
}

// maxToolOutput bounds what is kept of a tool's output; netsh prints a few hundred bytes.
const maxToolOutput = 1 << 20

// runTool runs an inbox tool with a deadline and returns what it printed (stdout and stderr
// together), or an error when it could not run, was stopped or exited non-zero. The output is
// in the console's OEM code page; the parsers only rely on ASCII digits and punctuation.
func runTool(ctx context.Context, path string, args ...string) (string, error) {
	name := filepath.Base(path) + " " + strings.Join(args, " ")
	res, err := runChild(ctx, childRun{timeout: netshTimeout, limit: maxToolOutput}, path, args)
	switch {
	case err != nil:
		return "", fmt.Errorf("running %s: %w", name, err)
	case res.stopped:
		return "", fmt.Errorf("%s did not finish in time (it gets %s at most) and was stopped; the node may be overloaded", name, netshTimeout)
	case res.exitCode != 0:
		return "", fmt.Errorf("%s exited with code %d: %s", name, res.exitCode, quoteOutput(string(res.output)))
	}
	return string(res.output), nil
}

// quoteOutput puts a tool's output on one short line for an error message.
func quoteOutput(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "it printed nothing"
	}
	return strconv.Quote(s)
}
