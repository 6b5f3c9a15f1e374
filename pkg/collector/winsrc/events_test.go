package winsrc

import (
	"strings"
	"testing"
	"time"
)

func TestEventXPath(t *testing.T) {
	byName := map[string]eventChannel{}
	for _, ch := range eventChannels {
		byName[ch.name] = ch
	}
	tests := []struct {
		channel string
		since   time.Duration
		want    string
	}{
		{"Microsoft-Windows-Host-Network-Service-Admin", time.Hour,
			"*[System[(Level<=4) and TimeCreated[timediff(@SystemTime) <= 3600000]]]"},
		{"Microsoft-Windows-Hyper-V-VmSwitch-Operational", 90 * time.Minute,
			"*[System[(Level<=3) and TimeCreated[timediff(@SystemTime) <= 5400000]]]"},
		{"System", 2 * time.Hour,
			"*[System[Provider[@Name='Service Control Manager'] and (EventID=7024 or EventID=7031 or EventID=7034 or EventID=7036) and TimeCreated[timediff(@SystemTime) <= 7200000]]]"},
		{"Microsoft-Windows-Hyper-V-Compute-Admin", 0, "*[System[(Level<=3)]]"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			ch, ok := byName[tt.channel]
			if !ok {
				t.Fatalf("channel %s is not read", tt.channel)
			}
			if got := ch.xpath(tt.since); got != tt.want {
				t.Errorf("xpath = %s\nwant   %s", got, tt.want)
			}
		})
	}
	if got := (eventChannel{name: "x"}).xpath(0); got != "*" {
		t.Errorf("no conditions: %s", got)
	}
	if len(eventChannels) != 5 {
		t.Errorf("%d channels, want the 5 the runbook reads", len(eventChannels))
	}
}

const scmEvent = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2025-11-26T01:02:03.1234567Z'/><EventRecordID>4242</EventRecordID><Correlation/><Execution ProcessID='704' ThreadID='5012'/><Channel>System</Channel><Computer>win-node-1</Computer><Security/></System><EventData><Data Name='param1'>Host Network Service</Data><Data Name='param2'>stopped</Data><Binary>68006E0073002F0031000000</Binary></EventData></Event>`

const hnsUserDataEvent = `<?xml version="1.0" encoding="utf-8"?>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-Host-Network-Service" Guid="{0c885e0d-6eb6-476c-a048-2457eed3a5c1}" />
    <EventID>1000</EventID>
    <Level>2</Level>
    <TimeCreated SystemTime="2025-11-26T01:02:04Z" />
    <Channel>Microsoft-Windows-Host-Network-Service-Admin</Channel>
  </System>
  <!-- provider-defined payload -->
  <UserData>
    <hns:Failure xmlns:hns="urn:example">
      <hns:Operation>ElbDsrPolicy-Update-Failure</hns:Operation>
      <hns:Detail>vip=10.96.0.10 &amp; port&gt;53 &#x41;&#66;</hns:Detail>
      <hns:Raw><![CDATA[a <raw> value]]></hns:Raw>
      <hns:Empty/>
    </hns:Failure>
  </UserData>
</Event>`

func TestParseEventXML(t *testing.T) {
	e, err := parseEventXML(scmEvent)
	if err != nil {
		t.Fatal(err)
	}
	want := parsedEvent{Provider: "Service Control Manager", ID: 7036, Level: 4, Channel: "System", RecordID: 4242,
		Time: time.Date(2025, 11, 26, 1, 2, 3, 123456700, time.UTC), Binary: "68006E0073002F0031000000",
		Data: []eventDatum{{"param1", "Host Network Service"}, {"param2", "stopped"}}}
	if e.Provider != want.Provider || e.ID != want.ID || e.Level != want.Level || e.Channel != want.Channel || e.RecordID != want.RecordID ||
		!e.Time.Equal(want.Time) || e.Binary != want.Binary || len(e.Data) != 2 || e.Data[0] != want.Data[0] || e.Data[1] != want.Data[1] {
		t.Errorf("parseEventXML = %+v\nwant %+v", e, want)
	}

	e, err = parseEventXML(hnsUserDataEvent)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 1000 || e.Level != 2 || e.Provider != "Microsoft-Windows-Host-Network-Service" {
		t.Errorf("UserData event = %+v", e)
	}
	got := fallbackMessage(&e)
	if want := "Operation=ElbDsrPolicy-Update-Failure; Detail=vip=10.96.0.10 & port>53 AB; Raw=a <raw> value"; got != want {
		t.Errorf("fallback message = %q\nwant %q", got, want)
	}

	bad := []struct{ name, xml, want string }{
		{"not xml", "garbage", "holds no XML element"},
		{"unterminated tag", "<Event><System", "unexpected EOF"},
		{"mismatched end", "<Event><System></Event>", "element <System> closed by </Event>"},
		{"no EventID", "<Event><System><Level>2</Level><TimeCreated SystemTime='2025-11-26T01:02:04Z'/></System></Event>", "no numeric EventID"},
		{"bad time", "<Event><System><EventID>1</EventID><TimeCreated SystemTime='yesterday'/></System></Event>", "no valid TimeCreated"},
		{"bad level", "<Event><System><EventID>1</EventID><Level>high</Level></System></Event>", "Level that is not a number"},
		{"unquoted attribute", "<Event><System><Provider Name=x/></System></Event>", "unquoted or missing attribute value"},
		{"unterminated comment", "<Event><!-- x", "unexpected EOF"},
		{"unterminated CDATA", "<Event><![CDATA[x", "unexpected EOF in CDATA section"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if _, err := parseEventXML(b.xml); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("parseEventXML(%q) error = %v, want %q", b.xml, err, b.want)
			}
		})
	}
}

func FuzzParseEventXML(f *testing.F) {
	f.Add(scmEvent)
	f.Add(hnsUserDataEvent)
	f.Add("<a b='&#x110000;'>&#99999999999;&bogus;&amp</a>")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseEventXML(s) // must not panic or hang
	})
}

func TestWatchedServiceEvents(t *testing.T) {
	tests := []struct {
		name string
		e    parsedEvent
		want bool
	}{
		{"display name in param1", parsedEvent{Data: []eventDatum{{"param1", "Host Network Service"}}}, true},
		{"service name in the binary", parsedEvent{Binary: "6B00750062006500700072006F00780079000000", Data: []eventDatum{{"param1", "Some Display"}}}, true},
		{"kube-proxy by name", parsedEvent{Data: []eventDatum{{"param1", "kube-proxy"}}}, true},
		{"message only", parsedEvent{Message: "The Hyper-V Host Compute Service service terminated unexpectedly."}, true},
		{"another service", parsedEvent{Data: []eventDatum{{"param1", "Windows Update"}}, Binary: "770075006100750073006500720076000000", Message: "The Windows Update service entered the running state."}, false},
		{"a name inside a longer name", parsedEvent{Data: []eventDatum{{"param1", "kubelet-helper"}}}, false},
		{"binary that is not hex", parsedEvent{Binary: "zz"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isWatchedServiceEvent(&tt.e); got != tt.want {
				t.Errorf("isWatchedServiceEvent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestToWireEvent(t *testing.T) {
	e := parsedEvent{Provider: "P", ID: 7, Level: 0, Time: time.Unix(0, 0).UTC(), Message: "  using --token=abc\r\n"}
	w := toWireEvent(&e, "Chan")
	if w.Channel != "Chan" || w.Level != "Information" || w.Message != "using --token=[REDACTED:secret]" || w.ID != 7 {
		t.Errorf("toWireEvent = %+v", w)
	}
	e = parsedEvent{Channel: "System", Level: 2, Message: strings.Repeat("é", maxMessageBytes)}
	w = toWireEvent(&e, "x")
	if w.Channel != "System" || len(w.Message) > maxMessageBytes+len("…") || !strings.HasSuffix(w.Message, "…") || strings.ContainsRune(w.Message, '\uFFFD') {
		t.Errorf("long message not cut cleanly: %d bytes", len(w.Message))
	}
	e = parsedEvent{Provider: "P", ID: 9}
	if w := toWireEvent(&e, "x"); !strings.Contains(w.Message, "could not be formatted") {
		t.Errorf("empty fallback = %q", w.Message)
	}
	for level, want := range map[int]string{0: "Information", 1: "Critical", 2: "Error", 3: "Warning", 4: "Information", 5: "Verbose", 9: "Level 9"} {
		if got := levelName(level); got != want {
			t.Errorf("levelName(%d) = %s, want %s", level, got, want)
		}
	}
}
