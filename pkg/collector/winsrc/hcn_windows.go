//go:build windows

package winsrc

import (
	"context"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Our own small bindings: only the read calls, resolved lazily so a host without HNS (or Wine)
// gets an error record instead of a crash at start.
var (
	computenetwork = windows.NewLazySystemDLL("computenetwork.dll")
	vmcompute      = windows.NewLazySystemDLL("vmcompute.dll")
)

// hcnSource lists one HCN family (networks, endpoints, load balancers or namespaces) with
// HcnEnumerate*, then opens, queries (Detailed) and closes each object. The artifact is the
// JSON array of the objects exactly as HCN returned them.
type hcnSource struct{ family hcnFamily }

func (s hcnSource) Name() string { return s.family.kind }

func (s hcnSource) Collect(ctx context.Context, out collector.Emitter) error {
	procs, err := loadHCN(s.family)
	if err != nil {
		return err
	}
	// HNS calls cannot be cancelled: wait for them only until the source's deadline.
	objs, err := collector.Await(ctx, procs.list)
	if err != nil {
		return err
	}
	for _, e := range objs.errs {
		_ = out.Error(e)
	}
	return out.RawArtifact(s.family.kind, objs.array())
}

type hcnProcs struct {
	enumerate, open, query, close *windows.LazyProc
}

func loadHCN(f hcnFamily) (hcnProcs, error) {
	if err := computenetwork.Load(); err != nil {
		return hcnProcs{}, dllMissing("computenetwork.dll", err)
	}
	p := hcnProcs{
		enumerate: computenetwork.NewProc(f.enumerateFunc()),
		open:      computenetwork.NewProc(f.openFunc()),
		query:     computenetwork.NewProc(f.queryFunc()),
		close:     computenetwork.NewProc(f.closeFunc()),
	}
	for _, proc := range []*windows.LazyProc{p.enumerate, p.open, p.query, p.close} {
		if err := proc.Find(); err != nil {
			return hcnProcs{}, procMissing("computenetwork.dll", proc.Name)
		}
	}
	return p, nil
}

// list runs in its own goroutine (see Await): it must not touch the emitter.
func (p hcnProcs) list() (*hcnObjects, error) {
	query, err := windows.UTF16PtrFromString(hcnQuery)
	if err != nil {
		return nil, err
	}
	// HRESULT HcnEnumerate*(PCWSTR Query, PWSTR *Ids, PWSTR *ErrorRecord)
	var ids, record *uint16
	hr, _, _ := p.enumerate.Call(uintptr(unsafe.Pointer(query)), uintptr(unsafe.Pointer(&ids)), uintptr(unsafe.Pointer(&record)))
	idList, rec := takeString(ids), takeString(record)
	if failed(hr) {
		return nil, hcnCallError(p.enumerate.Name, uint32(hr), rec)
	}
	guids, err := parseIDList(idList)
	if err != nil {
		return nil, err
	}
	objs := &hcnObjects{}
	for _, id := range guids {
		props, code, err := p.get(id, query)
		switch {
		case err != nil && vanished(code):
			continue // deleted since it was listed
		case err != nil:
			objs.errs = append(objs.errs, err)
		default:
			objs.add(id, props)
		}
	}
	return objs, nil
}

// get opens, queries and closes one object, returning its properties JSON.
func (p hcnProcs) get(id guid, query *uint16) (string, uint32, error) {
	// HRESULT HcnOpen*(REFGUID Id, HCN_* *Handle, PWSTR *ErrorRecord)
	var handle uintptr
	var record *uint16
	hr, _, _ := p.open.Call(uintptr(unsafe.Pointer(&id)), uintptr(unsafe.Pointer(&handle)), uintptr(unsafe.Pointer(&record)))
	if rec := takeString(record); failed(hr) {
		return "", uint32(hr), hcnCallError(p.open.Name+" "+id.String(), uint32(hr), rec)
	}
	// HRESULT HcnClose*(HCN_* Handle)
	defer p.close.Call(handle) //nolint:errcheck // nothing to do if closing fails

	// HRESULT HcnQuery*Properties(HCN_* Handle, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord)
	var props *uint16
	record = nil
	hr, _, _ = p.query.Call(handle, uintptr(unsafe.Pointer(query)), uintptr(unsafe.Pointer(&props)), uintptr(unsafe.Pointer(&record)))
	out, rec := takeString(props), takeString(record)
	if failed(hr) {
		return "", uint32(hr), hcnCallError(p.query.Name+" "+id.String(), uint32(hr), rec)
	}
	return out, 0, nil
}

// hnsVersionSource reads the HNS version through the v1 API (HNSCall GET /globals/version),
// which is what feature checks key on.
type hnsVersionSource struct{}

func (hnsVersionSource) Name() string { return wire.KindHNSVersion }

func (hnsVersionSource) Collect(ctx context.Context, out collector.Emitter) error {
	proc, err := loadHNSCall()
	if err != nil {
		return err
	}
	raw, err := collector.Await(ctx, func() ([]byte, error) {
		resp, err := hnsCall(proc, "GET", "/globals/version", "")
		if err != nil {
			return nil, err
		}
		return hnsVersion(resp)
	})
	if err != nil {
		return err
	}
	return out.RawArtifact(wire.KindHNSVersion, raw)
}

// hnsCall: HRESULT HNSCall(PCWSTR Method, PCWSTR Path, PCWSTR Request, PWSTR *Response).
func hnsCall(proc *windows.LazyProc, method, path, request string) (string, error) {
	m, err := windows.UTF16PtrFromString(method)
	if err != nil {
		return "", err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	r, err := windows.UTF16PtrFromString(request)
	if err != nil {
		return "", err
	}
	var response *uint16
	hr, _, _ := proc.Call(uintptr(unsafe.Pointer(m)), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(r)), uintptr(unsafe.Pointer(&response)))
	resp := takeString(response)
	if failed(hr) {
		return "", hcnCallError("HNSCall "+method+" "+path, uint32(hr), resp)
	}
	return resp, nil
}

// takeString copies a string HCN allocated and frees it (the callee allocates with
// CoTaskMemAlloc; the caller frees).
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	windows.CoTaskMemFree(unsafe.Pointer(p))
	return s
}

// failed reports a failing HRESULT (its sign bit is set).
func failed(hr uintptr) bool { return int32(uint32(hr)) < 0 }
