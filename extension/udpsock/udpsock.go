// Package udpsock opens the UDP sockets the server and the client use.
// Everywhere but Windows that is Go's net package. On Windows, Go (1.23+)
// turns off ICMP error reporting on every UDP socket with two WSAIoctl
// calls and refuses the socket when either fails; Wine and Proton (a
// Windows build of a game on Linux or a Steam Deck) do not implement
// SIO_UDP_NETRESET, so every Go UDP socket fails there. When that is the
// reason, the socket is opened here instead, with the same behaviour.
package udpsock

import (
	"net"
	"net/netip"
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

// Listen opens a UDP socket on laddr.
func Listen(laddr *net.UDPAddr) (PacketConn, error) {
	c, err := net.ListenUDP("udp", laddr)
	if err == nil {
		return c, nil
	}
	if fallbackFor(err) {
		return listenOwn(laddr)
	}
	return nil, err
}

// Dial opens a UDP socket that talks to raddr only.
func Dial(raddr *net.UDPAddr) (net.Conn, error) {
	c, err := net.DialUDP("udp", nil, raddr)
	if err == nil {
		return c, nil
	}
	if fallbackFor(err) {
		return dialOwn(raddr)
	}
	return nil, err
}
