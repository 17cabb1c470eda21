package server

import (
	"testing"
	"time"
)

// TestCryptoSlotsVerifiedFirst: a freed slot goes to the oldest verified
// waiter even when an unverified one waited longer, then to the unverified
// one; a waiter that gives up holds nothing; every slot comes back.
func TestCryptoSlotsVerifiedFirst(t *testing.T) {
	s := newCryptoSlots(1)
	if !s.acquire(true, nil, nil, nil) {
		t.Fatal("a free slot was not granted")
	}
	order := make(chan string, 3)
	wait := func(name string, verified bool) {
		go func() {
			if s.acquire(verified, nil, nil, nil) {
				order <- name
				s.release()
			}
		}()
	}
	wait("unverified", false)
	waitFor(t, "unverified queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.unverified) == 1 })
	wait("verified", true)
	waitFor(t, "verified queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.verified) == 1 })
	// one that gives up: it must not take the slot with it
	giveUp := make(chan time.Time)
	gaveUp := make(chan bool)
	go func() { gaveUp <- s.acquire(false, nil, giveUp, nil) }()
	waitFor(t, "third queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.unverified) == 2 })
	close(giveUp)
	if <-gaveUp {
		t.Fatal("a waiter that gave up reports a slot")
	}
	s.release()
	if a, b := <-order, <-order; a != "verified" || b != "unverified" {
		t.Fatalf("slots went to %s then %s, want verified then unverified", a, b)
	}
	waitFor(t, "slot back", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.free == 1 })
	// with nobody waiting, an unverified session takes a free slot at once
	if !s.acquire(false, nil, nil, nil) {
		t.Fatal("free slot refused")
	}
	s.release()
}
