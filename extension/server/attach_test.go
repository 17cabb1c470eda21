package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testsock"
	"godtls/extension/link"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// udpPump plays Godot's UDPServer + PacketPeerUDP + the script's loop: it
// owns the socket, attaches a peer for every new address, and each "frame"
// moves datagrams both ways. frame sets the loop period (60 Hz by default).
type udpPump struct {
	s     *Server
	sock  testsock.Conn
	frame time.Duration

	mu    sync.Mutex
	peers map[netip.AddrPort]*Peer
	// statuses seen right after Attach, per address
	firstStatus []link.Status
	echo        bool
	// forgetEnded drops peers that ended, as a game drops its references.
	forgetEnded bool
}

func newPump(t testing.TB, s *Server, frame time.Duration) *udpPump {
	sock, err := testsock.ListenAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &udpPump{s: s, sock: sock, frame: frame, peers: map[netip.AddrPort]*Peer{}}
}

func (u *udpPump) addr() string { return u.sock.LocalAddr().String() }

// start runs the pump until the returned stop, which waits for it and
// closes its socket: defer u.start()().
func (u *udpPump) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := u.run(ctx)
	return func() {
		cancel()
		<-done
		u.sock.Close()
	}
}

func (u *udpPump) run(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for ctx.Err() == nil {
			// UDPServer.poll(): read everything that arrived
			_ = u.sock.SetReadDeadline(time.Now().Add(u.frame))
			for {
				n, from, err := u.sock.ReadFromUDPAddrPort(buf)
				if err != nil {
					break
				}
				from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
				u.mu.Lock()
				p := u.peers[from]
				if p == nil {
					var aerr error
					p, aerr = u.s.Attach(from)
					if aerr != nil {
						u.mu.Unlock()
						continue
					}
					u.peers[from] = p
					u.firstStatus = append(u.firstStatus, p.Status())
				}
				u.mu.Unlock()
				p.Feed(buf[:n])
			}
			// the script's per-peer poll(): send what the engine wants sent
			u.mu.Lock()
			for a, p := range u.peers {
				for b, ok := p.Outbound(); ok; b, ok = p.Outbound() {
					_, _ = u.sock.WriteToUDPAddrPort(b, a)
				}
				if u.echo {
					for b, ok := p.Receive(); ok; b, ok = p.Receive() {
						_ = p.Send(b)
					}
					for b, ok := p.Outbound(); ok; b, ok = p.Outbound() {
						_, _ = u.sock.WriteToUDPAddrPort(b, a)
					}
				}
				if u.forgetEnded && (p.Status() == link.StatusDisconnected || p.Status() == link.StatusError) {
					delete(u.peers, a)
				}
			}
			u.mu.Unlock()
		}
	}()
	return done
}

func dialPump(u *udpPump, cfg *dtls.Config) (*dtls.Conn, error) {
	udp, err := testsock.Dial("", u.addr())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dtls.ClientWithContext(ctx, udp, cfg)
	if err != nil {
		udp.Close()
	}
	return c, err
}

func newAttachServer(t testing.TB) *Server { return newAttachServerWith(t, Config{}) }

// newAttachServerWith is newAttachServer with cfg.
func newAttachServerWith(t testing.TB, cfg Config) *Server {
	s := New(cfg)
	pair := mustPair(t)
	c, err := credentialsFromPair(pair)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCertificate(c); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAttachModeHandshakeAndEcho(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	defer s.Stop()
	u := newPump(t, s, 16*time.Millisecond) // a 60 Hz game loop
	u.echo = true
	defer u.start()()

	const n = 20
	concurrently(t, n, func(i int) error {
		c, err := dialPump(u, clientConfig(suites.ECDSAKey))
		if err != nil {
			return err
		}
		defer c.Close()
		return echoCheck(c, fmt.Sprintf("attach %d", i))
	})
	u.mu.Lock()
	defer u.mu.Unlock()
	// Every genuine client was attached once and got in on that attempt:
	// the cookie exchange did not cost it its peer.
	if len(u.firstStatus) != n {
		t.Fatalf("%d attaches for %d clients", len(u.firstStatus), n)
	}
	notHandshaking := 0
	for _, st := range u.firstStatus {
		if st != link.StatusHandshaking {
			notHandshaking++
		}
	}
	if notHandshaking != 0 {
		t.Fatalf("%d of %d attached peers were not HANDSHAKING", notHandshaking, n)
	}
	if st := s.Stats(); st.HandshakesOK != n {
		t.Fatalf("handshakes ok %d", st.HandshakesOK)
	}
}

func TestAttachModeSlowLoopStillConnects(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	defer s.Stop()
	u := newPump(t, s, 100*time.Millisecond) // 10 Hz: retransmission timers must cope
	defer u.start()()
	c, err := dialPump(u, clientConfig(suites.ECDSAKey))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestModesDoNotMix(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	if _, err := s.Attach(netip.MustParseAddrPort("127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(0, "127.0.0.1"); !errors.Is(err, ErrModeMixed) {
		t.Fatalf("listen after attach: %v", err)
	}
	s.Stop()
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatalf("listen after stop: %v", err)
	}
	if _, err := s.Attach(netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, ErrModeMixed) {
		t.Fatalf("attach while listening: %v", err)
	}
	s.Stop()
}

func TestAttachHandshakeFailureMarksPeer(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	s.SetConfig(Config{HandshakeTimeout: 200 * time.Millisecond})
	defer s.Stop()
	p, err := s.Attach(netip.MustParseAddrPort("127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status() != link.StatusHandshaking {
		t.Fatalf("status %v", p.Status())
	}
	p.Feed([]byte("not dtls at all"))
	waitFor(t, "handshake failure", func() bool { return p.Status() == link.StatusError })
	if p.LastError() == "" {
		t.Fatal("no reason")
	}
	if err := p.Send([]byte("x")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send on failed peer: %v", err)
	}
	ev := nextEvent(t, s, EventHandshakeFailed)
	t.Logf("failed: %s", ev.Reason)
}

// In attach mode, as with PacketPeerDTLS, the packets put before
// disconnect_from_peer reach the client before its close_notify: the bridge
// flushes the peer, disconnects it and flushes its close_notify, so every
// packet must be sealed into Outbound by then (Disconnect waits for the
// peer's writer; without it they were dropped once the peer said
// disconnected).
func TestAttachModeDisconnectSendsPutPacketsFirst(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	defer s.Stop()
	u := newPump(t, s, 16*time.Millisecond)
	defer u.start()()
	c, err := dialPump(u, clientConfig(suites.ECDSAKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const packets = 200
	waitFor(t, "the peer connected on the server's side", func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, p := range u.peers {
			return p.Status() == link.StatusConnected // publishes p.rec
		}
		return false
	})
	u.mu.Lock() // between two of the pump's frames, as the game's thread
	if len(u.peers) != 1 {
		u.mu.Unlock()
		t.Fatalf("%d peers attached", len(u.peers))
	}
	for a, p := range u.peers {
		if p.rec == nil {
			u.mu.Unlock()
			t.Fatal("the session is not on the engine's record layer")
		}
		for i := range packets {
			if err := p.Send([]byte(fmt.Sprintf("goodbye %d", i))); err != nil {
				u.mu.Unlock()
				t.Fatal(err)
			}
		}
		flush := func() {
			for b, ok := p.Outbound(); ok; b, ok = p.Outbound() {
				_, _ = u.sock.WriteToUDPAddrPort(b, a)
			}
		}
		flush()
		p.Disconnect()
		flush()
	}
	u.mu.Unlock()
	expectGoodbyesThenClose(t, c, packets)
}

// ---- attach mode ------------------------------------------------------------------

func TestAttachModeVerifiesByTheCookiePionSent(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	defer s.Stop()
	hello := captureClientHello(t)
	p, err := s.Attach(netip.MustParseAddrPort("127.0.0.7:4000"))
	if err != nil {
		t.Fatal(err)
	}
	p.Feed(hello)
	var ck []byte
	waitFor(t, "HelloVerifyRequest", func() bool {
		for b, ok := p.Outbound(); ok; b, ok = p.Outbound() {
			if c, ok := wire.HelloVerifyCookie(b); ok {
				ck = append([]byte(nil), c...)
			}
		}
		return ck != nil
	})
	if p.Feed(withCookie(hello, []byte("made-up-cookie-00000"))) {
		t.Fatal("a made-up cookie reached pion")
	}
	if st := s.Stats(); st.Unverified != 1 || st.Spoofed != 1 {
		t.Fatalf("unverified %d spoofed %d", st.Unverified, st.Spoofed)
	}
	if !p.Feed(withCookie(hello, ck)) {
		t.Fatal("the real cookie was refused")
	}
	if st := s.Stats(); st.Unverified != 0 || st.Pending != 1 {
		t.Fatalf("after the real cookie: unverified %d pending %d", st.Unverified, st.Pending)
	}
}
