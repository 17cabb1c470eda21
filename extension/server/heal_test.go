package server

// Refusals heal: a client whose cookie verified while the server had no
// room for it gets in once room frees, without starting over. Before, the
// refused handshake stayed unverified, was evicted or timed out, and the
// client's retransmissions carried a cookie no session knew: it never got
// in (107 of 1,000 clients against max_peers_per_ip 512).

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"godtls/extension/internal/udprelay"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

func TestRefusedClientsGetInWhenRoomFrees(t *testing.T) {
	defer checkRoutines(t)()
	// A pool much smaller than the crowd, as under max_peers_per_ip with
	// a thousand clients behind one address. GODTLS_HEAL_CLIENTS=1000 runs
	// the case: that many clients from one address against the
	// default max_peers_per_ip (512), each holding 2 s.
	room, clients, hold := 4, 16, 700*time.Millisecond
	// The idle timeout frees the place of a pion client whose Close wrote
	// no close_notify (pion v2 sometimes writes none: link's
	// TestReadLoopDeliversAndCloses); the clients are idle for 0.7 s.
	cfg := Config{MaxPeers: room, MaxPendingHandshakes: 8, IdleTimeout: 2 * time.Second}
	if n, err := strconv.Atoi(os.Getenv("GODTLS_HEAL_CLIENTS")); err == nil && n > 0 {
		room, clients, hold = DefaultMaxPeersPerIP, n, 2*time.Second
		cfg = Config{}
	}
	s, _ := startServer(t, suites.ECDSAKey, cfg)
	defer s.Stop()
	defer echoing(s)()

	var mu sync.Mutex
	var left []time.Time // when each client left (a slot freed)
	joinedAt := make([]time.Time, clients)
	concurrently(t, clients, func(i int) error {
		c, err := dialAddr(serverAddr(s), clientConfig(suites.ECDSAKey))
		if err != nil {
			return fmt.Errorf("never got in: %w", err)
		}
		joinedAt[i] = time.Now()
		if err := echoCheck(c, fmt.Sprintf("client %d", i)); err != nil {
			return err
		}
		time.Sleep(hold)
		mu.Lock()
		left = append(left, time.Now())
		mu.Unlock()
		return c.Close()
	})
	st := s.Stats()
	// How long each client that had to wait for room waited after the
	// slot that let it in freed: the last departure before it joined.
	slices.SortFunc(left, func(a, b time.Time) int { return a.Compare(b) })
	var worst time.Duration
	for _, j := range joinedAt {
		i, _ := slices.BinarySearchFunc(left, j, func(a, b time.Time) int { return a.Compare(b) })
		if i > 0 {
			worst = max(worst, j.Sub(left[i-1]))
		}
	}
	t.Logf("%d clients through %d places: %d handshakes, %d refusals for room, %d evicted; the longest wait after a slot freed: %v",
		clients, room, st.HandshakesOK, st.Rejected, st.Evicted, worst.Round(time.Millisecond))
	if st.HandshakesOK != uint64(clients) {
		t.Fatalf("%d handshakes for %d clients", st.HandshakesOK, clients)
	}
}

// A client that waits for room longer than HandshakeTimeout still gets in:
// its session, parked with the cookie it echoed, lives as long as it keeps
// retransmitting. Before, the parked session timed out like any handshake
// and the client's retransmissions carried a cookie no session knew: it
// never got in (3 of 16 clients of the test above, on a loaded CI machine).
func TestParkedClientOutlivesHandshakeTimeout(t *testing.T) {
	defer checkRoutines(t)()
	// Long enough for the first client to get in while the second's cookie
	// echo is held back (its session must still be there when the echo
	// passes); the second then waits twice as long.
	const timeout = 3 * time.Second
	s, _ := startServer(t, suites.ECDSAKey, Config{MaxPeers: 1, HandshakeTimeout: timeout})
	defer s.Stop()
	defer echoing(s)()

	// The second client gets its HelloVerifyRequest while the server has
	// room; its cookie echo is held back until the first client is in.
	relay := newCookieGate(t, serverAddr(s))
	defer relay.Close()
	second := make(chan error, 1)
	go func() {
		c, err := dialAddr(relay.Addr(), clientConfig(suites.ECDSAKey))
		if err == nil {
			err = echoCheck(c, "second")
			_ = c.Close()
		}
		second <- err
	}()
	relay.waitHeld(t)
	first, err := dialAddr(serverAddr(s), clientConfig(suites.ECDSAKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := echoCheck(first, "first"); err != nil {
		t.Fatal(err)
	}
	relay.open()
	// It waits there for twice the handshake timeout.
	time.Sleep(2 * timeout)
	if st := s.Stats(); st.Rejected == 0 {
		t.Fatalf("the second client was never turned away for room (stats %+v): the test does not test parking", st)
	}
	// The server ends the first connection (pion's client Close does not
	// always send its close_notify).
	defer first.Close()
	left := time.Now()
	for _, p := range s.Peers() {
		p.Close()
	}
	if err := <-second; err != nil {
		t.Fatalf("the waiting client never got in after room freed: %v (stats %+v)", err, s.Stats())
	}
	t.Logf("in %v after room freed, having waited %v (handshake timeout %v)",
		time.Since(left).Round(time.Millisecond), 2*timeout, timeout)
}

// cookieGate relays one client to the server, dropping its ClientHellos
// that carry a cookie until opened.
type cookieGate struct {
	*udprelay.Relay
	held     chan struct{} // closed at the first cookie echo dropped
	heldOnce sync.Once
	opened   atomic.Bool
}

func newCookieGate(t *testing.T, server string) *cookieGate {
	t.Helper()
	g := &cookieGate{held: make(chan struct{})}
	g.Relay = udprelay.New(t, server, func(b []byte) bool {
		if info := wire.Classify(b); info.Kind == wire.ClientHello && info.HasCookie && !g.opened.Load() {
			g.heldOnce.Do(func() { close(g.held) })
			return false
		}
		return true
	}, nil)
	return g
}

func (g *cookieGate) open() { g.opened.Store(true) }

func (g *cookieGate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("the client never echoed its cookie")
	}
}

// In take_connection(udp_peer) mode a client turned away because every
// handshake slot and its address's share of the queue were taken gets a
// peer that ends with the reason, so the game drops it, UDPServer forgets
// the address, and the client's next retransmission tries again. Before,
// the turned-away peer stayed in STATUS_HANDSHAKING forever: 485 of 1,000
// clients of a storm from one address never got in.
func TestAttachModeTurnedAwayClientsTryAgain(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServerWith(t, Config{MaxPendingHandshakes: 4})
	defer s.Stop()
	u := newPump(t, s, 16*time.Millisecond)
	u.echo, u.forgetEnded = true, true
	defer u.start()()

	const clients = 16 // 4 handshakes, 1 queued: most are turned away at first
	concurrently(t, clients, func(i int) error {
		c, err := dialPump(u, clientConfig(suites.ECDSAKey))
		if err != nil {
			return fmt.Errorf("never got in: %w", err)
		}
		defer c.Close()
		return echoCheck(c, fmt.Sprintf("client %d", i))
	})
	st := s.Stats()
	t.Logf("%d clients: %d handshakes, %d turned away", clients, st.HandshakesOK, st.Rejected)
	if st.Rejected == 0 {
		t.Fatal("no client was turned away: the test does not test that")
	}
}
