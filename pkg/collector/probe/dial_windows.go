//go:build windows

package probe

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the probes use Winsock directly rather than package net, which would add about
// 160 KB (gzipped) to a collector that must stay small. A raw socket also keeps Winsock's
// default of reporting ICMP port unreachable on UDP sockets, which package net turns off, and
// lets every call run on the calling thread (see Run).

// Winsock's codes; Go's syscall.ECONNREFUSED on Windows is an invented value Winsock never returns.
const (
	wsaeConnReset   = syscall.Errno(10054) // WSAECONNRESET: a UDP socket's ICMP port unreachable
	wsaeTimedOut    = syscall.Errno(10060) // WSAETIMEDOUT: the SYN retries ran out
	wsaeConnRefused = syscall.Errno(10061) // WSAECONNREFUSED
)

var wsaStartup sync.Once

// socket opens a Winsock socket for the address's family. A socket belongs to the network
// compartment of the thread that creates it.
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

// withDeadline runs a blocking socket call on the calling goroutine until it returns, and
// closes the socket from a watcher goroutine when ctx ends or wait passes, which makes the
// call return. It returns errExpired when the wait ran out. It owns closing s.
func withDeadline(ctx context.Context, s windows.Handle, wait time.Duration, call func() error) error {
	var once sync.Once
	closeSocket := func() { once.Do(func() { _ = windows.Closesocket(s) }) }
	stop := make(chan struct{})
	why := make(chan error, 1)
	go func() {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-stop:
			why <- nil
		case <-timer.C:
			closeSocket()
			why <- errExpired
		case <-ctx.Done():
			closeSocket()
			why <- ctx.Err()
		}
	}()
	err := call()
	close(stop)
	if cut := <-why; cut != nil {
		err = cut // the call failed because its socket was closed under it
	}
	closeSocket()
	return err
}

// connectTCP opens and closes a TCP connection.
func connectTCP(ctx context.Context, ap netip.AddrPort) error {
	s, sa, err := socket(ap, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		return err
	}
	wait := time.Hour // the context's deadline bounds it
	return withDeadline(ctx, s, wait, func() error { return windows.Connect(s, sa) })
}

// exchangeUDP sends one datagram from a connected socket and waits for a reply or an ICMP
// error (WSAECONNRESET on the receive). It returns false and no error when neither came
// within wait.
func exchangeUDP(ctx context.Context, ap netip.AddrPort, payload []byte, wait time.Duration) (bool, error) {
	_, err := exchangeDatagram(ctx, ap, payload, wait, 512)
	if errors.Is(err, errExpired) {
		return false, nil
	}
	return err == nil, err
}

// exchangeDNS sends a DNS query over UDP or TCP and returns the reply; errExpired when none
// came within wait.
func exchangeDNS(ctx context.Context, ap netip.AddrPort, overTCP bool, query []byte, wait time.Duration) ([]byte, error) {
	if !overTCP {
		return exchangeDatagram(ctx, ap, query, wait, maxDNSMessage)
	}
	s, sa, err := socket(ap, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		return nil, err
	}
	var reply []byte
	err = withDeadline(ctx, s, wait, func() error {
		if err := windows.Connect(s, sa); err != nil {
			return err
		}
		if err := sendAll(s, frameTCP(query)); err != nil {
			return err
		}
		var err error
		reply, err = readFramed(func(b []byte) (int, error) { return recv(s, b) })
		return err
	})
	return reply, err
}

// exchangeDatagram sends one datagram from a connected UDP socket and returns the first one
// that comes back.
func exchangeDatagram(ctx context.Context, ap netip.AddrPort, payload []byte, wait time.Duration, size int) ([]byte, error) {
	s, sa, err := socket(ap, windows.SOCK_DGRAM, windows.IPPROTO_UDP)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n := 0
	err = withDeadline(ctx, s, wait, func() error {
		if err := windows.Connect(s, sa); err != nil {
			return err
		}
		if err := windows.Sendto(s, payload, 0, sa); err != nil {
			return err
		}
		var err error
		n, _, err = windows.Recvfrom(s, buf, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf[:max(n, 0)], nil
}

// sendAll writes b to a connected stream socket. (windows.Sendto cannot: it reports no count.)
func sendAll(s windows.Handle, b []byte) error {
	for len(b) > 0 {
		var sent uint32
		buf := windows.WSABuf{Len: uint32(len(b)), Buf: unsafe.SliceData(b)}
		if err := windows.WSASend(s, &buf, 1, &sent, 0, nil, nil); err != nil {
			return err
		}
		b = b[min(int(sent), len(b)):]
	}
	return nil
}

// recv reads from a connected stream socket. (windows.Recvfrom cannot: a stream socket
// reports no sender, which it takes for an error.)
func recv(s windows.Handle, b []byte) (int, error) {
	var got, flags uint32
	buf := windows.WSABuf{Len: uint32(len(b)), Buf: unsafe.SliceData(b)}
	if err := windows.WSARecv(s, &buf, 1, &got, &flags, nil, nil); err != nil {
		return 0, err
	}
	return int(got), nil
}

func timedOut(err error) bool { return errors.Is(err, wsaeTimedOut) }

// refused reports a connection refused, or an ICMP port unreachable on a UDP socket.
func refused(err error) bool {
	return errors.Is(err, wsaeConnRefused) || errors.Is(err, wsaeConnReset)
}
