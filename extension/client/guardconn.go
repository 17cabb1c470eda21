package client

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/suites"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// guardConn is the socket as pion sees it. During the handshake it counts
// the datagrams the server sent (to tell a wrong PSK from silence), numbers
// their epoch-0 records itself (wire.EpochZeroNumbering), and holds
// a crypto slot from a server flight's arrival until pion writes its answer
// (the work between is the handshake's crypto); once the handshake is over
// it keeps only the records a genuine server still sends
// (wire.KeepEstablished): an epoch-0 alert or application data, or a forged
// ChangeCipherSpec, from anyone who can spoof the server's address would
// otherwise end or silently deafen the connection inside pion v2. An ICMP
// error report ends the handshake only several in a row (refusals.go), and
// a write a report failed is made again (udpsock.WriteDialed).
//
// On one of the engine's ChaCha20-Poly1305 suites the client takes the
// session over from pion once the handshake returns (records.go). From the
// moment pion has the session's keys until then, the server's epoch-1
// application data and alerts are kept here for the engine's record layer
// (early) instead of going to pion, which would consume them; once the
// record layer has taken over (released), whatever pion's last read finds
// is kept too, pion's writes are dropped and its Close only wakes its read.
type guardConn struct {
	net.Conn
	offered              []dtls.CipherSuite // this attempt's suites: ours are among them
	reads                atomic.Int32
	established          atomic.Bool
	released             atomic.Bool // the engine's record layer owns the session
	early                *earlyRecords
	postHandshakeDropped atomic.Uint64           // records no established server sends: wire.KeepEstablished removed them, or the record layer dropped them
	garbage              atomic.Uint64           // datagrams that were not DTLS records
	lingering            atomic.Bool             // see Close
	muted                atomic.Bool             // pion's writes are dropped: the client sent its close_notify itself
	cookie               cookieWatch             // restart.go
	forgery              forgeryWatch            // restart.go
	refusals             refusalWatch            // refusals.go
	epochZero            wire.EpochZeroNumbering // the server's epoch-0 records as pion reads them: a forged number must not move pion's replay window

	slotMu   sync.Mutex
	holding  atomic.Bool // changed under slotMu; read without it on every write
	holdTill *time.Timer
}

func (g *guardConn) Read(b []byte) (int, error) {
	for {
		n, err := g.Conn.Read(b)
		if err != nil {
			if !g.established.Load() && udpsock.Reported(err) && g.refusals.survive(g.Conn) {
				continue
			}
			return n, err
		}
		if !g.established.Load() {
			g.refusals.heard()
		}
		if g.released.Load() {
			g.early.keep(b[:n], suites.Initialized(g.offered))
			continue
		}
		if suite := g.keysBeforeEstablished(); suite != nil {
			if n = len(g.early.divert(b[:n], suite)); n == 0 {
				continue
			}
		}
		if !g.established.Load() {
			if !wire.PionReads(b[:n]) || wire.EndsAHandshake(b[:n]) {
				continue // pion drops it; or its fatal alert for it ended the handshake
			}
			g.epochZero.Renumber(b[:n])
			g.reads.Add(1)
			g.cookie.read(b[:n])
			g.forgery.read(b[:n])
			g.acquire()
			return n, nil
		}
		kept, dropped, ok := wire.KeepEstablished(b[:n])
		g.postHandshakeDropped.Add(uint64(dropped))
		switch {
		case !ok:
			g.garbage.Add(1)
		case len(kept) > 0:
			return copy(b, kept), nil
		}
	}
}

// keysBeforeEstablished returns the suite of ours whose keys pion has
// derived while the handshake has not returned yet, or nil.
func (g *guardConn) keysBeforeEstablished() *suites.ChaCha20Poly1305 {
	if g.established.Load() {
		return nil
	}
	return suites.Initialized(g.offered)
}

// keepsSocket: pion's Close must not close the socket, nor its deadlines
// apply to it.
//
// While the client sends its close_notify (lingering), the socket stays
// open and pion's read loop stays in Read: pion v2's Close cancels its read
// loop before writing the close_notify, and that loop, leaving, closed the
// connection under the write and sometimes dropped it. So a deadline pion
// sets then is ignored, and pion's own Close of the socket only wakes the
// read loop; the client closes the socket itself afterwards. Once released,
// the same holds for good: the socket is the record layer's.
func (g *guardConn) keepsSocket() bool { return g.lingering.Load() || g.released.Load() }

func (g *guardConn) SetReadDeadline(t time.Time) error {
	if g.keepsSocket() {
		return nil
	}
	return g.Conn.SetReadDeadline(t)
}

func (g *guardConn) SetDeadline(t time.Time) error {
	if g.keepsSocket() {
		return g.Conn.SetWriteDeadline(t)
	}
	return g.Conn.SetDeadline(t)
}

func (g *guardConn) Close() error {
	if g.keepsSocket() {
		return g.Conn.SetReadDeadline(time.Unix(1, 0)) // wake the read loop
	}
	return g.Conn.Close()
}

func (g *guardConn) Write(b []byte) (int, error) {
	if g.muted.Load() || g.released.Load() {
		return len(b), nil
	}
	g.release() // pion answered: its crypto for this flight is done
	if g.established.Load() {
		return udpsock.WriteDialed(g.Conn, b)
	}
	g.cookie.wrote(b)
	g.refusals.wrote(b)
	n, err := udpsock.WriteDialed(g.Conn, b)
	if err != nil && udpsock.Reported(err) && g.refusals.survive(g.Conn) {
		return len(b), nil // a second report in a row; pion sends the flight again
	}
	return n, err
}
