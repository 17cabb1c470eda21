package multiplayer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSendNeverWaitsForSCTP: while writing into SCTP is stuck, Send and a
// graceful Disconnect still return at once (Godot's thread never waits
// for an association), the outbox refuses what passes its bounds in bytes
// and in messages with ErrSendBacklog, and once writing resumes every
// accepted message arrives, in order.
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
			for ; accepted < 2*maxOutboxMessages; accepted++ {
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
	if bulkyIn < sendBuffer/1024-1 || bulkyIn > sendBuffer/1024 {
		t.Fatalf("%d messages of 1 KiB accepted with a %d-byte send buffer", bulkyIn, sendBuffer)
	}
	chattyIn, err := fill(chatty.ID(), small)
	if !errors.Is(err, ErrSendBacklog) || !strings.Contains(err.Error(), "messages") {
		t.Fatalf("small messages: refused with %v after %d, want the outbox's ErrSendBacklog", err, chattyIn)
	}
	// The pushers may have taken a first batch out of the outbox before
	// they got stuck: at most one message per pusher.
	if chattyIn < maxOutboxMessages || chattyIn > maxOutboxMessages+4 {
		t.Fatalf("%d small messages accepted, want about %d", chattyIn, maxOutboxMessages)
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
