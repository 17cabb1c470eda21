package server

// The record layer on a live server: pion's retransmission of its last
// flight still works until the client proves it has it; every record the
// server sends under one key has its own sequence number (pion's
// retransmitted Finished, the game's packets, close_notify); every record
// the client sent, replayed later from its address, is dropped and
// counted; and an idle connected peer has no goroutine.

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testtool"
	"godtls/extension/internal/udprelay"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// wiretap relays one client's datagrams to the server and back, keeping a
// copy of every record each way. It drops the first server datagram that
// holds an epoch-1 handshake record (the server's Finished): the client
// then retransmits its last flight, and only pion can answer that.
type wiretap struct {
	*udprelay.Relay
	mu         sync.Mutex
	fromServer [][]byte // records
	fromClient [][]byte // datagrams
	droppedFin int
}

func newWiretap(t *testing.T, server string) *wiretap {
	t.Helper()
	w := &wiretap{}
	w.Relay = udprelay.New(t, server, func(b []byte) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.fromClient = append(w.fromClient, append([]byte(nil), b...))
		return true
	}, func(b []byte) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		drop := false
		for rest := b; len(rest) > 0; {
			r, next, ok := wire.NextRecord(rest)
			if !ok {
				break
			}
			rest = next
			w.fromServer = append(w.fromServer, append([]byte(nil), r.Whole...))
			if r.Epoch == 1 && r.ContentType == wire.ContentHandshake && w.droppedFin == 0 {
				drop = true
			}
		}
		if drop {
			w.droppedFin++
		}
		return !drop
	})
	return w
}

func TestRecordLayerRetransmissionNonceAndReplay(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := signalledEcho(ctx, s)
	defer func() { cancel(); <-done }()
	w := newWiretap(t, serverAddr(s))
	defer w.Close()

	cfg := clientConfig(suites.ECDSAKey)
	cfg.FlightInterval = 100 * time.Millisecond
	player, _, err := dialUDP("127.0.0.1:0", w.Addr(), cfg)
	if err != nil {
		t.Fatalf("the handshake did not survive a lost Finished: %v", err)
	}
	const packets = 3000
	var lost error
	for i := 0; i < packets && lost == nil; i++ {
		lost = echoCheckWithin(player, fmt.Sprintf("packet %d", i), 2*time.Second)
	}
	if lost == nil {
		replayAll(t, s, w)
		lost = echoCheckWithin(player, "after the replays", 2*time.Second)
	}
	_ = player.Close()
	// the server's close_notify at Stop goes through the tap too
	s.Stop()
	time.Sleep(100 * time.Millisecond)

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.droppedFin != 1 {
		t.Fatalf("the tap dropped %d Finished flights, want 1", w.droppedFin)
	}
	// Nonce uniqueness: no (epoch, sequence) twice under the epoch-1 key.
	counts := testtool.DistinctSequences(t, testtool.EpochOneRecords(w.fromServer))
	finished, data, alerts := counts[wire.ContentHandshake], counts[wire.ContentApplicationData], counts[wire.ContentAlert]
	if lost != nil {
		t.Fatalf("a round trip failed: %v", lost)
	}
	if finished < 2 || data != packets+1 { // and the check after the replays
		t.Fatalf("captured %d Finished records (want the original and a retransmission) and %d packets (want %d)", finished, data, packets+1)
	}
	t.Logf("%d epoch-1 records from the server, each with its own sequence number: %d Finished, %d packets, %d alerts",
		finished+data+alerts, finished, data, alerts)
}

// replayAll sends every datagram the client sent, again, from the client's
// address as the server sees it: each application record is dropped by the
// replay window and counted, and none reaches the game.
func replayAll(t *testing.T, s *Server, w *wiretap) {
	t.Helper()
	w.mu.Lock()
	sent := append([][]byte(nil), w.fromClient...)
	w.mu.Unlock()
	records := len(testtool.EpochOneRecords(sent)) // application data, and its Finished (twice)
	before := s.Stats()
	for i, d := range sent {
		_ = w.ToServer(d)
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // within the socket's buffer
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Replayed-before.Replayed < uint64(records) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	after := s.Stats()
	if got := after.Replayed - before.Replayed; got != uint64(records) {
		t.Fatalf("%d of %d replayed epoch-1 records counted as replays", got, records)
	}
	if after.PacketsIn != before.PacketsIn {
		t.Fatalf("%d replayed packets reached the game", after.PacketsIn-before.PacketsIn)
	}
	t.Logf("%d datagrams replayed: %d epoch-1 records dropped as replays, none delivered", len(sent), records)
}

// perPeerRoutines counts the goroutines that serve one server peer: pion's
// (reading the session's pipe, or its handshake machine on it) and a read
// loop of ours.
func perPeerRoutines() int {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "server.(*session).Read") || strings.Contains(g, "server.(*Peer).readLoop") {
			count++
		}
	}
	return count
}

// A connected peer costs the server no goroutine, from its handshake's end
// on: pion is let go and the socket reader opens its records.
func TestIdlePeersHaveNoGoroutine(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := signalledEchoAll(ctx, s)
	defer func() { cancel(); <-done }()
	const clients = 20
	var players []*dtls.Conn
	for i := 0; i < clients; i++ {
		p := dial(t, s, clientConfig(suites.ECDSAKey))
		defer p.Close()
		players = append(players, p)
	}
	waitFor(t, "peers", func() bool { return s.Stats().Peers == clients })
	deadline := time.Now().Add(5 * time.Second)
	for perPeerRoutines() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := perPeerRoutines(); n != 0 {
		t.Fatalf("%d goroutines serve %d idle connected peers, want 0", n, clients)
	}
	// and they deliver both ways
	for i, p := range players {
		roundTrip(t, p, fmt.Sprintf("hello %d", i))
	}
}

// signalledEchoAll echoes every peer's packets as they arrive.
func signalledEchoAll(ctx context.Context, s *Server) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var peers []*Peer
		for {
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
				peers = append(peers, p)
			}
			for _, p := range peers {
				for b, ok := p.Receive(); ok; b, ok = p.Receive() {
					_ = p.Send(b)
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}
