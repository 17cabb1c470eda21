package udpsock

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
)

// Batched reads and writes carry every datagram, in order, with its
// source, on IPv4 and on a dual-stack IPv6 socket talking to IPv4
// addresses (sendmmsg with an IPv4 destination on an AF_INET6 socket).
func TestBatch(t *testing.T) {
	for _, bind := range []string{"127.0.0.1", "::"} {
		for kind, listen := range receivers {
			t.Run(kind+"/"+bind, func(t *testing.T) { testBatch(t, bind, listen) })
		}
	}
}

// receivers are the sockets the batch tests use: Go's own, and what
// ListenUnpolled opens (on Linux an unpolled socket, unpolled_linux.go).
var receivers = map[string]func(*net.UDPAddr) (PacketConn, error){
	"go": func(a *net.UDPAddr) (PacketConn, error) {
		c, err := net.ListenUDP("udp", a)
		if err != nil {
			return nil, err
		}
		return c, nil
	},
	"ListenUnpolled": ListenUnpolled,
}

func testBatch(t *testing.T, bind string, listen func(*net.UDPAddr) (PacketConn, error)) {
	rx, err := listen(&net.UDPAddr{IP: net.ParseIP(bind)})
	if err != nil {
		t.Skipf("cannot listen on %s: %v", bind, err)
	}
	defer rx.Close()
	tx, err := listen(&net.UDPAddr{IP: net.ParseIP(bind)})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	in, out := newBatch(rx, true), newBatch(tx, true)
	if runtime.GOOS == "linux" && !in.Batched() {
		t.Fatal("no batched reads on Linux")
	}
	to := netipLoopback(uint16(rx.LocalAddr().(*net.UDPAddr).Port))
	const n = 20
	ds := make([]Datagram, n)
	for i := range ds {
		ds[i] = Datagram{B: []byte(fmt.Sprintf("datagram %d", i)), To: to}
	}
	if err := out.Write(ds); err != nil {
		t.Fatal(err)
	}
	bufs := make([][]byte, 8)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	got := make([]Received, 8)
	from := tx.LocalAddr().(*net.UDPAddr).Port
	for i := 0; i < n; {
		k, err := in.Read(bufs, got)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < k; j, i = j+1, i+1 {
			if !bytes.Equal(bufs[j][:got[j].N], ds[i].B) {
				t.Fatalf("datagram %d: %q", i, bufs[j][:got[j].N])
			}
			if !got[j].From.Addr().Is4() || int(got[j].From.Port()) != from {
				t.Fatalf("datagram %d from %v, want 127.0.0.1:%d", i, got[j].From, from)
			}
		}
	}
}

func netipLoopback(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

// ReadNow returns at once, with nothing from an empty socket and what
// waits otherwise, and is there also where batched reads are given up
// (the race build's choice, batchedReads false).
func TestReadNow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ReadNow is Linux's (recvmmsg)")
	}
	for kind, listen := range receivers {
		t.Run(kind, func(t *testing.T) { testReadNow(t, listen) })
	}
}

func testReadNow(t *testing.T, listen func(*net.UDPAddr) (PacketConn, error)) {
	rx, err := listen(&net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	b := newBatch(rx, false)
	if !b.CanReadNow() {
		t.Fatal("no ReadNow on a Go socket on Linux")
	}
	bufs := [][]byte{make([]byte, 64), make([]byte, 64), make([]byte, 64), make([]byte, 64)}
	got := make([]Received, len(bufs))
	if n, err := b.ReadNow(bufs, got); n != 0 || err != nil {
		t.Fatalf("ReadNow on an empty socket: %d, %v", n, err)
	}
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i := range 3 {
		if _, err := tx.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for range 1000 { // loopback delivers at once; a few tries cover the scheduler
		n, err := b.ReadNow(bufs[total:], got[total:])
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if total == 3 {
			break
		}
	}
	if total != 3 {
		t.Fatalf("ReadNow read %d of 3 waiting datagrams", total)
	}
	for i := range 3 {
		if got[i].N != 1 || bufs[i][0] != byte(i) {
			t.Fatalf("datagram %d: %d bytes, %v", i, got[i].N, bufs[i][:got[i].N])
		}
	}
	if (&Batch{}).CanReadNow() {
		t.Fatal("CanReadNow on a batch without a socket")
	}
}
