package server

import (
	"sync"
	"time"
)

// cryptoSlots bounds how many handshakes compute at once (GOMAXPROCS-1, and
// one less than the CPUs when GOMAXPROCS is set higher than them):
// every call from Godot's thread into Go needs a free Go processor, and
// when handshake goroutines are runnable on every processor such a call
// waits behind them (measured with an execution trace: 5-8 ms waits during
// a 100-client ECDSA join, up to 45 ms under a spoofed flood, while the
// cookieless ClientHellos' key generation ran on every processor).
//
// Verified handshakes go first: a session whose client has echoed its
// cookie takes a free slot before any waiting unverified one, so a flood
// of cookieless ClientHellos (all of which cost pion a key pair before it
// can answer) gets only the processor time genuine clients leave.
type cryptoSlots struct {
	mu         sync.Mutex
	n, free    int
	verified   []chan struct{} // waiters, oldest first
	unverified []chan struct{}
}

func newCryptoSlots(n int) *cryptoSlots { return &cryptoSlots{n: n, free: n} }

// acquire waits for a slot until one is granted (true), or until done or
// giveUp fires (false: no slot is held).
func (s *cryptoSlots) acquire(verified bool, done <-chan struct{}, giveUp <-chan time.Time, moved <-chan struct{}) bool {
	s.mu.Lock()
	if s.free > 0 && (verified || len(s.verified) == 0) {
		s.free--
		s.mu.Unlock()
		return true
	}
	ch := make(chan struct{}, 1)
	if verified {
		s.verified = append(s.verified, ch)
	} else {
		s.unverified = append(s.unverified, ch)
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-done:
	case <-giveUp:
	case <-moved:
	}
	s.mu.Lock()
	removed := remove(&s.verified, ch) || remove(&s.unverified, ch)
	s.mu.Unlock()
	if !removed {
		// granted while we gave up: hand it on
		<-ch
		s.release()
	}
	return false
}

// release gives a slot back: to the oldest verified waiter, else the oldest
// unverified one, else to the pool.
func (s *cryptoSlots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range []*[]chan struct{}{&s.verified, &s.unverified} {
		if len(*q) > 0 {
			ch := (*q)[0]
			(*q)[0] = nil
			*q = (*q)[1:]
			ch <- struct{}{}
			return
		}
	}
	s.free++
}

func remove(q *[]chan struct{}, ch chan struct{}) bool {
	for i, c := range *q {
		if c == ch {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}
