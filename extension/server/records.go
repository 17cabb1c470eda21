package server

import (
	"fmt"
	"time"

	"github.com/pion/dtls/v2/pkg/protocol"
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

// earlyAuthentic reports whether a datagram of records under the session's
// keys, come before the record layer took the session over, may be held
// for it (session.early). Once pion has derived the keys of a suite of
// ours (suite, from session.keys), each of its records must authenticate
// (suites.Authentic: the record layer opens them again, through its replay
// window, once it owns the session): anyone can send from the client's
// address, and forged records would take the places of the client's first.
// Before the keys exist, and on pion's CBC fallback (suite nil), nothing
// can tell, and the datagram is held as it came.
func earlyAuthentic(suite *suites.ChaCha20Poly1305, b []byte) bool {
	if suite == nil {
		return true
	}
	for rest := b; len(rest) > 0; {
		r, next, ok := wire.NextRecord(rest)
		if !ok {
			return false
		}
		if r.Epoch == wire.EstablishedEpoch && r.ContentType != wire.ContentChangeCipherSpec &&
			!suite.Authentic(r.Whole, protocol.ContentType(r.ContentType), r.Epoch, r.Seq) {
			return false
		}
		rest = next
	}
	return true
}

// vetEarly drops from session.early what was held before pion had the
// session's keys and does not authenticate under them (suite, from
// session.keys; nil: nothing can tell yet): a spoofer who sent records
// from the client's address during the handshake would otherwise keep the
// places of the client's first records until the take-over. Called with
// srv.mu held, when the places are full: once the keys exist, every
// datagram held later was checked as it came (earlyAuthentic), so one pass
// is enough.
func (c *session) vetEarly(suite *suites.ChaCha20Poly1305) {
	if c.earlyVetted || suite == nil {
		return
	}
	kept := c.early[:0]
	for _, b := range c.early {
		if earlyAuthentic(suite, b) {
			kept = append(kept, b)
		}
	}
	clear(c.early[len(kept):])
	c.early = kept
	c.earlyVetted = true
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
