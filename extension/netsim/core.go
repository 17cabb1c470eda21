package netsim

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// readyQueue and readyBytes bound the datagrams due for the reader but not
// yet read (a socket's receive buffer): past either they are dropped, as a
// kernel does.
const (
	readyQueue = 4096
	readyBytes = 4 << 20
)

// core is what both wrappers share: a shaper per direction, started the
// first time the link is on, and the inbound path. Once the link has been
// on, a pump goroutine reads the socket and the reader reads from ready;
// before that the reader reads the socket itself, so a read already waiting
// when the link first comes on returns its one datagram unsimulated.
type core struct {
	link       *Link
	out        *shaper
	in         *shaper
	ready      chan datagram // made when the pump starts (pumpIfOn)
	readyBytes atomic.Int64  // the bytes in ready

	pumping   atomic.Bool
	startOut  sync.Once
	startPump sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newCore(l *Link, write func(datagram)) *core {
	// ready is made when the pump starts: a socket whose link is never on
	// (most) does not carry its ~400 KiB.
	c := &core{link: l, closed: make(chan struct{})}
	c.out = newShaper(l, write, c.closed)
	c.in = newShaper(l, c.toReader, c.closed)
	return c
}

// send takes b for the outbound path: true if it was scheduled, false if
// the link is off and the caller writes it itself.
func (c *core) send(b []byte, addr netip.AddrPort) bool {
	s := c.link.on.Load()
	if s == nil {
		return false
	}
	c.startOut.Do(func() {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.out.run()
		}()
	})
	c.out.push(append([]byte(nil), b...), addr, s)
	return true
}

// received is one datagram the pump read.
func (c *core) received(d datagram) {
	if s := c.link.on.Load(); s != nil && d.err == nil {
		c.in.push(d.b, d.addr, s)
		return
	}
	c.toReader(d)
}

func (c *core) toReader(d datagram) {
	if c.readyBytes.Add(int64(len(d.b))) > readyBytes {
		c.readyBytes.Add(-int64(len(d.b)))
		c.link.Overflowed.Add(1)
		return
	}
	select {
	case c.ready <- d:
	default:
		c.readyBytes.Add(-int64(len(d.b)))
		c.link.Overflowed.Add(1)
	}
}

// taken accounts for a datagram the reader took from ready.
func (c *core) taken(d datagram) { c.readyBytes.Add(-int64(len(d.b))) }

// pumpIfOn starts the pump (read by read) the first time the link is on,
// and reports whether the reader should read from ready.
func (c *core) pumpIfOn(read func([]byte) (int, netip.AddrPort, error), beforeFirst func()) bool {
	if c.pumping.Load() {
		return true
	}
	if c.link.on.Load() == nil {
		return false
	}
	c.startPump.Do(func() {
		if beforeFirst != nil {
			beforeFirst()
		}
		c.ready = make(chan datagram, readyQueue) // before pumping: readers look at it once that is set
		c.pumping.Store(true)
		c.wg.Add(2)
		go func() {
			defer c.wg.Done()
			c.in.run()
		}()
		go func() {
			defer c.wg.Done()
			c.pump(read)
		}()
	})
	return true
}

func (c *core) pump(read func([]byte) (int, netip.AddrPort, error)) {
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := read(buf)
		select {
		case <-c.closed:
			return
		default:
		}
		if err != nil {
			c.toReader(datagram{err: err})
			if permanent(err) {
				return
			}
			continue
		}
		c.received(datagram{b: append([]byte(nil), buf[:n]...), addr: addr})
	}
}

// close stops the goroutines; the caller closes the socket first (which
// ends the pump's read).
func (c *core) close() {
	c.closeOnce.Do(func() { close(c.closed) })
	c.wg.Wait()
}
