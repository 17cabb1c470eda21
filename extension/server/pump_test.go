package server

import (
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"godtls/extension/internal/testsock"
	"godtls/extension/netsim"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
)

// frameOf returns the server's frame reader: every Linux socket has one.
// Elsewhere the socket cannot be read without waiting, and there is none:
// the test skips, saying so.
func frameOf(t *testing.T, s *Server) *frameReader {
	t.Helper()
	if runtime.GOOS != "linux" {
		s.Stop() // the caller's deferred Stop may not be registered yet
		t.Skipf("SKIPPED: the game's frame reads the socket on Linux only (recvmmsg without waiting); not on %s", runtime.GOOS)
	}
	r := s.frame.Load()
	if r == nil {
		t.Fatal("the listening socket has no frame reader (Linux, Go's own socket: it should)")
	}
	return r
}

// A game loop that pumps for a while, then stops for longer than the
// handover, and again: every packet reaches the peer, in the order sent,
// some read by the game's thread and some by the reader goroutine while
// the game was away.
func TestPumpAndReaderGoroutineKeepOrder(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	frameOf(t, s)
	c := dial(t, s, clientConfig(suites.ECDSAKey))
	defer c.Close()
	var p *Peer
	waitFor(t, "the peer", func() bool { p = s.TakeConnection(); return p != nil })

	const total = 2000
	sent := make(chan error, 1)
	go func() {
		for i := range total {
			if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
				sent <- err
				return
			}
			if i%20 == 0 {
				time.Sleep(time.Millisecond) // a game's pace, not a flood: no loss on loopback
			}
		}
		sent <- nil
	}()
	next := 0
	deadline := time.Now().Add(60 * time.Second)
	for start := time.Now(); next < total && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		// 100 ms pumping, 150 ms away (more than minHandover), and again
		if time.Since(start)%(250*time.Millisecond) < 100*time.Millisecond {
			s.Pump()
		}
		for b, ok := p.Receive(); ok; b, ok = p.Receive() {
			if got := int(binary.BigEndian.Uint32(b)); got != next {
				t.Fatalf("packet %d arrived when %d was next", got, next)
			}
			next++
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if next != total {
		t.Fatalf("%d of %d packets arrived", next, total)
	}
	pumped := s.Stats().ReadInFrame
	if pumped == 0 || pumped >= total {
		t.Fatalf("the game's thread read %d of %d datagrams: both readers should have had some", pumped, total)
	}
	t.Logf("the game's thread read %d of %d datagrams", pumped, total)
}

// garbageSender sends datagrams the server counts as garbage (not DTLS).
func garbageSender(t *testing.T, s *Server) func(n int) {
	u, err := testsock.Dial("", serverAddr(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return func(n int) {
		for range n {
			if _, err := u.Write([]byte{0xff, 0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sleepingReader makes the reader goroutine go to sleep as it does when
// the game pumps, for longer than the test needs. First a datagram the
// goroutine reads (nobody pumps yet), so that it is back in its read; then
// a Pump, which the goroutine's read keeps out, with the game's frame made
// to look long (a handover of maxHandover); then one more datagram, which
// wakes the goroutine out of its read to see that the game pumps.
func sleepingReader(t *testing.T, s *Server, send func(int)) {
	t.Helper()
	r := frameOf(t, s)
	before := s.garbage.Load()
	send(1)
	waitFor(t, "the reader goroutine to read a datagram", func() bool { return s.garbage.Load() == before+1 })
	time.Sleep(10 * time.Millisecond) // from routing it back into its read
	r.gap.Store(int64(maxHandover))
	if n := s.Pump(); n != 0 {
		t.Fatalf("Pump read %d datagrams from an empty socket", n)
	}
	send(1)
	waitFor(t, "the reader goroutine to read a datagram", func() bool { return s.garbage.Load() == before+2 })
	// from routing it (and, in a race build, draining what else waits)
	// into waitTurn: datagrams sent before then would be the goroutine's
	time.Sleep(20 * time.Millisecond)
}

// serverWithSleepingReader is a listening server whose reader goroutine
// sleeps (sleepingReader), and what sends it garbage.
func serverWithSleepingReader(t *testing.T) (*Server, func(n int)) {
	t.Helper()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	send := garbageSender(t, s)
	sleepingReader(t, s, send)
	return s, send
}

// One Pump reads at most pumpBudget datagrams; the reader goroutine,
// woken, reads the rest.
func TestPumpBudgetLeavesTheRestToTheGoroutine(t *testing.T) {
	defer checkRoutines(t)()
	s, send := serverWithSleepingReader(t)
	defer s.Stop()
	before := s.garbage.Load()
	send(pumpBudget + 200)
	time.Sleep(20 * time.Millisecond) // on loopback, in the socket by then
	if n := s.Pump(); n != pumpBudget {
		t.Fatalf("Pump read %d datagrams with %d waiting; want its budget, %d", n, pumpBudget+200, pumpBudget)
	}
	waitFor(t, "the goroutine to read the rest", func() bool { return s.garbage.Load()-before == pumpBudget+200 })
}

// With read_in_frame off, Pump reads nothing and the goroutine everything,
// at once (it is woken, not left to find the game late).
func TestFrameReadsOff(t *testing.T) {
	defer checkRoutines(t)()
	s, send := serverWithSleepingReader(t)
	defer s.Stop()
	s.SetFrameReads(false)
	if s.FrameReads() {
		t.Fatal("FrameReads() after SetFrameReads(false)")
	}
	before, pumpedBefore := s.garbage.Load(), s.Stats().ReadInFrame
	send(10)
	waitFor(t, "the goroutine to read", func() bool { return s.garbage.Load()-before == 10 })
	if n := s.Pump(); n != 0 {
		t.Fatalf("Pump read %d datagrams with frame reads off", n)
	}
	if s.Stats().ReadInFrame != pumpedBefore {
		t.Fatal("datagrams counted as read in the frame with frame reads off")
	}
	s.SetFrameReads(true)
	send(1)
	waitFor(t, "a read", func() bool { return s.garbage.Load()-before == 11 })
}

// Once the simulated network is on, its pump reads the socket: Pump stands
// aside and the goroutine, woken, reads through the simulation.
func TestPumpStandsAsideForTheSimulation(t *testing.T) {
	defer checkRoutines(t)()
	s, send := serverWithSleepingReader(t)
	defer s.Stop()
	if err := s.Network().Set(netsim.Settings{Latency: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Network().Set(netsim.Settings{}) }()
	before := s.garbage.Load()
	send(5)
	time.Sleep(20 * time.Millisecond)
	if n := s.Pump(); n != 0 {
		t.Fatalf("Pump read %d datagrams with the simulation on", n)
	}
	waitFor(t, "the goroutine to read through the simulation", func() bool { return s.garbage.Load()-before == 5 })
}

// A handshake is read as its datagrams come, not in the game's frame: the
// ClientHello a Pump routes wakes the reader goroutine, which reads the
// rest of the handshake while the game keeps pumping.
func TestHandshakesAreNotReadInTheFrame(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := serverWithSleepingReader(t)
	defer s.Stop()
	stop := make(chan struct{})
	pumping := make(chan struct{})
	go func() { // the game's frames, every millisecond
		defer close(pumping)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				s.Pump()
			}
		}
	}()
	before := s.Stats().ReadInFrame
	c := dial(t, s, clientConfig(suites.ECDSAKey))
	close(stop)
	<-pumping
	defer c.Close()
	// The ClientHello without a cookie may be read by a Pump; the one
	// with the cookie, the client's key exchange and Finished may not.
	if n := s.Stats().ReadInFrame - before; n > 1 {
		t.Fatalf("the game's thread read %d of the handshake's datagrams", n)
	}
}

// The socket follows the reads when Listen opens it: a server whose
// frame reads are on gets one outside Go's poller on Linux
// (udpsock.ListenUnpolled), a server whose goroutine reads everything
// (frame reads off before Listen, as the multiplayer server's) Go's own.
func TestListenSocketFollowsFrameReads(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("unpolled sockets are Linux's")
	}
	raw := func(s *Server) udpsock.PacketConn {
		c, _ := s.sock.(*netsim.PacketConn).Direct(false)
		return c
	}
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	if _, isGo := raw(s).(*net.UDPConn); isGo {
		t.Fatal("frame reads on, and the socket is Go's own")
	}
	s.Stop()

	s = New(Config{})
	s.SetFrameReads(false)
	if err := s.SetPSK(testPSK(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, isGo := raw(s).(*net.UDPConn); !isGo {
		t.Fatalf("frame reads off, and the socket is a %T", raw(s))
	}
}
