package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/test"

	"godtls/extension/credentials"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/suites"
)

const testPSKIdentity = "player-1"

var testPSKKey = []byte{0x13, 0x37, 0xca, 0xfe, 0xba, 0xbe, 0x00, 0x01}

// startServer listens on 127.0.0.1 with the given credentials.
func startServer(t testing.TB, kind suites.KeyKind, cfg Config) (*Server, testcert.Pair) {
	t.Helper()
	s := New(cfg)
	var pair testcert.Pair
	switch kind {
	case suites.PreSharedKey:
		if err := s.SetPSK(testPSK(t)); err != nil {
			t.Fatal(err)
		}
	default:
		if kind == suites.RSAKey {
			pair = testcert.RSA(t, 2048)
		} else {
			pair = testcert.ECDSA(t)
		}
		c, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetCertificate(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return s, pair
}

// testPSK is the PSK table clientConfig's PSK client uses.
func testPSK(t testing.TB) *credentials.PSK {
	t.Helper()
	p, err := credentials.NewPSK(map[string][]byte{testPSKIdentity: testPSKKey}, "hint")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func serverAddr(s *Server) string { return "127.0.0.1:" + strconv.Itoa(s.LocalPort()) }

// clientConfig is the project's own Go client: ChaCha20 suites only.
func clientConfig(kind suites.KeyKind) *dtls.Config {
	cfg := &dtls.Config{
		InsecureSkipVerify:   true,
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		LoggerFactory:        &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
	}
	if kind == suites.PreSharedKey {
		cfg.PSK = func([]byte) ([]byte, error) { return testPSKKey, nil }
		cfg.PSKIdentityHint = []byte(testPSKIdentity)
	}
	suites.Apply(cfg, kind, false, nil)
	return cfg
}

// dial connects a pion client from a fresh local port.
func dial(t testing.TB, s *Server, cfg *dtls.Config) *dtls.Conn {
	t.Helper()
	c, err := dialFrom(s, cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func dialFrom(s *Server, cfg *dtls.Config, local string) (*dtls.Conn, error) {
	c, udp, err := dialUDP(local, serverAddr(s), cfg)
	if err != nil {
		return nil, err
	}
	udpMu.Lock()
	udpConns[c] = udp
	udpMu.Unlock()
	return c, nil
}

// dialUDP connects a pion client from local to remote; closing the
// connection closes its socket.
func dialUDP(local, remote string, cfg *dtls.Config) (*dtls.Conn, net.Conn, error) {
	udp, err := testsock.Dial(local, remote)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := dtls.ClientWithContext(ctx, udp, cfg)
	if err != nil {
		_ = udp.Close()
		return nil, nil, err
	}
	return c, udp, nil
}

// echoLoop plays the game loop (gameLoop) and echoes every packet.
func echoLoop(ctx context.Context, s *Server) <-chan struct{} {
	return gameLoop(ctx, s, echo)
}

// echo sends a packet back to its peer (gameLoop).
func echo(p *Peer, b []byte) { _ = p.Send(b) }

// echoing runs echoLoop on s until the function it returns, which stops
// the loop and waits for it: defer echoing(s)().
func echoing(s *Server) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := echoLoop(ctx, s)
	return func() { cancel(); <-done }
}

// gameLoop plays the game loop: it takes connections and hands every
// packet to onPacket until ctx ends. It runs on one goroutine, like Godot's
// main thread, and pumps the socket every frame as GoDTLSServer.poll()
// does, so the tests that use it read in the frame and on the reader
// goroutine by turns.
func gameLoop(ctx context.Context, s *Server, onPacket func(*Peer, []byte)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var peers []*Peer
		for ctx.Err() == nil {
			s.Pump()
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
				peers = append(peers, p)
			}
			for _, p := range peers {
				for b, ok := p.Receive(); ok; b, ok = p.Receive() {
					onPacket(p, b)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return done
}

// echoCheck sends msg and expects it back within 20 s; safe to call from
// any goroutine.
func echoCheck(c *dtls.Conn, msg string) error { return echoCheckWithin(c, msg, 20*time.Second) }

// echoCheckWithin is echoCheck with another bound on the wait.
func echoCheckWithin(c *dtls.Conn, msg string, within time.Duration) error {
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(within))
	// pion keeps a goroutine per pending deadline: clear it after use
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if string(buf[:n]) != msg {
		return fmt.Errorf("echo: got %q want %q", buf[:n], msg)
	}
	return nil
}

// roundTrip is echoCheck for the test's own goroutine.
func roundTrip(t testing.TB, c *dtls.Conn, msg string) {
	t.Helper()
	if err := echoCheck(c, msg); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds; the deadline only guards against a hung
// test, it is not a performance assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nextEvent waits for an event of the given kind, discarding others.
func nextEvent(t testing.TB, s *Server, kind EventKind) Event {
	t.Helper()
	var got Event
	waitFor(t, "event", func() bool {
		for ev, ok := s.NextEvent(); ok; ev, ok = s.NextEvent() {
			if ev.Kind == kind {
				got = ev
				return true
			}
		}
		return false
	})
	return got
}

// checkRoutines fails the test if goroutines started during it outlive it.
func checkRoutines(t *testing.T) func() { return test.CheckRoutines(t) }

var udpMu sync.Mutex

type tlsCertificate = tls.Certificate

func mustPair(tb testing.TB) testcert.Pair { return testcert.ECDSA(tb) }

func credentialsFromPair(p testcert.Pair) (*credentials.Certificate, error) {
	return credentials.FromPEM(p.KeyPEM, p.CertPEM, time.Now())
}

// concurrently runs f(0..n-1) on n goroutines and reports every error.
func concurrently(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := f(i); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// expectGoodbyesThenClose reads "goodbye 0" … "goodbye packets-1" from c,
// in order, and then the server's close_notify (EOF): what a disconnect
// must send after the packets put before it.
func expectGoodbyesThenClose(t *testing.T, c *dtls.Conn, packets int) {
	t.Helper()
	buf := make([]byte, 2048)
	got := 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("after %d packets: %v, want the close_notify (EOF)", got, err)
			}
			break
		}
		if want := fmt.Sprintf("goodbye %d", got); string(buf[:n]) != want {
			t.Fatalf("packet %q, want %q", buf[:n], want)
		}
		got++
	}
	_ = c.SetReadDeadline(time.Time{}) // pion keeps a goroutine until a deadline passes
	if got != packets {
		t.Fatalf("%d of %d packets put before the disconnect arrived before the close_notify", got, packets)
	}
}

// holdAfterPion makes every handshake goroutine wait once pion's handshake
// has succeeded, before its peer is listed: reached says one got there,
// release lets them all go on (it runs at the test's end if not before).
func holdAfterPion(t *testing.T) (reached <-chan struct{}, release func()) {
	arrived := make(chan struct{}, 1)
	gate := make(chan struct{})
	hook := func() {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-gate
	}
	afterPion.Store(&hook)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() {
		release()
		afterPion.Store(nil)
	})
	return arrived, release
}
