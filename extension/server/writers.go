package server

import (
	"fmt"
	"runtime"
)

// Sends go through writer goroutines: pion's Conn.Write starts and joins a
// goroutine per call, which costs tens of microseconds on the caller's
// (Godot's main) thread. Each peer always uses the same writer, which keeps
// its packets in order.

// Writer queue bounds, per writer: packets and bytes.
const (
	writerQueue      = 8192
	writerQueueBytes = 16 << 20
)

type sendJob struct {
	p *Peer
	b []byte
}

// startWritersLocked starts the writer goroutines. Called with s.mu held.
func (s *Server) startWritersLocked() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.writers = make([]chan sendJob, max(2, runtime.GOMAXPROCS(0)))
	s.writerBytes.Store(0)
	for i := range s.writers {
		s.writers[i] = make(chan sendJob, writerQueue)
		s.writerWG.Add(1)
		go s.writer(s.writers[i])
	}
}

// writer encrypts and sends queued packets until its channel is closed. A
// panic in one send is counted and the writer goes on with the next.
func (s *Server) writer(jobs chan sendJob) {
	defer s.writerWG.Done()
	for j := range jobs {
		s.writeOne(j)
	}
}

func (s *Server) writeOne(j sendJob) {
	defer s.writerBytes.Add(-int64(len(j.b)))
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			j.p.setErr(fmt.Sprintf("internal error while sending: %v", r))
		}
	}()
	j.p.write(j.b)
}

// enqueue hands a packet to the peer's writer without blocking.
func (s *Server) enqueue(p *Peer, b []byte) error {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if len(s.writers) == 0 {
		return ErrNotConnected
	}
	// All writers share one byte budget: bytes waiting for encryption.
	if s.writerBytes.Add(int64(len(b))) > writerQueueBytes*int64(len(s.writers)) {
		s.writerBytes.Add(-int64(len(b)))
		s.dropped.Add(1)
		return ErrSendQueueFull
	}
	select {
	case s.writers[p.writer%uint32(len(s.writers))] <- sendJob{p, b}:
		return nil
	default:
		s.writerBytes.Add(-int64(len(b)))
		s.dropped.Add(1)
		return ErrSendQueueFull
	}
}

// closeWriters lets the writers send what is queued, then ends them.
func (s *Server) closeWriters() {
	s.sendMu.Lock()
	for _, w := range s.writers {
		close(w)
	}
	s.writers = nil
	s.sendMu.Unlock()
	s.writerWG.Wait()
}
