package winsrc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The event XML that EvtRender produces has a fixed, machine-written shape
// (http://schemas.microsoft.com/win/2004/08/events/event):
//
//	<Event xmlns='...'><System><Provider Name='Service Control Manager' .../><EventID Qualifiers='16384'>7036</EventID>
//	<Level>4</Level>...<TimeCreated SystemTime='2025-11-26T01:00:00.1234567Z'/>...<Channel>System</Channel>...</System>
//	<EventData><Data Name='param1'>Host Network Service</Data>...<Binary>6800...</Binary></EventData></Event>
//
// or <UserData> with provider-defined elements in place of <EventData>. The collector reads a
// handful of fields from it with the small scanner below rather than encoding/xml, which would
// cost about 50 KB of the gzipped collector's 1.5 MB budget for no gain on input this regular.
// The scanner handles what such XML can hold: attributes in either quote, self-closing tags,
// the five named entities and numeric character references, comments, processing
// instructions and CDATA. It never panics on malformed input; it returns an error.

// parseEventXML reads the System fields and the event's data from EvtRender's XML.
func parseEventXML(s string) (parsedEvent, error) {
	var e parsedEvent
	var eventID, level, systemTime string
	var haveEventID bool
	var stack []string
	var text strings.Builder
	dataIndex := -1 // the EventData/Data element being read
	sc := xmlScanner{s: s}
	for {
		tok, err := sc.next()
		if err != nil {
			return parsedEvent{}, fmt.Errorf("the event's XML does not parse (%q): %w", shorten(s, 80), err)
		}
		if tok.kind == tokEOF {
			break
		}
		switch tok.kind {
		case tokText:
			text.WriteString(tok.text)
		case tokStart:
			stack = append(stack, tok.name)
			text.Reset()
			switch strings.Join(stack, "/") {
			case "Event/System/Provider":
				e.Provider = tok.attr("Name")
			case "Event/System/TimeCreated":
				systemTime = tok.attr("SystemTime")
			case "Event/EventData/Data":
				e.Data = append(e.Data, eventDatum{Name: tok.attr("Name")})
				dataIndex = len(e.Data) - 1
			}
			if tok.selfClosing {
				stack = stack[:len(stack)-1]
				dataIndex = -1
			}
		case tokEnd:
			if len(stack) == 0 || stack[len(stack)-1] != tok.name {
				return parsedEvent{}, fmt.Errorf("the event's XML does not parse (%q): </%s> closes nothing open", shorten(s, 80), tok.name)
			}
			value := strings.TrimSpace(text.String())
			switch path := strings.Join(stack, "/"); {
			case path == "Event/System/EventID":
				eventID, haveEventID = value, true
			case path == "Event/System/Level":
				level = value
			case path == "Event/System/Channel":
				e.Channel = value
			case path == "Event/EventData/Data":
				if dataIndex >= 0 {
					e.Data[dataIndex].Value = value
				}
				dataIndex = -1
			case path == "Event/EventData/Binary":
				e.Binary = value
			case strings.HasPrefix(path, "Event/UserData/") && value != "":
				e.Data = append(e.Data, eventDatum{Name: tok.name, Value: value})
			}
			text.Reset()
			stack = stack[:len(stack)-1]
		}
	}
	var err error
	if e.ID, err = strconv.Atoi(eventID); err != nil || !haveEventID {
		return parsedEvent{}, fmt.Errorf("the event's XML has no numeric EventID (%q)", eventID)
	}
	if level != "" {
		if e.Level, err = strconv.Atoi(level); err != nil {
			return parsedEvent{}, fmt.Errorf("the event's XML has a Level that is not a number (%q)", level)
		}
	}
	if e.Time, err = time.Parse(time.RFC3339Nano, systemTime); err != nil {
		return parsedEvent{}, fmt.Errorf("the event's XML has no valid TimeCreated SystemTime (%q)", systemTime)
	}
	e.Time = e.Time.UTC()
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
)

type xmlToken struct {
	kind        tokKind
	name        string // local name, without a namespace prefix
	attrs       []string
	selfClosing bool
	text        string
}

// attr returns the value of the attribute with the given local name.
func (t xmlToken) attr(name string) string {
	for i := 0; i+1 < len(t.attrs); i += 2 {
		if t.attrs[i] == name {
			return t.attrs[i+1]
		}
	}
	return ""
}

// xmlScanner splits XML into start tags, end tags and (unescaped) text.
type xmlScanner struct {
	s   string
	pos int
}

func (sc *xmlScanner) next() (xmlToken, error) {
	for {
		if sc.pos >= len(sc.s) {
			return xmlToken{kind: tokEOF}, nil
		}
		rest := sc.s[sc.pos:]
		if rest[0] != '<' {
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				end = len(rest)
			}
			sc.pos += end
			return xmlToken{kind: tokText, text: unescapeXML(rest[:end])}, nil
		}
		switch {
		case strings.HasPrefix(rest, "<!--"):
			if err := sc.skipPast("-->"); err != nil {
				return xmlToken{}, err
			}
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest, "]]>")
			if end < 0 {
				return xmlToken{}, errors.New("unterminated CDATA section")
			}
			sc.pos += end + 3
			return xmlToken{kind: tokText, text: rest[len("<![CDATA["):end]}, nil
		case strings.HasPrefix(rest, "<?"), strings.HasPrefix(rest, "<!"):
			if err := sc.skipPast(">"); err != nil {
				return xmlToken{}, err
			}
			continue
		}
		end := tagEnd(rest)
		if end < 0 {
			return xmlToken{}, errors.New("unterminated tag")
		}
		sc.pos += end + 1
		return parseTag(rest[1:end])
	}
}

func (sc *xmlScanner) skipPast(marker string) error {
	end := strings.Index(sc.s[sc.pos:], marker)
	if end < 0 {
		return fmt.Errorf("no closing %q", marker)
	}
	sc.pos += end + len(marker)
	return nil
}

// tagEnd finds the '>' closing the tag that s starts with, skipping quoted attribute values.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// parseTag reads the inside of <...>: "/Name", "Name a='1' b=\"2\"" or "Name/".
func parseTag(inner string) (xmlToken, error) {
	if strings.HasPrefix(inner, "/") {
		name := strings.TrimSpace(inner[1:])
		if name == "" {
			return xmlToken{}, errors.New("empty end tag")
		}
		return xmlToken{kind: tokEnd, name: localName(name)}, nil
	}
	t := xmlToken{kind: tokStart}
	if strings.HasSuffix(inner, "/") {
		t.selfClosing = true
		inner = inner[:len(inner)-1]
	}
	nameEnd := strings.IndexAny(inner, " \t\r\n")
	if nameEnd < 0 {
		nameEnd = len(inner)
	}
	if nameEnd == 0 {
		return xmlToken{}, errors.New("a tag without a name")
	}
	t.name = localName(inner[:nameEnd])
	rest := inner[nameEnd:]
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			return t, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return xmlToken{}, fmt.Errorf("a malformed attribute in <%s>", t.name)
		}
		name := strings.TrimSpace(rest[:eq])
		rest = strings.TrimLeft(rest[eq+1:], " \t\r\n")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			return xmlToken{}, fmt.Errorf("attribute %s of <%s> is not quoted", name, t.name)
		}
		end := strings.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return xmlToken{}, fmt.Errorf("attribute %s of <%s> is not closed", name, t.name)
		}
		t.attrs = append(t.attrs, localName(name), unescapeXML(rest[1:1+end]))
		rest = rest[end+2:]
	}
}

func localName(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// unescapeXML decodes the five named entities and numeric character references; anything
// else is left as written.
func unescapeXML(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, ';')
		if end < 0 || end > 12 {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		if r, ok := entity(s[1:end]); ok {
			b.WriteRune(r)
		} else {
			b.WriteString(s[:end+1])
		}
		s = s[end+1:]
	}
}

func entity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if !strings.HasPrefix(name, "#") {
		return 0, false
	}
	num, base := name[1:], 10
	if strings.HasPrefix(num, "x") || strings.HasPrefix(num, "X") {
		num, base = num[1:], 16
	}
	n, err := strconv.ParseUint(num, base, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
