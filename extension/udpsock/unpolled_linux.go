//go:build linux

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

	"golang.org/x/sys/unix"
)

// An unpolled socket is a UDP socket Go's network poller does not know of.
//
// Go registers every socket of its net package with the poller
// (edge-triggered epoll), and the poller's thread, blocked in epoll_wait
// while goroutines sleep, is woken for every datagram that arrives and
// every send that frees buffer space, whether or not a goroutine waits on
// the socket. A server that reads its socket in the game's frame
// (server/pump.go) has no goroutine waiting on it, and at 20,000 datagrams a
// second those wake-ups were a sixth of the process's CPU, the largest
// single item (docs/profiles.md). An unpolled socket is read and written the
// same way, with x/net's ReadBatch and WriteBatch for many datagrams per
// call; only the waits differ, so that the kernel wakes a thread only when
// someone waits:
//
//   - A reader that has to wait for a datagram waits in Go's poller, as on
//     Go's own socket, but on an epoll instance of the library's
//     (readWait) that holds the socket one-shot (EPOLLONESHOT) and is
//     armed only for that wait: the reader, woken, takes the event, which
//     disarms it, so while nobody waits the socket's datagrams reach no
//     poller. (A reader
//     blocked in poll(2) on its own thread instead had to find a free Go
//     processor again after each wait, and join storms, where the reader
//     waits for every few datagrams, measured worse with it in most runs,
//     within their spread.)
//   - A sender that finds no room (rare for UDP) waits in poll(2).
//
// Close wakes every wait (Go's poller ends the reader's, an eventfd ends
// the poll) and closes the descriptor once no call uses it, so a
// descriptor number is never used after the system gave it to something
// else.
type unpolledConn struct {
	fd    int
	wake  int // eventfd, written once by Close: every poll returns from then on
	laddr *net.UDPAddr

	// A reader's wait (waitReadable): readWait is an epoll instance that
	// holds fd one-shot, in Go's poller; readRaw its raw access (every use
	// of its descriptor goes through it, so that Close cannot close the
	// descriptor under a use); readReady the check Go's poller runs (made
	// once: a closure per wait would be an allocation); readEvents what
	// it takes (reads of readWait are one at a time).
	readWait   *os.File
	readRaw    syscall.RawConn
	readReady  func(uintptr) bool
	readEvents [1]unix.EpollEvent

	closing atomic.Bool
	// inUse is read-held by every call that uses fd or wake; Close
	// write-holds it to close them.
	inUse sync.RWMutex
}

var errNotConnected = errors.New("udpsock: the socket is not connected to one address")

// listenUnpolled opens an unpolled socket bound to laddr, with the family
// and options Go's net.ListenUDP("udp", laddr) gives it: IPv4 for an IPv4
// address, otherwise IPv6 accepting IPv4 as well (IPv4 alone where the
// system has no IPv6 and the address is unspecified); SO_BROADCAST on.
// ok is false for what it does not handle (an address with a zone): the
// caller opens Go's own socket.
func listenUnpolled(laddr *net.UDPAddr) (c PacketConn, ok bool, err error) {
	if laddr == nil {
		laddr = &net.UDPAddr{}
	}
	if laddr.Zone != "" {
		return nil, false, nil
	}
	ip4 := laddr.IP.To4()
	unspecified := laddr.IP == nil || laddr.IP.IsUnspecified()
	family := unix.AF_INET6
	if ip4 != nil && !unspecified {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil && family == unix.AF_INET6 && (ip4 != nil || unspecified) {
		family = unix.AF_INET // no IPv6 here
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return nil, true, listenError(laddr, os.NewSyscallError("socket", err))
	}
	fail := func(op string, err error) (PacketConn, bool, error) {
		_ = unix.Close(fd)
		return nil, true, listenError(laddr, os.NewSyscallError(op, err))
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return fail("setsockopt", err)
	}
	_ = ignorePathMTUReports(fd)
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		a := &unix.SockaddrInet4{Port: laddr.Port}
		if ip4 != nil {
			copy(a.Addr[:], ip4)
		}
		sa = a
	} else {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fail("setsockopt", err)
		}
		a := &unix.SockaddrInet6{Port: laddr.Port}
		if !unspecified {
			copy(a.Addr[:], laddr.IP.To16())
		}
		sa = a
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail("eventfd", err)
	}
	uc := &unpolledConn{fd: fd, wake: wake, laddr: net.UDPAddrFromAddrPort(fromSockaddr(bound))}
	if err := uc.openReadWait(); err != nil {
		_ = unix.Close(wake)
		return fail("epoll", err)
	}
	return uc, true, nil
}

// openReadWait makes the epoll instance a reader waits on and hands it to
// Go's poller. The socket is in it disarmed until the first wait arms it.
// (An armed one-shot is disarmed only when epoll_wait delivers its event,
// and until then every datagram wakes Go's poller: each wait takes the
// event it armed for, readReady.)
func (c *unpolledConn) openReadWait() error {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLONESHOT, Fd: int32(c.fd)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		_ = unix.Close(ep)
		return err
	}
	if err := unix.SetNonblock(ep, true); err != nil { // so that os.NewFile gives it to the poller
		_ = unix.Close(ep)
		return err
	}
	c.readWait = os.NewFile(uintptr(ep), "udpsock read wait")
	if c.readRaw, err = c.readWait.SyscallConn(); err != nil {
		_ = c.readWait.Close()
		return err
	}
	c.readReady = func(ep uintptr) bool {
		n, err := unix.EpollWait(int(ep), c.readEvents[:], 0)
		return n > 0 || (err != nil && err != unix.EINTR)
	}
	return nil
}

func listenError(laddr *net.UDPAddr, err error) error {
	return &net.OpError{Op: "listen", Net: "udp", Addr: laddr, Err: err}
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// acquire keeps fd open until release; false once the socket is closing.
func (c *unpolledConn) acquire() bool {
	if c.closing.Load() {
		return false
	}
	c.inUse.RLock()
	if c.closing.Load() {
		c.inUse.RUnlock()
		return false
	}
	return true
}

func (c *unpolledConn) release() { c.inUse.RUnlock() }

// wait blocks until fd has one of events (POLLIN or POLLOUT), or the
// socket is closing (net.ErrClosed). The caller holds acquire.
func (c *unpolledConn) wait(events int16) error {
	if events == unix.POLLIN {
		return c.waitReadable()
	}
	fds := [2]unix.PollFd{{Fd: int32(c.fd), Events: events}, {Fd: int32(c.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds[:], -1)
		if c.closing.Load() {
			return net.ErrClosed
		}
		if err == nil && fds[0].Revents != 0 {
			return nil // ready, or an error the next call reports
		}
		if err != nil && err != unix.EINTR {
			return os.NewSyscallError("poll", err)
		}
	}
}

// waitReadable arms the one-shot and waits in Go's poller until the
// epoll instance has the socket's event (a datagram waits, or the one-shot
// fired before) or the socket is closing.
func (c *unpolledConn) waitReadable() error {
	var armErr error
	err := c.readRaw.Control(func(ep uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(c.fd)}
		armErr = unix.EpollCtl(int(ep), unix.EPOLL_CTL_MOD, c.fd, &ev)
	})
	if err == nil && armErr != nil {
		err = os.NewSyscallError("epoll_ctl", armErr)
	}
	if err == nil {
		err = c.readRaw.Read(c.readReady)
	}
	if c.closing.Load() {
		return net.ErrClosed
	}
	return err
}

// io runs op on fd, through the same loop as x/net's calls (rw), until it
// does not ask to wait (EAGAIN; EINTR is retried at once), and returns
// op's error or the wait's.
func (c *unpolledConn) io(events int16, op func(fd int) error) error {
	var opErr error
	err := unpolledRaw{c}.rw(events, func(fd uintptr) bool {
		for {
			if opErr = op(int(fd)); opErr != unix.EINTR {
				return opErr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return err
	}
	return opErr
}

func (c *unpolledConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	var n int
	var from unix.Sockaddr
	err := c.io(unix.POLLIN, func(fd int) (err error) {
		n, from, err = unix.Recvfrom(fd, b, 0)
		return err
	})
	if err != nil {
		return 0, netip.AddrPort{}, c.opError("read", err)
	}
	return n, fromSockaddr(from), nil
}

func (c *unpolledConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	sa, err := c.sockaddr(addr)
	if err != nil {
		return 0, c.opError("write", err)
	}
	err = c.io(unix.POLLOUT, func(fd int) error { return unix.Sendto(fd, b, 0, sa) })
	if err != nil {
		return 0, c.opError("write", err)
	}
	return len(b), nil
}

// sockaddr is addr as this socket's family sends to it (an IPv6 socket
// takes IPv4 addresses as they are).
func (c *unpolledConn) sockaddr(addr netip.AddrPort) (unix.Sockaddr, error) {
	ip := addr.Addr()
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	switch {
	case ip.Is4():
		return &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}, nil
	case ip.Is6() && c.laddr.IP.To4() == nil:
		return &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}, nil
	}
	return nil, unix.EAFNOSUPPORT
}

func (c *unpolledConn) opError(op string, err error) error {
	if errors.Is(err, net.ErrClosed) {
		return &net.OpError{Op: op, Net: "udp", Source: c.laddr, Err: net.ErrClosed}
	}
	if errno, ok := err.(unix.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "udp", Source: c.laddr, Err: err}
}

func (c *unpolledConn) LocalAddr() net.Addr { return c.laddr }

func (c *unpolledConn) SetReadBuffer(bytes int) error  { return c.setInt(unix.SO_RCVBUF, bytes) }
func (c *unpolledConn) SetWriteBuffer(bytes int) error { return c.setInt(unix.SO_SNDBUF, bytes) }

func (c *unpolledConn) setInt(opt, v int) error {
	if !c.acquire() {
		return net.ErrClosed
	}
	defer c.release()
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, opt, v))
}

// Close ends every wait and every later call, then closes the socket once
// the calls under way have returned.
func (c *unpolledConn) Close() error {
	if c.closing.Swap(true) {
		return &net.OpError{Op: "close", Net: "udp", Source: c.laddr, Err: net.ErrClosed}
	}
	one := [8]byte{1}
	_, _ = unix.Write(c.wake, one[:]) // every poll, now and later, returns
	_ = c.readWait.Close()            // Go's poller ends a reader's wait
	c.inUse.Lock()
	defer c.inUse.Unlock()
	_ = unix.Close(c.wake)
	return os.NewSyscallError("close", unix.Close(c.fd))
}

// What golang.org/x/net's ipv4 and ipv6 packet conns need of a socket:
// a net.Conn, a net.PacketConn, and raw access (syscall.Conn), through
// which ReadBatch and WriteBatch make their recvmmsg and sendmmsg calls.

// SyscallConn gives x/net the descriptor; when a call asks to wait
// (EAGAIN), its Read waits in Go's poller (waitReadable) and its Write in
// poll(2).
func (c *unpolledConn) SyscallConn() (syscall.RawConn, error) { return unpolledRaw{c}, nil }

// ReadMsgUDP reads one datagram; it carries no control messages (oobn is
// 0). x/net recognises a UDP socket by this method.
func (c *unpolledConn) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return n, 0, 0, net.UDPAddrFromAddrPort(from), nil
}

func (c *unpolledConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *unpolledConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.opError("write", syscall.EINVAL)
	}
	return c.WriteToUDPAddrPort(b, ua.AddrPort())
}

// Read and Write are net.Conn's; the socket is not connected to one
// address, so only ReadFrom and WriteTo say where.
func (c *unpolledConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFromUDPAddrPort(b)
	return n, err
}

func (c *unpolledConn) Write([]byte) (int, error) { return 0, c.opError("write", errNotConnected) }

func (c *unpolledConn) RemoteAddr() net.Addr { return nil }

// Deadlines are not kept: nothing in the engine sets one on its listening
// socket (Close ends its waits).
func (c *unpolledConn) SetDeadline(time.Time) error      { return errNoDeadlines }
func (c *unpolledConn) SetReadDeadline(time.Time) error  { return errNoDeadlines }
func (c *unpolledConn) SetWriteDeadline(time.Time) error { return errNoDeadlines }

var errNoDeadlines = errors.New("udpsock: an unpolled socket has no deadlines")

type unpolledRaw struct{ c *unpolledConn }

func (r unpolledRaw) Control(f func(fd uintptr)) error {
	if !r.c.acquire() {
		return net.ErrClosed
	}
	defer r.c.release()
	f(uintptr(r.c.fd))
	return nil
}

func (r unpolledRaw) Read(f func(fd uintptr) (done bool)) error  { return r.rw(unix.POLLIN, f) }
func (r unpolledRaw) Write(f func(fd uintptr) (done bool)) error { return r.rw(unix.POLLOUT, f) }

func (r unpolledRaw) rw(events int16, f func(fd uintptr) bool) error {
	if !r.c.acquire() {
		return net.ErrClosed
	}
	defer r.c.release()
	for !f(uintptr(r.c.fd)) {
		if err := r.c.wait(events); err != nil {
			return err
		}
	}
	return nil
}
