package server

import (
	"container/list"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/link"
	"godtls/extension/queue"
	"godtls/extension/record"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// Peer is one client: connected, or (in attach mode, from Attach on) still
// handshaking.
type Peer struct {
	srv  *Server
	sess *session
	conn atomic.Pointer[dtls.Conn] // set when the handshake finishes
	addr netip.AddrPort

	status     atomic.Int32
	recv       *queue.Packets
	maxPayload int
	identity   string
	suite      dtls.CipherSuiteID

	lastRecv atomic.Int64 // unix nanoseconds
	lastErr  atomic.Pointer[string]

	counts  link.Counters
	listed  atomic.Bool   // in the server's inbox (ReceiveAll)
	readyAt *list.Element // on the server's list of peers not yet taken; guarded by srv.mu

	closeOnce sync.Once
	done      chan struct{} // closed when the peer ends
	leaving   atomic.Bool   // the game disconnected it; the close follows its queued packets
	// unsealed counts, in attach mode, the packets queued for the writer
	// and not yet sealed into Outbound (Disconnect waits for them).
	unsealed atomic.Int32
	writer   uint32 // which writer goroutine sends for this peer (keeps order)

	// rec is the engine's record layer for this peer (records.go), or nil
	// on pion's CBC fallback, where pion reads and writes the records.
	rec *record.Conn
	// flight is the server's last flight, kept until the client's first
	// application record shows it arrived (records.go).
	flight       atomic.Pointer[lastFlight]
	lastResendNs atomic.Int64
}

func newPeer(s *Server, c *session, recvQueue, recvBytes int) *Peer {
	p := &Peer{srv: s, sess: c, addr: c.addr, recv: queue.NewPackets(recvQueue, recvBytes), done: make(chan struct{}), writer: s.nextWriter.Add(1)}
	p.status.Store(int32(link.StatusHandshaking))
	p.lastRecv.Store(time.Now().UnixNano())
	return p
}

// establish records the finished handshake and starts delivering packets.
func (p *Peer) establish(conn *dtls.Conn, mtu int) {
	c := p.sess
	c.mu.Lock()
	p.identity = c.peerIdentity
	p.suite = link.NegotiatedSuite(c.chacha)
	c.mu.Unlock()
	p.maxPayload = link.MaxPayload(mtu, p.suite)
	p.lastRecv.Store(time.Now().UnixNano())
	if suite := suites.Initialized(c.chacha); suite != nil {
		p.takeOver(suite)
	} else {
		p.conn.Store(conn)
	}
	if p.status.CompareAndSwap(int32(link.StatusHandshaking), int32(link.StatusConnected)) && p.rec == nil {
		p.srv.wg.Add(1)
		go p.readLoop(conn)
	}
}

// Feed hands the engine a datagram the caller received for this peer
// (attach mode), under the same rules as the demultiplexer's. It never
// blocks; it reports whether the datagram was taken (by the record layer or
// pion). The record layer decrypts in place: b's contents are overwritten,
// and what is kept is copied, so the caller may reuse b.
func (p *Peer) Feed(b []byte) bool {
	c := p.sess
	if c.out == nil || c.isClosed() {
		return false
	}
	s := p.srv
	if len(b) > wire.MaxDatagram {
		s.oversize.Add(1)
		return false
	}
	info := wire.Classify(b)
	if info.Kind == wire.Garbage {
		s.garbage.Add(1)
		return false
	}
	var to *session
	var data []byte
	func() {
		s.mu.Lock()
		defer s.unlock() // also when filtering panics
		to, data = s.filterAttachedLocked(c, b, info)
	}()
	if to == nil {
		return false
	}
	to.take(data)
	return true
}

// Outbound pops the next datagram the caller must send for this peer
// (attach mode): handshake flights, retransmissions, records, alerts.
func (p *Peer) Outbound() ([]byte, bool) {
	if p.sess.out == nil {
		return nil, false
	}
	return p.sess.out.Pop()
}

// readLoop moves decrypted packets from pion into the bounded queue (pion's
// CBC fallback only: on the engine's suites the record layer does, records.go).
func (p *Peer) readLoop(conn *dtls.Conn) {
	defer p.srv.wg.Done()
	link.ReadLoop(conn, p.recv, (*peerSink)(p))
}

// peerSink is what the read loop reports to.
type peerSink Peer

// Admit takes a record pion opened from the peer's budgets (pion's CBC
// fallback: on the engine's suites the record layer takes them, records.go),
// after authentication, as the record layer does: a spoofer's datagram
// fails in pion and never spends the peer's share.
func (ps *peerSink) Admit(n int) bool {
	p := (*Peer)(ps)
	return p.sess.takeBudget(1, suites.CBCWireSize(p.suite, n), time.Now())
}

func (ps *peerSink) Received(n int) {
	p := (*Peer)(ps)
	p.lastRecv.Store(time.Now().UnixNano())
	p.counts.PacketsIn.Add(1)
	p.counts.BytesIn.Add(uint64(n))
	p.srv.traffic.PacketsIn.Add(1)
	p.srv.traffic.BytesIn.Add(uint64(n))
}

func (ps *peerSink) Queued() { ps.srv.inbox.queued((*Peer)(ps)) }

func (ps *peerSink) Dropped() { ps.srv.dropped.Add(1) }

// Trouble: pion passes non-fatal trouble to Read (a warning alert, a record
// it could not use) and keeps the connection: so do we.
func (ps *peerSink) Trouble(error) bool {
	ps.srv.dropped.Add(1)
	return false
}

func (ps *peerSink) Closed()              { (*Peer)(ps).close("the client closed the connection", false) }
func (ps *peerSink) Failed(reason string) { (*Peer)(ps).fail(reason) }
func (ps *peerSink) Ours() bool           { return !(*Peer)(ps).live() }

// Status is the peer's PacketPeerDTLS-compatible status. A peer the game
// disconnected is disconnected from then on, while its last packets and
// its close_notify are still on their way (Disconnect).
func (p *Peer) Status() link.Status {
	st := link.Status(p.status.Load())
	if st == link.StatusConnected && p.leaving.Load() {
		return link.StatusDisconnected
	}
	return st
}

// live reports whether the connection is up on the wire: connected, and
// not yet closed, even if the game has disconnected it (Disconnect). Its
// queued packets go out, and a client that reconnects from its address
// replaces it, only while it is live.
func (p *Peer) live() bool { return link.Status(p.status.Load()) == link.StatusConnected }

// Addr is the remote address.
func (p *Peer) Addr() netip.AddrPort { return p.addr }

// Identity is the PSK identity the client used ("" with certificates).
func (p *Peer) Identity() string { return p.identity }

// CipherSuite is the negotiated ChaCha20 suite, or 0 for pion's CBC fallback.
func (p *Peer) CipherSuite() dtls.CipherSuiteID { return p.suite }

// MaxPayload is the largest packet Send accepts.
func (p *Peer) MaxPayload() int { return p.maxPayload }

// LastReceive is when the last packet arrived (the connection time before).
func (p *Peer) LastReceive() time.Time { return time.Unix(0, p.lastRecv.Load()) }

// LastError is the reason of the last failure or disconnection.
func (p *Peer) LastError() string {
	if e := p.lastErr.Load(); e != nil {
		return *e
	}
	return ""
}

// Signal receives a value after a packet is queued (see queue.Signal): for
// a goroutine that consumes this peer's packets instead of the game.
func (p *Peer) Signal() <-chan struct{} { return p.recv.Signal() }

// Done is closed when the peer has ended (disconnected or failed).
func (p *Peer) Done() <-chan struct{} { return p.done }

// Available is the exact number of queued packets.
func (p *Peer) Available() int { return p.recv.Len() }

// Receive pops the oldest queued packet. Queued packets stay readable after
// the peer disconnects: nothing received is lost.
func (p *Peer) Receive() ([]byte, bool) { return p.recv.Pop() }

// Send queues one packet for encryption and sending and returns at once:
// the caller's thread never does the crypto. Packets to one peer keep their
// order. The packet must not be modified afterwards.
func (p *Peer) Send(b []byte) error {
	if p.Status() != link.StatusConnected {
		return ErrNotConnected
	}
	if len(b) > p.maxPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooBig, len(b), p.maxPayload)
	}
	return p.srv.enqueue(p, b)
}

// peerWriter is what a writer goroutine sends for.
type peerWriter Peer

func (w *peerWriter) setErr(s string) { (*Peer)(w).setErr(s) }

// Prepare runs on a writer goroutine: it seals b into the datagram that
// leaves in the writer's next batch, on the listening socket. Packets of
// pion's CBC fallback and of attach mode are sent at once instead.
func (w *peerWriter) Prepare(b []byte) (udpsock.Datagram, bool) {
	p := (*Peer)(w)
	c := p.sess
	if p.rec == nil || c.out != nil || c.muted.Load() {
		w.Write(b)
		if c.out != nil {
			p.unsealed.Add(-1)
		}
		return udpsock.Datagram{}, false
	}
	if !p.live() {
		return udpsock.Datagram{}, false
	}
	rec, err := p.seal(nil, wire.ContentApplicationData, b)
	if err != nil {
		p.setErr(err.Error())
		return udpsock.Datagram{}, false
	}
	p.countSent(len(b))
	return udpsock.Datagram{B: rec, To: c.addr}, true
}

// Write runs on a writer goroutine.
func (w *peerWriter) Write(b []byte) {
	p := (*Peer)(w)
	if !p.live() {
		return
	}
	if p.rec != nil {
		if err := p.sendRecord(wire.ContentApplicationData, b); err != nil {
			p.setErr(err.Error())
			return
		}
	} else if conn := p.conn.Load(); conn == nil {
		return
	} else if _, err := conn.Write(b); err != nil {
		p.setErr(err.Error())
		return
	}
	p.countSent(len(b))
}

func (p *Peer) countSent(n int) {
	p.counts.PacketsOut.Add(1)
	p.counts.BytesOut.Add(uint64(n))
	p.srv.traffic.PacketsOut.Add(1)
	p.srv.traffic.BytesOut.Add(uint64(n))
}

// Close sends close_notify and ends the connection.
func (p *Peer) Close() { p.close("closed by the server", true) }

// close ends the peer once. notify says whether the client gets a
// close_notify: not when the address already belongs to someone else.
func (p *Peer) close(reason string, notify bool) {
	p.end(link.StatusDisconnected, reason, notify)
}

func (p *Peer) fail(reason string) { p.end(link.StatusError, reason, false) }

func (p *Peer) end(st link.Status, reason string, notify bool) {
	p.closeOnce.Do(func() {
		// The reason first: whoever sees the status change reads it
		// (handshake.go reports a peer that ended before it was listed
		// with LastError).
		p.setErr(reason)
		p.status.Store(int32(st))
		defer close(p.done)
		if !notify {
			p.sess.muted.Store(true)
		}
		// An ended peer can stay referenced a long time (an undrained
		// event, a game's variable): it lets go of pion's connection, the
		// bulk of its memory; its queued packets stay readable. pion sends
		// the close_notify while it holds the session, the record layer
		// once pion was released.
		if conn := p.conn.Swap(nil); conn != nil {
			_ = conn.Close()
		} else if notify && p.rec != nil {
			_ = p.sendRecord(wire.ContentAlert, []byte{record.LevelWarning, record.CloseNotify})
		}
		p.sess.shutdown()
		p.srv.removePeer(p, reason)
	})
}

func (p *Peer) setErr(s string) { p.lastErr.Store(&s) }

// PeerStats are one peer's counters.
type PeerStats struct {
	link.Traffic
	Dropped uint64
	Queued  int
}

// Stats returns the peer's counters.
func (p *Peer) Stats() PeerStats {
	return PeerStats{Traffic: p.counts.Read(), Dropped: p.recv.Dropped(), Queued: p.recv.Len()}
}
