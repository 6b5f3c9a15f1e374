//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Our own bindings to the event log API (winevt.h), resolved lazily.
var (
	wevtapi                      = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtQuery                 = wevtapi.NewProc("EvtQuery")
	procEvtNext                  = wevtapi.NewProc("EvtNext")
	procEvtRender                = wevtapi.NewProc("EvtRender")
	procEvtClose                 = wevtapi.NewProc("EvtClose")
	procEvtFormatMessage         = wevtapi.NewProc("EvtFormatMessage")
	procEvtOpenPublisherMetadata = wevtapi.NewProc("EvtOpenPublisherMetadata")
)

const (
	evtQueryChannelPath      = 0x1
	evtQueryReverseDirection = 0x200 // newest first, so the cap keeps the newest
	evtRenderEventXML        = 1
	evtFormatMessageEvent    = 1
	evtNextBatch             = 32
	evtNextTimeoutMS         = 10000

	errorInsufficientBuffer = syscall.Errno(122)
	errorNoMoreItems        = syscall.Errno(259)
	errorTimeout            = syscall.Errno(1460)
	errorEvtChannelNotFound = syscall.Errno(15007)
)

// errEventLogUnsupported: Wine's EvtQuery is a stub that returns no handle and sets no error.
var errEventLogUnsupported = errors.New("event log query not supported on this host: EvtQuery returned no result and no error (as Wine's stub does); no events are collected")

// eventsSource reads one channel: the query, then batches of events rendered as XML and
// formatted with their publisher's message table.
type eventsSource struct {
	ch    eventChannel
	since time.Duration
}

func (s eventsSource) Name() string { return wire.KindEvents + ":" + s.ch.name }

func (s eventsSource) Collect(ctx context.Context, out collector.Emitter) error {
	if err := wevtapi.Load(); err != nil {
		return fmt.Errorf("the event log API (wevtapi.dll) is not available on this host: %w; no events are collected", err)
	}
	for _, p := range []*windows.LazyProc{procEvtQuery, procEvtNext, procEvtRender, procEvtClose, procEvtFormatMessage, procEvtOpenPublisherMetadata} {
		if err := p.Find(); err != nil {
			return fmt.Errorf("wevtapi.dll has no %s on this host; no events are collected", p.Name)
		}
	}
	// The event log service can stall like HNS; the reader checks ctx between batches and
	// Await gives up at the deadline either way.
	res, err := collector.Await(ctx, func() (eventResult, error) { return readChannel(ctx, s.ch, s.since) })
	if err != nil {
		return err
	}
	for _, e := range res.errs {
		_ = out.Error(e)
	}
	if res.skipped > 0 {
		out.Logf("%d event(s) of %s could not be read and were skipped", res.skipped, s.ch.name)
	}
	return out.Artifact(wire.KindEvents, res.events)
}

type eventResult struct {
	events  []wire.Event
	errs    []error
	skipped int
}

// readChannel runs in its own goroutine (see Await): it must not touch the emitter.
func readChannel(ctx context.Context, ch eventChannel, since time.Duration) (eventResult, error) {
	path, err := windows.UTF16PtrFromString(ch.name)
	if err != nil {
		return eventResult{}, err
	}
	query, err := windows.UTF16PtrFromString(ch.xpath(since))
	if err != nil {
		return eventResult{}, err
	}
	// EVT_HANDLE EvtQuery(EVT_HANDLE Session, LPCWSTR Path, LPCWSTR Query, DWORD Flags)
	h, _, callErr := procEvtQuery.Call(0, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(query)), evtQueryChannelPath|evtQueryReverseDirection)
	if h == 0 {
		errno, _ := callErr.(syscall.Errno)
		switch errno {
		case 0:
			return eventResult{}, errEventLogUnsupported
		case errorEvtChannelNotFound:
			return eventResult{}, fmt.Errorf("event channel %s does not exist on this node (ERROR_EVT_CHANNEL_NOT_FOUND); this is expected when %s, and is not a failure of the run", ch.name, ch.missing)
		}
		return eventResult{}, fmt.Errorf("querying event channel %s: %w", ch.name, callErr)
	}
	defer evtClose(h)

	r := &channelReader{ch: ch, publishers: map[string]uintptr{}}
	defer r.close()
	var res eventResult
	handles := make([]uintptr, evtNextBatch)
	examined := 0
	for len(res.events) < maxEventsPerChannel {
		if examined >= maxEventsExamined {
			// A channel filtered in Go (System) can match many events the filter then drops;
			// stop with what was found rather than run into the source's deadline with nothing.
			res.errs = append(res.errs, fmt.Errorf("event channel %s: stopped after examining the newest %d matching events; older events in the window are not reported (narrow --since to see them all)", ch.name, maxEventsExamined))
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// BOOL EvtNext(EVT_HANDLE ResultSet, DWORD EventsSize, PEVT_HANDLE Events, DWORD Timeout, DWORD Flags, PDWORD Returned)
		var returned uint32
		ok, _, callErr := procEvtNext.Call(h, evtNextBatch, uintptr(unsafe.Pointer(&handles[0])), evtNextTimeoutMS, 0, uintptr(unsafe.Pointer(&returned)))
		if ok == 0 {
			if errno, _ := callErr.(syscall.Errno); errno == errorNoMoreItems {
				break
			} else if errno == errorTimeout {
				return res, fmt.Errorf("reading event channel %s: the event log service did not answer within %ds; %d event(s) were read before", ch.name, evtNextTimeoutMS/1000, len(res.events))
			}
			return res, fmt.Errorf("reading event channel %s: %w", ch.name, callErr)
		}
		examined += int(returned)
		for _, eh := range handles[:returned] {
			if len(res.events) < maxEventsPerChannel {
				r.add(eh, &res)
			}
			evtClose(eh)
		}
	}
	return res, nil
}

// channelReader renders and formats events, reusing one buffer and caching each provider's
// publisher metadata (opening it loads the provider's message DLL: once per provider).
type channelReader struct {
	ch         eventChannel
	buf        []uint16
	publishers map[string]uintptr // 0 caches a publisher that cannot be opened
}

func (r *channelReader) add(eh uintptr, res *eventResult) {
	xmlText, err := r.render(eh)
	if err != nil {
		res.skipped++
		if len(res.errs) == 0 { // one example is enough; the count goes to the log
			res.errs = append(res.errs, fmt.Errorf("rendering an event of %s: %w", r.ch.name, err))
		}
		return
	}
	e, err := parseEventXML(xmlText)
	if err != nil {
		res.skipped++
		if len(res.errs) == 0 {
			res.errs = append(res.errs, fmt.Errorf("reading an event of %s: %w", r.ch.name, err))
		}
		return
	}
	// Formatting loads the provider's message table: do it only for events that are kept, and
	// before filtering only when the filter has nothing but the message to go on.
	if r.ch.keep != nil && len(e.Data) == 0 && e.Binary == "" {
		e.Message = r.format(eh, e.Provider)
	}
	if r.ch.keep != nil && !r.ch.keep(&e) {
		return
	}
	if e.Message == "" {
		e.Message = r.format(eh, e.Provider)
	}
	res.events = append(res.events, toWireEvent(&e, r.ch.name))
}

// render: BOOL EvtRender(EVT_HANDLE Context, EVT_HANDLE Fragment, DWORD Flags, DWORD BufferSize (bytes), PVOID Buffer, PDWORD BufferUsed, PDWORD PropertyCount)
func (r *channelReader) render(eh uintptr) (string, error) {
	if r.buf == nil {
		r.buf = make([]uint16, 8<<10)
	}
	for range 3 {
		var used, props uint32
		ok, _, callErr := procEvtRender.Call(0, eh, evtRenderEventXML, uintptr(len(r.buf)*2), uintptr(unsafe.Pointer(&r.buf[0])), uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if ok != 0 {
			return windows.UTF16ToString(r.buf[:min(int(used/2), len(r.buf))]), nil
		}
		if errno, _ := callErr.(syscall.Errno); errno != errorInsufficientBuffer || used/2 > 4<<20 {
			return "", callErr
		}
		r.buf = make([]uint16, used/2+1)
	}
	return "", errors.New("the event kept growing while it was rendered")
}

// format returns the event's message from its publisher's message table, or "" when that
// cannot be done (the caller falls back to the event's data).
// BOOL EvtFormatMessage(EVT_HANDLE PublisherMetadata, EVT_HANDLE Event, DWORD MessageId, DWORD ValueCount, PEVT_VARIANT Values, DWORD Flags, DWORD BufferSize (chars), LPWSTR Buffer, PDWORD BufferUsed)
func (r *channelReader) format(eh uintptr, provider string) string {
	pm, ok := r.publishers[provider]
	if !ok {
		pm = openPublisher(provider)
		r.publishers[provider] = pm
	}
	if pm == 0 {
		return ""
	}
	for range 3 {
		var used uint32
		ok, _, callErr := procEvtFormatMessage.Call(pm, eh, 0, 0, 0, evtFormatMessageEvent, uintptr(len(r.buf)), uintptr(unsafe.Pointer(&r.buf[0])), uintptr(unsafe.Pointer(&used)))
		if ok != 0 {
			return windows.UTF16ToString(r.buf[:min(int(used), len(r.buf))])
		}
		// Missing message tables and unresolved inserts (15027-15033, 15100) are common
		// for third-party providers: fall back quietly.
		if errno, _ := callErr.(syscall.Errno); errno != errorInsufficientBuffer || used > 4<<20 {
			return ""
		}
		r.buf = make([]uint16, used+1)
	}
	return ""
}

// openPublisher: EVT_HANDLE EvtOpenPublisherMetadata(EVT_HANDLE Session, LPCWSTR PublisherId, LPCWSTR LogFilePath, LCID Locale, DWORD Flags)
func openPublisher(provider string) uintptr {
	if provider == "" {
		return 0
	}
	p, err := windows.UTF16PtrFromString(provider)
	if err != nil {
		return 0
	}
	h, _, _ := procEvtOpenPublisherMetadata.Call(0, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	return h
}

func (r *channelReader) close() {
	for _, h := range r.publishers {
		if h != 0 {
			evtClose(h)
		}
	}
}

func evtClose(h uintptr) { _, _, _ = procEvtClose.Call(h) }
