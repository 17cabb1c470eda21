package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/udprelay"
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
	got, stop := gameReads(s)
	defer stop()

	// pion has finished the handshake and the client has the server's
	// Finished; the handshake goroutine waits here before handing over.
	reached, open := holdAfterPion(t)
	defer open() // before the server stops, which waits for the handshake goroutine
	player := dial(t, s, clientConfig(suites.ECDSAKey))
	defer player.Close()
	waitOrFail(t, reached, "the handshake never finished")

	// The spoofer, from the player's address: application records under
	// the player's epoch, more than the window holds.
	sock := udpOf(player)
	for i := range forgedEarly {
		if _, err := sock.Write(forgedEarlyRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // routed while pion's goroutine waits
	st := firstReachesTheGame(t, s, got, player, open, "in the window")
	if st.AuthFailed != forgedEarly {
		t.Errorf("%d of %d forged records failed authentication: some were never opened", st.AuthFailed, forgedEarly)
	}
}

// The same window, with the forged records sent before the server has the
// session's keys: after the client's cookie came back, before its last
// flight (ClientKeyExchange, ChangeCipherSpec, Finished) arrives. Then
// nothing can tell them from the client's and they are held; once the keys
// exist, they must not keep the places the client's first records need.
func TestForgedRecordsHeldBeforeTheKeysGiveWay(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	got, stop := gameReads(s)
	defer stop()
	reached, open := holdAfterPion(t)
	defer open()

	relay, flight, connected := dialHoldingLastFlight(t, s)
	defer relay.Close()
	for i := range forgedEarly {
		if err := relay.ToServer(forgedEarlyRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // routed before the keys exist
	if err := relay.ToServer(flight); err != nil {
		t.Fatal(err)
	}
	waitOrFail(t, reached, "the handshake never finished")
	player := handshakeReturns(t, connected)
	defer player.Close()
	st := firstReachesTheGame(t, s, got, player, open, "before the keys")
	if st.AuthFailed != blindDatagrams {
		t.Errorf("%d forged records failed authentication, want the %d that filled the places: without them full, this test proves nothing", st.AuthFailed, blindDatagrams)
	}
}

// forgedEarly is how many records the spoofer sends: more than the
// places hold.
const forgedEarly = 4 * blindDatagrams

// forgedEarlyRecord is the spoofer's i-th: application data under the
// client's epoch, at a sequence number of its own.
func forgedEarlyRecord(i int) []byte {
	return forge.Record(wire.ContentApplicationData, 1, 1000+uint64(i), make([]byte, 64))
}

// gameReads runs a game loop for s that hands what it reads to the
// channel returned (a few; the rest are dropped); stop ends the loop.
func gameReads(s *Server) (got <-chan string, stop func()) {
	reads := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := gameLoop(ctx, s, func(_ *Peer, b []byte) {
		select {
		case reads <- string(b):
		default:
		}
	})
	return reads, func() { cancel(); <-done }
}

func waitOrFail(t *testing.T, c <-chan struct{}, why string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(20 * time.Second):
		t.Fatal(why)
	}
}

// firstReachesTheGame has the player send its first record while pion's
// handshake goroutine is held (open lets it go), and fails unless that
// record is the first the game reads. It returns the server's counters.
func firstReachesTheGame(t *testing.T, s *Server, got <-chan string, player *dtls.Conn, open func(), when string) Stats {
	t.Helper()
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
		t.Fatalf("the player's first record never reached the game (%d forged records sent %s; %d failed authentication, %d dropped)",
			forgedEarly, when, st.AuthFailed, st.Dropped)
	}
	st := s.Stats()
	t.Logf("%d forged records sent %s: %d failed authentication, %d dropped", forgedEarly, when, st.AuthFailed, st.Dropped)
	return st
}

// dialHoldingLastFlight starts a pion client's handshake with s through a
// relay that holds the client's last flight (ClientKeyExchange,
// ChangeCipherSpec, Finished) back and returns it: the test sends it on
// (relay.ToServer) when it has done what it does in between. The server
// sees the relay as the client's address, so what the test sends through
// the relay comes from that address. The client's handshake ends on
// connected.
func dialHoldingLastFlight(t *testing.T, s *Server) (relay *udprelay.Relay, flight []byte, connected <-chan dialed) {
	t.Helper()
	d := dialHolding(t, serverAddr(s), opensLastFlight)
	return d.relay, d.held, d.connected
}

// heldDial is a pion client's handshake through a relay that held one of
// its datagrams back (dialHolding).
type heldDial struct {
	relay     *udprelay.Relay
	held      []byte        // the datagram held back
	connected <-chan dialed // how the handshake ended
	mu        sync.Mutex
	passed    [][]byte // the client's datagrams the relay passed on
}

// dialHolding starts a pion client's handshake with the server at addr
// (its socket, or a UDPServer-mode pump's) through a relay that holds back
// the first of the client's datagrams that hold picks, and returns once it
// has; what else the client sends passes.
func dialHolding(t *testing.T, addr string, hold func([]byte) bool) *heldDial {
	t.Helper()
	held := make(chan []byte, 1)
	d := &heldDial{}
	d.relay = udprelay.New(t, addr, func(b []byte) bool {
		if hold(b) {
			select {
			case held <- append([]byte(nil), b...):
				return false
			default:
			}
		}
		d.mu.Lock()
		d.passed = append(d.passed, append([]byte(nil), b...))
		d.mu.Unlock()
		return true
	}, nil)
	done := make(chan dialed, 1)
	go func() {
		c, _, err := dialUDP("127.0.0.1:0", d.relay.Addr(), clientConfig(suites.ECDSAKey))
		done <- dialed{c, err}
	}()
	d.connected = done
	select {
	case d.held = <-held:
	case <-time.After(20 * time.Second):
		d.relay.Close()
		t.Fatal("the client never sent the datagram to hold")
	}
	return d
}

// first returns the first datagram of the client's that the relay passed
// and match picks, or fails.
func (d *heldDial) first(t *testing.T, match func([]byte) bool) []byte {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range d.passed {
		if match(b) {
			return b
		}
	}
	t.Fatal("the client sent no such datagram")
	return nil
}

// opensLastFlight reports whether datagram b opens a client's last flight
// (an epoch-0 ClientKeyExchange).
func opensLastFlight(b []byte) bool {
	return len(b) > 13 && b[0] == wire.ContentHandshake && b[3] == 0 && b[4] == 0 && b[13] == clientKeyExchange
}

// helloWithCookie and helloWithoutCookie tell a client's two ClientHellos
// apart.
func helloWithCookie(b []byte) bool {
	info := wire.Classify(b)
	return info.Kind == wire.ClientHello && info.HasCookie
}
func helloWithoutCookie(b []byte) bool {
	info := wire.Classify(b)
	return info.Kind == wire.ClientHello && !info.HasCookie
}

// dialed is how a client's handshake ended.
type dialed struct {
	c   *dtls.Conn
	err error
}

// handshakeReturns waits for the handshake started by
// dialHoldingLastFlight and fails unless it connected.
func handshakeReturns(t *testing.T, connected <-chan dialed) *dtls.Conn {
	t.Helper()
	select {
	case d := <-connected:
		if d.err != nil {
			t.Fatalf("the client's handshake failed: %v", d.err)
		}
		return d.c
	case <-time.After(20 * time.Second):
		t.Fatal("the client never returned from its handshake")
	}
	return nil
}

// handshakeFailsAtOnce waits for the handshake started by
// dialHoldingLastFlight and returns its error; it fails the test if the
// client connected (what, says how), or learnt 5 s or more after start:
// then it waited for its timeout, and past 15 s it still hangs.
func handshakeFailsAtOnce(t *testing.T, connected <-chan dialed, start time.Time, what string) error {
	t.Helper()
	select {
	case d := <-connected:
		if d.err == nil {
			d.c.Close()
			t.Fatalf("the client connected %s", what)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the client learnt after %v (%v): it waited for its timeout", took, d.err)
		}
		return d.err
	case <-time.After(15 * time.Second):
		t.Fatal("the handshake still hangs")
	}
	return nil
}

// clientKeyExchange is the handshake type of the message that opens a
// client's last flight (RFC 5246 §7.4).
const clientKeyExchange = 16

// In the same window a client may send a burst (a game's join messages):
// it is the client's, authenticated, and held as its receive queue would
// hold it, not cut at a few datagrams (16 were, and a client's first 32
// packets lost 16 on a slow machine). A spoofer replaying the client's
// records from its address in the window takes no place and delivers
// nothing twice. (The receive queue holds the burst and no more, so that
// replays held would crowd the client's records out.)
func TestAClientsBurstInTheWindowIsKept(t *testing.T) {
	defer checkRoutines(t)()
	const burst = 4 * blindDatagrams
	s, _ := startServer(t, suites.ECDSAKey, Config{RecvQueue: burst})
	defer s.Stop()
	reads := make(chan string, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := gameLoop(ctx, s, func(_ *Peer, b []byte) { reads <- string(b) })
	defer func() { cancel(); <-done }()
	reached, open := holdAfterPion(t)
	defer open()

	var mu sync.Mutex
	var records [][]byte // the client's application data, as it went
	relay := udprelay.New(t, serverAddr(s), func(b []byte) bool {
		if info := wire.Classify(b); info.Epoch == wire.EstablishedEpoch && info.ContentType == wire.ContentApplicationData {
			mu.Lock()
			records = append(records, append([]byte(nil), b...))
			mu.Unlock()
		}
		return true
	}, nil)
	defer relay.Close()
	connected := make(chan dialed, 1)
	go func() {
		c, _, err := dialUDP("127.0.0.1:0", relay.Addr(), clientConfig(suites.ECDSAKey))
		connected <- dialed{c, err}
	}()
	waitOrFail(t, reached, "the handshake never finished")
	player := handshakeReturns(t, connected)
	defer player.Close()

	for i := range burst {
		if _, err := player.Write([]byte(fmt.Sprintf("packet %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(records)
		mu.Unlock()
		if n == burst {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay passed %d of the client's %d packets", n, burst)
		}
		time.Sleep(5 * time.Millisecond)
	}
	const replays = 3
	mu.Lock()
	for range replays {
		for _, b := range records {
			if err := relay.ToServer(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	mu.Unlock()
	time.Sleep(100 * time.Millisecond) // routed while pion's goroutine waits
	open()

	for i := range burst {
		select {
		case msg := <-reads:
			if want := fmt.Sprintf("packet %d", i); msg != want {
				t.Fatalf("the game read %q, want %q", msg, want)
			}
		case <-time.After(5 * time.Second):
			st := s.Stats()
			t.Fatalf("the game read %d of the client's %d packets (%d dropped, %d replays counted)", i, burst, st.Dropped, st.Replayed)
		}
	}
	select {
	case msg := <-reads:
		t.Fatalf("the game read %q after the burst: a replay reached it", msg)
	case <-time.After(200 * time.Millisecond):
	}
	if st := s.Stats(); st.Replayed != replays*burst || st.Dropped != 0 {
		t.Fatalf("%d replays counted, %d dropped; want %d and 0", st.Replayed, st.Dropped, replays*burst)
	}
}
