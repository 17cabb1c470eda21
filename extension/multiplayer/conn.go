package multiplayer

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// carrier is the DTLS connection a session runs over: a server's Peer or a
// client. Send never blocks (a full send queue drops, which SCTP repairs
// and unreliable traffic accepts); Receive pops what its read loop queued.
type carrier interface {
	Send(b []byte) error
	Receive() ([]byte, bool)
	Signal() <-chan struct{}
	Done() <-chan struct{}
	MaxPayload() int
	Close()
}

// sctpConn is the net.Conn pion/sctp reads and writes: every SCTP packet
// is one DTLS record behind the kindSCTP byte. Reading also dispatches the
// records that are not SCTP (unreliable messages, pings, goodbyes) to the
// session, so no goroutine of our own waits on the carrier.
type sctpConn struct {
	s      *session
	car    carrier
	closed chan struct{}
	once   sync.Once

	guard sctpGuard // checks what the peer sends; learns from what we send

	// stash holds SCTP packets that arrived during the RTT probe, before
	// pion reads: the probe fills it, the first association's read loop
	// empties it (a retried setup's old and new read loops may overlap).
	stashMu sync.Mutex
	stash   [][]byte

	packetsIn, packetsOut atomic.Uint64

	inits initGate // the server's: INITs of abandoned setup attempts
}

func newSCTPConn(s *session, car carrier) *sctpConn {
	c := &sctpConn{s: s, car: car, closed: make(chan struct{}), guard: sctpGuard{isServer: s.isServer, arrivals: &s.arrivals,
		messageRate: s.sh.opts.messageRate(s.isServer)}}
	if s.isServer {
		c.guard.inits = &c.inits
	}
	return c
}

// pop takes one record from the carrier: an SCTP packet is returned (not
// nil, possibly empty), any other record is handled here (nil). ok is
// false when nothing is queued.
func (c *sctpConn) pop() (pkt []byte, ok bool) {
	rec, ok := c.car.Receive()
	if !ok {
		return nil, false
	}
	c.s.heard()
	switch {
	case len(rec) == 0:
	case rec[0] == kindSCTP:
		return rec[1:], true
	default:
		c.s.onRecord(rec)
	}
	return nil, true
}

// attempt is the conn one SCTP association runs on. Closing it ends that
// association's reads and writes only, so a failed setup can be retried
// over the same DTLS connection; closing the sctpConn ends every attempt.
type attempt struct {
	*sctpConn
	ended chan struct{}
	once  sync.Once
	// carrying is the session once this attempt's association is its
	// association: the association's end ends the session. readFailed:
	// a read returned an error, which ends pion's read loop.
	carrying   atomic.Pointer[session]
	readFailed atomic.Bool
}

func (c *sctpConn) attempt() *attempt {
	return &attempt{sctpConn: c, ended: make(chan struct{})}
}

// Read is the read loop's. An error ends that loop, and with it the
// association (pion/sctp's loop ends on a read error or on an ABORT, and
// closes the conn for the ABORT).
func (a *attempt) Read(b []byte) (int, error) {
	n, err := a.read(b, a.ended)
	if err != nil {
		a.readFailed.Store(true) // before carrying is read: see carries
		if s := a.carrying.Load(); s != nil {
			s.associationEnded()
		}
	}
	return n, err
}

func (a *attempt) Write(b []byte) (int, error) {
	select {
	case <-a.ended:
		return 0, net.ErrClosed
	default:
	}
	return a.sctpConn.Write(b)
}

// Close is pion's on every way its association ends (an ABORT, the end
// of a SHUTDOWN, its Close), and the session's.
func (a *attempt) Close() error {
	a.once.Do(func() {
		close(a.ended)
		if s := a.carrying.Load(); s != nil {
			s.associationEnded()
		}
	})
	return nil
}

// carries makes a the conn of s's association: from now on the
// association's end (Read's error or Close) ends the session, and an end
// that came first ends it now.
func (a *attempt) carries(s *session) {
	a.carrying.Store(s)
	// Read and Close record the end before they look for the session; one
	// of the two sides sees the other.
	select {
	case <-a.ended:
		s.associationEnded()
		return
	default:
	}
	if a.readFailed.Load() {
		s.associationEnded()
	}
}

// Read returns the next SCTP packet.
func (c *sctpConn) Read(b []byte) (int, error) { return c.read(b, nil) }

// read returns the next SCTP packet, or net.ErrClosed once c or the
// attempt (ended) is closed. It runs on pion/sctp's read loop.
func (c *sctpConn) read(b []byte, ended <-chan struct{}) (int, error) {
	for {
		pkt, ok := c.unstash()
		if !ok {
			break
		}
		if !c.forPion(pkt) {
			continue
		}
		c.packetsIn.Add(1)
		return c.deliver(b, pkt), nil
	}
	carrierDone := false
	for {
		select {
		case <-ended:
			return 0, net.ErrClosed
		default:
		}
		if pkt, ok := c.pop(); ok {
			if pkt != nil && c.forPion(pkt) {
				c.packetsIn.Add(1)
				return c.deliver(b, pkt), nil
			}
			continue
		}
		if carrierDone { // what arrived before the end has been read
			return 0, io.EOF
		}
		select {
		case <-c.car.Signal():
		case <-c.car.Done():
			carrierDone = true
		case <-c.closed:
			return 0, net.ErrClosed
		case <-ended:
			return 0, net.ErrClosed
		}
	}
}

// forPion reports whether pion may read the SCTP packet pkt: what the
// guard admits (a violation ends the session) and, on the server, not an
// INIT of the client's abandoned setup attempt (initGate).
func (c *sctpConn) forPion(pkt []byte) bool {
	v, why := c.guard.check(pkt)
	switch v {
	case violation:
		c.s.violated("protocol violation: " + why)
		return false
	case dropStale, dropOverBudget:
		return false
	}
	if n := c.guard.takeFreshStreams(); n > 0 {
		c.s.acceptStreams(n) // before pion reads the packet that opens them
	}
	return !c.s.isServer || c.inits.admit(pkt)
}

func (c *sctpConn) stashPacket(pkt []byte) {
	c.stashMu.Lock()
	defer c.stashMu.Unlock()
	if len(c.stash) < 8 {
		c.stash = append(c.stash, pkt)
	}
}

func (c *sctpConn) unstash() ([]byte, bool) {
	c.stashMu.Lock()
	defer c.stashMu.Unlock()
	if len(c.stash) == 0 {
		return nil, false
	}
	pkt := c.stash[0]
	c.stash = c.stash[1:]
	return pkt, true
}

// deliver copies an SCTP packet into pion's buffer, asking for an
// immediate acknowledgement of its data.
func (c *sctpConn) deliver(b, pkt []byte) int {
	n := copy(b, pkt)
	askImmediateAck(b[:n])
	return n
}

// waitProbe reads records until answered reports an answer or the
// deadline passes, keeping SCTP packets for pion (a few: INIT is
// retransmitted anyway). When the carrier ends, what arrived before its
// end is read first: a server that turns the client away sends its
// reason just before it closes, and the reason must not be lost to the
// close (seen in CI: "setup failed: the connection closed during setup"
// instead of "the server is full").
func (c *sctpConn) waitProbe(answered func() (time.Duration, bool), deadline time.Time) (time.Duration, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	carrierDone := false
	for {
		if rtt, ok := answered(); ok {
			return rtt, true
		}
		if pkt, ok := c.pop(); ok {
			if pkt != nil {
				c.stashPacket(pkt)
			}
			continue
		}
		if carrierDone {
			return 0, false
		}
		select {
		case <-c.car.Signal():
		case <-c.car.Done():
			carrierDone = true
		case <-c.closed:
			return 0, false
		case <-timer.C:
			return 0, false
		}
	}
}

// Write sends one SCTP packet. It runs on pion/sctp's write loop.
func (c *sctpConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.guard.outgoing(b)
	rec := make([]byte, 1+len(b))
	rec[0] = kindSCTP
	copy(rec[1:], b)
	// A full send queue loses the packet as the network would; SCTP
	// retransmits it.
	_ = c.car.Send(rec)
	c.packetsOut.Add(1)
	c.guard.sentOut(b)
	c.s.releaseFollowing() // the unreliable records that waited for this packet's DATA
	if setupPacket(b) {
		// Setup packets go out twice. pion/sctp gives a COOKIE ECHO 9
		// transmissions, spaced by the retransmission timeout we cap at
		// 3 RTT + 60 ms (rtoFor): about half a second on a LAN. At 30 %
		// loss each way that failed 4 setups in 200 (mpstress), and a
		// failed COOKIE ECHO cannot be retried (the server may already be
		// established). A duplicate is answered like the original (RFC
		// 4960 §5.2.4) and costs a few datagrams once per session.
		_ = c.car.Send(rec)
		c.packetsOut.Add(1)
	}
	return len(b), nil
}

// setupPacket reports whether pkt opens an association: INIT, INIT ACK,
// COOKIE ECHO or COOKIE ACK first.
func setupPacket(pkt []byte) bool {
	if len(pkt) <= sctpCommonHeader {
		return false
	}
	switch pkt[sctpCommonHeader] {
	case chunkInit, chunkInitAck, chunkCookieEcho, chunkCookieAck:
		return true
	}
	return false
}

func (c *sctpConn) retransmissions() uint64 { return c.guard.retransmissions() }

// Close ends Read and Write; the DTLS connection is the session's to close.
func (c *sctpConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

type sctpAddr struct{}

func (sctpAddr) Network() string { return "dtls" }
func (sctpAddr) String() string  { return "dtls" }

func (c *sctpConn) LocalAddr() net.Addr              { return sctpAddr{} }
func (c *sctpConn) RemoteAddr() net.Addr             { return sctpAddr{} }
func (c *sctpConn) SetDeadline(time.Time) error      { return nil }
func (c *sctpConn) SetReadDeadline(time.Time) error  { return nil }
func (c *sctpConn) SetWriteDeadline(time.Time) error { return nil }
