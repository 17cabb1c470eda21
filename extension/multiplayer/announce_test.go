package multiplayer

import (
	"testing"
	"time"
)

// With HoldUntilAnnounced, a peer's messages reach the caller only after
// its PeerConnected has been taken: a client that sends at once, while the
// game has not polled yet, must not have its message read first (a
// SceneMultiplayer would drop it: the lost authentication of the
// multiplayer test under load).
func TestMessagesWaitForTheirPeersAnnouncement(t *testing.T) {
	m := startServer(t, 4, Options{HoldUntilAnnounced: true})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	if err := c.Send(0, Reliable, []byte("auth")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(1, Unreliable, []byte("early unreliable")); err != nil {
		t.Fatal(err)
	}
	// the server's goroutines receive both; the game has taken no event
	time.Sleep(500 * time.Millisecond)
	if n := m.Available(); n != 0 {
		p, _ := m.Front()
		t.Fatalf("%d messages visible before PeerConnected was taken (first %q from %d)", n, p.Data, p.From)
	}
	ev := waitEvent(t, m, PeerConnected)
	deadline := time.Now().Add(10 * time.Second)
	for m.Available() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	first, ok := m.Pop()
	second, ok2 := m.Pop()
	if !ok || !ok2 || first.From != ev.Peer || second.From != ev.Peer {
		t.Fatalf("after PeerConnected(%d): %v %+v, %v %+v", ev.Peer, ok, first, ok2, second)
	}
	got := map[string]bool{string(first.Data): true, string(second.Data): true}
	if !got["auth"] || !got["early unreliable"] {
		t.Fatalf("messages %q, %q", first.Data, second.Data)
	}
}

// Without it (the default), messages are readable at once: a caller that
// never takes events still gets them.
func TestMessagesWithoutHolding(t *testing.T) {
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	if err := c.Send(0, Reliable, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Available() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p, ok := m.Pop(); !ok || string(p.Data) != "hello" {
		t.Fatalf("Pop without taking events: %v %q", ok, p.Data)
	}
}
