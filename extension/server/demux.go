package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"godtls/extension/netsim"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// readLoop is the demultiplexer: the only reader of the socket. A panic while
// routing one datagram drops that datagram, is counted and reported as an
// EventInternalError, and the loop goes on: the server never goes deaf while
// it says it is listening. It reads up to readBatch datagrams per system
// call (recvmmsg, udpsock.Batch) from the socket itself while the simulated
// network is off and has never been on, and one at a time through it
// otherwise.
//
// While the game pumps and no handshake runs (pump.go), the loop sleeps,
// and it holds the frame reader's lock from each read until its datagrams
// are routed.
func (s *Server) readLoop(ctx context.Context, sock udpsock.PacketConn, frame *frameReader) {
	defer s.wg.Done()
	through := udpsock.NewBatch(sock) // one at a time, through the simulation
	var direct *udpsock.Batch
	sim, _ := sock.(*netsim.PacketConn)
	var bufs [][]byte
	var got []udpsock.Received
	if frame != nil {
		// The frame reader's socket and buffers: every read of either
		// reader holds its lock.
		direct, bufs, got = frame.sock, frame.bufs, frame.got
	} else {
		if sim == nil {
			direct = udpsock.NewBatch(sock)
		} else if raw, ok := sim.Direct(true); ok {
			direct = udpsock.NewBatch(raw)
		}
		bufs, got = readBuffers(direct)
	}
	size := len(bufs)
	want := size
	drained := true // the last read took fewer than it offered room for
	for {
		if direct != nil && sim != nil {
			if _, ok := sim.Direct(true); !ok {
				direct = nil // the simulation's pump reads the socket from now on
			}
		}
		if frame != nil && direct != nil && drained && s.handshakesRunning.Load() == 0 && frame.gamePumps(time.Now()) {
			woken, stop := frame.waitTurn(ctx)
			if stop {
				return
			}
			if woken && frame.direct() {
				s.drainWaiting(frame) // what a Pump left, or a handshake's first datagrams
			}
			continue // the simulation may have been switched on meanwhile
		}
		from := through
		if direct != nil {
			from = direct
		}
		n, err := s.readAndRoute(frame, from, bufs[:want], got, size == 1)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port-unreachable and friends surface here on some systems.
			continue
		}
		// A short batch emptied the socket, and so did readAndRoute for a
		// reader of one datagram at a time.
		drained = n < want || size == 1
		// Ask for twice what was waiting last time: a call costs in
		// proportion to the buffers offered (the kernel sets each up, and
		// x/net tells the race detector about each), so a quiet socket is
		// read a datagram at a time and a busy one in full batches.
		want = min(size, max(1, 2*n))
	}
}

// readAndRoute reads one batch (waiting for the first datagram) and routes
// it, holding the frame reader's lock throughout where there is one. A
// reader of one datagram at a time (oneByOne) cannot tell from its read
// whether the socket is empty: with a frame reader, it also reads what
// waits, without waiting, so that it leaves an empty socket to the game.
func (s *Server) readAndRoute(frame *frameReader, from *udpsock.Batch, bufs [][]byte, got []udpsock.Received, oneByOne bool) (int, error) {
	if frame != nil {
		frame.mu.Lock()
		defer frame.mu.Unlock()
	}
	n, err := from.Read(bufs, got)
	if err != nil {
		return 0, err
	}
	s.routeRead(bufs, got[:n])
	if frame != nil && oneByOne && frame.direct() {
		more, _ := s.readWaiting(frame, math.MaxInt, false)
		n += more
	}
	return n, nil
}

// readBatch is the most datagrams the reader takes per system call.
const readBatch = 32

// readBuffers returns the buffers a reader of direct offers per call:
// readBatch where reads are batched, one otherwise (no direct socket, or
// the race build's choice, udpsock/race.go). One byte more than pion reads
// tells an oversize datagram from a full one.
func readBuffers(direct *udpsock.Batch) ([][]byte, []udpsock.Received) {
	size := 1
	if direct != nil && direct.Batched() {
		size = readBatch
	}
	bufs := make([][]byte, size)
	for i := range bufs {
		bufs[i] = make([]byte, wire.MaxDatagram+1)
	}
	return bufs, make([]udpsock.Received, size)
}

// routeRead routes the datagrams one read put in bufs (got says which and
// from whom): the one way both readers, the goroutine and Pump, route.
func (s *Server) routeRead(bufs [][]byte, got []udpsock.Received) {
	for i, g := range got {
		s.routeSafely(bufs[i][:g.N], g.From)
	}
}

// routeHook lets a test make routing panic, with the server's lock held.
var routeHook atomic.Pointer[func([]byte)]

func (s *Server) routeSafely(b []byte, addr netip.AddrPort) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.events.Push(Event{Kind: EventInternalError, Addr: addr,
				Reason: fmt.Sprintf("internal error in the demultiplexer (datagram from %v dropped, server still running): %v", addr, r)})
		}
	}()
	s.route(b, addr, time.Now())
}

// route delivers one datagram: to the session of its address, to a new
// handshake, or nowhere. b is the reader's buffer: whatever is kept is
// copied.
func (s *Server) route(b []byte, addr netip.AddrPort, now time.Time) {
	if len(b) > wire.MaxDatagram {
		s.oversize.Add(1)
		return
	}
	info := wire.Classify(b)
	if info.Kind == wire.Garbage {
		s.garbage.Add(1)
		return
	}
	var to *session
	var data []byte
	func() {
		s.mu.Lock()
		defer s.unlock() // also when routing panics: the server must not stay locked
		if h := routeHook.Load(); h != nil {
			(*h)(b) // a test's panic, where a routing bug would be: under the lock
		}
		if s.running && !s.attached {
			to, data = s.routeLocked(b, addr, info, now)
		}
	}()
	to.take(data)
}

// take hands what routing kept for this session to its owner's record
// layer, or to pion. Called without the server's lock.
func (c *session) take(data []byte) {
	if c == nil {
		return
	}
	if p := c.owner.Load(); p != nil {
		p.receive(data)
	} else if !c.deliver(data) {
		c.srv.dropped.Add(1)
	}
}

// routeLocked decides where a datagram goes and returns the session and the
// bytes to hand it (a copy), or nil. The rules, per address:
//   - a cookieless ClientHello from an unknown address is admitted (or
//     queued); one with the random of the handshake in progress is its
//     retransmission; one with a new random replaces an unverified handshake
//     (the client restarted) but only starts a candidate beside a verified
//     handshake or a connected peer: RFC 6347 §4.2.8 keeps the old
//     association until the new client completes a cookie exchange;
//   - a ClientHello with a cookie reaches pion only if the cookie is exactly
//     the one pion sent that address (a made-up cookie would make pion abort
//     the real client's handshake); a candidate whose cookie verifies takes
//     the address over, ending the old connection;
//   - before the cookie, nothing but ClientHello records reaches pion;
//   - after the handshake, only epoch-1 records other than ChangeCipherSpec
//     reach pion (wire.KeepEstablished: pion acts on an epoch-0 alert or
//     application data, and on a ChangeCipherSpec, without authenticating
//     them);
//   - until the handshake ends, no datagram that would make pion end it
//     reaches pion, by any route (refusedBeforePion), and each session has
//     a budget of datagrams and bytes.
func (s *Server) routeLocked(b []byte, addr netip.AddrPort, info wire.Info, now time.Time) (*session, []byte) {
	cur, cand := s.sessions[addr], s.candidates[addr]
	if info.Kind == wire.ClientHello && !info.HasCookie {
		switch {
		case cur == nil:
			if s.refusing {
				s.refuseLocked(addr, now)
				return nil, nil
			}
			s.admitLocked(addr, b, info.Random, now)
			return nil, nil
		case info.Random == cur.random:
			if cur.phaseNow() == phaseUnverified && !s.refusedBeforePion(b) {
				return s.budgeted(cur, b)
			}
			return nil, nil // pion is past it
		case cand != nil && info.Random == cand.random:
			if s.refusedBeforePion(b) {
				return nil, nil
			}
			return s.budgeted(cand, b)
		case s.refusing:
			// A new client at this address while draining: the connection
			// in place stays, the newcomer is turned away.
			s.refuseLocked(addr, now)
			return nil, nil
		default:
			// A new client at this address: admitLocked replaces an
			// unverified handshake, or starts a candidate beside a live one.
			s.admitLocked(addr, b, info.Random, now)
			return nil, nil
		}
	}
	if info.Kind == wire.ClientHello {
		switch {
		case s.refusedBeforePion(b):
			return nil, nil
		case cand != nil && cand.cookieMatches(info.Cookie):
			if !s.verifyLocked(cand, b) {
				return nil, nil
			}
			s.promoteLocked(cand, cur)
			return s.budgeted(cand, b)
		case cur != nil && cur.phaseNow() <= phaseVerified && cur.cookieMatches(info.Cookie):
			if !s.verifyLocked(cur, b) {
				return nil, nil
			}
			return s.budgeted(cur, b)
		}
		s.spoofed.Add(1)
		return nil, nil
	}
	if cur == nil {
		s.stray.Add(1)
		return nil, nil
	}
	if cur.phaseNow() <= phaseUnverified {
		// Before the cookie only ClientHellos reach pion (see above).
		s.spoofed.Add(1)
		return nil, nil
	}
	return s.afterCookieLocked(cur, b, info)
}

// afterCookieLocked filters a non-ClientHello datagram for a session whose
// client proved its address: during the handshake what would make pion end
// it is dropped (refusedBeforePion), the client's messages are vetted
// (vetHandshake), and the rest counts against the budget; after the
// handshake, only what wire.KeepEstablished keeps goes on.
func (s *Server) afterCookieLocked(c *session, b []byte, info wire.Info) (*session, []byte) {
	if c.phaseNow() == phaseVerified {
		if s.refusedBeforePion(b) {
			return nil, nil
		}
		if info.Epoch == wire.EstablishedEpoch && (info.ContentType == wire.ContentApplicationData || info.ContentType == wire.ContentAlert) {
			// The client has the server's Finished and sends (or closes:
			// a client may connect and leave at once), while pion's
			// goroutine has not yet handed the connection over: held for
			// whoever reads the records once it has (handshake.go). Given
			// to pion, a close_notify would end pion's connection, which
			// the record layer then takes over unaware of it.
			s.holdEarlyLocked(c, b)
			return nil, nil
		}
		switch c.vetHandshake(b) {
		case handshakeDrop:
			s.spoofed.Add(1)
			return nil, nil
		case handshakeFail:
			s.spoofed.Add(1)
			s.abortHandshakeLocked(c, "a handshake message forged from the client's address reached pion first: the handshake cannot complete")
			return nil, nil
		}
		return s.budgeted(c, b)
	}
	kept, dropped, ok := wire.KeepEstablished(b)
	if dropped > 0 {
		s.postHandshakeDropped.Add(uint64(dropped))
	}
	if !ok {
		s.garbage.Add(1)
		return nil, nil
	}
	if len(kept) == 0 {
		return nil, nil
	}
	if c.owner.Load() != nil {
		// The record layer decrypts in place, in the reader's buffer (or
		// the copy KeepEstablished made), and copies only plaintext.
		return c, kept
	}
	return c, append([]byte(nil), kept...)
}

// refusedBeforePion reports, counting it, whether datagram b, on its way to
// the pion of a handshake under way, is dropped: pion would drop it whole,
// or it holds, in any place, an epoch-0 alert or another record pion
// answers by ending the handshake (wire.EndsAHandshake). A genuine
// client's datagrams hold none of them; from a spoofer, ending the
// handshake is all they are for. It runs before vetHandshake notes what
// pion gets.
func (s *Server) refusedBeforePion(b []byte) bool {
	if !wire.PionReads(b) {
		s.garbage.Add(1) // records that do not fit the datagram: not DTLS
		return true
	}
	for r := range wire.PionRecords(b) {
		if r.IsEpochZeroAlert() || r.EndsAHandshake() {
			s.spoofed.Add(1)
			return true
		}
	}
	return false
}

// budgeted returns a copy of b for c if c's handshake budget allows it.
//
// A verified session's budget is far beyond what a client's handshake
// sends, retransmissions included: once it is spent, someone at the
// client's address is flooding it, and every datagram after, the client's
// last flight among them, would be dropped until the handshake timed out.
// The handshake ends at once instead, as for a forged message.
func (s *Server) budgeted(c *session, b []byte) (*session, []byte) {
	if !c.withinBudget(len(b)) {
		s.dropped.Add(1)
		if c.phaseNow() == phaseVerified {
			s.abortHandshakeLocked(c, fmt.Sprintf("the client's address sent more than %d datagrams or %d KiB during the handshake (a flood, or a forger spending its budget): the handshake cannot complete",
				handshakeDatagrams, handshakeBytes>>10))
		}
		return nil, nil
	}
	return c, append([]byte(nil), b...)
}

// abortHandshakeLocked ends c's handshake, once, for reason: the client gets
// a fatal handshake_failure alert, so that it learns at once instead of at
// its timeout, and the game a handshake_failed event. Called with s.mu
// held; the sending and the ending run after it is released.
func (s *Server) abortHandshakeLocked(c *session, reason string) {
	if c.aborted {
		return
	}
	c.aborted = true
	s.later(func() {
		_, _ = c.send(append([]byte(nil), handshakeFailureAlert...))
		c.end(reason, false)
	})
}

// promoteLocked makes a candidate whose cookie verified the address's
// session, ending the connection it replaces without a close_notify (the
// address belongs to the new client now).
func (s *Server) promoteLocked(cand, cur *session) {
	delete(s.candidates, cand.addr)
	s.sessions[cand.addr] = cand
	if cur == nil {
		return
	}
	cur.muted.Store(true)
	s.later(func() {
		cur.mu.Lock()
		p := cur.peer
		cur.mu.Unlock()
		if p != nil && p.live() {
			p.close("the client reconnected from the same address", false)
		}
		cur.end("replaced: the client reconnected from the same address", true)
	})
}

// later runs f once s.mu is released: closing sessions takes s.mu again.
// Called with s.mu held.
func (s *Server) later(f func()) { s.deferred = append(s.deferred, f) }

// unlock releases s.mu after admitting queued ClientHellos into slots that
// freed while it was held, then runs what was deferred.
func (s *Server) unlock() {
	fs := func() []func() {
		defer s.mu.Unlock() // released even if admitting panics
		if s.slotFreed {
			s.admitQueuedLocked(time.Now())
		}
		fs := s.deferred
		s.deferred = nil
		return fs
	}()
	for _, f := range fs {
		f()
	}
}

// filterAttachedLocked applies routeLocked's rules to a datagram the caller
// moved for an attach-mode session. UDPServer already chose the session by
// address; a client that restarts from the same port gets no candidate here
// (the peer object is the connection), it retries once the old one ends.
func (s *Server) filterAttachedLocked(c *session, b []byte, info wire.Info) (*session, []byte) {
	switch c.phaseNow() {
	case phaseQueued, phaseUnverified:
		switch {
		case s.refusedBeforePion(b):
			return nil, nil
		case info.Kind == wire.ClientHello && !info.HasCookie:
			if c.random == ([wire.RandomLen]byte{}) {
				c.random = info.Random
			}
			if info.Random != c.random {
				s.spoofed.Add(1)
				return nil, nil
			}
			return s.budgeted(c, b)
		case info.Kind == wire.ClientHello && c.cookieMatches(info.Cookie):
			if !s.verifyLocked(c, b) {
				return nil, nil
			}
			return s.budgeted(c, b)
		}
		s.spoofed.Add(1)
		return nil, nil
	}
	return s.afterCookieLocked(c, b, info)
}
