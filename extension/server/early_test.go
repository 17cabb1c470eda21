package server

import (
	"context"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// Between the client's last flight and pion's handshake goroutine handing
// the connection over, the client is connected and may send: its records
// are held for the record layer (session.early, a few datagrams). Anyone
// can send from the client's address in that window; forged records must
// not take the places of the client's own first records.
func TestForgedRecordsCannotCrowdOutAClientsFirst(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	got := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := gameLoop(ctx, s, func(_ *Peer, b []byte) {
		select {
		case got <- string(b):
		default:
		}
	})
	defer func() { cancel(); <-done }()

	// pion has finished the handshake and the client has the server's
	// Finished; the handshake goroutine waits here before handing over.
	reached, open := holdAfterPion(t)
	defer open() // before the server stops, which waits for the handshake goroutine
	player := dial(t, s, clientConfig(suites.ECDSAKey))
	defer player.Close()
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the handshake never finished")
	}

	// The spoofer, from the player's address: application records under
	// the player's epoch, more than the window holds.
	const forged = 4 * earlyDatagrams
	sock := udpOf(player)
	for i := range forged {
		if _, err := sock.Write(forge.Record(wire.ContentApplicationData, 1, 1000+uint64(i), make([]byte, 64))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // routed while pion's goroutine waits
	if _, err := player.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	open()

	select {
	case msg := <-got:
		if msg != "first" {
			t.Fatalf("the game got %q, want the player's first record", msg)
		}
	case <-time.After(5 * time.Second):
		st := s.Stats()
		t.Fatalf("the player's first record never reached the game (%d forged records sent; %d failed authentication, %d dropped)",
			forged, st.AuthFailed, st.Dropped)
	}
	st := s.Stats()
	t.Logf("%d forged records sent in the window: %d failed authentication, %d dropped", forged, st.AuthFailed, st.Dropped)
	if st.AuthFailed != forged {
		t.Errorf("%d of %d forged records failed authentication: some were never opened", st.AuthFailed, forged)
	}
}
