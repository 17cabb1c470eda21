package server

import (
	"fmt"
	"time"

	"github.com/pion/dtls/v2/pkg/protocol/alert"

	"godtls/extension/link"
	"godtls/extension/record"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// A connected peer on a ChaCha20-Poly1305 suite has no goroutine: the
// socket reader (or Feed, in attach mode) opens its records with the
// record layer and queues the plaintext; a writer seals the game's packets
// and sends them. pion's connection is let go as soon as its handshake
// returns: its goroutines end, its buffers go, and whatever it still writes
// (its close_notify) is discarded. What pion would still have done, answer
// a client that retransmits its last flight because the server's was lost
// (RFC 6347 §4.2.4), the peer does from a copy of that flight until the
// client's first application record shows it arrived. Every record under
// the session's write key, pion's or ours, takes its sequence number from
// the suite's one counter.

// lastFlight is what the server sends again to a client that lost its last
// flight: pion's ChangeCipherSpec record as it was (epoch 0, never
// encrypted), and the Finished message, sealed anew each time.
type lastFlight struct {
	changeCipherSpec []byte
	finished         []byte // plaintext
}

// resendGap is the least time between two resends of the last flight: a
// client retransmits its own at intervals of a second or more, so a
// duplicated datagram costs one resend, not two.
const resendGap = 100 * time.Millisecond

// keys is the suite of ours pion has initialised for the session: nil
// before the keys exist, and on pion's CBC fallback.
func (c *session) keys() *suites.ChaCha20Poly1305 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return suites.Initialized(c.chacha)
}

// blindDatagrams bounds what a session holds for its record layer before
// pion has derived the keys (session.blind): nothing can tell the client's
// records from a forger's then, and a genuine client sends none (it sends
// application data only once it has the server's Finished, which comes
// after the keys).
const blindDatagrams = 16

// holdEarlyLocked keeps datagram b, application data or an alert under the
// session's epoch that came between the client's last flight and pion's
// goroutine handing the session over, for whoever reads the session's
// records once it has (handshake.go): the record layer, or pion on its CBC
// fallback. Once the keys exist, only what authenticates is held, each
// record once, up to the receive queue's bounds (record.Early); before, and
// on the CBC fallback (no keys of ours), a few datagrams as they came,
// vetted when the keys appear. Called with s.mu held.
func (s *Server) holdEarlyLocked(c *session, b []byte) {
	suite := c.keys()
	if suite == nil {
		if len(c.blind) < blindDatagrams && c.withinBudget(len(b)) {
			c.blind = append(c.blind, append([]byte(nil), b...))
		} else {
			s.dropped.Add(1)
		}
		return
	}
	s.countEarly(s.earlyLocked(c, suite).Hold(b, suite))
}

// earlyLocked returns the session's holder of authenticated early records,
// made once the keys exist; what was held blind before goes through it
// then, so that a spoofer who sent records from the client's address during
// the handshake does not keep the places of the client's first records.
// Called with s.mu held.
func (s *Server) earlyLocked(c *session, suite *suites.ChaCha20Poly1305) *record.Early {
	if c.early == nil {
		c.early = record.NewEarly(s.cfg.RecvQueue, s.cfg.RecvQueueBytes)
		for _, b := range c.blind {
			s.countEarly(c.early.Hold(b, suite))
		}
		c.blind = nil
	}
	return c.early
}

func (s *Server) countEarly(d record.Drops, full int) {
	d.AddTo(&s.replayed, &s.postHandshakeDropped, &s.garbage)
	s.dropped.Add(uint64(full))
}

// heldEarlyLocked hands over what the session held for its reader, once it
// is established. Called with s.mu held.
func (s *Server) heldEarlyLocked(c *session) [][]byte {
	if suite := c.keys(); suite != nil {
		held := s.earlyLocked(c, suite).Take()
		c.early = nil
		return held
	}
	blind := c.blind
	c.blind = nil
	return blind
}

// takeOver makes the record layer the peer's: from now on pion's writes
// are discarded and its Close ends only its own goroutines (the caller
// closes it once the peer is registered).
func (p *Peer) takeOver(suite *suites.ChaCha20Poly1305) {
	c := p.sess
	p.rec = record.New(suite)
	if ccs, fin := c.changeCipherSpec.Load(), suite.LastHandshake(); ccs != nil && fin != nil {
		p.flight.Store(&lastFlight{changeCipherSpec: *ccs, finished: fin})
	}
	c.changeCipherSpec.Store(nil)
	c.released.Store(true)
}

// receive opens the records of one datagram routed to the peer. b is
// overwritten.
func (p *Peer) receive(b []byte) {
	s := p.srv
	p.rec.Open(b, (*peerRecords)(p)).AddTo(&s.replayed, &s.postHandshakeDropped, &s.garbage)
}

// peerRecords is what the record layer reports to (record.Sink).
type peerRecords Peer

func (pr *peerRecords) Data(plain []byte) {
	p := (*Peer)(pr)
	if p.flight.Load() != nil {
		p.flight.Store(nil) // the client has the server's Finished
	}
	// The peer's budgets take the record and its size on the wire, now
	// that it authenticated: a forged record never reaches here.
	if !p.sess.takeBudget(1, len(plain)+suites.Overhead, time.Now()) {
		return
	}
	if p.Status() != link.StatusConnected {
		p.srv.dropped.Add(1)
		return
	}
	(*peerSink)(p).Received(len(plain))
	if p.recv.Push(append([]byte(nil), plain...)) {
		p.srv.inbox.queued(p)
	} else {
		p.srv.dropped.Add(1)
	}
}

func (pr *peerRecords) Alert(level, description byte) {
	p := (*Peer)(pr)
	var end func()
	switch {
	case description == record.CloseNotify:
		end = func() { p.close("the client closed the connection", false) }
	case level == record.LevelFatal:
		reason := fmt.Sprintf("the client sent a fatal alert: %v", alert.Description(description))
		end = func() { p.fail(reason) }
	default:
		return // a warning: nothing to do
	}
	// Ending takes the server's lock, which the caller of Feed or the
	// early records' owner may hold: not here.
	p.srv.wg.Add(1)
	go func() {
		defer p.srv.wg.Done()
		end()
	}()
}

// Handshake: an authenticated epoch-1 handshake record is the client's
// Finished again: it did not get the server's, and retransmitted its last
// flight. The server answers with its own last flight (RFC 6347 §4.2.4).
func (pr *peerRecords) Handshake([]byte) {
	p := (*Peer)(pr)
	f := p.flight.Load()
	now := time.Now().UnixNano()
	last := p.lastResendNs.Load()
	if f == nil || now-last < int64(resendGap) || !p.lastResendNs.CompareAndSwap(last, now) {
		p.srv.postHandshakeDropped.Add(1)
		return
	}
	b, err := p.seal(f.changeCipherSpec, wire.ContentHandshake, f.finished)
	if err == nil {
		_, _ = p.sess.send(b)
	}
}

// seal returns a new datagram: what before holds (records already sealed,
// or nil), then one record of content type ct holding plain.
func (p *Peer) seal(before []byte, ct byte, plain []byte) ([]byte, error) {
	out := make([]byte, len(before), len(before)+len(plain)+suites.Overhead)
	copy(out, before)
	return p.rec.Seal(out, ct, plain)
}

// sendRecord seals plain into one record of content type ct and sends it.
func (p *Peer) sendRecord(ct byte, plain []byte) error {
	b, err := p.seal(nil, ct, plain)
	if err != nil {
		return err
	}
	_, err = p.sess.send(b)
	return err
}
