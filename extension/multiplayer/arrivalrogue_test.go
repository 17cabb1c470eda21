package multiplayer

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// A rogue client over a real connection aims forged DATA chunks at the
// arrival order (arrivalorder.go): chunks the guard admits but pion/sctp
// throws away, so that the model believes in messages that never reach a
// reader. What they may cost is their sender's own order and its own
// messages' delay, each stall bounded by arrivalWait; never its session,
// never a message, and nothing of another session. A genuine neighbour
// sends pairs on two channels throughout and must see no wait run out and
// no pair reversed.
func TestForgedChunksCostOnlyTheirSender(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: the forged-chunk attack on the arrival order")
	}
	// Long enough that the neighbour's genuine waits never run out on a
	// loaded machine, short enough for a few stalls. Restored after the
	// sessions are closed (cleanups run last-registered first).
	saved := arrivalWait
	arrivalWait = time.Second
	t.Cleanup(func() { arrivalWait = saved })

	const (
		neighbourPairs = 1500
		freshStreams   = 3    // phantoms on channels the rogue never opens
		tableFlood     = 3000 // phantoms far ahead, to fill the rogue's table
	)
	m := startServer(t, 4, Options{})
	rogue := dial(t, port(m), Options{})
	waitEvent(t, rogue, PeerConnected)
	neighbour := dial(t, port(m), Options{})
	waitEvent(t, neighbour, PeerConnected)
	rogueSession := func() *session {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.sessions[rogue.ID()]
	}
	neighbourSession := func() *session {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.sessions[neighbour.ID()]
	}

	// The game: takes events and messages as they come, by sender.
	var mu sync.Mutex
	got := map[int32][]Packet{}
	gone := map[int32]string{}
	arrived := map[string]time.Time{}
	defer gameLoop(500*time.Microsecond, func() {
		mu.Lock()
		defer mu.Unlock()
		for ev, ok := m.NextEvent(); ok; ev, ok = m.NextEvent() {
			if ev.Kind == PeerDisconnected {
				gone[ev.Peer] = ev.Reason
			}
		}
		for p, ok := m.Pop(); ok; p, ok = m.Pop() {
			got[p.From] = append(got[p.From], p)
			arrived[string(p.Data)] = time.Now()
		}
	})()
	received := func(id int32) int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[id])
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// The neighbour: pairs on channels 0 and 2, as arrivalBreaks sends
	// them, throughout the attack.
	neighbourDone := make(chan struct{})
	go func() {
		defer close(neighbourDone)
		sendPairs(neighbourPairs, func(ch int, msg []byte) error { return neighbour.Send(ch, Reliable, msg) })
	}()

	// The rogue's own genuine messages, counted per channel: the SSN of a
	// channel's next message is how many it has sent there.
	var sentOn [MaxChannels]uint16
	var rogueSent []string
	sentAt := map[string]time.Time{}
	send := func(ch int, what string) {
		t.Helper()
		msg := fmt.Sprintf("rogue ch%d %d %s", ch, sentOn[ch], what)
		if err := rogue.Send(ch, Reliable, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		sentOn[ch]++
		rogueSent = append(rogueSent, msg)
		sentAt[msg] = time.Now()
	}
	forge := func(chunks ...[]byte) {
		t.Helper()
		v := view(m, rogue)
		if err := rogue.sess.Load().car.Send(sctpRecord(craftSCTP(v.serverTag, chunks...))); err != nil {
			t.Fatal(err)
		}
	}
	// phantom is a whole one-chunk message on channel ch, numbered ssn, at
	// tsn.
	phantom := func(tsn uint32, ch int, ssn uint16) []byte {
		id := streamID(streamReliable0+ch, false)
		return chunkOf(chunkData, dataFlagBegin|dataFlagEnd, cat(u32(tsn), u16(id), u16(ssn), u32(53), []byte{'x'})...)
	}
	// settled waits until the server has every message the rogue sent, so
	// that their TSNs are taken and a chunk sent again under one of them
	// is a duplicate pion throws away.
	settled := func() {
		t.Helper()
		waitFor("the rogue's messages", func() bool { return received(rogue.ID()) == len(rogueSent) })
	}

	for range 10 {
		send(0, "before")
		send(2, "before")
	}
	settled()

	// A stall per round: a phantom claims to be the next message of a
	// channel whose reader will never have it, and arrived before the
	// genuine message that follows on channel 0. That message's reader
	// waits for the phantom's, runs out, and stops trusting it.
	var stalled []string
	for r := range freshStreams {
		forge(phantom(view(m, rogue).rogueTSN, 3+r, 0))
		send(0, "after a phantom on a fresh channel")
		stalled = append(stalled, rogueSent[len(rogueSent)-1])
		settled()
	}
	// The same on channel 2, which the rogue uses: the phantom takes the
	// number of channel 2's next message, which the rogue sends once the
	// stall is over; it is delivered in its place.
	forge(phantom(view(m, rogue).rogueTSN, 2, sentOn[2]))
	send(0, "after a phantom on channel 2")
	stalled = append(stalled, rogueSent[len(rogueSent)-1])
	settled()
	send(2, "numbered as the phantom was")
	settled()

	// The table: phantoms far past pion's receive window (dropped there),
	// each a message not yet read on a channel the rogue never uses.
	far := view(m, rogue).rogueTSN + 1<<20
	for i := 0; i < tableFlood; i += 40 {
		var chunks [][]byte
		for j := i; j < min(i+40, tableFlood); j++ {
			chunks = append(chunks, phantom(far+uint32(j), 1, uint16(100+j)))
		}
		forge(chunks...)
	}
	// The rogue's messages after it: delivered, each channel in order.
	for range 20 {
		send(0, "after the flood")
		send(2, "after the flood")
	}
	settled()
	<-neighbourDone
	waitFor("the neighbour's messages", func() bool { return received(neighbour.ID()) == 2*neighbourPairs })

	mu.Lock()
	defer mu.Unlock()
	if reason, ok := gone[rogue.ID()]; ok {
		t.Fatalf("the rogue's session ended (%s): forged chunks a genuine retransmission looks like must cost it no more than its order", reason)
	}
	// The rogue: everything it sent, each channel in order.
	var next [MaxChannels]uint16
	for _, p := range got[rogue.ID()] {
		want := fmt.Sprintf("rogue ch%d %d ", p.Channel, next[p.Channel])
		if len(p.Data) < len(want) || string(p.Data[:len(want)]) != want {
			t.Fatalf("the rogue's channel %d: read %q, want the message numbered %d", p.Channel, p.Data, next[p.Channel])
		}
		next[p.Channel]++
	}
	var stalls []time.Duration
	for _, msg := range stalled {
		stalls = append(stalls, arrived[msg].Sub(sentAt[msg]).Round(time.Millisecond))
	}
	rs := rogueSession()
	ro := rs.arrivals.overdueWaits()
	rs.arrivals.mu.Lock()
	tracked, peak := len(rs.arrivals.entries), rs.arrivals.peak
	rs.arrivals.mu.Unlock()
	t.Logf("rogue: %d messages delivered in order per channel, %d waits ran out (%d stalls aimed, the stalled messages in after %v with arrivalWait %v), %d messages tracked after %d phantoms far ahead (peak %d)",
		len(got[rogue.ID()]), ro, len(stalled), stalls, arrivalWait, tracked, tableFlood, peak)
	if ro < uint64(len(stalled)) {
		t.Errorf("only %d of the rogue's waits ran out, for %d stalls aimed: the phantoms did not reach the arrival order, so this test tests nothing", ro, len(stalled))
	}
	if peak > maxArrivals || tracked > maxArrivals {
		t.Errorf("the rogue's arrival table held %d messages (now %d), past its bound of %d", peak, tracked, maxArrivals)
	}
	if peak < maxArrivals {
		t.Errorf("the rogue's table peaked at %d: the flood did not reach the bound it tests", peak)
	}

	// The neighbour: every pair, each channel in order, none reversed, no
	// wait run out.
	var pairs pairReader
	for _, p := range got[neighbour.ID()] {
		if err := pairs.read(p); err != nil {
			t.Fatalf("the neighbour's %v", err)
		}
	}
	if n := neighbourSession().arrivals.overdueWaits(); n != 0 || pairs.reversed != 0 {
		t.Errorf("the neighbour: %d waits ran out, %d of %d pairs reversed; another session's forged chunks must cost it nothing", n, pairs.reversed, neighbourPairs)
	}
}
