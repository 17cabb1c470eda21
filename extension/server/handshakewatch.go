package server

import (
	"time"

	"github.com/pion/dtls/v2/pkg/protocol"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

// A client's handshake messages are not authenticated until its Finished,
// and pion builds each message from the fragments it got first for that
// message number: the type and length of the first, and for each offset
// the first fragment at it (fragment_buffer.go), with no second try. What
// a forger at the client's address sent ahead of the client's own then
// made the handshake hang until its timeout, both ends waiting:
//   - a well-formed ClientKeyExchange (any 32 bytes make an X25519 share)
//     gave pion keys the client does not have, and the client's Finished
//     failed to open, silently, every retransmission too;
//   - another message, or a fragment that does not fit the client's, at
//     the key exchange's number left pion waiting for pieces that never
//     come;
//   - an epoch-0 message at the number of the client's Finished (which is
//     encrypted, so routing cannot read its number) was what pion read as
//     the Finished, at the wrong epoch, and the client's was never read.
//
// So routing notes, for each of the first message numbers, the fragments
// it passed to pion (type, length, offset and a digest of the bytes), and
// the Finished records that came with them (a few). A fragment that
// competes with one noted (the same offset, or overlapping bytes) and is
// not identical to it means a forger at the address:
//   - if a kept Finished opens under pion's keys (the engine's suites),
//     pion has the client's messages, and the datagram is dropped;
//   - if none does, and the datagram brings a Finished that does not open
//     either, pion has a forger's key exchange: the handshake ends at once;
//   - otherwise the datagram passes (pion keeps what it got first, so a
//     second copy takes nothing from it), and if pion has still not
//     answered the client's flight stuckAfter later, the handshake ends
//     then: the client's retransmission, a second later, finds it so.
//
// The Finished's number is taken to be the one after the last epoch-0
// message of the datagram that brings it; once an epoch-0 fragment has
// been noted at that number, every datagram goes the last way.
//
// A handshake that ends this way gets a fatal handshake_failure alert, so
// that the client learns at once instead of at its timeout. A forger at
// the exact address still ends a handshake (DTLS 1.2 authenticates nothing
// before the Finished), but fast, where it hung.

const (
	// maxKeptFinished bounds the Finished records kept. A forger who fills
	// them first can end a handshake that would have completed, which a
	// forged message sent ahead of the client's does anyway.
	maxKeptFinished = 8
	// stuckAfter is how long after a competing fragment pion may go
	// without answering the client's flight before the handshake is
	// called stuck: shorter than the client's first retransmission (1 s).
	stuckAfter = 500 * time.Millisecond
)

// handshakeWatch is what a session keeps to tell a forger's handshake
// messages from the client's. Guarded by srv.mu (routing).
type handshakeWatch struct {
	notes       wire.HandshakeNotes // the fragments passed to pion
	finished    [][]byte            // epoch-1 handshake records passed to pion, up to maxKeptFinished, while not proven
	opened      int                 // finished[:opened] were tried under pion's keys and did not open
	proven      bool                // a kept Finished opened under pion's keys: pion has the client's messages
	finishedSeq int                 // the message number of the client's Finished, once seen (0: not yet)
	competedAt  time.Time           // the first competing fragment while nothing was proven
}

// handshakeVerdict is what routing does with a verified session's datagram.
type handshakeVerdict int

const (
	handshakePass handshakeVerdict = iota
	handshakeDrop                  // a forger's
	handshakeFail                  // pion has a forger's message: end the handshake
)

// handshakeFailureAlert is a fatal handshake_failure alert at epoch 0: what
// the client gets when its handshake ends for a forgery (abortHandshakeLocked). Its
// sequence number is far past any pion has written in a handshake (one
// per record from 0): the client's epoch-0 replay window has seen pion's,
// and would drop a number it had.
var handshakeFailureAlert = []byte{
	wire.ContentAlert, 0xfe, 0xfd,
	0, 0, // epoch 0
	0, 1, 0, 0, 0, 0, // sequence number 2^40
	0, 2, // length
	2,  // fatal
	40, // handshake_failure
}

// vetHandshake judges datagram b of a session past its cookie, before the
// handshake ends. Called with srv.mu held.
func (c *session) vetHandshake(b []byte) handshakeVerdict {
	if c.hs == nil {
		c.hs = new(handshakeWatch)
	}
	w := c.hs
	competes := false
	var finished []byte
	lastSeq := -1 // the highest message number of this datagram's epoch-0 fragments
	for r := range wire.PionRecords(b) {
		switch {
		case r.Epoch == 0:
			for _, f := range wire.HandshakeFragments(r) {
				if w.notes.Note(f) {
					competes = true
				}
				lastSeq = max(lastSeq, int(f.Seq))
			}
		case r.Epoch == wire.EstablishedEpoch && r.ContentType == wire.ContentHandshake && finished == nil:
			finished = r.Whole
		}
	}
	// A client's Finished is the message after the last of its flight's
	// epoch-0 ones, in the same datagram (the flights of the engine's
	// suites are small). pion files fragments by message number whatever
	// their epoch: an epoch-0 one at the Finished's number, got first, is
	// what pion reads as the Finished, and the client's is never read.
	if finished != nil && lastSeq >= 0 && w.finishedSeq == 0 && lastSeq+1 < wire.NotedMessages {
		w.finishedSeq = lastSeq + 1
	}
	if w.finishedSeq > 0 && w.notes.Seen(w.finishedSeq) {
		return c.stuckOrPass(finished)
	}
	if !competes {
		w.keep(finished)
		return handshakePass
	}
	if w.proven {
		return handshakeDrop
	}
	if suite := c.keys(); suite != nil {
		for ; w.opened < len(w.finished); w.opened++ {
			if opens(suite, w.finished[w.opened]) {
				w.proven, w.finished = true, nil
				return handshakeDrop
			}
		}
		if finished != nil {
			if opens(suite, finished) {
				w.proven, w.finished = true, nil
				return handshakePass
			}
			return handshakeFail
		}
	}
	return c.stuckOrPass(finished)
}

// stuckOrPass passes a datagram that competes with what pion got first and
// that nothing can judge, and ends the handshake once pion has not
// answered the client's flight stuckAfter after the first such datagram.
func (c *session) stuckOrPass(finished []byte) handshakeVerdict {
	w := c.hs
	if c.changeCipherSpec.Load() != nil {
		return handshakePass // pion answered the client's flight: it is not stuck
	}
	if now := time.Now(); w.competedAt.IsZero() {
		w.competedAt = now
	} else if now.Sub(w.competedAt) >= stuckAfter {
		return handshakeFail
	}
	w.keep(finished)
	return handshakePass
}

// keep remembers a Finished record passed to pion.
func (w *handshakeWatch) keep(finished []byte) {
	if w.proven || finished == nil || len(w.finished) == maxKeptFinished {
		return
	}
	w.finished = append(w.finished, append([]byte(nil), finished...))
}

// opens reports whether record r (a whole epoch-1 record) authenticates
// under the suite's keys.
func opens(suite *suites.ChaCha20Poly1305, r []byte) bool {
	rec, _, ok := wire.NextRecord(r)
	return ok && suite.Authentic(rec.Whole, protocol.ContentType(rec.ContentType), rec.Epoch, rec.Seq)
}
