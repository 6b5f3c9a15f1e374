//go:build windows

package probe

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// On Windows the probes use Winsock directly rather than package net, which would add about
// 160 KB (gzipped) to a collector that must stay small. A raw socket also keeps Winsock's
// default of reporting ICMP port unreachable on UDP sockets, which package net turns off.

// Winsock's codes; Go's syscall.ECONNREFUSED on Windows is an invented value Winsock never returns.
const (
	wsaeConnReset   = syscall.Errno(10054) // WSAECONNRESET: a UDP socket's ICMP port unreachable
	wsaeTimedOut    = syscall.Errno(10060) // WSAETIMEDOUT: the SYN retries ran out
	wsaeConnRefused = syscall.Errno(10061) // WSAECONNREFUSED
)

var wsaStartup sync.Once

// socket opens a Winsock socket for the address's family.
func socket(ap netip.AddrPort, typ, proto int) (windows.Handle, windows.Sockaddr, error) {
	wsaStartup.Do(func() {
		var d windows.WSAData
		_ = windows.WSAStartup(0x0202, &d) // the runtime has done it already; this only adds a reference
	})
	var sa windows.Sockaddr
	family := windows.AF_INET
	if ap.Addr().Is4() {
		sa = &windows.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = windows.AF_INET6
		sa = &windows.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	s, err := windows.Socket(family, typ, proto)
	return s, sa, err
}

// withDeadline runs a blocking socket call until it returns or ctx (or the wait) ends; then
// it closes the socket, which makes the call return. It owns closing s.
func withDeadline(ctx context.Context, s windows.Handle, wait time.Duration, call func() error) (err error, expired bool) {
	var once sync.Once
	closeSocket := func() { once.Do(func() { _ = windows.Closesocket(s) }) }
	defer closeSocket()
	done := make(chan error, 1)
	go func() { done <- call() }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err, false
	case <-timer.C:
		closeSocket()
		<-done
		return nil, true
	case <-ctx.Done():
		closeSocket()
		<-done
		return ctx.Err(), false
	}
}

// connectTCP opens and closes a TCP connection.
func connectTCP(ctx context.Context, ap netip.AddrPort) error {
	s, sa, err := socket(ap, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		return err
	}
	wait := time.Hour // the context's deadline bounds it
	err, _ = withDeadline(ctx, s, wait, func() error { return windows.Connect(s, sa) })
	return err
}

// exchangeUDP sends one datagram from a connected socket and waits for a reply or an ICMP
// error (WSAECONNRESET on the receive). It returns false and no error when neither came
// within wait.
func exchangeUDP(ctx context.Context, ap netip.AddrPort, payload []byte, wait time.Duration) (bool, error) {
	s, sa, err := socket(ap, windows.SOCK_DGRAM, windows.IPPROTO_UDP)
	if err != nil {
		return false, err
	}
	replied := false
	err, expired := withDeadline(ctx, s, wait, func() error {
		if err := windows.Connect(s, sa); err != nil {
			return err
		}
		if err := windows.Sendto(s, payload, 0, sa); err != nil {
			return err
		}
		n, _, err := windows.Recvfrom(s, make([]byte, 512), 0)
		replied = err == nil && n >= 0
		return err
	})
	if expired {
		return false, nil
	}
	return replied, err
}

func timedOut(err error) bool { return errors.Is(err, wsaeTimedOut) }

// refused reports a connection refused, or an ICMP port unreachable on a UDP socket.
func refused(err error) bool {
	return errors.Is(err, wsaeConnRefused) || errors.Is(err, wsaeConnReset)
}
