package udpsock

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ignorePathMTUReports makes the socket whose descriptor is fd ignore ICMP
// "fragmentation needed" reports about its IPv4 datagrams (on a dual-stack
// IPv6 socket too, for its IPv4 peers).
//
// Why: anyone who knows a peer's address and port can forge such a report.
// Linux's default (IP_PMTUDISC_WANT) records the MTU it names as the path's
// to that address, for every socket, for ten minutes, down to 552 bytes;
// every larger datagram to the peer is then cut into IP fragments, which
// some networks drop: one forged packet could keep a player from joining.
// IP_PMTUDISC_OMIT (Linux 3.15+) is what DNS servers use against the same
// forgery: the socket keeps the interface's MTU and sends without the
// don't-fragment flag, so a router on a narrower path fragments the
// datagram rather than dropping it and reporting back. The library does no
// path MTU discovery of its own (the MTU is configured), so nothing is
// lost by not hearing the reports.
//
// IPv6 keeps Linux's default: its routers never fragment, so a socket that
// ignored "packet too big" would lose every datagram above a narrower
// path's MTU for good, and a forged one can lower the path's MTU only to
// 1,280 bytes, which every IPv6 link carries (the server keeps its
// handshakes with IPv6 peers within that: server/handshake.go).
//
// Best effort where the library opens the socket: a kernel without the
// option (EINVAL) leaves the socket as it was; on an IPv6-only socket the
// option has no IPv4 datagram to act on.
func ignorePathMTUReports(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_OMIT)
}

// ignorePathMTUReportsOn is ignorePathMTUReports for one of Go's sockets.
func ignorePathMTUReportsOn(c syscall.Conn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) { _ = ignorePathMTUReports(int(fd)) })
}
