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
