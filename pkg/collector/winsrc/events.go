package winsrc

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/kubectl-winnet/winnet/pkg/collector/redact"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Event-log limits: the newest maxEventsPerChannel events of each channel (the query reads
// newest first), each message cut at maxMessageBytes, so one channel's record stays small.
const (
	maxEventsPerChannel = 500
	maxMessageBytes     = 4 << 10
	// maxEventsExamined bounds the events rendered per channel, kept or not.
	maxEventsExamined = 5000
)

// eventChannel is one event-log channel the collector reads and which of its events it keeps.
type eventChannel struct {
	name string
	// maxLevel keeps events at this level or more severe: 3 keeps Critical, Error and Warning;
	// 4 adds Information. 0 means no level condition.
	maxLevel int
	// provider and ids, when set, narrow the query to one provider's event IDs.
	provider string
	ids      []int
	// keep, when set, is a final filter in Go, for what XPath cannot say.
	keep func(e *parsedEvent) bool
	// missing says what a node without this channel lacks.
	missing string
}

// eventChannels are read on every node. Levels per channel:
//   - HNS Admin and Operational keep Information too: the report shows what HNS did recently
//     (networks, endpoints and load balancers created and removed) next to its errors, and
//     these channels are quiet enough that the newest 500 span the window.
//   - System keeps only the service control manager's crash, stop and state-change events
//     (7024, 7031, 7034, 7036) for the services networking depends on; 7036 is Information,
//     so no level condition. 7031 for hns is the HNS crash Microsoft's scripts look for.
//   - VmSwitch Operational and Hyper-V Compute Admin keep Warning and worse: their Information
//     events (a port per endpoint, a compute system per container) are noise at this volume.
var eventChannels = []eventChannel{
	{name: "Microsoft-Windows-Host-Network-Service-Admin", maxLevel: 4, missing: "the Host Network Service (Containers feature) is not installed"},
	{name: "Microsoft-Windows-Host-Network-Service-Operational", maxLevel: 4, missing: "the Host Network Service (Containers feature) is not installed"},
	{name: "System", provider: "Service Control Manager", ids: []int{7024, 7031, 7034, 7036}, keep: isWatchedServiceEvent},
	{name: "Microsoft-Windows-Hyper-V-VmSwitch-Operational", maxLevel: 3, missing: "the Hyper-V virtual switch is not installed"},
	{name: "Microsoft-Windows-Hyper-V-Compute-Admin", maxLevel: 3, missing: "the Host Compute Service (Containers feature) is not installed"},
}

// xpath builds the channel's structured query: its level, provider and ID conditions, and the
// look-back window (timediff is in milliseconds). since <= 0 means no window.
func (c eventChannel) xpath(since time.Duration) string {
	var conds []string
	if c.provider != "" {
		conds = append(conds, "Provider[@Name='"+c.provider+"']")
	}
	if len(c.ids) > 0 {
		ids := make([]string, len(c.ids))
		for i, id := range c.ids {
			ids[i] = "EventID=" + strconv.Itoa(id)
		}
		conds = append(conds, "("+strings.Join(ids, " or ")+")")
	}
	if c.maxLevel > 0 {
		conds = append(conds, "(Level<="+strconv.Itoa(c.maxLevel)+")")
	}
	if since > 0 {
		conds = append(conds, "TimeCreated[timediff(@SystemTime) <= "+strconv.FormatInt(since.Milliseconds(), 10)+"]")
	}
	if len(conds) == 0 {
		return "*"
	}
	return "*[System[" + strings.Join(conds, " and ") + "]]"
}

// parsedEvent is what the collector reads from an event's XML rendering.
type parsedEvent struct {
	Provider string
	ID       int
	Level    int
	Time     time.Time
	Channel  string
	RecordID int64 // EventRecordID, 0 when absent
	// Data are the EventData values (or the UserData leaves), in order.
	Data []eventDatum
	// Binary is EventData's hex-encoded binary, if any.
	Binary string
	// Message is the formatted message, set by the caller when formatting worked.
	Message string
}

type eventDatum struct{ Name, Value string }

// levelName names a level as Event Viewer does (0, LogAlways, shows as Information).
func levelName(level int) string {
	switch level {
	case 0, 4:
		return "Information"
	case 1:
		return "Critical"
	case 2:
		return "Error"
	case 3:
		return "Warning"
	case 5:
		return "Verbose"
	}
	return "Level " + strconv.Itoa(level)
}

// fallbackMessage stands in for the message when the provider's message table cannot format
// it: the event's data, "name=value" where the data is named.
func fallbackMessage(e *parsedEvent) string {
	parts := make([]string, 0, len(e.Data))
	for _, d := range e.Data {
		if d.Name != "" {
			parts = append(parts, d.Name+"="+d.Value)
		} else {
			parts = append(parts, d.Value)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("(event %d of %s; its message could not be formatted and it carries no data)", e.ID, e.Provider)
	}
	return strings.Join(parts, "; ")
}

// toWireEvent makes the record entry: the message (formatted, or the fallback) is trimmed,
// cut at maxMessageBytes and redacted.
func toWireEvent(e *parsedEvent, channel string) wire.Event {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = fallbackMessage(e)
	}
	if len(msg) > maxMessageBytes {
		msg = strings.ToValidUTF8(msg[:maxMessageBytes], "") + "…"
	}
	msg, _ = redact.Text(msg)
	ch := e.Channel
	if ch == "" {
		ch = channel
	}
	return wire.Event{Channel: ch, Provider: e.Provider, ID: e.ID, Level: levelName(e.Level), Time: e.Time, Message: msg, RecordID: e.RecordID}
}

// watchedServiceNames are the service names and display names whose SCM events matter.
var watchedServiceNames = []string{
	"hns", "Host Network Service",
	"vmcompute", "Hyper-V Host Compute Service",
	"kubelet", "kubeproxy", "kube-proxy", "containerd",
}

// isWatchedServiceEvent keeps SCM events about the services node networking depends on. The
// service is named in the event's data (param1 is the display name; 7036's binary holds the
// service name in UTF-16); an event without data is judged by its message ("The Host Network
// Service service terminated unexpectedly").
func isWatchedServiceEvent(e *parsedEvent) bool {
	candidates := make([]string, 0, len(e.Data)+1)
	for _, d := range e.Data {
		candidates = append(candidates, d.Value)
	}
	if name := decodeUTF16Hex(e.Binary); name != "" {
		candidates = append(candidates, name)
	}
	for _, c := range candidates {
		for _, w := range watchedServiceNames {
			if strings.EqualFold(strings.TrimSpace(c), w) {
				return true
			}
		}
	}
	if len(candidates) > 0 {
		return false
	}
	msg := strings.ToLower(e.Message)
	for _, w := range watchedServiceNames {
		if strings.Contains(msg, "the "+strings.ToLower(w)+" service ") {
			return true
		}
	}
	return false
}

// decodeUTF16Hex decodes hex-encoded UTF-16LE text, stopping at the first NUL; "" when it is
// not that.
func decodeUTF16Hex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 2 {
		return ""
	}
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u := uint16(b[i]) | uint16(b[i+1])<<8
		if u == 0 {
			break
		}
		units = append(units, u)
	}
	return string(utf16.Decode(units))
}
