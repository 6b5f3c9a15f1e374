// Package winevent is the Windows event schema
// (http://schemas.microsoft.com/win/2004/08/events/event) as encoding/xml reads it: the fields
// winnet uses of one <Event>, whether the collector rendered it on the node (EvtRender) or a
// user exported it (wevtutil qe /f:xml or /f:RenderedXml). Names match without the namespace.
// The collector imports it, so it imports nothing beyond the standard library.
package winevent

// Event is one <Event> element.
type Event struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Level       string `xml:"Level"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		Channel       string `xml:"Channel"`
		EventRecordID string `xml:"EventRecordID"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
		Binary string `xml:"Binary"`
	} `xml:"EventData"`
	// UserData replaces EventData in some providers' events; it has no fixed schema.
	UserData struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"UserData"`
	// RenderingInfo is only in /f:RenderedXml exports: the message as Event Viewer shows it.
	RenderingInfo struct {
		Message string `xml:"Message"`
		Level   string `xml:"Level"`
	} `xml:"RenderingInfo"`
}
