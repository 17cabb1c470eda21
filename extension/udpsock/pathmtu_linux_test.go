package udpsock

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"godtls/extension/internal/forge"
)

// forgedMTU is the next hop's MTU the forged reports name: under what the
// library's datagrams need (its default MTU is 1,400), over Linux's floor.
const forgedMTU = 600

// A forged "fragmentation needed" report about a datagram of one of the
// library's sockets leaves the path's MTU to the peer as it was, on every
// kind of socket the library opens for IPv4 peers, and on a socket it
// finds by port. Beside each, a control: the same report about a plain
// socket's datagram, which must lower its path's MTU here, or the system
// ignores forged reports anyway and the test says so and skips. Every peer
// is a fresh random loopback address, so a lowered MTU, which Linux keeps
// for ten minutes, reaches no other test.
func TestForgedFragmentationNeededKeepsThePathMTU(t *testing.T) {
	fs := forge.NeedSender(t)
	loopback := netip.MustParseAddr("127.0.0.1")
	listening := func(listen func() (PacketConn, error)) func(netip.AddrPort) (netip.AddrPort, func(), error) {
		return func(peer netip.AddrPort) (netip.AddrPort, func(), error) {
			c, err := listen()
			if err != nil {
				return netip.AddrPort{}, nil, err
			}
			if _, err := c.WriteToUDPAddrPort([]byte("datagram"), peer); err != nil {
				c.Close()
				return netip.AddrPort{}, nil, err
			}
			port := uint16(c.LocalAddr().(*net.UDPAddr).Port)
			return netip.AddrPortFrom(loopback, port), func() { c.Close() }, nil
		}
	}
	ipv4 := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	cases := []struct {
		name string
		// open opens the socket, sends a datagram to peer, and says where
		// from (the address the report quotes)
		open func(peer netip.AddrPort) (from netip.AddrPort, close func(), err error)
	}{
		{"Listen, IPv4", listening(func() (PacketConn, error) { return Listen(ipv4) })},
		{"Listen, dual-stack, an IPv4 peer", listening(func() (PacketConn, error) { return Listen(nil) })},
		{"ListenUnpolled, IPv4", listening(func() (PacketConn, error) { return ListenUnpolled(ipv4) })},
		{"ListenUnpolled, dual-stack, an IPv4 peer", listening(func() (PacketConn, error) { return ListenUnpolled(nil) })},
		{"a socket found by port (a UDPServer's)", listening(func() (PacketConn, error) {
			c, err := net.ListenUDP("udp", ipv4)
			if err != nil {
				return nil, err
			}
			if n, err := AdoptServerSocket(c.LocalAddr().(*net.UDPAddr).Port, 1<<20); n != 1 {
				c.Close()
				return nil, fmt.Errorf("found %d sockets by port (%v), want 1", n, err)
			}
			return c, nil
		})},
		{"DialFrom", func(peer netip.AddrPort) (netip.AddrPort, func(), error) {
			c, err := DialFrom(ipv4, net.UDPAddrFromAddrPort(peer))
			if err != nil {
				return netip.AddrPort{}, nil, err
			}
			if _, err := c.Write([]byte("datagram")); err != nil {
				c.Close()
				return netip.AddrPort{}, nil, err
			}
			return c.LocalAddr().(*net.UDPAddr).AddrPort(), func() { c.Close() }, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			peer, controlPeer := freshLoopbackPeer(), freshLoopbackPeer()
			from, closeSocket, err := tc.open(peer)
			if err != nil {
				t.Fatal(err)
			}
			defer closeSocket()
			controlFrom, closeControl := plainSocket(t, controlPeer)
			defer closeControl()
			if mtu := pathMTU(t, peer); mtu <= forgedMTU {
				t.Fatalf("the path MTU to %v is %d before any report", peer.Addr(), mtu)
			}
			if err := fs.Report(forge.FragmentationNeeded(forgedMTU), from, peer); err != nil {
				t.Fatal(err)
			}
			// the control's report goes second: once it has taken effect,
			// so has the first
			if err := fs.Report(forge.FragmentationNeeded(forgedMTU), controlFrom, controlPeer); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for pathMTU(t, controlPeer) != forgedMTU {
				if time.Now().After(deadline) {
					t.Skipf("SKIPPED: a forged report did not lower a plain socket's path MTU here (%d)", pathMTU(t, controlPeer))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if mtu := pathMTU(t, peer); mtu == forgedMTU {
				t.Fatalf("one forged report lowered the path MTU to %v to %d", peer.Addr(), mtu)
			}
		})
	}
}

// freshLoopbackPeer is a random address in 127.200.0.0–127.254.255.255, which
// no other test uses, and a port.
func freshLoopbackPeer() netip.AddrPort {
	a := netip.AddrFrom4([4]byte{127, byte(200 + rand.IntN(55)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	return netip.AddrPortFrom(a, uint16(20000+rand.IntN(20000)))
}

// plainSocket opens a socket with Linux's default path MTU discovery, as
// Go's net package opens it, sends a datagram to peer from it, and says
// where from.
func plainSocket(t *testing.T, peer netip.AddrPort) (netip.AddrPort, func()) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort([]byte("datagram"), peer); err != nil {
		t.Fatal(err)
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), func() { c.Close() }
}

// pathMTU is the MTU the system holds for the path to peer's address, read
// from a socket connected to it (IP_MTU).
func pathMTU(t *testing.T, peer netip.AddrPort) int {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(peer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var mtu int
	var getErr error
	if err := raw.Control(func(fd uintptr) { mtu, getErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU) }); err != nil {
		t.Fatal(err)
	}
	if errors.Is(getErr, unix.ENOPROTOOPT) {
		// qemu's user-mode emulation (the arm64 leg of ./build.sh test)
		// passes IP_MTU_DISCOVER on but does not emulate reading IP_MTU
		t.Skipf("SKIPPED: this system cannot read a path's MTU (getsockopt IP_MTU: %v)", getErr)
	}
	if getErr != nil {
		t.Fatal(getErr)
	}
	return mtu
}
