package client

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/protocol/alert"

	"godtls/extension/link"
	"godtls/extension/record"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// On one of the engine's ChaCha20-Poly1305 suites the client runs the
// record layer itself once pion's handshake returns, as a server peer does
// (extension/record): one goroutine reads the socket and opens the records
// in place (replay window before decryption, marked only after
// authentication), and the writer seals the game's packets and writes them.
// pion's connection is closed at once: its two goroutines end, and so do
// the goroutine its context-aware socket wrapper starts for every read and
// every write. Whatever pion still writes is dropped (guardConn.released).
//
// Nothing pion does after the handshake is lost with it. The client's
// Finished is its last flight: the handshake returns only once the
// server's Finished has arrived, so the client never has to retransmit.
// A retransmitted server flight is authenticated and ignored. Records under
// the session's write key, pion's Finished and ours, take their sequence
// numbers from the suite's one counter.
//
// The gap: the server may send application data, or close, right after
// its Finished, before pion's handshake returns to the client. From the
// moment pion has the keys, guardConn keeps the server's epoch-1
// application data and alerts for the record layer (earlyRecords), which
// opens them first; pion never consumes them.

// earlyRecords are the server's records kept for the record layer until it
// runs (record.Early: only those that authenticate, each once, within the
// receive queue's bounds). A genuine server may send a burst in that gap,
// a game's welcome or the world's state, and what is not kept is lost.
type earlyRecords struct {
	mu    sync.Mutex
	held  *record.Early
	drops record.Drops
	full  int // records dropped at the bounds
}

func newEarlyRecords(cfg Config) *earlyRecords {
	return &earlyRecords{held: record.NewEarly(cfg.RecvQueue, cfg.RecvQueueBytes)}
}

// keep holds the records of datagram b that authenticate under suite.
func (e *earlyRecords) keep(b []byte, suite *suites.ChaCha20Poly1305) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, full := e.held.Hold(b, suite)
	e.drops.Add(d)
	e.full += full
}

// divert keeps the epoch-1 application data and alerts of datagram b that
// authenticate under suite's keys, drops those that do not (a forger on the
// server's address would fill the store and crowd out the server's own),
// and returns the rest of it (a prefix of b, compacted in place) for pion.
// A datagram that is not a run of records goes to pion whole, as before.
func (e *earlyRecords) divert(b []byte, suite *suites.ChaCha20Poly1305) []byte {
	var mine []byte
	diverted := false
	rest, w := b, 0
	for len(rest) > 0 {
		r, next, ok := wire.NextRecord(rest)
		if !ok {
			if !diverted {
				return b
			}
			break // the tail is not records: pion would drop it as well
		}
		rest = next
		if r.Epoch == record.Epoch && (r.ContentType == wire.ContentApplicationData || r.ContentType == wire.ContentAlert) {
			mine = append(mine, r.Whole...)
			diverted = true
			continue
		}
		w += copy(b[w:], r.Whole)
	}
	if !diverted {
		return b
	}
	e.keep(mine, suite)
	return b[:w]
}

// take hands over what was kept, what was dropped and why, and how many
// records the bounds dropped.
func (e *earlyRecords) take() ([][]byte, record.Drops, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, full := e.drops, e.full
	e.drops, e.full = record.Drops{}, 0
	return e.held.Take(), d, full
}

// takeOver closes pion's connection and returns the record layer that
// replaces it. The socket stays open: the record layer reads it next.
func takeOver(conn *dtls.Conn, g *guardConn, suite *suites.ChaCha20Poly1305) *record.Conn {
	g.released.Store(true)
	_ = conn.Close() // waits for pion's goroutines; guardConn drops its close_notify
	// pion's Close woke its read with a past deadline (guardConn.Close).
	_ = g.Conn.SetReadDeadline(time.Time{})
	return record.New(suite)
}

// readRecords is the connection's read loop on the engine's record layer:
// first what guardConn kept, then the socket, until the connection ends.
func (c *Client) readRecords(g *guardConn, rec *record.Conn) {
	s := (*clientSink)(c)
	defer func() {
		if r := recover(); r != nil {
			s.Failed(fmt.Sprintf("internal error: %v", r))
		}
	}()
	early, drops, full := g.early.take()
	c.recordsDropped(g, drops)
	c.earlyDropped.Add(uint64(full))
	for _, d := range early {
		c.recordsDropped(g, rec.Open(d, (*clientRecords)(c)))
	}
	buf := make([]byte, wire.MaxDatagram+1)
	for {
		n, err := g.Conn.Read(buf)
		if err != nil {
			switch {
			case s.Ours():
			case errors.Is(err, net.ErrClosed):
				s.Failed(err.Error())
			case errors.Is(err, os.ErrDeadlineExceeded):
				continue
			default:
				if !s.Trouble(err) {
					continue
				}
			}
			return
		}
		if n > wire.MaxDatagram {
			g.garbage.Add(1) // larger than any record a DTLS 1.2 peer sends here
			continue
		}
		c.recordsDropped(g, rec.Open(buf[:n], (*clientRecords)(c)))
	}
}

// recordsDropped counts what the record layer dropped: records no
// established server sends with those wire.KeepEstablished removes on
// pion's path, replays on their own, datagrams that are not records as
// garbage.
func (c *Client) recordsDropped(g *guardConn, d record.Drops) {
	d.AddTo(&c.replayed, &g.postHandshakeDropped, &g.garbage)
}

// clientRecords is what the record layer reports to (record.Sink).
type clientRecords Client

func (cr *clientRecords) Data(plain []byte) {
	c := (*Client)(cr)
	s := (*clientSink)(c)
	if s.Ours() {
		return // the connection ended: nobody reads any more
	}
	s.Received(len(plain))
	if c.recv.Push(append([]byte(nil), plain...)) {
		s.Queued()
	} else {
		s.Dropped()
	}
}

func (cr *clientRecords) Alert(level, description byte) {
	s := (*clientSink)(cr)
	switch {
	case description == record.CloseNotify:
		s.Closed()
	case level == record.LevelFatal:
		s.Failed(fmt.Sprintf("the server sent a fatal alert: %v", alert.Description(description)))
	}
	// A warning alert changes nothing.
}

// Handshake: the server sent its last flight again (it had not heard that
// its Finished arrived). The client's handshake is over and needs nothing
// from it: dropped and counted.
func (cr *clientRecords) Handshake([]byte) {
	c := (*Client)(cr)
	c.mu.Lock()
	g := c.guard
	c.mu.Unlock()
	if g != nil {
		g.postHandshakeDropped.Add(1)
	}
}

// recordWriter is how the writer goroutine sends on the record layer: it
// seals into buf (reused: there is one writer per client) and writes to
// the socket.
type recordWriter struct {
	rec  *record.Conn
	sock net.Conn
	buf  []byte
}

// send seals b into one application_data record and writes it.
func (w *recordWriter) send(b []byte) error {
	out, err := w.rec.Seal(w.buf[:0], wire.ContentApplicationData, b)
	if err != nil {
		return err
	}
	w.buf = out[:0]
	_, err = udpsock.WriteDialed(w.sock, out)
	return err
}

var _ link.Sink = (*clientSink)(nil)
