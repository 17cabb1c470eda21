package server

import (
	"container/list"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/queue"
	"godtls/extension/ratelimit"
	"godtls/extension/record"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// phase is where a session stands. It only moves forward; changes happen
// under Server.mu, reads may be lock-free.
type phase int32

const (
	// phaseQueued: attach mode only, waiting in the admission queue; no
	// goroutine yet, its ClientHellos wait in the inbound queue.
	phaseQueued phase = iota
	// phaseUnverified: pion runs and has sent its HelloVerifyRequest (or is
	// about to); the client has not echoed the cookie. Only ClientHello
	// records reach pion, and the session may be evicted.
	phaseUnverified
	// phaseVerified: the client echoed exactly the cookie pion sent it, so it
	// receives at its address. The handshake proceeds; never evicted.
	phaseVerified
	// phaseEstablished: the handshake finished; a Peer carries the session.
	phaseEstablished
)

// Budgets of what one session may hand pion before its handshake ends: pion
// v2 keeps every in-order handshake message in an unbounded cache, so the
// engine bounds what reaches it.
const (
	unverifiedDatagrams = 8 // a ClientHello and its retransmissions
	unverifiedBytes     = 16 << 10
	handshakeDatagrams  = 256
	handshakeBytes      = 256 << 10

	// queued for pion's reader at once, in every phase
	sessionInbound      = 512
	sessionInboundBytes = 1 << 20
	// attach mode: queued for the caller to send
	sessionOutbound      = 512
	sessionOutboundBytes = 1 << 20
)

// session is the datagram pipe between the demultiplexer and one pion
// connection: the net.Conn pion reads from and writes to. It exists from the
// first ClientHello of an address until the connection ends.
type session struct {
	srv      *Server
	sock     udpsock.PacketConn // the socket as it was when the session began
	addr     netip.AddrPort
	random   [wire.RandomLen]byte
	created  time.Time
	attached bool // attach mode: the caller moves the datagrams (out != nil)

	phase atomic.Int32 // a phase; changed under srv.mu

	// Guarded by srv.mu.
	pool           *list.Element // position in the unverified pool
	evictAt        *list.Element // in admission.evictOrder, while evictable
	evictIPAt      *list.Element // in its IP's admission.evictByIP list
	counted        bool          // holds a slot in the per-IP peer count
	settled        bool          // no longer counted as a verified handshake in progress
	delivered      int           // datagrams handed to pion before establishment
	deliveredBytes int
	hs             *handshakeWatch // what was passed to pion of the client's handshake messages (handshakewatch.go); from the first vetted datagram until the handshake ends
	aborted        bool            // abortHandshakeLocked ended the handshake
	// budget and packets are Config.PeerByteRate's and PeerPacketRate's
	// buckets once the session is established (takeBudget). Their own
	// lock: the record layer takes from them without the server's.
	budgetMu sync.Mutex
	budget   ratelimit.Bucket
	packets  ratelimit.Bucket
	// parked: the client echoed its cookie when the server had no room for
	// it; parkedHello is its latest ClientHello with that cookie, handed
	// to pion the moment room frees (admission.go).
	parked      *list.Element
	parkedHello []byte

	// handshakeDeadline (Unix nanoseconds) ends a handshake that has not finished
	// by then (handshake.go's watchdog). It starts at the session's start
	// plus HandshakeTimeout and only moves later: while the session is
	// parked, each of its client's retransmissions moves it to that moment
	// plus the timeout, and so does the moment room frees for it. A client
	// waiting for room is kept as long as it keeps asking; its cookie has
	// no other session to go to (pion v2 numbers messages from 0 in each
	// handshake, so no fresh one could take up its retransmissions).
	handshakeDeadline atomic.Int64

	// cookie is the one pion put in its HelloVerifyRequest to this address.
	cookie atomic.Pointer[[]byte]

	in      *queue.Packets // datagrams for pion; grows on demand
	inReady chan struct{}  // wakes a Read waiting for in
	out     *queue.Packets // attach mode: datagrams for the caller to send
	closed  chan struct{}

	// epochZero numbers the epoch-0 records pion reads (wire.EpochZeroNumbering):
	// a forged sequence number must not move pion's epoch-0 replay window.
	epochZero wire.EpochZeroNumbering

	// owner is the peer whose record layer (extension/record) reads this
	// session's records once the handshake is over: set with
	// phaseEstablished when pion negotiated a ChaCha20-Poly1305 suite of
	// ours (nil on pion's CBC fallback, whose records pion keeps reading).
	owner atomic.Pointer[Peer]
	// blind and early hold the epoch-1 application data and alerts that
	// arrived while pion was finishing the handshake (phaseVerified), for
	// whoever reads the session's records once it is established
	// (Server.holdEarlyLocked): blind what came before the keys existed,
	// as it came; early what authenticated once they did. Guarded by
	// srv.mu.
	blind [][]byte
	early *record.Early
	// released: pion's connection was let go (its handshake returned and
	// the record layer took the session over, records.go); pion's writes
	// are discarded and its Close ends only its own reads (pionGone), not
	// the session.
	released atomic.Bool
	pionGone chan struct{}
	pionOnce sync.Once
	// changeCipherSpec is the ChangeCipherSpec record pion sent in its last
	// flight (epoch 0, never encrypted), kept to send that flight again.
	changeCipherSpec atomic.Pointer[[]byte]

	closeOnce sync.Once
	// muted drops writes: set when the address belongs to a new client, so
	// the old connection's flights and close_notify do not reach it.
	muted atomic.Bool
	// quiet is set when the engine itself ended the handshake for a reason
	// it already counted (evicted, replaced, server stopping): no event.
	quiet atomic.Bool

	// The crypto slot (cryptoslots.go): taken before pion reads a datagram
	// it answers with computation: the first cookieless ClientHello (a key
	// pair, then the HelloVerifyRequest), the verified ClientHello (its key
	// share and signature) and the client's key exchange flight (the shared
	// secret, the keys, Finished); given back when pion writes its next
	// flight, when the session closes, or at the latest after the hold time
	// of its kind, so that a datagram pion answers with nothing can never
	// keep it.
	holdsCryptoSlot atomic.Bool
	usedHelloSlot   atomic.Bool
	usedCryptoSlot  atomic.Bool
	usedKeySlot     atomic.Bool

	// holdsStart: one of the server's starts is this session's until pion
	// first writes, first waits for a datagram, or ends (starts.go);
	// startWaiting, guarded by srv.mu, is its place in the queue for one.
	holdsStart   atomic.Bool
	startWaiting *list.Element

	mu           sync.Mutex
	readDeadline time.Time
	// deadlineChanged is closed (and replaced) whenever the deadline moves.
	deadlineChanged chan struct{}
	slotTimer       *time.Timer
	peer            *Peer
	peerIdentity    string
	chacha          []dtls.CipherSuite // the custom suites pion was given
	failure         string             // why the engine ended it, for the event
}

func newSession(s *Server, addr netip.AddrPort, random [wire.RandomLen]byte, now time.Time) *session {
	c := &session{
		srv:     s,
		sock:    s.sock,
		addr:    addr,
		random:  random,
		created: now,
		in:      queue.NewPackets(sessionInbound, sessionInboundBytes),
		inReady: make(chan struct{}, 1),
		closed:  make(chan struct{}),

		pionGone:        make(chan struct{}),
		deadlineChanged: make(chan struct{}),
	}
	c.phase.Store(int32(phaseUnverified))
	return c
}

func (c *session) phaseNow() phase { return phase(c.phase.Load()) }

// extendHandshake moves the handshake deadline to t, if that is later.
func (c *session) extendHandshake(t time.Time) {
	for {
		old := c.handshakeDeadline.Load()
		if t.UnixNano() <= old || c.handshakeDeadline.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

// onHandshakeDeadline calls expire once, when the handshake deadline has
// passed, following it as it moves. After stop, expire is not called.
func (c *session) onHandshakeDeadline(expire func()) (stop func()) {
	var mu sync.Mutex
	var timer *time.Timer
	stopped := false
	var check func()
	check = func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		if wait := time.Until(time.Unix(0, c.handshakeDeadline.Load())); wait > 0 {
			timer = time.AfterFunc(wait, check) // it moved on meanwhile
			mu.Unlock()
			return
		}
		stopped = true
		mu.Unlock()
		expire()
	}
	mu.Lock()
	timer = time.AfterFunc(time.Until(time.Unix(0, c.handshakeDeadline.Load())), check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
	}
}

// cookieMatches reports whether a ClientHello's cookie is the one pion sent.
func (c *session) cookieMatches(got []byte) bool {
	sent := c.cookie.Load()
	return sent != nil && wire.CookieEqual(got, *sent)
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

// takeBudget takes a number of records, n bytes in all, from the peer's
// budgets (Config.PeerPacketRate and PeerByteRate, read from the server's
// copies; 0 or less: none) and reports whether they fit; what does not is
// counted (Stats.OverRate). Whoever calls it has authenticated them, or
// leaves that to pion (demux.go): records that a spoofer at the peer's
// address can send must not spend the peer's share. What passes the packet
// budget and not the byte budget has taken its packets: both are the
// peer's own, over its share.
func (c *session) takeBudget(records, n int, now time.Time) bool {
	packetRate, byteRate := int(c.srv.peerPacketRate.Load()), int(c.srv.peerByteRate.Load())
	if packetRate <= 0 && byteRate <= 0 {
		return true
	}
	c.budgetMu.Lock()
	ok := (packetRate <= 0 || c.packets.Take(records, packetRate, now)) &&
		(byteRate <= 0 || c.budget.Take(n, byteRate, now))
	c.budgetMu.Unlock()
	if !ok {
		c.srv.overRate.Add(1)
	}
	return ok
}

// withinBudget counts a datagram against the session's handshake budget and
// reports whether pion may see it. Called with srv.mu held.
func (c *session) withinBudget(n int) bool {
	var maxN, maxBytes int
	switch c.phaseNow() {
	case phaseEstablished:
		return true
	case phaseVerified:
		maxN, maxBytes = handshakeDatagrams, handshakeBytes
	default:
		maxN, maxBytes = unverifiedDatagrams, unverifiedBytes
	}
	if c.delivered+1 > maxN || c.deliveredBytes+n > maxBytes {
		return false
	}
	c.delivered++
	c.deliveredBytes += n
	return true
}

// Read is pion's read. Recovering here keeps a bug of ours from taking the
// host process down through pion's goroutine.
func (c *session) Read(b []byte) (n int, err error) {
	defer c.srv.recoverSession(c, "read", &err)
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
			if need, verified := c.needsCryptoSlot(p); need && !c.acquireCryptoSlot(changed, verified) {
				return 0, errSessionClosed
			}
			n = copy(b, p)
			c.epochZero.Renumber(b[:n])
			return n, nil
		}
		// pion waits for the client: its session is under way (starts.go)
		c.doneStarting()
		select {
		case <-c.inReady:
			stopTimer(timer) // look at the queue again
		case <-c.closed:
			stopTimer(timer)
			return 0, errSessionClosed
		case <-c.pionGone:
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

// needsCryptoSlot reports whether pion's answer to datagram p is one of
// the handshake's expensive steps, for which it first waits for a crypto
// slot (only pion's goroutine waits), and whether the session is verified
// (its waits go first): the first ClientHello, the verified ClientHello,
// and the client's first epoch-0 handshake datagram after that (its key
// exchange flight; a retransmitted ClientHello is not one).
func (c *session) needsCryptoSlot(p []byte) (need, verified bool) {
	switch c.phaseNow() {
	case phaseVerified:
	case phaseEstablished:
		return false, false
	default:
		if c.usedHelloSlot.Load() || wire.Classify(p).Kind != wire.ClientHello {
			return false, false
		}
		c.usedHelloSlot.Store(true)
		return true, false
	}
	if !c.usedCryptoSlot.Load() {
		if !wire.Classify(p).HasCookie {
			return false, false
		}
		c.usedCryptoSlot.Store(true)
		return true, true
	}
	if c.usedKeySlot.Load() {
		return false, false
	}
	info := wire.Classify(p)
	if info.Kind == wire.Record && info.ContentType == wire.ContentHandshake && info.Epoch == 0 {
		c.usedKeySlot.Store(true)
		return true, true
	}
	return false, false
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// Write is pion's write: flights, records, alerts for this address.
func (c *session) Write(b []byte) (n int, err error) {
	defer c.srv.recoverSession(c, "write", &err)
	select {
	case <-c.closed:
		return 0, errSessionClosed
	default:
	}
	if c.phaseNow() <= phaseUnverified {
		// Remember the cookie pion hands this address: only a ClientHello
		// echoing exactly it proves the client receives here.
		if ck, ok := wire.HelloVerifyCookie(b); ok {
			cp := append([]byte(nil), ck...)
			c.cookie.Store(&cp)
		}
	} else if c.phaseNow() == phaseVerified {
		c.keepChangeCipherSpec(b)
	}
	// pion writes once it has computed its answer: the slot's work is done,
	// and so is the session's start.
	c.releaseCryptoSlot()
	c.doneStarting()
	if c.released.Load() {
		return len(b), nil // pion let go: its close_notify is not the session's end
	}
	if c.out != nil {
		b = append([]byte(nil), b...) // the queue keeps it; pion reuses its buffer
	}
	return c.send(b)
}

// keepChangeCipherSpec keeps a copy of the ChangeCipherSpec record in one
// of pion's datagrams, if there is one.
func (c *session) keepChangeCipherSpec(b []byte) {
	for len(b) > 0 {
		r, rest, ok := wire.NextRecord(b)
		if !ok {
			return
		}
		if r.ContentType == wire.ContentChangeCipherSpec && r.Epoch == 0 {
			ccs := append([]byte(nil), r.Whole...)
			c.changeCipherSpec.Store(&ccs)
			return
		}
		b = rest
	}
}

// send writes one datagram to the client: on the socket, or in attach mode
// onto the queue the caller sends from (taking b). Nothing goes out once
// the address belongs to a new client (muted).
func (c *session) send(b []byte) (int, error) {
	if c.muted.Load() {
		return len(b), nil
	}
	if c.out != nil {
		if !c.out.Push(b) {
			c.srv.dropped.Add(1)
		}
		return len(b), nil
	}
	return c.sock.WriteToUDPAddrPort(b, c.addr)
}

// cryptoSlotWait bounds the wait for a slot, and cryptoSlotHold how long a
// slot may be held: a slot only smooths the load, it must never stall a
// handshake. RSA-4096 signing takes ~8 ms on this project's machines; an
// unverified session's key pair well under 1 ms, so it holds a slot for
// at most helloSlotHold (a datagram pion answers with nothing must not
// keep a slot from genuine clients for long). Under a flood an unverified
// session is evicted long before it would give up waiting.
const (
	cryptoSlotWait = time.Second
	cryptoSlotHold = 250 * time.Millisecond
	helloSlotHold  = 20 * time.Millisecond
)

// acquireCryptoSlot waits for one of the server's crypto slots. It gives up
// waiting (and goes on without a slot) after cryptoSlotWait or when pion
// moves the read deadline, and reports false only when the session closed.
func (c *session) acquireCryptoSlot(deadlineChanged <-chan struct{}, verified bool) bool {
	t := time.NewTimer(cryptoSlotWait)
	defer t.Stop()
	if c.srv.cryptoSlots.acquire(verified, c.closed, t.C, deadlineChanged) {
		c.holdsCryptoSlot.Store(true)
		hold := cryptoSlotHold
		if !verified {
			hold = helloSlotHold
		}
		c.mu.Lock()
		c.slotTimer = time.AfterFunc(hold, c.releaseCryptoSlot)
		c.mu.Unlock()
		return true
	}
	return !c.isClosed()
}

func (c *session) releaseCryptoSlot() {
	if c.holdsCryptoSlot.CompareAndSwap(true, false) {
		c.srv.cryptoSlots.release()
		c.mu.Lock()
		stopTimer(c.slotTimer)
		c.slotTimer = nil
		c.mu.Unlock()
	}
}

// end closes a session the engine gave up on, recording why (for the
// handshake_failed event) unless quiet.
func (c *session) end(reason string, quiet bool) {
	c.mu.Lock()
	if c.failure == "" {
		c.failure = reason
	}
	c.mu.Unlock()
	if quiet {
		c.quiet.Store(true)
	}
	c.shutdown()
}

// Close is pion's: its connection closing. Once pion was released that
// ends only pion's reads; before, it ends the session.
func (c *session) Close() error {
	if c.released.Load() {
		c.pionOnce.Do(func() { close(c.pionGone) })
		return nil
	}
	c.shutdown()
	return nil
}

// shutdown ends the session: its address is forgotten, pion's reads end.
func (c *session) shutdown() {
	c.closeOnce.Do(func() {
		c.releaseCryptoSlot()
		close(c.closed)
		c.srv.forget(c)
	})
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
