package server

import (
	"fmt"
	"runtime"

	"godtls/extension/link"
)

// Sends go through writer goroutines (link.Writers): pion's Conn.Write
// costs tens of microseconds on the caller's (Godot's main) thread.

// Writer queue bounds, per writer: packets and bytes.
const (
	writerQueue      = 8192
	writerQueueBytes = 16 << 20
)

// startWritersLocked starts the writer goroutines. Called with s.mu held.
func (s *Server) startWritersLocked() {
	n := max(2, runtime.GOMAXPROCS(0))
	s.writers.Store(link.NewWriters(n, writerQueue, writerQueueBytes*int64(n), func(to link.Target, r any) {
		s.panics.Add(1)
		to.(*peerWriter).setErr(fmt.Sprintf("internal error while sending: %v", r))
	}))
}

// enqueue hands a packet to the peer's writer without blocking.
func (s *Server) enqueue(p *Peer, b []byte) error {
	w := s.writers.Load()
	if w == nil {
		return ErrNotConnected
	}
	switch err := w.Enqueue(p.writer, (*peerWriter)(p), b); err {
	case nil:
		return nil
	case link.ErrQueueFull:
		s.dropped.Add(1)
		return ErrSendQueueFull
	default:
		return ErrNotConnected
	}
}

// closeWriters lets the writers send what is queued, then ends them.
func (s *Server) closeWriters() {
	if w := s.writers.Swap(nil); w != nil {
		w.Stop()
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

// CloseAfterQueued closes the peer (close_notify) once the packets already
// passed to Send have gone out: a goodbye sent just before is not lost.
func (p *Peer) CloseAfterQueued() {
	if w := p.srv.writers.Load(); w == nil || w.Enqueue(p.writer, (*peerCloser)(p), nil) != nil {
		p.Close()
	}
}
