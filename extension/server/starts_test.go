package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

// holdStarts keeps every handshake goroutine from reaching pion until the
// returned func is called, so that no started session gets under way. The
// caller releases them before it stops the server.
func holdStarts(t *testing.T) (release func()) {
	gate := make(chan struct{})
	hook := func() { <-gate }
	beforePion.Store(&hook)
	released := false
	release = func() {
		if !released {
			released = true
			close(gate)
			beforePion.Store(nil)
		}
	}
	return release
}

// sendHellos sends hello from n sockets of their own and waits until the
// server holds all n as pending handshakes.
func sendHellos(t *testing.T, s *Server, hello []byte, n int) []net.PacketConn {
	t.Helper()
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	var socks []net.PacketConn
	for i := 0; i < n; i++ {
		socks = append(socks, listenOn(t, "127.0.0.1:0"))
	}
	// A datagram can be lost on a loaded machine (seen once in a full
	// parallel -race run): the sockets stay open and resend the same hello,
	// which the session it made ignores as a duplicate, until all n are
	// pending.
	for try := 0; try < 5 && s.Stats().Pending != n; try++ {
		for _, sock := range socks {
			if _, err := sock.WriteTo(hello, dst); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for s.Stats().Pending != n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if st := s.Stats(); st.Pending != n {
		t.Fatalf("pending handshakes %d, want %d: %+v", st.Pending, n, st)
	}
	return socks
}

// 40 ClientHellos at once start only the gate's limit of handshakes while
// none of them is under way; the others wait without a goroutine, and every
// one is answered once the started ones get under way.
func TestNewSessionsStartAFewAtATime(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 10 * time.Second, MaxPendingPerIP: 64})
	defer s.Stop()
	hello := captureClientHello(t)
	release := holdStarts(t)
	defer release() // before Stop, which waits for the held goroutines
	const hellos = 40
	socks := sendHellos(t, s, hello, hellos)

	s.mu.Lock()
	running, waiting, limit := s.starts.running, s.starts.waiting.Len(), s.starts.limit
	s.mu.Unlock()
	goroutines := int(s.handshakesRunning.Load())
	if limit >= hellos || running != limit || goroutines != limit || waiting != hellos-limit {
		t.Fatalf("%d hellos: %d started (%d handshake goroutines), %d waiting; want %d started, %d waiting",
			hellos, running, goroutines, waiting, limit, hellos-limit)
	}

	release()
	buf := make([]byte, 2048)
	for i, sock := range socks {
		_ = sock.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := sock.ReadFrom(buf)
		if err != nil {
			t.Fatalf("client %d of %d had no answer: %v", i, hellos, err)
		}
		if _, ok := wire.HelloVerifyCookie(buf[:n]); !ok {
			t.Fatalf("client %d of %d got something else than a HelloVerifyRequest (%d bytes)", i, hellos, n)
		}
	}
	s.mu.Lock()
	running, waiting = s.starts.running, s.starts.waiting.Len()
	s.mu.Unlock()
	if running != 0 || waiting != 0 {
		t.Fatalf("after every answer %d starts are held and %d wait, want none", running, waiting)
	}
}

// A server stopped with sessions waiting to start ends them without
// starting them, and leaves no goroutine behind.
func TestStopWithSessionsWaitingToStart(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 10 * time.Second, MaxPendingPerIP: 64})
	hello := captureClientHello(t)
	release := holdStarts(t)
	defer release()
	sendHellos(t, s, hello, 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Stop()
	}()
	// Stop waits for the started goroutines, held at the gate's hook
	time.Sleep(50 * time.Millisecond)
	release()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	s.mu.Lock()
	waiting := s.starts.waiting.Len()
	s.mu.Unlock()
	if waiting != 0 || s.handshakesRunning.Load() != 0 {
		t.Fatalf("after Stop %d sessions wait to start and %d handshakes run", waiting, s.handshakesRunning.Load())
	}
}

// firstFragment is hello cut to the first fragment of its ClientHello:
// pion keeps it and waits for the rest, which never comes.
func firstFragment(hello []byte, size int) []byte {
	const record, handshake = 13, 12
	f := append([]byte(nil), hello[:record+handshake+size]...)
	binary.BigEndian.PutUint16(f[11:], uint16(handshake+size))             // record length
	f[record+9], f[record+10], f[record+11] = 0, byte(size>>8), byte(size) // fragment_length
	return f
}

// An attacker's ClientHellos that pion never answers (first fragments,
// from many addresses) do not hold the starts: pion waits for the rest of
// each, which frees its start, and a genuine client behind them gets in.
func TestUnansweredHellosDoNotHoldTheStarts(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	frag := firstFragment(captureClientHello(t), 40)
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	const attackers = 40
	for i := 0; i < attackers; i++ {
		sock := listenOn(t, fmt.Sprintf("127.0.0.%d:0", 2+i%8))
		if _, err := sock.WriteTo(frag, dst); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Pending < attackers && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p := s.Stats().Pending; p < attackers {
		t.Fatalf("%d of %d fragments pending: the test no longer reaches pion", p, attackers)
	}
	// every fragment's session got under way: none holds a start
	for time.Now().Before(deadline) {
		s.mu.Lock()
		running, waiting := s.starts.running, s.starts.waiting.Len()
		s.mu.Unlock()
		if running == 0 && waiting == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	running, waiting := s.starts.running, s.starts.waiting.Len()
	s.mu.Unlock()
	if running != 0 || waiting != 0 {
		t.Fatalf("%d unanswered hellos hold %d starts and %d sessions wait for one", attackers, running, waiting)
	}
	start := time.Now()
	c := dial(t, s, clientConfig(suites.ECDSAKey))
	defer c.Close()
	t.Logf("a genuine client got in %v after %d unanswered hellos", time.Since(start), attackers)
}
