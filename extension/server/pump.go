package server

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/netsim"
	"godtls/extension/udpsock"
)

// Reading the socket in the game's frame.
//
// A game calls the server every frame. While it does and no handshake is
// running, the game's thread reads the socket itself, in batches that
// never wait (Pump, from GoDTLSServer.poll() and receive_all()), and the
// reader goroutine sleeps.
// The reason is the wake-ups: at 2,000 peers × 10 packets/s the reader
// goroutine was woken for nearly every datagram (each one parks it in the
// network poller again, wakes a thread and keeps Go's monitor polling),
// which cost more than the datagrams' own work (docs/profiles.md). Read in
// the frame, a datagram costs a share of one system call, and the packets
// the frame reads are in receive_all() of the same frame, as before.
//
// Datagrams wait for the game a bounded time: when it has not pumped for
// handover() (a hitch, a loading screen, a game that stops calling poll()),
// the reader goroutine reads as it always did; and a Pump that finds more
// than pumpBudget datagrams leaves the rest to the goroutine, which, when
// the rest is as large again (a flood, not a burst), reads as datagrams
// come for handover(), so a flood costs the frame a bounded amount and is
// read as fast as without frame reads. While a handshake runs (a join, or a
// spoofed ClientHello's cookie exchange), the goroutine reads as datagrams
// come, as before: a handshake's flights are not held until the next
// frame (a join storm would take a frame longer per flight), and the
// frame does not route a storm's datagrams. A Pump then finds the
// goroutine reading and does nothing; the handshake that starts from a
// ClientHello a Pump routed wakes the goroutine.
//
// Whoever reads holds frameReader.mu from the read until the datagrams are
// routed, so a peer's datagrams are routed in the order they were read,
// whichever thread read them.
type frameReader struct {
	mu   sync.Mutex // held by the reader of the moment: the goroutine (also while it waits in a read) or Pump
	sock *udpsock.Batch
	sim  *netsim.PacketConn // nil: no simulation in the way
	// bufs and got serve both readers (readLoop takes sock and them), one
	// at a time under mu.
	bufs [][]byte
	got  []udpsock.Received

	lastPump atomic.Int64 // when the game last called Pump, unix ns (0: never)
	// floodUntil: a flood outlasted a Pump's budget (drainWaiting); until
	// then (unix ns) the goroutine reads as datagrams come, as it does
	// without frame reads.
	floodUntil atomic.Int64
	gap        atomic.Int64 // the game's smoothed time between Pumps, ns
	help       chan struct{}
}

const (
	// pumpBudget is the most datagrams one Pump reads: a bounded share of
	// the game's frame (each costs its routing and, for a peer's record,
	// a decryption: a few microseconds).
	pumpBudget = 256
	// The reader goroutine takes over when the game has not pumped for 3
	// of its frames, and never less than minHandover (a frame of a game
	// at 30 frames per second, twice) or more than maxHandover (the
	// longest a datagram waits in the socket before the goroutine reads).
	minHandover = 66 * time.Millisecond
	maxHandover = 250 * time.Millisecond
	// pumpsApart: two calls closer than this are the same frame (poll()
	// and receive_all()); they do not count as the game's frame time.
	pumpsApart = time.Millisecond
)

// newFrameReader returns the frame reader of sock, or nil where the
// socket cannot be read without waiting (not Linux, not Go's socket).
func newFrameReader(sock udpsock.PacketConn) *frameReader {
	r := &frameReader{help: make(chan struct{}, 1)}
	raw := sock
	if sim, ok := sock.(*netsim.PacketConn); ok {
		r.sim = sim
		direct, ok := sim.Direct(true)
		if !ok {
			return nil
		}
		raw = direct
	}
	r.sock = udpsock.NewBatch(raw)
	if !r.sock.CanReadNow() {
		return nil
	}
	r.bufs, r.got = readBuffers(r.sock)
	return r
}

// Pump reads and routes the datagrams waiting in the socket, on the
// caller's thread and without waiting, up to pumpBudget, and returns how
// many it read. It does nothing when the server is not listening, the
// simulated network has been switched on (its own goroutine reads the
// socket), or the reader goroutine is reading at that moment (it stops
// after what it read once it sees the game pump, unless a handshake runs);
// it stops reading once a handshake runs (readWaiting).
func (s *Server) Pump() int {
	r := s.frame.Load()
	if r == nil || s.noFrameReads.Load() {
		return 0
	}
	if !r.direct() {
		r.wake() // the goroutine reads through the simulation from now on
		return 0
	}
	now := time.Now().UnixNano()
	if prev := r.lastPump.Swap(now); prev != 0 && now-prev >= int64(pumpsApart) {
		g := r.gap.Load()
		r.gap.Store(g + (now-prev-g)/8) // a racing Pump's update may be lost: it is an estimate
	}
	if !r.mu.TryLock() {
		return 0
	}
	defer r.mu.Unlock()
	total, more := s.readWaiting(r, pumpBudget, true)
	s.readInFrame.Add(uint64(total))
	if more {
		r.wake() // more may wait: the goroutine reads the rest, off the game's thread
	}
	return total
}

// readWaiting reads and routes what waits in the socket, without waiting,
// until a batch comes back short (the socket is empty) or budget datagrams
// were read; more reports the latter. The game's reads (inFrame) also stop
// once a handshake runs: its flights are the goroutine's to read as they
// come (launchLocked woke it), and a Pump that went on reading would take
// the next flight in the frame: seen in CI, whose race build reads one
// datagram per call (udpsock.NewBatch), where on a loaded machine a Pump
// read a ClientHello, routed it, and read the ClientHello with the cookie
// that the handshake it started had asked for; with batched reads, a Pump
// that finds a full batch reads on the same way.
// The caller holds r.mu.
func (s *Server) readWaiting(r *frameReader, budget int, inFrame bool) (total int, more bool) {
	for total < budget {
		if inFrame && s.handshakesRunning.Load() > 0 {
			return total, false
		}
		n, err := r.sock.ReadNow(r.bufs, r.got)
		s.routeRead(r.bufs, r.got[:n])
		total += n
		if err != nil || n < len(r.bufs) {
			return total, false // drained (or closed: the goroutine sees it too)
		}
	}
	return total, true
}

// drainWaiting is the reader goroutine's help after a wake-up: it reads what
// waits until the socket is empty (a flood that outlasts a Pump's budget
// is read here for as long as it lasts). Another budget's worth left
// behind by the Pump is a flood, not a burst: the goroutine then goes on
// reading as datagrams come for a handover.
func (s *Server) drainWaiting(r *frameReader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, _ := s.readWaiting(r, math.MaxInt, false); n >= pumpBudget {
		r.floodUntil.Store(time.Now().Add(r.handover()).UnixNano())
	}
}

// direct reports whether the socket may be read directly: no simulated
// network, or one never switched on (once on, its pump reads the socket).
func (r *frameReader) direct() bool {
	if r.sim == nil {
		return true
	}
	_, ok := r.sim.Direct(true)
	return ok
}

// wake ends the reader goroutine's waitTurn.
func (r *frameReader) wake() {
	select {
	case r.help <- struct{}{}:
	default:
	}
}

// handover is how long the game may go without pumping before the reader
// goroutine reads again.
func (r *frameReader) handover() time.Duration {
	return min(max(3*time.Duration(r.gap.Load()), minHandover), maxHandover)
}

// gamePumps reports whether the game pumped within handover() of now,
// and no Pump reached its budget within that time.
func (r *frameReader) gamePumps(now time.Time) bool {
	last := r.lastPump.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) < r.handover() && now.UnixNano() >= r.floodUntil.Load()
}

// waitTurn is where the reader goroutine sleeps while the game pumps. It
// returns when the goroutine should read: woken (a Pump left datagrams
// behind, a handshake started, the simulation was switched on) or the
// game is late; stop is true when the server stops.
func (r *frameReader) waitTurn(ctx context.Context) (woken, stop bool) {
	t := time.NewTimer(r.handover())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, true
		case <-r.help:
			return true, false
		case <-t.C:
		}
		now := time.Now()
		if !r.gamePumps(now) {
			return false, false
		}
		t.Reset(r.handover() - now.Sub(time.Unix(0, r.lastPump.Load())))
	}
}

// SetFrameReads turns reading in the game's frame on (the default) or off.
// Off, Pump does nothing and the reader goroutine reads everything, at
// once: a game whose frame has no room for the datagrams' work, or that
// calls the server from a thread it does not want to spend on it.
func (s *Server) SetFrameReads(on bool) {
	s.noFrameReads.Store(!on)
	if r := s.frame.Load(); r != nil && !on {
		r.lastPump.Store(0)
		r.wake()
	}
}

// FrameReads reports whether Pump reads the socket.
func (s *Server) FrameReads() bool { return !s.noFrameReads.Load() }
