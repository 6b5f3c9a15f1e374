package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/probe"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// NoAnswer is the error of a requested probe that probes.json does not script.
const NoAnswer = "the scenario scripts no answer for this probe"

// probesSource replays canned probe results. With no probe requested it emits every entry of
// probes.json. With some, it answers each request, in order, from the first entry with the
// same target: the entry's protocol and target spell the probe's canonical spec
// ("tcp" + "10.96.12.34:80" is tcp:10.96.12.34:80; "dns" +
// "kubernetes.default.svc.cluster.local@10.96.0.10:53" is the DNS probe of that name and
// server). A request no entry matches is skipped, Method "replay".
type probesSource struct {
	path      string
	requested []probe.Target
}

func (s *probesSource) Name() string { return "probes" }

func (s *probesSource) Collect(_ context.Context, out collector.Emitter) error {
	scripted, err := s.read()
	switch {
	case err == nil:
	case len(s.requested) == 0:
		return err
	case errors.Is(err, fs.ErrNotExist):
		// No probes.json: nothing is scripted, so every request is skipped.
	default:
		// A broken probes.json: every request still gets its record, so the plugin can say
		// what was not tested, and the error record says why.
		for _, t := range s.requested {
			if e := out.Probe(probe.Skipped(t, wire.ProbeMethodReplay, NoAnswer+" ("+ProbesFile+" is unreadable)")); e != nil {
				return e
			}
		}
		return err
	}
	if len(s.requested) == 0 {
		for _, p := range scripted {
			if err := out.Probe(p); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range s.requested {
		p, ok := answer(scripted, t)
		if !ok {
			p = probe.Skipped(t, wire.ProbeMethodReplay, NoAnswer)
		}
		if err := out.Probe(p); err != nil {
			return err
		}
	}
	return nil
}

// read decodes probes.json; a missing file reads as an error wrapping fs.ErrNotExist.
func (s *probesSource) read() ([]wire.ProbeData, error) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ProbesFile, err)
	}
	raw, err := normalizeJSON(b, arrayOfObjects)
	if err != nil {
		return nil, fmt.Errorf("scenario file %s: %w; fix or remove the file", ProbesFile, err)
	}
	var probes []wire.ProbeData
	if err := json.Unmarshal(raw, &probes); err != nil {
		return nil, fmt.Errorf("scenario file %s does not hold probe results: %w; fix or remove the file", ProbesFile, err)
	}
	return probes, nil
}

// answer finds the first scripted probe whose protocol and target spell t's spec.
func answer(scripted []wire.ProbeData, t probe.Target) (wire.ProbeData, bool) {
	want := t.String()
	for _, p := range scripted {
		if specOf(p) == want {
			return p, true
		}
	}
	return wire.ProbeData{}, false
}

// specOf is the canonical spec a scripted probe stands for, or its text when it does not parse.
func specOf(p wire.ProbeData) string {
	s := strings.ToLower(p.Protocol) + ":" + p.Target
	if t, err := probe.ParseTarget(s); err == nil {
		return t.String()
	}
	return s
}
