package server

import (
	"fmt"
	"testing"

	"github.com/pion/dtls/v2"

	"godtls/extension/suites"
)

// TestReceiveAll: every packet of every peer, once, each peer's in order;
// a limit leaves the rest for the next call; packets of a peer that has
// already disconnected are still handed over.
func TestReceiveAll(t *testing.T) {
	s, _ := startServer(t, suites.ECDSAKey, Config{MaxPeersPerIP: NoLimit})
	defer s.Stop()
	const clients, each = 4, 20
	var conns []*dtls.Conn
	for i := 0; i < clients; i++ {
		c := dial(t, s, clientConfig(suites.ECDSAKey))
		defer c.Close()
		conns = append(conns, c)
	}
	waitFor(t, "peers", func() bool { return s.Stats().Peers == clients })
	// Packets before the first call are found by it (nothing listed yet).
	for i, c := range conns {
		for k := 0; k < each/2; k++ {
			if _, err := c.Write([]byte(fmt.Sprintf("%d:%d", i, k))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "first half queued", func() bool { return s.Stats().PacketsIn == clients*each/2 })
	if n := len(s.inbox.list); n != 0 {
		t.Fatalf("%d peers listed before any ReceiveAll call: the list is kept only for games that use it", n)
	}
	got := map[*Peer][]string{}
	total := 0
	collect := func(limit int) int {
		return s.ReceiveAll(limit, func(p *Peer, b []byte) { got[p] = append(got[p], string(b)); total++ })
	}
	if n := collect(7); n != 7 {
		t.Fatalf("ReceiveAll(7) handed %d packets", n)
	}
	for i, c := range conns {
		for k := each / 2; k < each; k++ {
			if _, err := c.Write([]byte(fmt.Sprintf("%d:%d", i, k))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The last peer ends: its packets must still be handed over. The
	// server ends it: the pion client's Close cannot be counted on to
	// send its close_notify (in pion/dtls v2.2.12, Close cancels its read
	// loop first, and the loop, leaving, may close the socket before the
	// alert is written; CI saw it), and the default idle timeout is
	// longer than waitFor waits.
	waitFor(t, "second half queued", func() bool { return s.Stats().PacketsIn == clients*each })
	lastAddr := conns[clients-1].LocalAddr().String()
	for _, p := range s.Peers() {
		if p.Addr().String() == lastAddr {
			p.Close()
		}
	}
	waitFor(t, "last peer gone", func() bool { return s.Stats().Peers == clients-1 })
	for total < clients*each {
		if collect(0) == 0 {
			t.Fatalf("ReceiveAll handed nothing with %d of %d packets collected", total, clients*each)
		}
	}
	if collect(0) != 0 {
		t.Fatal("a packet was handed over twice")
	}
	if len(got) != clients {
		t.Fatalf("packets from %d peers, want %d", len(got), clients)
	}
	for p, pk := range got {
		var who int
		fmt.Sscanf(pk[0], "%d:", &who)
		for k, b := range pk {
			if want := fmt.Sprintf("%d:%d", who, k); b != want {
				t.Fatalf("peer %v: packet %d is %q, want %q (order or loss)", p.Addr(), k, b, want)
			}
		}
	}
	if n := len(s.inbox.list); n != 0 {
		t.Fatalf("%d peers still listed with nothing to read", n)
	}
}
