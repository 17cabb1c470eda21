package server

// The post-handshake matrix: every content type × epoch × body × sequence
// number, forged from a connected player's exact ip:port. After each forged
// datagram the session must still deliver both ways, and the server must
// not have reported it ended. Before wire.KeepEstablished dropped
// ChangeCipherSpec records, "type 20 epoch 1 seq 200 body byte 0x01" moved
// pion's replay window past every genuine record (the session went deaf,
// still reported connected), and other CCS bodies drew a fatal decode_error.

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/forge"
	"godtls/extension/suites"
)

// matrixAgainst sends every case of the matrix from player's address to the
// server at to, and checks the session after every `every` cases with a
// round trip (1: after each datagram). A failure names the last cases sent.
func matrixAgainst(t *testing.T, raw *rawSender, player *dtls.Conn, to netip.AddrPort, every int) {
	t.Helper()
	from := addrPort(t, player.LocalAddr())
	var since []string
	i := 0
	forge.Matrix(1, func(c forge.Case) bool {
		raw.send(t, from, to, c.Bytes)
		since = append(since, c.Name)
		i++
		if i%every != 0 && i != forge.MatrixSize() {
			return true
		}
		if err := echoCheckWithin(player, fmt.Sprintf("after case %d", i), 3*time.Second); err != nil {
			t.Errorf("the session stopped delivering after case %d %q (or one of the %d cases before it): %v", i, c.Name, len(since)-1, err)
			return false
		}
		since = since[:0]
		return true
	})
}

// signalledEcho echoes every packet of the first peer as it arrives (woken
// by the peer's signal, not a game loop's period): 20,720 round trips take
// seconds, not half a minute.
func signalledEcho(ctx context.Context, s *Server) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-s.ReadySignal():
		case <-ctx.Done():
			return
		}
		p := s.TakeConnection()
		for {
			for b, ok := p.Receive(); ok; b, ok = p.Receive() {
				_ = p.Send(b)
			}
			select {
			case <-p.Signal():
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// noDisconnection fails the test if the server reported a peer's end.
func noDisconnection(t *testing.T, s *Server) {
	t.Helper()
	for ev, ok := s.NextEvent(); ok; ev, ok = s.NextEvent() {
		if ev.Kind == EventDisconnected {
			t.Fatalf("the player was disconnected: %s", ev.Reason)
		}
	}
}

func TestForgedRecordMatrixListen(t *testing.T) {
	defer checkRoutines(t)()
	raw := newRawSender(t)
	// The matrix sends its 20,720 datagrams (2,590 of 8 KiB) from the
	// player's address in well under a second, about ten times the
	// default per-peer byte budget: none of it authenticates, so none of it
	// may take from the player's budget (budget_test.go). The player's own
	// round trips, one after each case, come faster than its default
	// packet budget (16,000 a second): that budget is off.
	s, _ := startServer(t, suites.ECDSAKey, Config{PeerPacketRate: NoLimit})
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := signalledEcho(ctx, s)
	defer func() { cancel(); <-done }()
	player := dial(t, s, clientConfig(suites.ECDSAKey))
	defer player.Close()
	roundTrip(t, player, "before")

	matrixAgainst(t, raw, player, netip.MustParseAddrPort(serverAddr(s)), 1)
	noDisconnection(t, s)
	st := s.Stats()
	if st.Peers != 1 || st.PostHandshakeDropped == 0 || st.AuthFailed == 0 || st.OverRate != 0 {
		t.Fatalf("peers %d, dropped after the handshake %d, failed authentication %d, over the player's budget %d", st.Peers, st.PostHandshakeDropped, st.AuthFailed, st.OverRate)
	}
	t.Logf("%d forged datagrams: still connected; %d records dropped unopened, %d failed authentication, %d replayed, %d garbage, %d oversize, %d dropped",
		forge.MatrixSize(), st.PostHandshakeDropped, st.AuthFailed, st.Replayed, st.Garbage, st.Oversize, st.Dropped)
}

func TestForgedRecordMatrixUDPServerMode(t *testing.T) {
	defer checkRoutines(t)()
	raw := newRawSender(t)
	s := newAttachServer(t)
	defer s.Stop()
	u := newPump(t, s, 200*time.Microsecond)
	u.echo = true
	defer u.start()()
	player, err := dialPump(u, clientConfig(suites.ECDSAKey))
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	roundTrip(t, player, "before")

	// A round trip through the pump takes two of its frames (about 2.5 ms:
	// the netpoller's deadlines are millisecond-grained), so the session is
	// checked after every 8 datagrams here: a datagram that ends or deafens
	// a session leaves it so, and the failure names the run it was in.
	matrixAgainst(t, raw, player, netip.MustParseAddrPort(u.addr()), 8)
	noDisconnection(t, s)
	if st := s.Stats(); st.PostHandshakeDropped == 0 || st.AuthFailed == 0 {
		t.Fatalf("dropped after the handshake %d, failed authentication %d", st.PostHandshakeDropped, st.AuthFailed)
	}
}
