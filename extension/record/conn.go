// Package record is the engine's own DTLS 1.2 record layer for a session
// whose handshake pion finished on one of the engine's ChaCha20-Poly1305
// suites (extension/suites). pion keeps the handshake; from then on the
// socket reader authenticates and decrypts the peer's records in place,
// with a replay window, and the engine seals its own records with the
// suite's one write-sequence counter: no goroutine per session, no copy but
// the plaintext the game receives.
package record

import (
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v2/pkg/protocol"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

// Sink is told what Open found, record by record, in the datagram's order.
type Sink interface {
	// Data is one authenticated application_data record. plain aliases the
	// datagram: copy what is kept.
	Data(plain []byte)
	// Alert is one authenticated alert (level, description).
	Alert(level, description byte)
	// Handshake is one authenticated epoch-1 handshake record: a client
	// retransmitting its last flight because the server's Finished was
	// lost, to be answered with the server's last flight again (RFC 6347
	// §4.2.4). plain aliases the datagram.
	Handshake(plain []byte)
}

// Drops counts what Open dropped, by reason.
type Drops struct {
	// Replayed: a sequence number already received or older than the window.
	Replayed int
	// Forged: failed authentication (also counted by the suite's counter).
	Forged int
	// Unexpected: a record no established peer sends (another epoch, a
	// ChangeCipherSpec, an alert that is not two bytes long).
	Unexpected int
	// Malformed: the datagram is not a run of records (the rest of it is
	// dropped, counted once).
	Malformed int
}

// Total is the number of records (or datagram tails) dropped.
func (d Drops) Total() int { return d.Replayed + d.Forged + d.Unexpected + d.Malformed }

// Add adds o's counts to d's.
func (d *Drops) Add(o Drops) {
	d.Replayed += o.Replayed
	d.Forged += o.Forged
	d.Unexpected += o.Unexpected
	d.Malformed += o.Malformed
}

// AddTo adds the drops to their owner's counters. Forged has none here:
// the suite counts failed authentication itself.
func (d Drops) AddTo(replayed, unexpected, malformed *atomic.Uint64) {
	if d.Replayed > 0 {
		replayed.Add(uint64(d.Replayed))
	}
	if d.Unexpected > 0 {
		unexpected.Add(uint64(d.Unexpected))
	}
	if d.Malformed > 0 {
		malformed.Add(uint64(d.Malformed))
	}
}

// Conn is one session's record layer. Open and Seal may be called from
// different goroutines.
type Conn struct {
	suite *suites.ChaCha20Poly1305

	// mu keeps one datagram's records, and the window, in one order: a
	// session's packets reach its queue in the order Open accepted them.
	mu  sync.Mutex
	win Window
}

// New returns the record layer of an established session whose keys suite
// holds.
func New(suite *suites.ChaCha20Poly1305) *Conn { return &Conn{suite: suite} }

// Epoch is the epoch of every record after the handshake (pion v2 never
// renegotiates).
const Epoch = wire.EstablishedEpoch

// Open authenticates and decrypts the records of one datagram in place
// (b's bodies are overwritten) and hands each accepted one to s, under the
// session's lock. A record is checked against the replay window before
// decryption and marks it only once it authenticated.
func (c *Conn) Open(b []byte, s Sink) (d Drops) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		r, rest, ok := wire.NextRecord(b)
		if !ok {
			d.Malformed++
			return d
		}
		b = rest
		if r.Epoch != Epoch || r.ContentType == wire.ContentChangeCipherSpec {
			d.Unexpected++
			continue
		}
		if !c.win.Fresh(r.Seq) {
			d.Replayed++
			continue
		}
		plain, err := c.suite.OpenRecord(r.Whole, protocol.ContentType(r.ContentType), r.Epoch, r.Seq)
		if err != nil {
			d.Forged++
			continue
		}
		c.win.Mark(r.Seq)
		switch r.ContentType {
		case wire.ContentApplicationData:
			s.Data(plain)
		case wire.ContentAlert:
			if len(plain) != 2 {
				d.Unexpected++
				continue
			}
			s.Alert(plain[0], plain[1])
		case wire.ContentHandshake:
			s.Handshake(plain)
		}
	}
	return d
}

// Seal appends one record of content type ct holding plain to dst.
func (c *Conn) Seal(dst []byte, ct byte, plain []byte) ([]byte, error) {
	return c.suite.SealRecord(dst, protocol.ContentType(ct), Epoch, plain)
}

// Alert descriptions and levels the engine acts on (RFC 5246 §7.2).
const (
	LevelWarning = 1
	LevelFatal   = 2
	CloseNotify  = 0
)

// SealAlert appends an alert record to dst.
func (c *Conn) SealAlert(dst []byte, level, description byte) ([]byte, error) {
	return c.Seal(dst, wire.ContentAlert, []byte{level, description})
}
