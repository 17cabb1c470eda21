package multiplayer

import (
	"fmt"
	"testing"
	"time"
)

// SceneMultiplayer's authentication messages (sceneauth.go).
var (
	sceneAuthData       = []byte{sceneCommandSys, sceneSysAuth, 's', 'e', 'c', 'r', 'e', 't'}
	sceneAuthCompletion = []byte{sceneCommandSys, sceneSysAuth}
)

// authOrderPair is a server and a client as GoDTLSMultiplayerPeer sets them
// up, the client's authentication data read by the server and the server's
// completion sent: SceneMultiplayer on the server now waits for the
// client's completion.
func authOrderPair(t *testing.T) (*Server, *Client, int32) {
	t.Helper()
	m := startServer(t, 4, Options{HoldUntilAnnounced: true, AuthOrder: true})
	c := dial(t, port(m), Options{HoldUntilAnnounced: true, AuthOrder: true})
	waitEvent(t, c, PeerConnected)
	id := waitEvent(t, m, PeerConnected).Peer
	if err := c.Send(0, Reliable, sceneAuthData); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != string(sceneAuthData) {
		t.Fatalf("first message %q, want the auth data", p.Data)
	}
	if err := m.Send(id, 0, Reliable, sceneAuthCompletion); err != nil {
		t.Fatal(err)
	}
	return m, c, id
}

// The failure of the multiplayer test under loss: the client's completion
// comes after messages it sent later on other channels. They wait for it,
// and the server's game reads the completion first.
func TestMessagesThatOvertakeTheAuthCompletionWaitForIt(t *testing.T) {
	m, c, _ := authOrderPair(t)
	sent := []string{"rpc 0", "rpc 1", "rpc 2"}
	for _, msg := range sent {
		if err := c.Send(4, Reliable, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(1, Unreliable, []byte("unreliable")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // they arrive; the completion is "lost"
	if n := m.Available(); n != 0 {
		p, _ := m.Front()
		t.Fatalf("%d messages readable before the peer's completion (first %q)", n, p.Data)
	}
	if err := c.Send(0, Reliable, sceneAuthCompletion); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != string(sceneAuthCompletion) {
		t.Fatalf("first message after the hold %q, want the completion", p.Data)
	}
	var rpcs []string
	unreliable := 0
	for len(rpcs) < len(sent) || unreliable == 0 {
		p := waitPacket(t, m)
		switch {
		case p.Channel == 4:
			rpcs = append(rpcs, string(p.Data))
		case string(p.Data) == "unreliable":
			unreliable++
		default:
			t.Fatalf("unexpected message %q on channel %d", p.Data, p.Channel)
		}
	}
	if fmt.Sprint(rpcs) != fmt.Sprint(sent) {
		t.Fatalf("channel 4 delivered %q, sent %q", rpcs, sent)
	}
	// After the completion nothing waits.
	if err := c.Send(5, Reliable, []byte("later")); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != "later" {
		t.Fatalf("after the completion: %q", p.Data)
	}
}

// Without an authentication message from this side (no auth_callback),
// nothing is held.
func TestNoHoldWithoutAuthentication(t *testing.T) {
	m := startServer(t, 4, Options{HoldUntilAnnounced: true, AuthOrder: true})
	c := dial(t, port(m), Options{HoldUntilAnnounced: true, AuthOrder: true})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	if err := c.Send(4, Reliable, []byte("rpc")); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != "rpc" {
		t.Fatalf("got %q", p.Data)
	}
}

// A client that never completes holds at most maxAuthHeld messages (empty
// ones cost no bytes), and what it held goes when it ends: the server's
// inbox is as before, for everyone else.
func TestAuthHoldIsBoundedAndFreed(t *testing.T) {
	m, c, id := authOrderPair(t)
	for i := 0; i < 3*maxAuthHeld; i++ {
		if err := c.Send(1+i%3, Unreliable, nil); err != nil {
			t.Fatal(err)
		}
		if i%256 == 255 {
			time.Sleep(5 * time.Millisecond) // the client's send buffer
		}
	}
	if err := c.Send(4, Reliable, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	held := func() (int, int) {
		m.sh.in.mu.Lock()
		defer m.sh.in.mu.Unlock()
		return m.sh.in.held, m.sh.in.bytes
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Dropped() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := held(); n != maxAuthHeld || m.Dropped() == 0 {
		t.Fatalf("held %d messages, dropped %d: the bound is %d", n, m.Dropped(), maxAuthHeld)
	}
	if err := m.Disconnect(id, "no completion", true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, m, PeerDisconnected)
	for time.Now().Before(deadline) {
		if n, b := held(); n == 0 && b == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, b := held(); n != 0 || b != 0 || m.Available() != 0 {
		t.Fatalf("after the peer ended: %d held, %d bytes, %d readable", n, b, m.Available())
	}
}

// The hold is narrow, for games that use the peer without SceneMultiplayer
// (sceneauth.go): it starts only at exactly the two completion bytes sent to
// the peer alone, and a message that is not authentication sent to the
// peer alone ends it; a broadcast does not.
func TestAuthHoldStartsAndEndsNarrowly(t *testing.T) {
	m := startServer(t, 4, Options{HoldUntilAnnounced: true, AuthOrder: true})
	c := dial(t, port(m), Options{HoldUntilAnnounced: true, AuthOrder: true})
	waitEvent(t, c, PeerConnected)
	id := waitEvent(t, m, PeerConnected).Peer
	// auth data's shape, as a raw protocol's bytes may have: no hold
	if err := m.Send(id, 0, Reliable, sceneAuthData); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(4, Reliable, []byte("not held")); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != "not held" {
		t.Fatalf("got %q", p.Data)
	}
	// the completion's two bytes: held
	if err := m.Send(id, 0, Reliable, sceneAuthCompletion); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(4, Reliable, []byte("held")); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(0, 5, Reliable, []byte("a broadcast")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := m.Available(); n != 0 {
		t.Fatalf("%d messages readable while held (a broadcast must not end the hold)", n)
	}
	// something else, to that peer alone: the hold ends
	if err := m.Send(id, 5, Reliable, []byte("a reply")); err != nil {
		t.Fatal(err)
	}
	if n := m.Available(); n != 1 {
		t.Fatalf("%d messages readable once the hold ended, want 1", n)
	}
	if p := waitPacket(t, m); string(p.Data) != "held" {
		t.Fatalf("got %q", p.Data)
	}
}
