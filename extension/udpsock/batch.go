package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Datagram is one datagram to send and where.
type Datagram struct {
	B  []byte
	To netip.AddrPort
}

// Received says how long a datagram read into a buffer is and where it
// came from (IPv4 addresses unmapped).
type Received struct {
	N    int
	From netip.AddrPort
}

// Batch moves many datagrams per system call: recvmmsg and sendmmsg on
// Linux, through golang.org/x/net's ipv4 and ipv6 packet conns (their
// ReadBatch and WriteBatch). Elsewhere, and on a socket that is neither
// Go's own nor an unpolled one (the Windows fallback, a simulated
// network), it moves one datagram per call. A Batch is used by one reader
// and one writer at a time (the reader's and the writer's message slices
// are their own).
type Batch struct {
	sock PacketConn
	// batched reads and writes, when the platform has them
	read  func([]ipv4.Message, int) (int, error)
	write func([]ipv4.Message, int) (int, error)
	// readNow: batched reads that never wait (MSG_DONTWAIT), for ReadNow.
	// Set where batched reads exist, also in a race build (which gives up
	// read for speed): a caller of ReadNow asks for what already waits.
	readNow func([]ipv4.Message, int) (int, error)

	in, out []ipv4.Message
}

// batchable is what x/net's packet conns batch on: Go's *net.UDPConn, or a
// socket outside Go's poller (unpolled_linux.go).
type batchable interface {
	net.PacketConn
	net.Conn
	syscall.Conn
}

// NewBatch wraps sock.
func NewBatch(sock PacketConn) *Batch { return newBatch(sock, !raceBuild) }

func newBatch(sock PacketConn, batchedReads bool) *Batch {
	b := &Batch{sock: sock}
	c, ok := sock.(batchable)
	if !ok || runtime.GOOS != "linux" {
		return b
	}
	// ipv4.Message and ipv6.Message are the same type; the family only
	// decides which package's conn speaks for the socket.
	if la, _ := c.LocalAddr().(*net.UDPAddr); la != nil && la.IP.To4() != nil {
		pc := ipv4.NewPacketConn(c)
		b.read, b.write = pc.ReadBatch, pc.WriteBatch
	} else {
		pc := ipv6.NewPacketConn(c)
		b.read, b.write = pc.ReadBatch, pc.WriteBatch
	}
	b.readNow = b.read
	if !batchedReads {
		b.read = nil
	}
	return b
}

// CanReadNow reports whether ReadNow is available: a Go or an unpolled
// socket on Linux.
func (b *Batch) CanReadNow() bool { return b.readNow != nil }

// Batched reports whether reads take many datagrams per call.
func (b *Batch) Batched() bool { return b.read != nil }

// Read blocks until at least one datagram arrives, reads up to len(bufs)
// of them (one per buffer) and says what each is in got[:n].
func (b *Batch) Read(bufs [][]byte, got []Received) (int, error) {
	return b.readInto(b.read, 0, bufs, got)
}

// ReadNow reads up to len(bufs) datagrams that are already waiting and
// returns at once: 0 and no error when none is (one recvmmsg with
// MSG_DONTWAIT). Only where CanReadNow.
func (b *Batch) ReadNow(bufs [][]byte, got []Received) (int, error) {
	if b.readNow == nil {
		return 0, errNoReadNow
	}
	n, err := b.readInto(b.readNow, dontWait, bufs, got)
	if err != nil && errors.Is(err, syscall.EAGAIN) {
		return 0, nil
	}
	return n, err
}

var errNoReadNow = errors.New("udpsock: no reads that do not wait on this socket")

func (b *Batch) readInto(read func([]ipv4.Message, int) (int, error), flags int, bufs [][]byte, got []Received) (int, error) {
	if read == nil {
		n, from, err := b.sock.ReadFromUDPAddrPort(bufs[0])
		if err != nil {
			return 0, err
		}
		got[0] = Received{N: n, From: unmap(from)}
		return 1, nil
	}
	if cap(b.in) < len(bufs) {
		b.in = make([]ipv4.Message, len(bufs))
		for i := range b.in {
			b.in[i].Buffers = make([][]byte, 1)
		}
	}
	ms := b.in[:len(bufs)]
	for i := range ms {
		ms[i].Buffers[0] = bufs[i]
	}
	n, err := read(ms, flags)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		var from netip.AddrPort
		if ua, ok := ms[i].Addr.(*net.UDPAddr); ok {
			from = ua.AddrPort()
		}
		got[i] = Received{N: ms[i].N, From: unmap(from)}
		ms[i].Addr = nil
	}
	return n, nil
}

// Write sends every datagram of ds. A datagram the system refuses (a
// destination that cannot be reached) is skipped; the first such error is
// returned after the rest went out.
func (b *Batch) Write(ds []Datagram) error {
	var first error
	if b.write == nil {
		for _, d := range ds {
			if _, err := b.sock.WriteToUDPAddrPort(d.B, d.To); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if cap(b.out) < len(ds) {
		b.out = make([]ipv4.Message, len(ds))
		for i := range b.out {
			b.out[i].Buffers = make([][]byte, 1)
		}
	}
	ms := b.out[:len(ds)]
	for i, d := range ds {
		ms[i].Buffers[0] = d.B
		ms[i].Addr = net.UDPAddrFromAddrPort(d.To)
	}
	for len(ms) > 0 {
		n, err := b.write(ms, 0)
		if err != nil {
			if first == nil {
				first = err
			}
			n = max(n, 1) // skip the one refused
		}
		ms = ms[n:]
	}
	for i := range b.out[:len(ds)] {
		b.out[i].Buffers[0], b.out[i].Addr = nil, nil
	}
	return first
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
