package server

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/queue"
	"godtls/extension/wire"
)

var errSessionClosed = errors.New("session closed")

// sessionInbound is how many datagrams may wait for pion to read them, and
// sessionOutbound how many may wait for the caller to send them (attach mode).
const (
	sessionInbound  = 512
	sessionOutbound = 512
)

// session is the datagram pipe between the demultiplexer and one pion
// connection: the net.Conn pion reads from and writes to. It exists from the
// first ClientHello of an address until the connection ends.
type session struct {
	srv     *Server
	sock    *net.UDPConn // the socket as it was when the session began
	addr    netip.AddrPort
	random  [wire.RandomLen]byte
	created time.Time

	in        *queue.Packets // datagrams for pion; grows on demand
	inReady   chan struct{}  // wakes a Read waiting for in
	out       *queue.Packets // attach mode: datagrams for the caller to send
	closed    chan struct{}
	closeOnce sync.Once
	// muted drops writes: set when the address now belongs to a new client,
	// so the old connection's close_notify does not reach it.
	muted atomic.Bool
	// verified is set once the client echoed a cookie: it owns its address.
	verified atomic.Bool
	// evicted is set when a newer handshake pushed this unverified one out.
	evicted atomic.Bool
	// settled is set once the session no longer holds a pending-handshake slot.
	settled atomic.Bool

	// holdsCryptoSlot is set while this session's server flight (with its
	// signature) is being computed; see Server.cryptoSlots.
	holdsCryptoSlot atomic.Bool

	mu           sync.Mutex
	readDeadline time.Time
	// deadlineChanged is closed (and replaced) whenever the deadline moves.
	deadlineChanged chan struct{}
	peer            *Peer
	peerIdentity    string
	chacha          []dtls.CipherSuite // the custom suites pion was given
}

func newSession(s *Server, addr netip.AddrPort, random [wire.RandomLen]byte) *session {
	return &session{
		srv:     s,
		sock:    s.sock,
		addr:    addr,
		random:  random,
		created: time.Now(),
		in:      queue.NewPackets(sessionInbound),
		inReady: make(chan struct{}, 1),
		closed:  make(chan struct{}),

		deadlineChanged: make(chan struct{}),
	}
}

// deliver hands a datagram to pion without blocking the demultiplexer.
func (c *session) deliver(b []byte) bool {
	if !c.in.Push(b) {
		return false
	}
	select {
	case c.inReady <- struct{}{}:
	default:
	}
	return true
}

func (c *session) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		dl, changed := c.readDeadline, c.deadlineChanged
		c.mu.Unlock()
		var timeout <-chan time.Time
		var timer *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		if p, ok := c.in.Pop(); ok {
			stopTimer(timer)
			if !c.settled.Load() && !c.holdsCryptoSlot.Load() && wire.Classify(p).HasCookie {
				// pion signs its next flight as soon as it reads this; wait
				// for a crypto slot first (only pion's goroutine waits).
				if !c.acquireCryptoSlot(changed) {
					return 0, errSessionClosed
				}
			}
			return copy(b, p), nil
		}
		select {
		case <-c.inReady:
			stopTimer(timer) // look at the queue again
		case <-c.closed:
			stopTimer(timer)
			return 0, errSessionClosed
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
			// pion interrupts a blocked Read by moving the deadline: look again
			stopTimer(timer)
		}
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

func (c *session) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, errSessionClosed
	default:
	}
	// The first flight after the cookie carries the signature: it is done.
	c.releaseCryptoSlot()
	if c.muted.Load() {
		return len(b), nil
	}
	if c.out != nil {
		if !c.out.Push(append([]byte(nil), b...)) {
			c.srv.dropped.Add(1)
		}
		return len(b), nil
	}
	return c.sock.WriteToUDPAddrPort(b, c.addr)
}

// cryptoSlotWait bounds the wait for a slot: a slot only smooths the load,
// it must never stall a handshake.
const cryptoSlotWait = time.Second

// acquireCryptoSlot waits for one of the server's crypto slots. It gives up
// waiting (and goes on without a slot) after cryptoSlotWait or when pion
// moves the read deadline, and reports false only when the session closed.
func (c *session) acquireCryptoSlot(deadlineChanged <-chan struct{}) bool {
	t := time.NewTimer(cryptoSlotWait)
	defer t.Stop()
	select {
	case c.srv.cryptoSlots <- struct{}{}:
		c.holdsCryptoSlot.Store(true)
		return true
	case <-c.closed:
		return false
	case <-deadlineChanged:
		return true
	case <-t.C:
		return true
	}
}

func (c *session) releaseCryptoSlot() {
	if c.holdsCryptoSlot.CompareAndSwap(true, false) {
		<-c.srv.cryptoSlots
	}
}

func (c *session) Close() error {
	c.closeOnce.Do(func() {
		c.releaseCryptoSlot()
		close(c.closed)
		c.srv.forget(c)
	})
	return nil
}

func (c *session) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *session) LocalAddr() net.Addr {
	if c.sock == nil {
		return &net.UDPAddr{}
	}
	return c.sock.LocalAddr()
}
func (c *session) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.addr) }

func (c *session) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }
func (c *session) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	close(c.deadlineChanged)
	c.deadlineChanged = make(chan struct{})
	c.mu.Unlock()
	return nil
}
func (c *session) SetWriteDeadline(time.Time) error { return nil }
