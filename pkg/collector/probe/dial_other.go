//go:build !windows

package probe

import (
	"context"
	"errors"
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
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", ap.String()) // no packet yet: this picks the route and source address
	if err != nil {
		return false, err
	}
	defer c.Close()
	if _, err := c.Write(payload); err != nil {
		return false, err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err = c.Read(make([]byte, 512))
	if timedOut(err) {
		return false, nil
	}
	return err == nil, err
}

func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// refused reports a connection refused, or an ICMP port unreachable on a UDP socket.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
