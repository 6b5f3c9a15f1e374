//go:build windows

package winsrc

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// servicesSource reports the state of the watched services, with the least access that can
// read it: connect to the SCM, then open each service for status and configuration only.
type servicesSource struct{}

func (servicesSource) Name() string { return wire.KindServices }

type serviceResult struct {
	states []wire.ServiceState
	errs   []error
}

func (servicesSource) Collect(ctx context.Context, out collector.Emitter) error {
	res, err := collector.Await(ctx, queryServices)
	if err != nil {
		return err
	}
	for _, e := range res.errs {
		_ = out.Error(e)
	}
	return out.Artifact(wire.KindServices, res.states)
}

// queryServices runs in its own goroutine (see Await): it must not touch the emitter.
func queryServices() (serviceResult, error) {
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return serviceResult{}, fmt.Errorf("connecting to the service control manager: %w; the collector must run as NT AUTHORITY\\SYSTEM (a HostProcess pod)", err)
	}
	m := &mgr.Mgr{Handle: scm}
	defer m.Disconnect() //nolint:errcheck // closing a read-only handle

	var res serviceResult
	for _, name := range watchedServices {
		st, err := queryService(scm, name)
		if err != nil {
			res.errs = append(res.errs, err)
			continue
		}
		res.states = append(res.states, st)
	}
	return res, nil
}

func queryService(scm windows.Handle, name string) (wire.ServiceState, error) {
	namep, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return wire.ServiceState{}, err
	}
	h, err := windows.OpenService(scm, namep, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return wire.ServiceState{Name: name, State: StateNotInstalled}, nil
	}
	if err != nil {
		return wire.ServiceState{}, fmt.Errorf("opening service %s to read its state: %w", name, err)
	}
	s := &mgr.Service{Name: name, Handle: h}
	defer s.Close() //nolint:errcheck // closing a read-only handle

	status, err := s.Query()
	if err != nil {
		return wire.ServiceState{}, fmt.Errorf("reading the state of service %s: %w", name, err)
	}
	return wire.ServiceState{
		Name:      name,
		State:     serviceStateName(uint32(status.State)),
		StartType: startType(h),
		PID:       int(status.ProcessId),
	}, nil
}

// startType reads the start type directly rather than with mgr.Service.Config, which also
// asks for settings we do not need and fails as a whole when one of them is not supported.
// It is best effort: the state matters more, so a failure leaves the start type empty.
func startType(h windows.Handle) string {
	n := uint32(1024)
	var cfg *windows.QUERY_SERVICE_CONFIG
	for range 3 {
		buf := make([]byte, n)
		cfg = (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
		err := windows.QueryServiceConfig(h, cfg, n, &n)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
			return ""
		}
		cfg = nil
	}
	if cfg == nil {
		return ""
	}
	delayed := false
	if cfg.StartType == windows.SERVICE_AUTO_START {
		var info windows.SERVICE_DELAYED_AUTO_START_INFO
		var needed uint32
		if windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
			(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &needed) == nil {
			delayed = info.IsDelayedAutoStartUp != 0
		}
	}
	return startTypeName(cfg.StartType, delayed)
}
