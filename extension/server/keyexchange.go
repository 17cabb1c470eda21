package server

import (
	"bytes"

	"github.com/pion/dtls/v2/pkg/protocol"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

// A client's key exchange is not authenticated until its Finished, and
// pion derives the session's keys from the first ClientKeyExchange it
// gets. One forged from the client's address ahead of the client's own, and
// well formed (any 32 bytes make an X25519 share), gave pion keys the client
// does not have: the client's Finished then failed to open, pion dropped it
// without a word, and every retransmission of it, and both ends waited for
// their handshake timeouts.
//
// So routing compares each whole ClientKeyExchange with the first it
// passed to pion, and keeps the Finished records that came with the key
// exchanges it passed (a few). A different one means a forger at the
// address, and pion's keys tell which is the client's: a Finished that
// opens under them came from the client with the key exchange pion used.
// If one of those kept opens, that key exchange is the client's from then
// on and the others are dropped; if none does, and the datagram brings a
// Finished that does not open either, pion took the forger's and the
// handshake cannot complete: it ends at once, with a fatal alert that tells
// the client so instead of its timeout. Before pion has keys, and on a CBC
// fallback suite (whose records the engine cannot open), the datagram
// passes as before: pion keeps the first copy of a message, so passing the
// second never takes anything from the client's handshake, and the first
// one may have been one pion never uses (another message number).
//
// A forger at the exact address still ends the handshake (DTLS 1.2
// authenticates nothing before the Finished), but fast, where it hung.

// maxKeptFinished bounds the Finished records a session keeps to judge a
// second key exchange; a forger who fills them first can end a handshake
// that would have completed, which a forged key exchange sent ahead of the
// client's does anyway.
const maxKeptFinished = 8

// keyExchangeWatch is what a session keeps to judge a second key exchange.
// Guarded by srv.mu (routing).
type keyExchangeWatch struct {
	reference []byte       // the key exchange others are compared with: the first passed to pion, until one proven the client's replaces it
	proven    bool         // reference is the client's: its Finished opened under pion's keys
	kept      []keptFlight // passed to pion with a Finished, while not proven
	opened    int          // kept[:opened] were tried under pion's keys and failed
}

// keptFlight is a key exchange and the Finished that came with it.
type keptFlight struct{ keyExchange, finished []byte }

// keyExchangeVerdict is what routing does with a verified session's datagram.
type keyExchangeVerdict int

const (
	keyExchangePass keyExchangeVerdict = iota
	keyExchangeDrop                    // a forger's, or not to be judged yet
	keyExchangeFail                    // pion has a forger's keys: end the handshake
)

// forgedKeyExchangeAlert is a fatal handshake_failure alert at epoch 0:
// what the client gets when its handshake ends for a forged key exchange.
// Its sequence number is far past any pion has written in a handshake
// (one per record from 0): the client's epoch-0 replay window has seen
// pion's, and would drop a number it had.
var forgedKeyExchangeAlert = []byte{
	wire.ContentAlert, 0xfe, 0xfd,
	0, 0, // epoch 0
	0, 1, 0, 0, 0, 0, // sequence number 2^40
	0, 2, // length
	2,  // fatal
	40, // handshake_failure
}

// vetKeyExchange judges datagram b of a session past its cookie, before
// the handshake ends. Called with srv.mu held.
func (c *session) vetKeyExchange(b []byte) keyExchangeVerdict {
	var kx, finished []byte
	for rest := b; len(rest) > 0; {
		r, next, ok := wire.NextRecord(rest)
		if !ok {
			break
		}
		switch {
		case r.Epoch == 0:
			if m, ok := wire.WholeHandshakeMessage(r, wire.HandshakeClientKeyExchange); ok && kx == nil {
				kx = m
			}
		case r.Epoch == wire.EstablishedEpoch && r.ContentType == wire.ContentHandshake && finished == nil:
			finished = r.Whole
		}
		rest = next
	}
	w := &c.kx
	if kx == nil {
		return keyExchangePass
	}
	if w.reference == nil {
		w.reference = bytes.Clone(kx)
	}
	if bytes.Equal(kx, w.reference) {
		w.keep(kx, finished)
		return keyExchangePass
	}
	if w.proven {
		return keyExchangeDrop // the client's is known: this one is a forger's
	}
	suite := c.keys()
	if suite == nil {
		w.keep(kx, finished)
		return keyExchangePass
	}
	for ; w.opened < len(w.kept); w.opened++ {
		if f := w.kept[w.opened]; opens(suite, f.finished) {
			w.reference, w.proven, w.kept = f.keyExchange, true, nil
			if bytes.Equal(kx, w.reference) {
				return keyExchangePass
			}
			return keyExchangeDrop
		}
	}
	switch {
	case finished == nil:
		return keyExchangeDrop // nothing to tell by
	case opens(suite, finished):
		w.reference, w.proven, w.kept = bytes.Clone(kx), true, nil
		return keyExchangePass
	}
	return keyExchangeFail
}

// keep remembers a key exchange passed to pion with its Finished.
func (w *keyExchangeWatch) keep(kx, finished []byte) {
	if w.proven || finished == nil || len(w.kept) == maxKeptFinished {
		return
	}
	w.kept = append(w.kept, keptFlight{bytes.Clone(kx), bytes.Clone(finished)})
}

// opens reports whether record r (a whole epoch-1 record) authenticates
// under the suite's keys.
func opens(suite *suites.ChaCha20Poly1305, r []byte) bool {
	rec, _, ok := wire.NextRecord(r)
	return ok && suite.Authentic(rec.Whole, protocol.ContentType(rec.ContentType), rec.Epoch, rec.Seq)
}
