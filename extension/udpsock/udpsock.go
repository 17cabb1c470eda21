// Package udpsock opens the UDP sockets the server and the client use.
// A server whose socket the game's frame reads gets, on Linux, a socket of
// its own outside Go's network poller (unpolled_linux.go). Everything else
// is Go's net package, except on Windows when Go's socket fails: Go
// (1.23+) turns off ICMP error reporting on every UDP socket with two
// WSAIoctl calls and refuses the socket when either fails; Wine and Proton
// (a Windows build of a game on Linux or a Steam Deck) do not implement
// SIO_UDP_NETRESET, so every Go UDP socket fails there. When that is the
// reason, the socket is opened here instead, with the same behaviour. On
// Linux every socket opened here ignores "fragmentation needed" reports
// about its IPv4 datagrams, which anyone can forge (pathmtu_linux.go).
package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// PacketConn is what the server needs of its socket; *net.UDPConn is one.
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
	Close() error
}

// DeadlineConn is a PacketConn whose reads take a deadline: what Listen
// opens, Go's socket or the fallback. (ListenUnpolled's Linux socket has
// none: the game's frame reads it without waiting.)
type DeadlineConn interface {
	PacketConn
	SetReadDeadline(t time.Time) error
}

// ListenUnpolled opens a UDP socket on laddr for a server whose socket the
// game's frame reads: on Linux one outside Go's network poller
// (unpolled_linux.go), which wakes no thread for datagrams nobody waits
// for; elsewhere what Listen opens.
func ListenUnpolled(laddr *net.UDPAddr) (PacketConn, error) {
	if c, ok, err := listenUnpolled(laddr); ok {
		return c, err
	}
	return Listen(laddr)
}

// Listen opens a UDP socket on laddr, Go's own where it works.
func Listen(laddr *net.UDPAddr) (DeadlineConn, error) {
	c, err := net.ListenUDP("udp", laddr)
	if err == nil {
		ignorePathMTUReportsOn(c)
		return c, nil
	}
	if fallbackFor(err) {
		return listenOwn(laddr)
	}
	return nil, err
}

// Dial opens a UDP socket that talks to raddr only.
func Dial(raddr *net.UDPAddr) (net.Conn, error) { return DialFrom(nil, raddr) }

// DialFrom opens a UDP socket on laddr (nil: any address, a free port)
// that talks to raddr only: a client that must send from a given address,
// as the tests of a server's per-address rules do.
func DialFrom(laddr, raddr *net.UDPAddr) (net.Conn, error) {
	c, err := net.DialUDP("udp", laddr, raddr)
	if err == nil {
		hearUnreachable(c)
		ignorePathMTUReportsOn(c)
		return c, nil
	}
	if fallbackFor(err) {
		return dialOwn(laddr, raddr)
	}
	return nil, err
}

// Unreachable reports whether err is a read that failed because the
// dialed address answered an earlier datagram with ICMP port unreachable:
// nothing listens there. Linux says ECONNREFUSED on a connected socket;
// Windows says WSAECONNRESET (Go's overlapped receives get it too, through
// WSAGetOverlappedResult), and Wine passes Linux's refusal on as
// WSAECONNREFUSED. A dialed socket hears of it on every platform
// (hearUnreachable); a listening one never does.
func Unreachable(err error) bool {
	for _, code := range errUnreachable {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// Reported reports whether err is an ICMP error report that the system
// handed to a read or write on a dialed socket: an earlier datagram drew it
// (port, host, network or protocol unreachable, fragmentation needed, a
// parameter problem; Unreachable's is one of them). It says nothing of the
// datagram of the call it failed, and anyone who knows both ends of the
// connection can forge one: one report must not end a connection.
func Reported(err error) bool {
	for _, code := range errReported {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// WriteDialed writes b to dialed socket c. A write that fails with a report
// (Reported) took it in place of the next read and did not send b, so b
// is written once more: a forged report must not cost a datagram.
func WriteDialed(c net.Conn, b []byte) (int, error) {
	n, err := c.Write(b)
	if err != nil && Reported(err) {
		n, err = c.Write(b)
	}
	return n, err
}

// AddrInUse reports whether err is a bind refused because another socket
// holds the address. Windows says so with WSAEADDRINUSE (10048), which Go's
// syscall.EADDRINUSE is not there: on Windows that name is a number Go
// made up for the Unix name, which no Windows call returns.
func AddrInUse(err error) bool {
	return errors.Is(err, errAddrInUse)
}
