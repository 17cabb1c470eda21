package server

import (
	"context"
	"fmt"
	"time"
)

// janitor applies the idle timeout and expires queued ClientHellos.
func (s *Server) janitor(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep is one janitor round; a panic in it is counted and reported, and
// the next round runs as usual.
func (s *Server) sweep(now time.Time) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.events.Push(Event{Kind: EventInternalError, Reason: fmt.Sprintf("internal error in the janitor: %v", r)})
		}
	}()
	s.mu.Lock()
	s.expireQueueLocked(now)
	s.admitQueuedLocked(now)
	s.publishCountsLocked()
	idle := s.cfg.IdleTimeout
	var expired []*Peer
	if idle > 0 {
		for p := range s.peers {
			if now.Sub(p.LastReceive()) > idle {
				expired = append(expired, p)
			}
		}
	}
	s.unlock()
	for _, p := range expired {
		p.close(fmt.Sprintf("idle for more than %v", idle), true)
	}
}
