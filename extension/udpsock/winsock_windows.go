//go:build windows

package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// fallbackFor reports Go's net refusing a UDP socket because one of the
// WSAIoctl calls it makes on every UDP socket failed (Wine: WSAEOPNOTSUPP
// for SIO_UDP_NETRESET).
func fallbackFor(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "wsaioctl"
}

const (
	sioUDPConnReset = syscall.SIO_UDP_CONNRESET
	sioUDPNetReset  = syscall.IOC_IN | syscall.IOC_VENDOR | 15
	soRcvTimeo      = 0x1006

	wsaeMsgSize     syscall.Errno = 10040
	errAddrInUse    syscall.Errno = 10048 // WSAEADDRINUSE; AddrInUse
	wsaeNetReset    syscall.Errno = 10052
	wsaeTimedOut    syscall.Errno = 10060
	wsaeConnRefused syscall.Errno = 10061 // Wine's word for Linux's ECONNREFUSED

	// pollInterval is how long one blocking receive waits before the read
	// looks at its deadline and at Close again: the latency of a deadline
	// or a Close, never of a datagram.
	pollInterval = 50 * time.Millisecond
)

// errUnreachable is what a receive on a dialed socket fails with after
// ICMP port unreachable (Unreachable).
var errUnreachable = []error{syscall.WSAECONNRESET, wsaeConnRefused}

// errReported is what a call on a dialed socket fails with when an ICMP
// error report about an earlier datagram is waiting (Reported). Windows
// reports port unreachable only (the dialed socket switches on
// SIO_UDP_CONNRESET, not SIO_UDP_NETRESET). Under Wine or Proton the socket
// is Linux's, and Wine 8 renames Linux's other reports: network and host
// unreachable keep their names, IPv6's prohibited and rejected come as
// WSAEACCES, and host unknown, host isolated and a parameter problem as
// WSAEINVAL (TestReportsAreRecognized).
var errReported = append([]error{
	syscall.Errno(10051), // WSAENETUNREACH
	syscall.Errno(10065), // WSAEHOSTUNREACH
	syscall.Errno(10013), // WSAEACCES
	syscall.Errno(10022), // WSAEINVAL: Wine's name for the reports it has none for
}, errUnreachable...)

// setICMPReports switches on or off whether a receive fails with an ICMP
// error (port or network unreachable, TTL expired) that an earlier send
// drew. Best effort: where the system lacks a code, nothing changes.
func setICMPReports(fd syscall.Handle, codes []uint32, on bool) {
	flag, ret := uint32(0), uint32(0)
	if on {
		flag = 1
	}
	for _, code := range codes {
		_ = syscall.WSAIoctl(fd, code, (*byte)(unsafe.Pointer(&flag)), 4, nil, 0, &ret, nil, 0)
	}
}

// hearUnreachable switches port-unreachable reports back on for a dialed
// Go socket, which Go switched off: a client then learns that nothing
// listens on the server's port at once, as on Linux, not at its timeout.
// A listening socket keeps them off (one peer's report must not fail the
// receive that serves every peer).
func hearUnreachable(c *net.UDPConn) {
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { setICMPReports(syscall.Handle(fd), []uint32{sioUDPConnReset}, true) })
	}
}

// sock is a blocking Winsock UDP socket whose receives time out every
// pollInterval, which is how deadlines and Close reach a blocked read.
type sock struct {
	fd    syscall.Handle
	v6    bool // AF_INET6, dual stack: IPv4 peers are IPv4-mapped
	local *net.UDPAddr

	// mu is read-held around every call on fd; Close takes it to close fd,
	// so no call ever runs on a closed (possibly reused) handle.
	mu           sync.RWMutex
	closed       atomic.Bool
	readDeadline atomic.Int64 // Unix nanoseconds; 0: none

	// hearsUnreachable: a receive fails with a port-unreachable report
	// instead of skipping it (a dialed socket's).
	hearsUnreachable bool
}

func listenOwn(laddr *net.UDPAddr) (DeadlineConn, error) {
	return open(laddr)
}

func dialOwn(laddr, raddr *net.UDPAddr) (net.Conn, error) {
	remote := raddr.AddrPort()
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if laddr == nil {
		laddr = &net.UDPAddr{IP: net.IPv4zero}
		if remote.Addr().Is6() {
			laddr = &net.UDPAddr{IP: net.IPv6unspecified}
		}
	}
	s, err := open(laddr)
	if err != nil {
		return nil, err
	}
	// Connected, as Go's dialed socket is: Wine hears of ICMP only on a
	// connected socket (the Linux socket under it reports ECONNREFUSED
	// there alone).
	if err := syscall.Connect(s.fd, s.sockaddr(remote)); err != nil {
		_ = syscall.Closesocket(s.fd)
		return nil, opError("connect", raddr, err)
	}
	setICMPReports(s.fd, []uint32{sioUDPConnReset}, true)
	s.hearsUnreachable = true
	return &dialed{sock: s, remote: remote}, nil
}

func open(laddr *net.UDPAddr) (*sock, error) {
	if laddr == nil {
		laddr = &net.UDPAddr{}
	}
	ip, ok := netip.AddrFromSlice(laddr.IP)
	if !ok { // no address: every address of both families
		ip = netip.IPv6Unspecified()
	}
	ip = ip.Unmap()
	v6 := ip.Is6()
	family := syscall.AF_INET
	if v6 {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, opError("socket", laddr, err)
	}
	fail := func(op string, err error) (*sock, error) {
		_ = syscall.Closesocket(fd)
		return nil, opError(op, laddr, err)
	}
	if v6 { // one socket for IPv4 and IPv6 peers, as Go's "udp" does
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
	}
	// What Go asks for, where the system has it: an ICMP error about an
	// earlier datagram must not fail a later receive (dialOwn switches
	// port unreachable back on for its one peer).
	setICMPReports(fd, []uint32{sioUDPConnReset, sioUDPNetReset}, false)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soRcvTimeo, int(pollInterval/time.Millisecond)); err != nil {
		return fail("setsockopt", err)
	}
	s := &sock{fd: fd, v6: v6}
	if err := syscall.Bind(fd, s.sockaddr(netip.AddrPortFrom(ip, uint16(laddr.Port)))); err != nil {
		return fail("bind", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		s.local = &net.UDPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		s.local = &net.UDPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return s, nil
}

func opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "udp", Addr: addr, Err: os.NewSyscallError(op, err)}
}

// sockaddr is addr in the socket's family (IPv4 peers IPv4-mapped on a
// dual-stack socket).
func (s *sock) sockaddr(addr netip.AddrPort) syscall.Sockaddr {
	if s.v6 {
		return &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	return &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
}

func fromRaw(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

func (s *sock) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, opError("wsarecvfrom", s.local, syscall.EINVAL)
	}
	for {
		if s.closed.Load() {
			return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Addr: s.local, Err: net.ErrClosed}
		}
		if dl := s.readDeadline.Load(); dl != 0 && time.Now().UnixNano() >= dl {
			return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Addr: s.local, Err: os.ErrDeadlineExceeded}
		}
		var rsa syscall.RawSockaddrAny
		rsaLen := int32(unsafe.Sizeof(rsa))
		var n, flags uint32
		buf := syscall.WSABuf{Len: uint32(len(b)), Buf: &b[0]}
		s.mu.RLock()
		if s.closed.Load() {
			s.mu.RUnlock()
			continue
		}
		err := syscall.WSARecvFrom(s.fd, &buf, 1, &n, &flags, &rsa, &rsaLen, nil, nil)
		s.mu.RUnlock()
		switch {
		case err == nil:
			return int(n), fromRaw(&rsa), nil
		case s.hearsUnreachable && Unreachable(err):
			return 0, netip.AddrPort{}, opError("wsarecvfrom", s.local, err)
		case errors.Is(err, wsaeTimedOut), errors.Is(err, syscall.WSAECONNRESET),
			errors.Is(err, wsaeNetReset), errors.Is(err, wsaeMsgSize):
			// the poll tick; an ICMP report about an earlier send; a
			// datagram larger than b (dropped, as a full buffer would)
			continue
		case s.closed.Load():
			continue
		}
		return 0, netip.AddrPort{}, opError("wsarecvfrom", s.local, err)
	}
}

func (s *sock) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: s.local, Err: net.ErrClosed}
	}
	var buf syscall.WSABuf
	if len(b) > 0 {
		buf = syscall.WSABuf{Len: uint32(len(b)), Buf: &b[0]}
	}
	var sent uint32
	if err := syscall.WSASendto(s.fd, &buf, 1, &sent, 0, s.sockaddr(addr), nil, nil); err != nil {
		return 0, opError("wsasendto", s.local, err)
	}
	return int(sent), nil
}

func (s *sock) LocalAddr() net.Addr { return s.local }

func (s *sock) SetReadBuffer(bytes int) error {
	return s.setInt(syscall.SO_RCVBUF, bytes)
}

func (s *sock) SetWriteBuffer(bytes int) error {
	return s.setInt(syscall.SO_SNDBUF, bytes)
}

func (s *sock) setInt(opt, v int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return net.ErrClosed
	}
	return syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, opt, v)
}

// Close waits for a blocked receive to reach its next poll tick (at most
// pollInterval), then closes the handle. Where the receive timeout were
// not honoured, the receive would never come out by itself: after a few
// ticks the handle is closed under it, which ends the receive with an
// error its loop turns into net.ErrClosed. (Wine 8 honours it:
// TestReceiveTimeoutIsHonoured.)
func (s *sock) Close() error {
	if s.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "udp", Addr: s.local, Err: net.ErrClosed}
	}
	giveUp := time.Now().Add(4 * pollInterval)
	for !s.mu.TryLock() {
		if time.Now().After(giveUp) {
			return syscall.Closesocket(s.fd)
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer s.mu.Unlock()
	return syscall.Closesocket(s.fd)
}

func (s *sock) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		s.readDeadline.Store(0)
	} else {
		s.readDeadline.Store(max(1, t.UnixNano()))
	}
	return nil
}

// dialed is a socket that talks to one address, as a connected UDP socket
// does: datagrams from anyone else are dropped.
type dialed struct {
	*sock
	remote netip.AddrPort
}

func (d *dialed) Read(b []byte) (int, error) {
	for {
		n, from, err := d.ReadFromUDPAddrPort(b)
		if err != nil || from == d.remote {
			return n, err
		}
	}
}

func (d *dialed) Write(b []byte) (int, error) { return d.WriteToUDPAddrPort(b, d.remote) }

func (d *dialed) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(d.remote) }

func (d *dialed) SetDeadline(t time.Time) error { return d.SetReadDeadline(t) }

// SetWriteDeadline: a UDP send does not wait for the peer.
func (d *dialed) SetWriteDeadline(time.Time) error { return nil }
