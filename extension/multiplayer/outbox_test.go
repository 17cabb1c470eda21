package multiplayer

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"godtls/extension/client"
	"godtls/extension/netsim"
)

// TestSendNeverWaitsForSCTP: while writing into SCTP is stuck, Send and a
// graceful Disconnect still return at once (Godot's thread never waits
// for an association), the outbox refuses what passes the send buffer with
// ErrSendBacklog, small messages charged messageCost each (a bound
// in messages too), without copying what it refuses,
// and once writing resumes every accepted message arrives, in order.
func TestSendNeverWaitsForSCTP(t *testing.T) {
	const sendBuffer = 64 << 10
	m := startServer(t, 4, Options{SendBuffer: sendBuffer})
	bulky, chatty, kicked := dial(t, port(m), Options{}), dial(t, port(m), Options{}), dial(t, port(m), Options{})
	for _, c := range []*Client{bulky, chatty, kicked} {
		waitEvent(t, c, PeerConnected)
		waitEvent(t, m, PeerConnected)
	}
	release := make(chan struct{})
	hook := func() { <-release }
	testBeforeWrite.Store(&hook)
	released := false
	resume := func() {
		if !released {
			released = true
			close(release)
		}
	}
	t.Cleanup(func() { resume(); testBeforeWrite.Store(nil) })

	// promptly runs call, which must not wait for SCTP.
	promptly := func(what string, call func()) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			call()
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s waited while writing into SCTP was stuck", what)
		}
	}
	// fill sends msg(i) to id until the outbox refuses one.
	fill := func(id int32, msg func(int) []byte) (accepted int, refusal error) {
		promptly("Send", func() {
			for ; accepted < 1<<20; accepted++ {
				if refusal = m.Send(id, 0, Reliable, msg(accepted)); refusal != nil {
					return
				}
			}
		})
		return accepted, refusal
	}
	kib := func(i int) []byte { return []byte(fmt.Sprintf("%04d%s", i, strings.Repeat(".", 1020))) }
	small := func(i int) []byte { return []byte(fmt.Sprint(i)) }

	bulkyIn, err := fill(bulky.ID(), kib)
	if !errors.Is(err, ErrSendBacklog) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("1 KiB messages: refused with %v after %d, want the send buffer's ErrSendBacklog", err, bulkyIn)
	}
	if per := 1024 + messageCost; bulkyIn < sendBuffer/per-1 || bulkyIn > sendBuffer/per+1 {
		t.Fatalf("%d messages of 1 KiB accepted with a %d-byte send buffer", bulkyIn, sendBuffer)
	}
	// A refused send copies nothing: a message is copied once an outbox
	// accepts it.
	big := make([]byte, 16<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 50 {
		if err := m.Send(bulky.ID(), 0, Reliable, big); !errors.Is(err, ErrSendBacklog) {
			t.Fatalf("a send to the full outbox: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	// Each refusal allocates its error (a few hundred bytes), not a copy.
	if got := after.TotalAlloc - before.TotalAlloc; got >= 50*uint64(len(big))/4 {
		t.Fatalf("50 refused sends of %d bytes allocated %d bytes: copied before refusing", len(big), got)
	}
	chattyIn, err := fill(chatty.ID(), small)
	if !errors.Is(err, ErrSendBacklog) || !strings.Contains(err.Error(), "messages not yet handed to SCTP") {
		t.Fatalf("small messages: refused with %v after %d, want the send buffer's ErrSendBacklog", err, chattyIn)
	}
	// 1 to 4 bytes each, and the charge per message: a batch a pusher took
	// out before it got stuck still counts.
	if lo, hi := sendBuffer/(messageCost+4), sendBuffer/(messageCost+1); chattyIn < lo || chattyIn > hi {
		t.Fatalf("%d small messages accepted, want %d to %d", chattyIn, lo, hi)
	}

	promptly("a graceful Disconnect", func() {
		if err := m.Disconnect(kicked.ID(), "kicked", false); err != nil {
			t.Errorf("Disconnect: %v", err)
		}
	})

	resume()
	if ev := waitEvent(t, kicked, PeerDisconnected); ev.Reason != "kicked" {
		t.Fatalf("the kicked client's end: %+v", ev)
	}
	for c, want := range map[*Client]struct {
		n   int
		msg func(int) []byte
	}{bulky: {bulkyIn, kib}, chatty: {chattyIn, small}} {
		for i := range want.n {
			if p := waitPacket(t, c); string(p.Data) != string(want.msg(i)) {
				t.Fatalf("message %d: got %.20q, want %.20q", i, p.Data, want.msg(i))
			}
		}
	}
}

// TestBroadcastSharesOneCopy: a reliable broadcast handed over with
// SendOwned is queued once for every peer, not copied per peer (a 256 KiB
// message to 6 peers allocates less than one copy of it), and through
// Send it is copied once; Send keeps the caller's bytes the caller's:
// written over right after the call, on the server and on a client, they
// still arrive as they were sent.
func TestBroadcastSharesOneCopy(t *testing.T) {
	m := startServer(t, 8, Options{})
	var clients []*Client
	for range 6 {
		c := dial(t, port(m), Options{})
		waitEvent(t, c, PeerConnected)
		waitEvent(t, m, PeerConnected)
		clients = append(clients, c)
	}
	release := make(chan struct{})
	hook := func() { <-release }
	testBeforeWrite.Store(&hook) // nothing reaches SCTP, which copies
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		testBeforeWrite.Store(nil)
	})

	pattern := func(seed byte, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}
	big := pattern(1, 256<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := m.SendOwned(0, 0, Reliable, big); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got >= uint64(len(big)) {
		t.Fatalf("broadcasting %d bytes to %d peers allocated %d bytes: copied per peer", len(big), len(clients), got)
	}

	// Send, which leaves the caller its bytes, copies once for them all.
	big2 := pattern(4, 256<<10)
	runtime.ReadMemStats(&before)
	if err := m.Send(0, 0, Reliable, big2); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got >= 2*uint64(len(big2)) {
		t.Fatalf("Send of %d bytes to %d peers allocated %d bytes: copied more than once", len(big2), len(clients), got)
	}

	reused := pattern(2, 4096)
	if err := m.Send(0, 0, Reliable, reused); err != nil {
		t.Fatal(err)
	}
	fromClient := pattern(3, 4096)
	if err := clients[0].Send(0, Reliable, fromClient); err != nil {
		t.Fatal(err)
	}
	clear(reused) // the caller's buffer, reused for the next thing
	clear(fromClient)

	released = true
	close(release)
	for i, c := range clients {
		for _, want := range [][]byte{big, pattern(4, 256<<10), pattern(2, 4096)} {
			if p := waitPacket(t, c); !bytes.Equal(p.Data, want) {
				t.Fatalf("client %d got %d bytes starting %v, want %d starting %v", i, len(p.Data), p.Data[:4], len(want), want[:4])
			}
		}
	}
	if p := waitPacket(t, m); !bytes.Equal(p.Data, pattern(3, 4096)) {
		t.Fatalf("the server got %d bytes starting %v from the client", len(p.Data), p.Data[:4])
	}
}

// A game that sends 10,000 small RPCs in one frame (the multiplayer test's
// loss clients) has none refused, however far behind the pusher is: at the
// default send buffer only what the messages cost counts. With a limit of
// 4,096 messages in the outbox, 217 of a loss client's were refused in a
// run on a busy machine, and the server waited for them for good.
func TestABurstOfSmallMessagesWhileThePusherLags(t *testing.T) {
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	release := make(chan struct{})
	hook := func() { <-release }
	testBeforeWrite.Store(&hook)
	t.Cleanup(func() { testBeforeWrite.Store(nil) })
	const burst = 10000
	for i := range burst {
		if err := c.Send(4, Reliable, []byte(fmt.Sprintf("rpc %05d with its node path", i))); err != nil {
			close(release)
			t.Fatalf("message %d of the burst refused: %v", i, err)
		}
	}
	close(release)
	for i := range burst {
		p := waitPacket(t, m)
		if want := fmt.Sprintf("rpc %05d with its node path", i); string(p.Data) != want {
			t.Fatalf("got %q, want %q", p.Data, want)
		}
	}
}

// A peer that stops acknowledging keeps our messages in SCTP, where pion
// holds a chunk of ~120 bytes for each: they are charged messageCost each
// there too, so small messages fill the send buffer at their cost, not at
// their few bytes (7,228 messages of 8 bytes in a 64 KiB buffer before).
func TestMessagesHeldInSCTPAreChargedTheirCost(t *testing.T) {
	const sendBuffer = 64 << 10
	m := startServer(t, 4, Options{SendBuffer: sendBuffer})
	link := netsim.NewLink()
	c, err := Dial("127.0.0.1", port(m), client.Config{Insecure: true, Network: link}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close("test over") })
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	if err := link.Set(netsim.Settings{Loss: 1}); err != nil { // nothing arrives, nothing is acknowledged
		t.Fatal(err)
	}
	msg := []byte("8 bytes!")
	accepted := 0
	for ; accepted < sendBuffer; accepted++ {
		if err := m.Send(c.ID(), 3, Reliable, msg); err != nil {
			if !errors.Is(err, ErrSendBacklog) {
				t.Fatal(err)
			}
			break
		}
		if accepted%64 == 63 {
			time.Sleep(time.Millisecond) // the pusher moves them into SCTP
		}
	}
	s := m.all()[0]
	inStreams, inSCTP := s.streamsHold()
	if max := sendBuffer/(len(msg)+messageCost) + 1; accepted > max {
		t.Fatalf("%d messages of %d bytes accepted, at most %d with their cost", accepted, len(msg), max)
	}
	if inSCTP < accepted/2 {
		t.Fatalf("only %d of the %d accepted messages reached SCTP (%d bytes): the pusher did not run", inSCTP, accepted, inStreams)
	}
	t.Logf("%d messages accepted, about %d of them in SCTP (%d bytes)", accepted, inSCTP, inStreams)
}
