package server

// Refusals heal: a client whose cookie verified while the server had no
// room for it gets in once room frees, without starting over. Before, the
// refused handshake stayed unverified, was evicted or timed out, and the
// client's retransmissions carried a cookie no session knew: it never got
// in (107 of 1,000 clients against max_peers_per_ip 512).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"godtls/extension/suites"
)

func TestRefusedClientsGetInWhenRoomFrees(t *testing.T) {
	defer checkRoutines(t)()
	// A pool much smaller than the crowd, as under max_peers_per_ip with
	// a thousand clients behind one address. GODTLS_HEAL_CLIENTS=1000 runs
	// the case: that many clients from one address against the
	// default max_peers_per_ip (512), each holding 2 s.
	room, clients, hold := 4, 16, 700*time.Millisecond
	cfg := Config{MaxPeers: room, MaxPendingHandshakes: 8}
	if n, err := strconv.Atoi(os.Getenv("GODTLS_HEAL_CLIENTS")); err == nil && n > 0 {
		room, clients, hold = DefaultMaxPeersPerIP, n, 2*time.Second
		cfg = Config{}
	}
	s, _ := startServer(t, suites.ECDSAKey, cfg)
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := echoLoop(ctx, s)
	defer func() { cancel(); <-done }()

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
