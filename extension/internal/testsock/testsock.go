// Package testsock opens the tests' own UDP sockets through udpsock, so
// that the tests run wherever the library does: Go's sockets where they
// work, and under Wine, which refuses Go's, udpsock's Winsock socket.
package testsock

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"godtls/extension/udpsock"
)

// Conn is a listening socket as the tests use it: udpsock's, with a read
// deadline and net.PacketConn's methods.
type Conn interface {
	udpsock.DeadlineConn
	net.PacketConn
}

// Listen opens a socket on addr ("ip:port"; port 0 for a free one) and
// closes it when t ends. An address of loopback's other than 127.0.0.1 or
// ::1 must be one the system sends from (NeedSourceAddress).
func Listen(t testing.TB, addr string) Conn {
	t.Helper()
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsLoopback() &&
		ap.Addr() != netip.MustParseAddr("127.0.0.1") && ap.Addr() != netip.IPv6Loopback() {
		NeedSourceAddress(t, ap.Addr().String())
	}
	c, err := ListenAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ListenAt opens a socket on addr ("ip:port"); the caller closes it.
func ListenAt(addr string) (Conn, error) {
	laddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	sock, err := udpsock.Listen(laddr)
	if err != nil {
		return nil, err
	}
	if c, ok := sock.(Conn); ok { // Go's *net.UDPConn
		return c, nil
	}
	return adapted{sock}, nil
}

// Dial opens a socket from laddr ("ip:port", "" for any) that talks to
// raddr only.
func Dial(laddr, raddr string) (net.Conn, error) {
	var local *net.UDPAddr
	if laddr != "" {
		var err error
		if local, err = net.ResolveUDPAddr("udp", laddr); err != nil {
			return nil, err
		}
	}
	remote, err := net.ResolveUDPAddr("udp", raddr)
	if err != nil {
		return nil, err
	}
	return udpsock.DialFrom(local, remote)
}

// adapted gives udpsock's own socket net.PacketConn's methods.
type adapted struct{ udpsock.DeadlineConn }

func (a adapted) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := a.ReadFromUDPAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (a adapted) WriteTo(b []byte, to net.Addr) (int, error) {
	ua, ok := to.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: to, Err: net.InvalidAddrError("not a UDP address")}
	}
	ap := ua.AddrPort()
	return a.WriteToUDPAddrPort(b, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

func (a adapted) SetDeadline(t time.Time) error { return a.SetReadDeadline(t) }

// SetWriteDeadline does nothing: a UDP write does not wait.
func (a adapted) SetWriteDeadline(time.Time) error { return nil }

// NeedLoopback skips t, saying so, where the system has no loopback address
// ip (IPv6 switched off, for ::1).
func NeedLoopback(t testing.TB, ip string) {
	t.Helper()
	c, err := ListenAt(net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("SKIPPED: no loopback %s here: %v", ip, err)
	}
	c.Close()
}

// sendsFrom caches, per address, whether a socket bound there sends from it.
var sendsFrom sync.Map // string -> error (nil: it does)

// NeedSourceAddress skips t, saying so, where a socket bound to ip (one of
// loopback's) does not send from ip. Wine sends every loopback datagram
// from 127.0.0.1, whatever address its socket was bound to: a test of
// the per-address rules cannot tell its addresses apart there.
func NeedSourceAddress(t testing.TB, ip string) {
	t.Helper()
	v, ok := sendsFrom.Load(ip)
	if !ok {
		v, _ = sendsFrom.LoadOrStore(ip, probeSource(ip))
	}
	if err, _ := v.(error); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
}

// probeSource sends one datagram from a socket bound to ip and says where
// it came from, or nil if from ip.
func probeSource(ip string) error {
	to, err := ListenAt("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer to.Close()
	from, err := ListenAt(net.JoinHostPort(ip, "0"))
	if err != nil {
		return err
	}
	defer from.Close()
	if _, err := from.WriteTo([]byte{0}, to.LocalAddr()); err != nil {
		return err
	}
	_ = to.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, seen, err := to.ReadFrom(make([]byte, 16))
	if err != nil {
		return err
	}
	if got := seen.(*net.UDPAddr).IP.String(); got != ip {
		return errors.New("a socket bound to " + ip + " sends from " + got + " on this system (Wine does so): the test cannot tell its source addresses apart")
	}
	return nil
}
