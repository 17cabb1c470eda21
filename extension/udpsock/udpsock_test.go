package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// exercise runs what the server and client do with their sockets: a
// dialed client and a listening server exchange datagrams both ways, a
// stranger's datagram never reaches the dialed socket, a read deadline in
// the past wakes a blocked read with a timeout, and Close ends a blocked
// read with net.ErrClosed. Listen's sockets and ListenUnpolled's alike.
func exercise[C PacketConn](t *testing.T, listen func(*net.UDPAddr) (C, error), dial func(*net.UDPAddr) (net.Conn, error)) {
	srv, err := listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_ = srv.SetReadBuffer(1 << 20)
	_ = srv.SetWriteBuffer(1 << 20)
	port := srv.LocalAddr().(*net.UDPAddr).Port
	if port == 0 {
		t.Fatal("no port")
	}
	cli, err := dial(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, from, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("server read %q, %v", buf[:n], err)
	}
	if !from.Addr().Unmap().IsLoopback() || from.Port() == 0 {
		t.Fatalf("from %v", from)
	}
	// a stranger writes to the client first: the client must see only the server
	stranger, err := listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteToUDPAddrPort([]byte("spoof"), from); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := srv.WriteToUDPAddrPort([]byte("welcome"), from); err != nil {
		t.Fatal(err)
	}
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = cli.Read(buf)
	if err != nil || string(buf[:n]) != "welcome" {
		t.Fatalf("client read %q, %v", buf[:n], err)
	}
	// a deadline set from another goroutine wakes a blocked read
	_ = cli.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(30 * time.Millisecond)
		_ = cli.SetReadDeadline(time.Unix(1, 0))
	}()
	_, err = cli.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after a past deadline: %v, want a timeout", err)
	}
	// Close wakes the server's blocked read
	done := make(chan error, 1)
	go func() {
		_, _, err := srv.ReadFromUDPAddrPort(buf)
		done <- err
	}()
	time.Sleep(30 * time.Millisecond)
	_ = srv.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked read")
	}
	if _, err := srv.WriteToUDPAddrPort([]byte("x"), from); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// TestSockets: the sockets the engine gets (Go's own, or on Wine the
// fallback, because Go's are refused there; on Linux, an unpolled one for
// a server whose socket the frame reads).
func TestSockets(t *testing.T) {
	exercise(t, Listen, Dial)
	exercise(t, ListenUnpolled, Dial)
}

func TestUnspecifiedAddressListens(t *testing.T) {
	for _, ip := range []net.IP{nil, net.IPv4zero} {
		c, err := Listen(&net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatalf("%v: %v", ip, err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		d, err := Dial(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = d.Write([]byte("x"))
		buf := make([]byte, 16)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil || n != 1 || from.Addr().Unmap() != netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("%v: read %d from %v: %v", ip, n, from, err)
		}
		d.Close()
		c.Close()
	}
}

// TestPortInUse: a second socket on a taken port is refused, and AddrInUse
// says why, on every socket a server may get (the server turns it into
// ErrPortInUse, which the game sees as ERR_ALREADY_IN_USE). On Windows the
// refusal is WSAEADDRINUSE, which errors.Is(err, syscall.EADDRINUSE) does
// not match there.
func TestPortInUse(t *testing.T) {
	listen := func(a *net.UDPAddr) (PacketConn, error) { return Listen(a) }
	for name, listen := range map[string]func(*net.UDPAddr) (PacketConn, error){"Listen": listen, "ListenUnpolled": ListenUnpolled} {
		first, err := listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = listen(first.LocalAddr().(*net.UDPAddr))
		if err == nil || !AddrInUse(err) {
			t.Errorf("%s: a second socket on port %d: %v, want a refusal AddrInUse names", name, first.LocalAddr().(*net.UDPAddr).Port, err)
		}
		first.Close()
	}
	if AddrInUse(errors.New("bind: something else")) {
		t.Errorf("AddrInUse names any error")
	}
}

// TestDialHearsUnreachable: a dialed socket's read fails, as Unreachable
// names, once a datagram it sent drew ICMP port unreachable (the client
// reports a closed port at once instead of at its timeout), while a
// listening socket that sent to the same closed port goes on receiving.
// Loopback answers a closed port with ICMP on Linux and under Wine; on
// Windows itself the report is WSAECONNRESET, which only a socket with
// SIO_UDP_CONNRESET on receives.
func TestDialHearsUnreachable(t *testing.T) {
	gone, err := Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.LocalAddr().(*net.UDPAddr)
	gone.Close()

	cli, err := Dial(closed)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	buf := make([]byte, 64)
	var readErr error
	for try := 0; try < 5 && !Unreachable(readErr); try++ {
		if _, err := cli.Write([]byte("anyone?")); err != nil {
			t.Fatal(err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, readErr = cli.Read(buf)
	}
	if !Unreachable(readErr) {
		t.Fatalf("a dialed socket's read after sends to closed port %d: %v, want a port-unreachable report", closed.Port, readErr)
	}

	srv, err := Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.WriteToUDPAddrPort([]byte("anyone?"), closed.AddrPort()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the ICMP report arrives first
	peer, err := Dial(srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if d, ok := srv.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = d.SetReadDeadline(time.Now().Add(5 * time.Second))
	}
	n, _, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("a listening socket after sending to a closed port read %q, %v; want the next datagram", buf[:n], err)
	}
	if Unreachable(errors.New("read: something else")) {
		t.Errorf("Unreachable names any error")
	}
}
