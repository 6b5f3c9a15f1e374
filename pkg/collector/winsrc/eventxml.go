package winsrc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/winevent"
)

// parseEventXML reads the System fields and the event's data from EvtRender's XML.
func parseEventXML(s string) (parsedEvent, error) {
	var x winevent.Event
	if err := xml.Unmarshal([]byte(s), &x); err != nil {
		if errors.Is(err, io.EOF) { // what Unmarshal says of text without a single element
			err = errors.New("it holds no XML element")
		}
		return parsedEvent{}, fmt.Errorf("the event's XML does not parse (%q): %w", shorten(s, 80), err)
	}
	e := parsedEvent{
		Provider: x.System.Provider.Name,
		Channel:  strings.TrimSpace(x.System.Channel),
		Binary:   strings.TrimSpace(x.EventData.Binary),
	}
	var err error
	if e.ID, err = strconv.Atoi(strings.TrimSpace(x.System.EventID)); err != nil {
		return parsedEvent{}, fmt.Errorf("the event's XML has no numeric EventID (%q)", x.System.EventID)
	}
	if lv := strings.TrimSpace(x.System.Level); lv != "" {
		if e.Level, err = strconv.Atoi(lv); err != nil {
			return parsedEvent{}, fmt.Errorf("the event's XML has a Level that is not a number (%q)", lv)
		}
	}
	if e.Time, err = time.Parse(time.RFC3339Nano, x.System.TimeCreated.SystemTime); err != nil {
		return parsedEvent{}, fmt.Errorf("the event's XML has no valid TimeCreated SystemTime (%q)", x.System.TimeCreated.SystemTime)
	}
	e.Time = e.Time.UTC()
	e.RecordID, _ = strconv.ParseInt(strings.TrimSpace(x.System.EventRecordID), 10, 64)
	for _, d := range x.EventData.Data {
		e.Data = append(e.Data, eventDatum{Name: d.Name, Value: strings.TrimSpace(d.Value)})
	}
	if len(x.UserData.Inner) > 0 {
		e.Data = append(e.Data, xmlLeaves(x.UserData.Inner)...)
	}
	return e, nil
}

// xmlLeaves lists the elements holding text, by element name: UserData has no fixed schema.
// It stops at the first malformed token and keeps what it read up to there: the event's
// System part has parsed already, and a partial payload is still worth showing.
func xmlLeaves(inner []byte) []eventDatum {
	dec := xml.NewDecoder(bytes.NewReader(inner))
	var out []eventDatum
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil { // io.EOF at the end, or the first malformed token
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if v := strings.TrimSpace(text.String()); v != "" && len(stack) > 0 {
				out = append(out, eventDatum{Name: stack[len(stack)-1], Value: v})
			}
			text.Reset()
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}
