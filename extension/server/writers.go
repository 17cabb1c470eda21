package server

import (
	"fmt"
	"runtime"
	"time"

	"godtls/extension/link"
	"godtls/extension/netsim"
	"godtls/extension/udpsock"
)

// Sends go through writer goroutines (link.Writers): sealing and the socket
// stay off the caller's (Godot's main) thread, a few goroutines serve every
// peer, and the records leave in batches.

// Writer queue bounds, per writer: packets and bytes.
const (
	writerQueue      = 8192
	writerQueueBytes = 16 << 20
)

// startWritersLocked starts the writer goroutines. Called with s.mu held.
// Each writer sends the records it sealed in batches (sendmmsg where the
// platform has it) on the listening socket: through the simulated network
// while it is on, on the socket itself otherwise.
func (s *Server) startWritersLocked() {
	n := max(2, runtime.GOMAXPROCS(0))
	sock := s.sock
	batches := make([]*udpsock.Batch, n) // writer i's, made on its goroutine
	send := func(i int, ds []udpsock.Datagram) {
		if sim, ok := sock.(*netsim.PacketConn); ok {
			raw, direct := sim.Direct(false)
			if !direct {
				for _, d := range ds {
					_, _ = sock.WriteToUDPAddrPort(d.B, d.To)
				}
				return
			}
			if batches[i] == nil {
				batches[i] = udpsock.NewBatch(raw)
			}
		} else if batches[i] == nil {
			batches[i] = udpsock.NewBatch(sock)
		}
		_ = batches[i].Write(ds) // a refused destination is the peer's loss, as with a single write
	}
	if sock == nil {
		send = nil // attach mode: the caller sends
	}
	s.writers.Store(link.NewWriters(n, writerQueue, writerQueueBytes*int64(n), func(to link.Target, r any) {
		s.panics.Add(1)
		if pw, ok := to.(*peerWriter); ok {
			pw.setErr(fmt.Sprintf("internal error while sending: %v", r))
		}
	}, send))
}

// enqueue hands a packet to the peer's writer without blocking.
func (s *Server) enqueue(p *Peer, b []byte) error {
	w := s.writers.Load()
	if w == nil {
		return ErrNotConnected
	}
	attached := p.sess.out != nil
	if attached {
		p.unsealed.Add(1) // before the writer can take it
	}
	err := w.Enqueue(p.writer, (*peerWriter)(p), b)
	if err != nil && attached {
		p.unsealed.Add(-1)
	}
	switch err {
	case nil:
		return nil
	case link.ErrQueueFull:
		s.dropped.Add(1)
		return ErrSendQueueFull
	default:
		return ErrNotConnected
	}
}

// closeWriters lets the writers send what is queued, then ends them. They
// stay the server's until then: a CloseAfterQueued meanwhile finds them
// stopping and waits for them.
func (s *Server) closeWriters() {
	if w := s.writers.Load(); w != nil {
		w.Stop()
		s.writers.CompareAndSwap(w, nil)
	}
}

// peerCloser closes its peer from the writer queue, after the packets
// queued before it.
type peerCloser Peer

func (c *peerCloser) Write([]byte) {
	p := (*Peer)(c)
	// Closing waits for pion; the writer goes on with other peers.
	p.srv.wg.Add(1)
	go func() {
		defer p.srv.wg.Done()
		p.Close()
	}()
}

// Disconnect is the game's disconnect_from_peer: the peer is disconnected
// for the game at once (Status, Send, packets that still arrive), as with
// PacketPeerDTLS, and its close_notify follows the packets the game passed
// to Send before it, as PacketPeerDTLS's put_packet writes at once: a
// goodbye sent just before is not lost (CloseAfterQueued).
//
// In attach mode the close_notify must be in Outbound when Disconnect
// returns: the caller flushes the peer right after, and a game that has
// dropped the peer never flushes it again. So Disconnect waits, at most
// attachDisconnectWait, for the peer's writer to seal what was queued
// before it, then closes on the caller's thread. Sealing in Send instead
// (on the caller's thread, as PacketPeerDTLS does) was measured: at 2,000
// peers × 10 packets/s the p99 frame went from 21 to 31 ms (3 runs each,
// alternating; docs/reliability.md).
func (p *Peer) Disconnect() {
	p.leaving.Store(true)
	if p.sess.out != nil {
		p.awaitQueued(attachDisconnectWait)
		p.Close()
		return
	}
	p.CloseAfterQueued()
}

// attachDisconnectWait bounds Disconnect's wait in attach mode. A writer
// seals a peer's queued packets in microseconds; the bound is for a
// machine so busy that the writer does not run, and then the packets
// still queued are dropped by the close.
const attachDisconnectWait = 50 * time.Millisecond

// awaitQueued waits, at most max, until the peer's writer has handled the
// packets passed to Send before the call; with none unsealed, not at all
// (a wait costs the caller's thread a wake-up of the writer and of itself,
// ~0.2 ms measured in the engine suite).
func (p *Peer) awaitQueued(max time.Duration) {
	w := p.srv.writers.Load()
	if w == nil || p.unsealed.Load() == 0 {
		return
	}
	done := make(writerBarrier)
	if w.Enqueue(p.writer, done, nil) != nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// writerBarrier is closed by the writer once the jobs queued before it
// are done.
type writerBarrier chan struct{}

func (b writerBarrier) Write([]byte) { close(b) }

// CloseAfterQueued closes the peer (close_notify) once the packets already
// passed to Send have gone out: a goodbye sent just before is not lost.
// While the server stops, the writers are sending their last packets: the
// close waits for them, so that it never overtakes the goodbye queued
// before it (the client would read the close_notify first and drop the
// rest).
func (p *Peer) CloseAfterQueued() {
	if w := p.srv.writers.Load(); w != nil {
		switch w.Enqueue(p.writer, (*peerCloser)(p), nil) {
		case nil:
			return
		case link.ErrStopped:
			<-w.Stopped()
		}
	}
	p.Close()
}
