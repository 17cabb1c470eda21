package multiplayer

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// floodOfOnes has a client send one-byte messages in mode as fast as its
// send buffer takes them for d, beside a genuine client on the same server
// that sends one 8-byte reliable message every millisecond. The server's
// game reads every 8 ms. It returns the flooder's messages the game read
// per second, the flooder's datagrams that reached the server per second
// (before any budget), what the server counted over the budget, and checks
// that the genuine client's messages all arrived, in order.
func floodOfOnes(t *testing.T, rate int, mode Mode, d time.Duration) (perSecond, arrivedPerSecond float64, overBudget uint64) {
	t.Helper()
	m := startServer(t, 4, Options{PeerMessageRate: rate})
	flooder := dial(t, port(m), Options{})
	waitEvent(t, flooder, PeerConnected)
	floodID := waitEvent(t, m, PeerConnected).Peer
	good := dial(t, port(m), Options{})
	waitEvent(t, good, PeerConnected)
	goodID := waitEvent(t, m, PeerConnected).Peer

	stop := make(chan struct{})
	done := make(chan int)
	start := time.Now()
	go func() {
		one := []byte{1}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if flooder.Send(0, mode, one) != nil {
				time.Sleep(100 * time.Microsecond) // its send buffer is full
			}
		}
	}()
	go func() {
		sent := 0
		for {
			select {
			case <-stop:
				done <- sent
				return
			default:
			}
			if good.Send(1, Reliable, binary.BigEndian.AppendUint64(nil, uint64(sent))) == nil {
				sent++
			}
			time.Sleep(time.Millisecond)
		}
	}()
	flooded, next := 0, uint64(0)
	counting := true // the flooder's messages are counted until d is over
	read := func() {
		for p, ok := m.Pop(); ok; p, ok = m.Pop() {
			switch p.From {
			case floodID:
				if !bytes.Equal(p.Data, []byte{1}) {
					t.Fatalf("the flooder's message read as %q", p.Data)
				}
				if counting {
					flooded++
				}
			case goodID:
				if v := binary.BigEndian.Uint64(p.Data); v != next {
					t.Fatalf("the genuine client's message %d read where %d was due", v, next)
				}
				next++
			}
		}
	}
	for time.Since(start) < d {
		read()
		time.Sleep(8 * time.Millisecond)
	}
	read()
	elapsed := time.Since(start)
	counting = false
	close(stop)
	sent := <-done
	deadline := time.Now().Add(20 * time.Second)
	for next < uint64(sent) && time.Now().Before(deadline) {
		read()
		time.Sleep(time.Millisecond)
	}
	if next != uint64(sent) {
		t.Fatalf("the genuine client sent %d messages; %d arrived", sent, next)
	}
	st, err := m.Stats(floodID)
	if err != nil {
		t.Fatal(err)
	}
	// The monitors read it from Health, published every janitorTick.
	for deadline := time.Now().Add(2 * time.Second); st.OverBudget > 0 && m.Health().OverBudget == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d dropped over the budget, none in Health", st.OverBudget)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if gst, _ := m.Stats(goodID); gst.OverBudget != 0 {
		t.Errorf("the genuine client, at 1,000 messages a second, had %d packets dropped over a budget of %d", gst.OverBudget, rate)
	}
	return float64(flooded) / elapsed.Seconds(), float64(st.Traffic.PacketsIn) / elapsed.Seconds(), st.OverBudget
}

// One client's flood of one-byte messages: the byte budget lets tens of
// thousands a second through to the game; the message budget holds the
// flooder to its rate, reliable or not, and the genuine client beside it
// loses nothing.
func TestAPeersMessagesAreHeldToItsBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: floods of a few seconds")
	}
	const rate = 2000
	const d = 3 * time.Second
	unlimited, _, _ := floodOfOnes(t, NoLimit, Reliable, d)
	t.Logf("no message budget: the game read %.0f of the flooder's one-byte reliable messages a second", unlimited)
	if unlimited < 3*rate {
		t.Fatalf("without a budget the flooder brought only %.0f messages a second: the test cannot tell a budget of %d", unlimited, rate)
	}
	for _, mode := range []Mode{Reliable, Unreliable} {
		got, arrived, over := floodOfOnes(t, rate, mode, d)
		t.Logf("mode %d, budget %d a second: the game read %.0f a second; %d dropped over the budget; %.0f datagrams a second arrived", mode, rate, got, over, arrived)
		// The burst (half a second's worth) comes on top of the rate.
		limit := rate * (1 + 0.5/d.Seconds()) * 1.05
		if mode == Unreliable && over == 0 && arrived <= limit {
			// Each unreliable message is a datagram of its own (a reliable
			// flood's are bundled, so its datagrams say nothing). Under Wine,
			// whose sockets carry about 2,000 a second here, the flood
			// never exceeds the budget, and the test cannot tell one.
			t.Skipf("SKIPPED: mode %d's flood reached the server at %.0f datagrams a second, within its budget of %d: this system's sockets cannot carry a flood (docs/reliability.md, \"The Go packages' tests on Windows\")", mode, arrived, rate)
		}
		if got > limit {
			t.Errorf("mode %d: the game read %.0f of the flooder's messages a second, over its budget of %d (at most %.0f with the burst)", mode, got, rate, limit)
		}
		if over == 0 {
			t.Errorf("mode %d: nothing was counted over the budget", mode)
		}
		// Over its budget a reliable flooder sees loss, and its SCTP
		// slows down below the budget; it is held back, not cut off.
		if got == 0 {
			t.Errorf("mode %d: none of the flooder's messages got through", mode)
		}
	}
}

// The budget's defaults and bounds.
func TestPeerMessageRateOptions(t *testing.T) {
	for _, c := range []struct {
		rate           int
		server, client int
		refused        bool
	}{
		{0, DefaultPeerMessageRate, 0, false},
		{NoLimit, 0, 0, false},
		{5000, 5000, 5000, false},
		{MinPeerMessageRate - 1, 0, 0, true},
		{-2, 0, 0, true},
	} {
		o := Options{PeerMessageRate: c.rate}
		if err := o.Validate(); (err != nil) != c.refused {
			t.Errorf("PeerMessageRate %d: Validate said %v", c.rate, err)
			continue
		}
		if c.refused {
			continue
		}
		if s, cl := o.messageRate(true), o.messageRate(false); s != c.server || cl != c.client {
			t.Errorf("PeerMessageRate %d: a server holds its peers to %d, a client to %d; want %d and %d", c.rate, s, cl, c.server, c.client)
		}
	}
}
