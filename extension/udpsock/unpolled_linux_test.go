package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ListenUnpolled's socket is not in Go's poller (the epoll set that holds Go's
// own socket, opened beside it); in the library's own epoll set it is
// one-shot, armed only while a reader waits, so datagrams nobody waits
// for wake no thread.
func TestListenUnpolledIsUnpolled(t *testing.T) {
	unpolled, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer unpolled.Close()
	uc, ok := unpolled.(*unpolledConn)
	if !ok {
		t.Fatalf("ListenUnpolled gave a %T, not an unpolled socket", unpolled)
	}
	loud, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer loud.Close()
	var loudFD int
	rc, _ := loud.SyscallConn()
	_ = rc.Control(func(fd uintptr) { loudFD = int(fd) })

	goSet, ownSet := -1, -1
	for ep, targets := range epollSets(t) {
		if _, ok := targets[loudFD]; ok {
			goSet = ep
		}
		if _, ok := targets[uc.fd]; ok {
			if ownSet >= 0 {
				t.Fatalf("the unpolled socket (fd %d) is in epoll sets %d and %d", uc.fd, ownSet, ep)
			}
			ownSet = ep
		}
	}
	if goSet < 0 {
		t.Fatalf("Go's socket (fd %d) is in no epoll set", loudFD)
	}
	if ownSet < 0 || ownSet == goSet {
		t.Fatalf("the unpolled socket (fd %d) is in epoll set %d; Go's is %d", uc.fd, ownSet, goSet)
	}
	armed := func() bool {
		ev := epollSets(t)[ownSet][uc.fd]
		if ev&unix.EPOLLONESHOT == 0 {
			t.Fatalf("the socket's registration is not one-shot: events %#x", ev)
		}
		return ev&unix.EPOLLIN != 0
	}
	if armed() {
		t.Fatal("armed before any reader waited")
	}
	// a reader waits (arming it) and gets its datagram, which disarms it
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 8)
		_, _, err := unpolled.ReadFromUDPAddrPort(buf)
		got <- err
	}()
	for !armed() {
		time.Sleep(time.Millisecond)
	}
	if _, err := loud.WriteToUDPAddrPort([]byte("x"), netipLoopback(uint16(uc.laddr.Port))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting reader did not get its datagram")
	}
	if armed() {
		t.Fatal("still armed after the reader's wait ended: the socket's datagrams would wake Go's poller")
	}
}

// epollSets returns, for each epoll instance of this process, the
// descriptors registered in it and their event masks, read from
// /proc/self/fdinfo.
func epollSets(t *testing.T) map[int]map[int]uint32 {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	sets := map[int]map[int]uint32{}
	for _, e := range entries {
		ep, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		targets := map[int]uint32{}
		for _, line := range strings.Split(string(info), "\n") {
			// tfd:        7 events:       19 data: ...
			f := strings.Fields(line)
			if len(f) >= 4 && f[0] == "tfd:" && f[2] == "events:" {
				fd, err1 := strconv.Atoi(f[1])
				ev, err2 := strconv.ParseUint(f[3], 16, 32)
				if err1 == nil && err2 == nil {
					targets[fd] = uint32(ev)
				}
			}
		}
		sets[ep] = targets
	}
	return sets
}

// Close ends a batched read that waits (the server's reader goroutine
// waits there), every later call fails with net.ErrClosed, and a second
// Close says it was closed.
func TestUnpolledCloseEndsWaits(t *testing.T) {
	c, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatch(c, true)
	bufs := [][]byte{make([]byte, 64), make([]byte, 64)}
	got := make([]Received, 2)
	done := make(chan error, 1)
	go func() {
		_, err := b.Read(bufs, got)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a read of an empty socket returned: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	closeWithin(t, c, 5*time.Second)
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("the waiting read ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting batched read")
	}
	if _, err := b.ReadNow(bufs, got); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadNow after Close: %v", err)
	}
	if err := b.Write([]Datagram{{B: []byte("x"), To: netipLoopback(9)}}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := c.SetReadBuffer(1 << 16); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SetReadBuffer after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a second Close: %v", err)
	}
}

// A port in use is refused with EADDRINUSE (the server names it), and an
// IPv6 socket sends to IPv6 and IPv4 addresses one datagram at a time.
func TestUnpolledAddresses(t *testing.T) {
	a, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = ListenUnpolled(a.LocalAddr().(*net.UDPAddr))
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("a second socket on the same port: %v, want EADDRINUSE", err)
	}

	six, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 here: %v", err)
	}
	defer six.Close()
	sixTo := netip.AddrPortFrom(netip.IPv6Loopback(), uint16(six.LocalAddr().(*net.UDPAddr).Port))
	wild, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	if _, err := wild.WriteToUDPAddrPort([]byte("to six"), sixTo); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := six.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "to six" || from.Port() != uint16(wild.LocalAddr().(*net.UDPAddr).Port) {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
	if _, err := wild.WriteToUDPAddrPort([]byte("to four"), netipLoopback(uint16(a.LocalAddr().(*net.UDPAddr).Port))); err != nil {
		t.Fatal(err)
	}
	n, from, err = a.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "to four" || !from.Addr().Is4() {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
	if _, err := a.WriteToUDPAddrPort([]byte("x"), sixTo); err == nil {
		t.Fatal("an IPv4 socket sent to an IPv6 address")
	}
}

// Every descriptor an unpolled socket opens (the socket, the eventfd that
// ends writes' waits, the epoll instance a reader waits on) is closed by
// Close, whether a reader was waiting or not, and a listen that fails
// (a port in use) leaves none open. A game server that restarts its
// listener many times must not run out of descriptors.
func TestUnpolledCloseFreesDescriptors(t *testing.T) {
	open := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("no /proc/self/fd: %v", err)
		}
		return len(entries) - 1 // ReadDir's own descriptor to the folder
	}
	cycle := func(waitingReader bool) {
		c, err := ListenUnpolled(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, inUse := ListenUnpolled(c.LocalAddr().(*net.UDPAddr)); inUse == nil {
			t.Fatal("a second socket on a port in use was opened")
		}
		done := make(chan error, 1)
		if waitingReader {
			go func() {
				_, err := newBatch(c, true).Read([][]byte{make([]byte, 8)}, make([]Received, 1))
				done <- err
			}()
			for armed := false; !armed; time.Sleep(time.Millisecond) {
				for _, targets := range epollSets(t) {
					if ev, ok := targets[c.(*unpolledConn).fd]; ok && ev&unix.EPOLLIN != 0 {
						armed = true
					}
				}
			}
		}
		closeWithin(t, c, 5*time.Second)
		if waitingReader {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not end the waiting read")
			}
		}
	}
	cycle(true) // what the runtime opens once (Go's own poller) is not counted
	before := open()
	for i := 0; i < 20; i++ {
		cycle(i%2 == 0)
	}
	if after := open(); after != before {
		t.Fatalf("%d descriptors open after 20 sockets were opened and closed, %d before", after, before)
	}
}

// closeWithin closes c and fails the test if Close does not return within
// d (a waiting reader it cannot end would hold it for ever).
func closeWithin(t *testing.T, c PacketConn, d time.Duration) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		t.Fatal("Close waited for ever for the waiting read")
	}
}
