package ingest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/winevent"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

var levelNames = map[string]string{"0": "Information", "1": "Critical", "2": "Error", "3": "Warning", "4": "Information", "5": "Verbose"}

// scmMessages renders the Service Control Manager events that matter here when the XML was
// exported without /f:RenderedXml (the analyzer matches HNS crashes by message text).
var scmMessages = map[int]string{
	7031: "The %s service terminated unexpectedly.  It has done this %s time(s).",
	7034: "The %s service terminated unexpectedly.  It has done this %s time(s).",
	7036: "The %s service entered the %s state.",
	7040: "The start type of the %s service was changed from %s to %s.",
}

// recogniseWevtutilXML reads `wevtutil qe CHANNEL /f:xml` (or /f:RenderedXml): <Event>
// elements back to back, or wrapped in an <Events> root.
func recogniseWevtutilXML(d *Doc) *Output {
	t := strings.TrimSpace(d.Text)
	if !strings.HasPrefix(t, "<") || !strings.Contains(t, "<Event") || !strings.Contains(t, "<System>") {
		return nil
	}
	dec := xml.NewDecoder(strings.NewReader(t))
	dec.Strict = false
	var evs []wire.Event
	for {
		tok, err := dec.Token()
		if err != nil {
			if err != io.EOF && len(evs) == 0 {
				return nil
			}
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		var x winevent.Event
		if dec.DecodeElement(&x, &se) != nil {
			break
		}
		id, _ := strconv.Atoi(strings.TrimSpace(x.System.EventID))
		e := wire.Event{Channel: x.System.Channel, Provider: x.System.Provider.Name, ID: id,
			Level:   firstOf(x.RenderingInfo.Level, levelNames[strings.TrimSpace(x.System.Level)], "Information"),
			Message: strings.TrimSpace(x.RenderingInfo.Message)}
		e.RecordID, _ = strconv.ParseInt(strings.TrimSpace(x.System.EventRecordID), 10, 64)
		if ts, err := time.Parse(time.RFC3339Nano, x.System.TimeCreated.SystemTime); err == nil {
			e.Time = ts.UTC()
		}
		if e.Message == "" {
			var params []string
			for _, dd := range x.EventData.Data {
				params = append(params, strings.TrimSpace(dd.Value))
			}
			if f, ok := scmMessages[id]; ok && e.Provider == "Service Control Manager" && strings.Count(f, "%s") <= len(params) {
				args := make([]any, strings.Count(f, "%s"))
				for i := range args {
					args[i] = params[i]
				}
				e.Message = fmt.Sprintf(f, args...)
			} else {
				var kv []string
				for _, dd := range x.EventData.Data {
					kv = append(kv, firstOf(dd.Name, "data")+"="+strings.TrimSpace(dd.Value))
				}
				e.Message = strings.Join(kv, "; ")
			}
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		return nil
	}
	return &Output{Format: "wevtutil-xml", Detail: eventsDetail(evs), Records: []wire.Record{artifact(wire.KindEvents, evs)}}
}

func eventsDetail(evs []wire.Event) string {
	chans := map[string]int{}
	for _, e := range evs {
		chans[firstOf(e.Channel, "?")]++
	}
	return fmt.Sprintf("%d events (%s)", len(evs), kindCounts(chans))
}

var psDate = regexp.MustCompile(`^/Date\((-?\d+)(?:[+-]\d{4})?\)/$`)

// parseEventTime reads PowerShell 5.1's "/Date(1700000000000)/", RFC 3339 and the usual
// text forms.
func parseEventTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if m := psDate.FindStringSubmatch(s); m != nil {
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		return time.UnixMilli(ms).UTC()
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05", "1/2/2006 3:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// recogniseWinEventJSON reads Get-WinEvent | ConvertTo-Json (whole objects or a Select of
// TimeCreated, Id, LevelDisplayName, Message, ...), and arrays already in winnet's event shape.
func recogniseWinEventJSON(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) == 0 {
		return nil
	}
	var evs []wire.Event
	for _, o := range objs {
		switch {
		case o.has("id") && o.hasAny("providername", "leveldisplayname", "logname") && o.hasAny("message", "timecreated"):
			id, _ := strconv.Atoi(o.str("id"))
			e := wire.Event{Channel: o.str("logname"), Provider: o.str("providername"), ID: id, Message: strings.TrimSpace(o.str("message"))}
			e.Level = firstOf(o.str("leveldisplayname"), levelNames[o.str("level")], "Information")
			e.RecordID, _ = strconv.ParseInt(o.str("recordid"), 10, 64)
			if tc, ok := o.keys["timecreated"]; ok {
				var s string
				if json.Unmarshal(tc, &s) == nil {
					e.Time = parseEventTime(s)
				} else if dt, ok := o.obj("timecreated"); ok { // ConvertTo-Json -Depth >1 expands DateTime
					e.Time = parseEventTime(dt.str("datetime"))
				}
			}
			evs = append(evs, e)
		case o.has("channel") && o.has("id") && o.has("level") && o.has("message"):
			var e wire.Event
			if json.Unmarshal(o.raw, &e) != nil {
				return nil
			}
			evs = append(evs, e)
		default:
			return nil
		}
	}
	return &Output{Format: "windows-events-json", Detail: eventsDetail(evs), Records: []wire.Record{artifact(wire.KindEvents, evs)}}
}

// The default table views of Get-WinEvent (TimeCreated, Id, LevelDisplayName, Message) and
// Get-EventLog (Index, Time, EntryType, Source, InstanceID, Message), one row per event. The
// time is what tells a row from prose; Format-Table -Wrap (or a narrow console) continues the
// message on lines indented to its column.
var (
	eventTableTime = `(\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}|\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}(?::\d{2})?)`
	winEventRow    = regexp.MustCompile(`^\s*` + eventTableTime + `\s+(\d{1,5})\s+(Critical|Error|Warning|Information|Verbose)(?:\s+(\S.*?))?\s*$`)
	eventLogRow    = regexp.MustCompile(`^\s*(\d+)\s+([A-Z][a-z]{2} \d{1,2} \d{1,2}:\d{2})\s+(Error|Warning|Information|SuccessAudit|FailureAudit)\s+(\S.*?)\s+(\d+)(?:\s+(\S.*?))?\s*$`)
	providerLine   = regexp.MustCompile(`^\s*ProviderName: (\S.*?)\s*$`)
	// The log a pasted command read: Get-WinEvent -LogName X, @{LogName='X'}, Get-EventLog X.
	eventLogNameRe = regexp.MustCompile(`(?i)(?:\bGet-(?:WinEvent|EventLog)\b.*?(?:-LogName\s+|LogName\s*=\s*)|\bGet-EventLog\s+)['"]?([A-Za-z][\w/-]*)`)
)

var eventTableLayouts = []string{"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006 15:04:05", "2/1/2006 15:04:05", "1/2/2006 15:04",
	"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2.1.2006 15:04:05", "2.1.2006 15:04"}

// parseTableTime reads the time column in the node's locale as printed. The node's zone is not
// printed, so the time is taken as UTC, as the JSON readers take text times.
func parseTableTime(s string) time.Time {
	for _, layout := range eventTableLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// scmEvent reports whether an event is the Service Control Manager's by its message, which
// follows the SCM's template for its ID; the SCM logs to System.
func scmEvent(id int, msg string) bool {
	f, ok := scmMessages[id]
	if !ok {
		return false
	}
	parts := strings.Split(f, "%s")
	if !strings.HasPrefix(msg, parts[0]) || len(parts) < 2 {
		return false
	}
	// The message may be cut at the console's width: its first words after the service name
	// are enough.
	next := strings.TrimSpace(parts[1])
	if len(next) > 20 {
		next = next[:20]
	}
	return strings.Contains(msg, next)
}

var entryTypeLevels = map[string]string{"SuccessAudit": "Information", "FailureAudit": "Warning"}

// recogniseWinEventTable reads Get-WinEvent and Get-EventLog as PowerShell prints them (a
// table, messages wrapped or cut at the console's width), header or not, into the events
// Get-WinEvent | ConvertTo-Json gives. The channel is the log the pasted command names, else
// System for the Service Control Manager's events, else unknown.
func recogniseWinEventTable(d *Doc) *Output {
	ls := d.Lines()
	var evs []wire.Event
	channel, provider := "", ""
	cur, msgCol := -1, 0
	noYear := 0
	for _, l := range ls {
		if isPrompt(l) {
			cur, provider = -1, ""
			if m := eventLogNameRe.FindStringSubmatch(l); m != nil {
				channel = m[1]
			}
			continue
		}
		if m := providerLine.FindStringSubmatch(l); m != nil {
			cur, provider = -1, m[1]
			continue
		}
		if m := winEventRow.FindStringSubmatchIndex(l); m != nil {
			g := func(i int) string {
				if m[2*i] < 0 {
					return ""
				}
				return l[m[2*i]:m[2*i+1]]
			}
			id, _ := strconv.Atoi(g(2))
			evs = append(evs, wire.Event{Channel: channel, Provider: provider, ID: id, Level: g(3), Time: parseTableTime(g(1)), Message: g(4)})
			cur, msgCol = len(evs)-1, m[7]+1
			if m[8] >= 0 {
				msgCol = m[8]
			}
			continue
		}
		if m := eventLogRow.FindStringSubmatchIndex(l); m != nil {
			g := func(i int) string {
				if m[2*i] < 0 {
					return ""
				}
				return l[m[2*i]:m[2*i+1]]
			}
			instance, _ := strconv.ParseUint(g(5), 10, 64)
			level := firstOf(entryTypeLevels[g(3)], g(3))
			// Get-EventLog prints the instance ID; the event ID is its low 16 bits. Its time
			// has no year, so none is kept.
			record, _ := strconv.ParseInt(g(1), 10, 64)
			evs = append(evs, wire.Event{Channel: channel, Provider: g(4), ID: int(instance & 0xffff), Level: level, Message: g(6), RecordID: record})
			noYear++
			cur, msgCol = len(evs)-1, m[11]+1
			if m[12] >= 0 {
				msgCol = m[12]
			}
			continue
		}
		t := strings.TrimSpace(l)
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if cur >= 0 && t != "" && indent >= 8 && indent >= msgCol-2 {
			e := &evs[cur]
			e.Message = strings.TrimSpace(e.Message + " " + t)
			continue
		}
		cur = -1
	}
	if len(evs) == 0 {
		return nil
	}
	for i := range evs {
		e := &evs[i]
		if scmEvent(e.ID, e.Message) && (e.Provider == "" || cutValue(e.Provider) || e.Provider == "Service Control Manager") {
			e.Provider = "Service Control Manager"
			e.Channel = firstOf(e.Channel, "System")
		}
	}
	out := &Output{Format: "windows-events-table", Detail: eventsDetail(evs), Records: []wire.Record{artifact(wire.KindEvents, evs)}}
	if noYear > 0 {
		out.Notes = append(out.Notes, "Get-EventLog's table prints no year, so those events carry no time; Get-WinEvent -LogName System | ConvertTo-Json keeps it")
	}
	for _, e := range evs {
		if e.Channel == "" {
			out.Notes = append(out.Notes, "the log the events were read from is not in the paste (no Get-WinEvent -LogName line); events not recognisably the Service Control Manager's carry no channel")
			break
		}
	}
	return out
}
