package main

import (
	"testing"
	"time"

	"godtls/extension/server"
)

// A thread that found a peer's object in the server's map may still be
// asking Godot for a reference when another thread frees the object: free
// takes it out of the map, so that nobody pins it again, and returns (the
// memory goes) only once the pins already taken are let go.
func TestFreeWaitsForPinnedLookups(t *testing.T) {
	s := &gdServer{peers: map[*server.Peer]*gdPeer{}}
	p := &server.Peer{}
	gp := &gdPeer{p: p, owner: s}
	s.peers[p] = gp

	s.mu.Lock()
	if s.pinned(p) != gp {
		t.Fatal("the map's object was not found")
	}
	s.mu.Unlock()

	freed := make(chan struct{})
	go func() {
		gp.free()
		close(freed)
	}()
	// free takes gp out of the map first: no new pin can start
	waitFor(t, "free to take the object out of the map", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, still := s.peers[p]
		return !still
	})
	s.mu.Lock()
	if again := s.pinned(p); again != nil {
		t.Fatal("an object being freed was pinned again")
	}
	s.mu.Unlock()
	stillBlocked(t, freed, "free returned while a lookup still pinned the object")
	gp.pins.release() // the lookup's retain is refused and lets go
	<-freed
}

// The same for a multiplayer server's get_server() view: its free takes it
// out of the multiplayer peer and waits for a get_server() or poll() on
// another thread that found it there.
func TestViewFreeWaitsForPinnedLookups(t *testing.T) {
	g := &gdMultiplayer{}
	view := &gdServer{borrowed: true, viewOf: g, peers: map[*server.Peer]*gdPeer{}}
	g.view = view

	g.mu.Lock()
	g.view.pins.take() // as liveView does
	g.mu.Unlock()

	freed := make(chan struct{})
	go func() {
		view.free()
		close(freed)
	}()
	waitFor(t, "free to take the view out of its multiplayer peer", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.view == nil
	})
	stillBlocked(t, freed, "free returned while a lookup still pinned the view")
	view.pins.release()
	<-freed
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("waited 10 s for " + what)
		}
		time.Sleep(time.Millisecond)
	}
}

// stillBlocked fails if done closes within 50 ms: what it guards must not
// have finished (a slow machine can only make this pass, never fail).
func stillBlocked(t *testing.T, done <-chan struct{}, failure string) {
	t.Helper()
	select {
	case <-done:
		t.Fatal(failure)
	case <-time.After(50 * time.Millisecond):
	}
}

// pollAttached pins the take_connection(udp_peer) peers it lists and lets
// go of every pin once the exchange is over: a pin left behind would make
// the peer's free wait forever.
func TestPollAttachedLetsGoOfItsPins(t *testing.T) {
	gp := &gdPeer{p: &server.Peer{}}
	s := &gdServer{peers: map[*server.Peer]*gdPeer{}, attached: []*gdPeer{gp}}
	gp.owner = s
	for range 3 {
		s.pollAttached()
	}
	if n := gp.pins.n.Load(); n != 0 {
		t.Fatalf("%d pins left after three polls", n)
	}
	gp.free() // returns: nothing pins it
}
