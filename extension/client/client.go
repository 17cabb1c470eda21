// Package client is the DTLS 1.2 client behind GoDTLSClient: its own UDP
// socket, name resolution and the handshake on goroutines, the same bounded
// queues, writer goroutine and read loop as the server's peers (package
// link), and a failure reason for every way a connection attempt ends.
// Nothing here calls into Godot.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/link"
	"godtls/extension/memtrim"
	"godtls/extension/netsim"
	"godtls/extension/queue"
	"godtls/extension/record"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
)

// Client is one connection attempt and, if it succeeds, the connection.
// Methods are safe for concurrent use.
type Client struct {
	cfg  Config
	host string
	port int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	status  atomic.Int32
	failure atomic.Pointer[Failure]
	events  *queue.Events[Event] // a client's life has at most two events

	mu         sync.Mutex    // guards conn and the fields set at connection
	conn       *dtls.Conn    // pion's connection, on its CBC fallback only
	out        *recordWriter // the record layer's sending side, on our suites (records.go)
	guard      *guardConn
	remote     netip.AddrPort
	peerCerts  [][]byte
	maxPayload int
	suite      dtls.CipherSuiteID
	sealer     *suites.ChaCha20Poly1305 // the negotiated suite of ours, nil on pion's CBC fallback
	closed     bool

	recv     *queue.Packets
	writers  *link.Writers
	counts   link.Counters
	lastRecv atomic.Int64
	refusals atomic.Int32
	// refusedSince is when the first of the refusals in a row came (unix
	// nanoseconds; 0: none since the server was last heard).
	refusedSince atomic.Int64
	// authFailed counts records that failed authentication (our suites).
	authFailed atomic.Uint64
	// replayed counts records the record layer's replay window dropped.
	replayed atomic.Uint64
	// earlyDropped counts records the record layer never saw: they came
	// before it took over, beyond the receive queue's bounds.
	earlyDropped atomic.Uint64
	// restarts counts handshakes started over (a stale cookie, a forged message).
	restarts  atomic.Uint64
	closeOnce sync.Once

	// settled is closed when the attempt is over (connected, failed or
	// closed), done when the connection or the attempt has ended: for a
	// goroutine that builds on the client instead of the game polling it.
	settled, done        chan struct{}
	settleOnce, doneOnce sync.Once
}

// Connect starts connecting to host:port and returns at once: resolution
// and the handshake run on goroutines, and the outcome arrives as an event
// (and in Status). Only invalid arguments are refused here.
func Connect(host string, port int, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if host == "" {
		return nil, fmt.Errorf("%w: the address is empty", ErrBadConfig)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: port must be between 1 and 65535, got %d", ErrBadConfig, port)
	}
	cfg = cfg.withDefaults()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	c := &Client{cfg: cfg, host: host, port: port, events: queue.NewEvents[Event](8), recv: queue.NewPackets(cfg.RecvQueue, cfg.RecvQueueBytes),
		settled: make(chan struct{}), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.status.Store(int32(link.StatusHandshaking))
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// run resolves, dials and handshakes; on success it starts the read loop.
func (c *Client) run() {
	defer c.wg.Done()
	defer memtrim.HandshakeEnded()
	defer func() {
		if r := recover(); r != nil {
			c.failWith(&Failure{Kind: FailInternal, Detail: fmt.Sprint(r)})
		}
	}()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	addr, err := c.resolve(ctx)
	if err != nil {
		c.failWith(classify(ctx, err, c.cfg))
		return
	}
	var (
		conn    *dtls.Conn
		guard   *guardConn
		offered []dtls.CipherSuite
	)
	var (
		alerted  error // the alert that ended an attempt, started over once
		timedOut bool  // the last attempt's time ran out, or the caller closed
	)
	for {
		actx, cancelAttempt := ctx, context.CancelFunc(func() {})
		if alerted != nil {
			actx, cancelAttempt = context.WithTimeout(ctx, alertRetryWithin)
		}
		conn, guard, offered, err = c.attempt(actx, addr)
		timedOut = actx.Err() != nil
		cancelAttempt()
		if err == nil || timedOut {
			break
		}
		if !startsOver(err) {
			if alerted != nil || link.AlertOf(err) == nil {
				break
			}
			// Nothing authenticates an alert during a handshake: one
			// forged from the server's address ended the attempt as a
			// server's refusal does. A server that refuses refuses again.
			alerted = err
		}
		c.restarts.Add(1) // the server forgot our cookie, a forger wedged pion, or an alert came: start over (restart.go)
	}
	if err != nil && alerted != nil && timedOut && c.ctx.Err() == nil {
		// The attempt after the alert did not finish in time, its own or
		// what was left of the handshake's: the server that said it went
		// quiet, and what it said is the answer.
		err = alerted
	}
	if err != nil {
		f := classify(ctx, err, c.cfg)
		if f.Kind == FailTimeout && c.cfg.PSKIdentity != "" && guard != nil && guard.reads.Load() > 0 {
			// The server answered our hello, then went silent after our
			// key exchange: it could not decrypt our Finished. pion
			// servers drop such records without an alert.
			f = &Failure{Kind: FailPSKKey, Detail: "the server stopped answering after the key exchange"}
		}
		c.failWith(f)
		return
	}
	state := conn.ConnectionState()
	sealer := suites.Initialized(offered)
	var rec *record.Conn
	if sealer != nil {
		rec = takeOver(conn, guard, sealer) // pion's goroutines end here
	}
	guard.established.Store(true)
	c.mu.Lock()
	if c.closed {
		// Closed while the handshake finished: the server has a peer, and
		// hears that it is gone (pion's close_notify, or ours: pion's was
		// dropped at the take-over).
		c.mu.Unlock()
		if rec == nil {
			_ = conn.Close()
		} else {
			closeNotify(sealer, guard)
		}
		_ = guard.Conn.Close()
		return
	}
	if rec == nil {
		c.conn = conn
	} else {
		c.out = &recordWriter{rec: rec, sock: guard.Conn}
	}
	c.guard = guard
	c.remote = addr
	c.peerCerts = state.PeerCertificates
	c.suite = link.NegotiatedSuite(offered)
	c.sealer = sealer
	c.maxPayload = link.MaxPayload(c.cfg.MTU, c.suite)
	c.writers = link.NewWriters(1, sendQueue, sendQueueBytes, nil, nil)
	c.mu.Unlock()
	c.lastRecv.Store(time.Now().UnixNano())
	if !c.status.CompareAndSwap(int32(link.StatusHandshaking), int32(link.StatusConnected)) {
		return
	}
	c.events.Push(Event{Kind: EventConnected})
	c.settle()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if rec != nil {
			c.readRecords(guard, rec)
		} else {
			link.ReadLoop(conn, c.recv, (*clientSink)(c))
		}
	}()
}

// readBuffer is the size asked of the socket's receive buffer (the system
// caps it: on Linux at net.core.rmem_max). What one server sends at once,
// a spawn or every player's state, comes while the client's reader may be
// waiting for a processor; the system's default (208 KiB on Linux, about
// two hundred small datagrams as the kernel counts them) was overrun by one
// burst of 200 unreliable messages in a test on a loaded machine, and what
// overran it was lost.
const readBuffer = 1 << 20

// alertRetryWithin is how long the attempt started over after an alert
// has: a server that refused, or one a forged alert came between, answers a
// fresh attempt within it, and a server that said its alert and went quiet
// costs the game no more than this before the alert is reported.
const alertRetryWithin = 3 * time.Second

// startsOver reports whether an attempt ended for a cause that a fresh
// attempt from a new socket gets past (restart.go).
func startsOver(err error) bool {
	return errors.Is(err, errStaleCookie) || errors.Is(err, errCookieRefused) || errors.Is(err, errForgedHandshake)
}

// attempt runs one handshake from a fresh socket. It gives up with
// errStaleCookie when the server stops answering our cookie, with
// errCookieRefused when it asks for another, and with errForgedHandshake
// when a forged message wedged pion (restart.go).
// On failure the socket is closed and err says why; guard.reads tells
// whether the server answered at all.
func (c *Client) attempt(ctx context.Context, addr netip.AddrPort) (*dtls.Conn, *guardConn, []dtls.CipherSuite, error) {
	raw, err := udpsock.Dial(net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, nil, nil, err
	}
	if rb, ok := raw.(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(readBuffer)
	}
	udp := netsim.WrapConn(raw, c.cfg.Network)
	offered, pcfg := c.pionConfig()
	guard := &guardConn{Conn: udp, offered: offered, early: newEarlyRecords(c.cfg)}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := guard.cookie.watch(actx, cancel, &guard.forgery)
	conn, err := dtls.ClientWithContext(actx, guard, pcfg)
	stop()
	guard.refusals.stop()
	guard.release()
	if err != nil {
		_ = udp.Close()
		if cause := context.Cause(actx); startsOver(cause) && ctx.Err() == nil {
			err = cause
		}
		return nil, guard, offered, err
	}
	return conn, guard, offered, nil
}

func (c *Client) resolve(ctx context.Context) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(c.host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(c.port)), nil
	}
	lookup := c.cfg.Resolve
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, c.host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, &net.DNSError{Err: "no addresses", Name: c.host, IsNotFound: true}
	}
	// Prefer IPv4: a game server on IPv4 only is the common case, and one
	// address is tried within the handshake timeout.
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return netip.AddrPortFrom(a.Unmap(), uint16(c.port)), nil
		}
	}
	return netip.AddrPortFrom(addrs[0], uint16(c.port)), nil
}

// failWith ends a connection attempt that never connected.
func (c *Client) failWith(f *Failure) {
	st := link.StatusError
	if f.Kind == FailHostname {
		st = link.StatusErrorHostnameMismatch
	}
	if c.status.CompareAndSwap(int32(link.StatusHandshaking), int32(st)) {
		c.failure.Store(f)
		c.events.Push(Event{Kind: EventFailed, Failure: f})
		c.settle()
		c.finish()
	}
}

func (c *Client) settle() { c.settleOnce.Do(func() { close(c.settled) }) }
func (c *Client) finish() { c.doneOnce.Do(func() { close(c.done) }) }

// Settled is closed when the attempt is over: connected, failed or closed.
func (c *Client) Settled() <-chan struct{} { return c.settled }

// Done is closed when the attempt failed or the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Signal receives a value after a packet is queued (see queue.Signal).
func (c *Client) Signal() <-chan struct{} { return c.recv.Signal() }

// end ends an established connection once.
func (c *Client) end(st link.Status, f *Failure, notify bool) {
	c.closeOnce.Do(func() {
		c.failure.Store(f)
		wasConnected := c.status.Swap(int32(st)) == int32(link.StatusConnected)
		c.mu.Lock()
		conn, w, guard, out := c.conn, c.writers, c.guard, c.out
		c.mu.Unlock()
		if w != nil {
			w.Stop() // packets the game sent go out before the close_notify
		}
		if out != nil {
			// The record layer's: no pion left. Closing the socket ends
			// the read loop, which may be the caller.
			if notify {
				c.sendCloseNotify(guard)
			}
			_ = guard.Conn.Close()
		}
		if conn != nil {
			if notify {
				guard.lingering.Store(true) // the socket stays open for the close_notify
				if c.sendCloseNotify(guard) {
					guard.muted.Store(true) // pion's would be a second one
				}
				_ = conn.Close()
				guard.lingering.Store(false)
				_ = guard.Conn.Close()
			} else {
				// Called from the read loop, which Conn.Close waits for: close
				// on another goroutine. The read loop holds a count on wg, so
				// this Add cannot race a finished Wait.
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					_ = conn.Close()
				}()
			}
		}
		if wasConnected {
			c.events.Push(Event{Kind: EventDisconnected, Failure: f})
		}
		c.settle()
		c.finish()
	})
}

// Close ends the attempt or the connection (with a close_notify) and waits
// for the goroutines. It is safe to call more than once.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	// Before cancelling: the attempt's goroutine, seeing its context end,
	// must find it already over (no failure event after Close).
	if c.status.CompareAndSwap(int32(link.StatusHandshaking), int32(link.StatusDisconnected)) {
		c.failure.Store(&Failure{Kind: FailClosedByCaller, Detail: errClosedByCaller.Error()})
	}
	c.cancel()
	c.end(link.StatusDisconnected, &Failure{Kind: FailClosedByCaller, Detail: "disconnected"}, true)
	c.wg.Wait()
}

// Status is the PacketPeerDTLS-compatible status.
func (c *Client) Status() link.Status { return link.Status(c.status.Load()) }

// Failure is why the attempt failed or the connection ended (nil if it
// has not).
func (c *Client) Failure() *Failure { return c.failure.Load() }

// LastError is Failure in words, or "".
func (c *Client) LastError() string {
	if f := c.Failure(); f != nil {
		return f.Error()
	}
	return ""
}

// NextEvent pops the oldest event not yet taken.
func (c *Client) NextEvent() (Event, bool) { return c.events.Pop() }

// RemoteAddr is the address the client connects to (valid once connected).
func (c *Client) RemoteAddr() netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// PeerCertificates is the server's chain, DER, leaf first (nil with PSK).
func (c *Client) PeerCertificates() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerCerts
}

// MaxPayload is the largest packet Send accepts (0 before connecting).
func (c *Client) MaxPayload() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxPayload
}

// CipherSuite is the negotiated ChaCha20 suite, or 0 for pion's CBC.
func (c *Client) CipherSuite() dtls.CipherSuiteID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.suite
}

// Available is the number of queued packets.
func (c *Client) Available() int { return c.recv.Len() }

// Receive pops the oldest packet. Packets stay readable after the
// connection ends: nothing received is lost.
func (c *Client) Receive() ([]byte, bool) { return c.recv.Pop() }

// LocalAddr is the connection's own address, or the zero AddrPort before its
// socket is open.
func (c *Client) LocalAddr() netip.AddrPort {
	c.mu.Lock()
	g := c.guard
	c.mu.Unlock()
	if g == nil {
		return netip.AddrPort{}
	}
	if a, ok := g.LocalAddr().(*net.UDPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// String names the target, for logs.
func (c *Client) String() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }
