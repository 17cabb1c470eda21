package netsim

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"godtls/extension/udpsock"
)

// Conn is a client's connected socket behind a Link. Its read deadline is
// its own once the link has been on (the pump keeps reading the socket).
type Conn struct {
	net.Conn
	c *core

	deadline        atomic.Int64 // read deadline, Unix nanoseconds; 0: none
	deadlineChanged chan struct{}
}

// WrapConn puts l in front of conn. Close closes conn.
func WrapConn(conn net.Conn, l *Link) *Conn {
	w := &Conn{Conn: conn, deadlineChanged: make(chan struct{}, 1)}
	w.c = newCore(l, func(d datagram) { _, _ = udpsock.WriteDialed(conn, d.b) })
	return w
}

func (w *Conn) Write(b []byte) (int, error) {
	if w.c.send(b, netip.AddrPort{}) {
		return len(b), nil
	}
	return w.Conn.Write(b)
}

func (w *Conn) read(b []byte) (int, netip.AddrPort, error) {
	n, err := w.Conn.Read(b)
	return n, netip.AddrPort{}, err
}

func (w *Conn) Read(b []byte) (int, error) {
	// the pump reads with no deadline of its own
	if !w.c.pumpIfOn(w.read, func() { _ = w.Conn.SetReadDeadline(time.Time{}) }) {
		return w.Conn.Read(b)
	}
	for {
		n, again, err := w.readReady(b)
		if !again {
			return n, err
		}
	}
}

// readReady waits for one datagram, the deadline, or a new deadline
// (again: wait anew).
func (w *Conn) readReady(b []byte) (n int, again bool, err error) {
	var expired <-chan time.Time
	if dl := w.deadline.Load(); dl != 0 {
		left := time.Until(time.Unix(0, dl))
		if left <= 0 {
			return 0, false, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(left)
		defer t.Stop()
		expired = t.C
	}
	select {
	case d := <-w.c.ready:
		w.c.taken(d)
		if d.err != nil {
			return 0, false, d.err
		}
		return copy(b, d.b), false, nil
	case <-expired:
		return 0, false, os.ErrDeadlineExceeded
	case <-w.deadlineChanged:
		return 0, true, nil
	case <-w.c.closed:
		return 0, false, net.ErrClosed
	}
}

func (w *Conn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		w.deadline.Store(0)
	} else {
		w.deadline.Store(t.UnixNano())
	}
	select {
	case w.deadlineChanged <- struct{}{}:
	default:
	}
	if w.c.pumping.Load() {
		return nil
	}
	return w.Conn.SetReadDeadline(t)
}

func (w *Conn) SetDeadline(t time.Time) error {
	if err := w.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return w.SetReadDeadline(t)
}

// Close closes the socket and ends the simulation's goroutines.
func (w *Conn) Close() error {
	err := w.Conn.Close()
	w.c.close()
	return err
}
