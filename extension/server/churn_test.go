package server

// Churn leaks nothing, in every way a game drives the server: thousands of
// clients connect, exchange a packet and leave, and afterwards the heap and
// the goroutine count are back at the baseline taken after a warm-up (after
// a GC), not merely small on average. Before the fix, a game that used the
// connection signal and ReceiveAll and never called TakeConnection kept
// every peer that ever connected (about 8.5 KB each).

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testtool"
	"godtls/extension/link"
	"godtls/extension/suites"
)

const (
	churnWarmup = 200
	churnCycles = 2000
	churnSlack  = 2 << 20 // bytes of heap growth allowed: a leak of 8.5 KB a cycle is 17 MB
)

// churnShape is one way a game drives the server: start runs its loop on
// one goroutine until ctx ends; addr is where clients dial.
type churnShape struct {
	name  string
	start func(t *testing.T, ctx context.Context, s *Server) (addr string, done <-chan struct{})
}

// gameTakingConnections takes every connection and echoes what it receives,
// as a DTLSServer game does: it never drains the events (never calls
// poll()), so each ended peer stays referenced by its disconnection event
// until the bounded event queue drops it; what it keeps of a peer is small
// (Peer.end lets go of pion's connection).
func gameTakingConnections(t *testing.T, ctx context.Context, s *Server) (string, <-chan struct{}) {
	listen(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		peers := map[*Peer]bool{}
		for ctx.Err() == nil {
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
				peers[p] = true
			}
			for p := range peers {
				for b, ok := p.Receive(); ok; b, ok = p.Receive() {
					_ = p.Send(b)
				}
				if p.Status() != link.StatusConnected {
					delete(peers, p) // the game drops its reference
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return serverAddr(s), done
}

// gameOnSignals reads events (the signals) and ReceiveAll, and never calls
// TakeConnection.
func gameOnSignals(t *testing.T, ctx context.Context, s *Server) (string, <-chan struct{}) {
	listen(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, ok := s.NextEvent(); ok; _, ok = s.NextEvent() {
			}
			s.ReceiveAll(0, func(p *Peer, b []byte) { _ = p.Send(b) })
			time.Sleep(time.Millisecond)
		}
	}()
	return serverAddr(s), done
}

// gameOnUDPServer is take_connection(udp_peer) mode: the pump attaches a
// peer per address, echoes, and forgets peers that ended.
func gameOnUDPServer(t *testing.T, ctx context.Context, s *Server) (string, <-chan struct{}) {
	u := newPump(t, s, time.Millisecond)
	u.echo, u.forgetEnded = true, true
	done := make(chan struct{})
	pumped := u.run(ctx)
	go func() {
		<-pumped
		u.sock.Close()
		close(done)
	}()
	return u.addr(), done
}

// dialAddr connects a pion client to addr from a fresh port, registering
// nothing (thousands of them pass through a churn test).
func dialAddr(addr string, cfg *dtls.Config) (*dtls.Conn, error) {
	c, _, err := dialUDP("127.0.0.1:0", addr, cfg)
	return c, err
}

func listen(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

// churnClient connects with PSK (the cheapest handshake: the test is about
// what stays behind, not about crypto), echoes one packet and leaves with a
// close_notify.
func churnClient(addr string, i int) error {
	c, err := dialAddr(addr, clientConfig(suites.PreSharedKey))
	if err != nil {
		return err
	}
	defer c.Close()
	return echoCheck(c, fmt.Sprintf("cycle %d", i))
}

// churn runs cycles clients, four at a time.
func churn(t *testing.T, addr string, from, cycles int) {
	t.Helper()
	for _, err := range testtool.Workers(4, from, cycles, func(i int) error {
		if err := churnClient(addr, i); err != nil {
			return fmt.Errorf("cycle %d: %w", i, err)
		}
		return nil
	}) {
		t.Fatal(err)
	}
}

// settled waits until the server holds no peer and no handshake, then
// returns the heap in use and the goroutine count after a GC.
func settled(t *testing.T, s *Server) (heap uint64, goroutines int) {
	t.Helper()
	var st Stats
	waitFor(t, "every peer gone", func() bool {
		st = s.Stats()
		if st.Peers == 0 && st.Pending == 0 && st.Queued == 0 {
			return true
		}
		t.Logf("waiting: %+v", st)
		time.Sleep(time.Second)
		return false
	})
	time.Sleep(200 * time.Millisecond) // goroutines of the last peers end
	heap = testtool.HeapAfterGC()
	return heap, runtime.NumGoroutine()
}

func TestChurnLeaksNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: thousands of handshakes")
	}
	for _, shape := range []churnShape{
		{"take_connection loop", gameTakingConnections},
		{"signals and receive_all", gameOnSignals},
		{"UDPServer mode", gameOnUDPServer},
	} {
		t.Run(shape.name, func(t *testing.T) {
			defer checkRoutines(t)()
			// A small event queue: the DTLSServer-style game never drains it,
			// and its bound is what limits what ended peers leave behind. A
			// short idle timeout: pion v2's client Close sometimes drops its
			// own close_notify (see client.guardConn), and such a peer ends
			// only when it has been silent that long.
			s := New(Config{EventQueue: 256, IdleTimeout: 2 * time.Second})
			if err := s.SetPSK(testPSK(t)); err != nil {
				t.Fatal(err)
			}
			defer s.Stop()
			ctx, cancel := context.WithCancel(context.Background())
			addr, done := shape.start(t, ctx, s)
			defer func() { cancel(); <-done }()

			churn(t, addr, 0, churnWarmup)
			heap0, g0 := settled(t, s)
			churn(t, addr, churnWarmup, churnCycles)
			heap1, g1 := settled(t, s)
			grew := int64(heap1) - int64(heap0)
			t.Logf("%d cycles: heap %d -> %d bytes (%+d), goroutines %d -> %d", churnCycles, heap0, heap1, grew, g0, g1)
			if grew > churnSlack {
				t.Errorf("the heap grew by %d bytes over %d cycles (%d a cycle)", grew, churnCycles, grew/churnCycles)
			}
			if g1 > g0 {
				t.Errorf("%d goroutines after the churn, %d before", g1, g0)
			}
		})
	}
}
