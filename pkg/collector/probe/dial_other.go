//go:build !windows

package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// connectTCP opens and closes a TCP connection.
func connectTCP(ctx context.Context, ap netip.AddrPort) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return err
	}
	return c.Close()
}

// exchangeUDP sends one datagram from a connected socket and waits for a reply or an ICMP
// error, which a connected UDP socket reports on the next read (ECONNREFUSED). It returns
// false and no error when neither came within wait.
func exchangeUDP(ctx context.Context, ap netip.AddrPort, payload []byte, wait time.Duration) (bool, error) {
	_, err := exchange(ctx, ap, "udp", payload, wait, func(c net.Conn) ([]byte, error) {
		_, err := c.Read(make([]byte, 512))
		return nil, err
	})
	if errors.Is(err, errExpired) {
		return false, nil
	}
	return err == nil, err
}

// exchangeDNS sends a DNS query over UDP or TCP and returns the reply; errExpired when none
// came within wait.
func exchangeDNS(ctx context.Context, ap netip.AddrPort, overTCP bool, query []byte, wait time.Duration) ([]byte, error) {
	if overTCP {
		return exchange(ctx, ap, "tcp", frameTCP(query), wait, func(c net.Conn) ([]byte, error) {
			return readFramed(func(b []byte) (int, error) {
				n, err := c.Read(b)
				if errors.Is(err, io.EOF) {
					err = nil // read as Winsock reports it: 0 bytes
				}
				return n, err
			})
		})
	}
	return exchange(ctx, ap, "udp", query, wait, func(c net.Conn) ([]byte, error) {
		buf := make([]byte, maxDNSMessage)
		n, err := c.Read(buf)
		return buf[:n], err
	})
}

// exchange dials (for UDP: picks the route and source address), writes payload and reads
// the answer with read, all within wait.
func exchange(ctx context.Context, ap netip.AddrPort, network string, payload []byte, wait time.Duration, read func(net.Conn) ([]byte, error)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, ap.String())
	if err != nil {
		return nil, expired(ctx, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(payload); err != nil {
		return nil, expired(ctx, err)
	}
	b, err := read(c)
	return b, expired(ctx, err)
}

// expired turns the error of a call cut short by ctx's deadline (the wait) into errExpired,
// and keeps a cancellation as one.
func expired(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errExpired
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// refused reports a connection refused, or an ICMP port unreachable on a UDP socket.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
