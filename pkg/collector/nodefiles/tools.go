package nodefiles

import (
	"fmt"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/redact"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// MaxToolOutputBytes is how much of an inbox tool's output a record keeps (its head: listings
// start with what matters, and a runaway tool must not flood the stream).
const MaxToolOutputBytes = 2 << 20

// ToolRecord turns what an inbox tool printed into its record, as the node and a replay both
// send it: decoded to UTF-8, capped at MaxToolOutputBytes with a note saying so, and redacted.
// total is how many bytes the tool printed (output may already be cut).
func ToolRecord(tool string, args []string, exitCode int, timedOut bool, output []byte, total int64) wire.ToolOutput {
	if total < int64(len(output)) {
		total = int64(len(output))
	}
	if len(output) > MaxToolOutputBytes {
		output = output[:MaxToolOutputBytes]
	}
	text := string(collector.DecodeText(output))
	if total > MaxToolOutputBytes {
		text += fmt.Sprintf("\n[winnet: output cut at %d of %d bytes]\n", MaxToolOutputBytes, total)
	}
	text, _ = redact.Text(text)
	return wire.ToolOutput{Tool: tool, Args: args, ExitCode: exitCode, TimedOut: timedOut, Output: text}
}
