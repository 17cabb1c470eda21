package server

import (
	"container/list"
	"runtime"
)

// startGate bounds how many new sessions are getting under way at once:
// started on a goroutine, and pion has not yet written its first answer
// (the HelloVerifyRequest), waited for a datagram (a ClientHello it does not
// answer frees the start at once) or ended. A start is held while pion
// waits for a crypto slot: what waits here waits without a goroutine. The
// others wait in order.
//
// Why: a call from Godot's thread into Go that finds no free Go processor
// waits in Go's global run queue behind every goroutine already there.
// 1,000 ClientHellos from 16 addresses used to start 1,000 sessions at
// once, each with pion's goroutines; the processors' own queues overflowed
// into the global one, and one call waited 13 ms behind them (an execution
// trace; docs/profiles.md). Started a few at a time the same work is done
// in the same order, and the run queues stay short. Queued sessions stay in
// the unverified pool: eviction and the per-IP caps see them as before, and
// one evicted before its start costs pion nothing.
type startGate struct {
	limit   int
	running int        // started and not yet under way
	waiting *list.List // *session, oldest first; each also in the pool
}

func newStartGate() startGate {
	return startGate{limit: startLimit(), waiting: list.New()}
}

// startLimit is two sessions per Go processor: enough to keep the crypto
// slots busy (a session's start is mostly its key pair, under a slot), few
// enough to keep the run queues short.
func startLimit() int { return max(2, 2*runtime.GOMAXPROCS(0)) }

// startHandshakeLocked starts c's handshake now, or queues it until a
// started one is under way.
func (s *Server) startHandshakeLocked(c *session) {
	if s.starts.running < s.starts.limit {
		s.launchLocked(c)
		return
	}
	c.startWaiting = s.starts.waiting.PushBack(c)
}

// launchLocked runs c's handshake on a goroutine. The server is running:
// Stop clears the queue under the same lock before it waits for the
// goroutines.
func (s *Server) launchLocked(c *session) {
	s.starts.running++
	c.holdsStart.Store(true)
	s.wg.Add(1)
	s.handshakesRunning.Add(1)
	go s.handshake(s.ctx, c)
	if r := s.frame.Load(); r != nil {
		r.wake() // handshakes are read as they come (pump.go)
	}
}

// unqueueStartLocked takes c off the queue, if it waits there: it left the
// pool (evicted, replaced or stopped) before its start.
func (s *Server) unqueueStartLocked(c *session) {
	if c.startWaiting != nil {
		s.starts.waiting.Remove(c.startWaiting)
		c.startWaiting = nil
	}
}

// clearStartsLocked empties the queue: the server is stopping.
func (s *Server) clearStartsLocked() {
	for e := s.starts.waiting.Front(); e != nil; e = s.starts.waiting.Front() {
		s.unqueueStartLocked(e.Value.(*session))
	}
}

// startDone is a started session under way, or ended: the oldest waiting
// session starts in its place.
func (s *Server) startDone() {
	s.mu.Lock()
	defer s.unlock()
	s.starts.running--
	for s.running && s.starts.running < s.starts.limit && s.starts.waiting.Len() > 0 {
		c := s.starts.waiting.Remove(s.starts.waiting.Front()).(*session)
		c.startWaiting = nil
		if !c.isClosed() {
			s.launchLocked(c)
		}
	}
}

// doneStarting releases c's start, once: called at pion's first write, its
// first wait for a datagram, and when the handshake goroutine ends.
func (c *session) doneStarting() {
	if c.holdsStart.CompareAndSwap(true, false) {
		c.srv.startDone()
	}
}
