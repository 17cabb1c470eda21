package multiplayer

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"godtls/extension/internal/lossy"
)

// sceneSysMessage is one of SceneMultiplayer's system messages about peer
// id, with a relay's message behind it.
func sceneSysMessage(cmd byte, id int32, relayed string) []byte {
	b := []byte{sceneCommandSys, cmd, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[2:], uint32(id))
	return append(b, relayed...)
}

// sceneOrderBreaks plays a server relaying for peers that come and go, and
// spawning a node for each, to a client through a relay losing a fifth of
// the datagrams each way, and counts what the client's game would have
// read out of order: a relayed message before the ADD_PEER of its sender
// or after its DEL_PEER, and a reliable RPC on another channel before the
// SPAWN of its node.
func sceneOrderBreaks(t *testing.T, sceneOrder bool) (beforeAdd, afterDel, beforeSpawn, read int) {
	m := startServer(t, 4, Options{SceneOrder: sceneOrder})
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Loss: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	c := dial(t, relay.Addr().Port, Options{Timeout: 30 * time.Second})
	waitEvent(t, c, PeerConnected)
	client := waitEvent(t, m, PeerConnected).Peer
	const peers = 150
	go func() {
		send := func(channel int, mode Mode, data []byte) {
			for m.Send(client, channel, mode, data) == ErrSendBacklog {
				time.Sleep(time.Millisecond)
			}
		}
		for id := int32(2); id < 2+peers; id++ {
			// Apart in time, so that they leave in separate datagrams.
			send(0, Reliable, sceneSysMessage(sceneSysAddPeer, id, ""))
			time.Sleep(2 * time.Millisecond)
			send(3, Reliable, sceneSysMessage(sceneSysRelay, id, "\x03first"))
			send(0, Unreliable, sceneSysMessage(sceneSysRelay, id, "\x03sync"))
			time.Sleep(2 * time.Millisecond)
			send(0, Reliable, sceneSpawn(id))
			time.Sleep(2 * time.Millisecond)
			send(2, Reliable, sceneRPC(id))
			time.Sleep(2 * time.Millisecond)
			send(3, Reliable, sceneSysMessage(sceneSysRelay, id, "\x03last"))
			time.Sleep(2 * time.Millisecond)
			send(0, Reliable, sceneSysMessage(sceneSysDelPeer, id, ""))
		}
		send(0, Reliable, []byte("end"))
	}()
	peer := map[int32]string{} // "" unknown, "in", "out"
	spawned := map[int32]bool{}
	for {
		p := waitPacket(t, c)
		if string(p.Data) == "end" {
			break
		}
		read++
		id := int32(binary.LittleEndian.Uint32(p.Data[2:]))
		switch p.Data[0] {
		case sceneCommandSpawn:
			spawned[id] = true
			continue
		case 0: // an RPC
			if !spawned[id] {
				beforeSpawn++
			}
			continue
		}
		switch p.Data[1] {
		case sceneSysAddPeer:
			peer[id] = "in"
		case sceneSysDelPeer:
			peer[id] = "out"
		case sceneSysRelay:
			switch peer[id] {
			case "":
				beforeAdd++
			case "out":
				if string(p.Data[sceneSysSize:]) == "\x03sync" {
					continue // unreliable: nothing holds a DEL_PEER for it
				}
				afterDel++
			}
		}
	}
	if relay.Dropped.Load() == 0 {
		t.Fatal("the relay dropped nothing: the test did not test loss")
	}
	return beforeAdd, afterDel, beforeSpawn, read
}

// sceneSpawn is a SPAWN of a node numbered id, and sceneRPC an RPC on it
// (the test's own layout after SceneMultiplayer's command byte).
func sceneSpawn(id int32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{sceneCommandSpawn, 0}, uint32(id))
}

func sceneRPC(id int32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{0, 0}, uint32(id))
}

// The races of sceneorder.go: without the order marks the client reads
// relayed messages and RPCs out of order under loss; with them, never.
func TestSceneMessagesKeepTheirPlaceUnderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("a lossy run of a few seconds")
	}
	beforeAdd, afterDel, beforeSpawn, read := sceneOrderBreaks(t, false)
	t.Logf("without order marks: %d relayed messages before their sender's ADD_PEER, %d after its DEL_PEER, %d RPCs before their node's SPAWN, of %d read", beforeAdd, afterDel, beforeSpawn, read)
	if beforeAdd == 0 || afterDel == 0 || beforeSpawn == 0 {
		t.Fatalf("without order marks the loss left some order whole (%d before ADD_PEER, %d after DEL_PEER, %d before SPAWN): the test cannot tell", beforeAdd, afterDel, beforeSpawn)
	}
	beforeAdd, afterDel, beforeSpawn, read = sceneOrderBreaks(t, true)
	t.Logf("with order marks: %d before ADD_PEER, %d after DEL_PEER, %d before SPAWN, of %d read", beforeAdd, afterDel, beforeSpawn, read)
	if beforeAdd != 0 || afterDel != 0 || beforeSpawn != 0 {
		t.Fatalf("with order marks the client read %d relayed messages before their sender's ADD_PEER, %d after its DEL_PEER, %d RPCs before their node's SPAWN", beforeAdd, afterDel, beforeSpawn)
	}
}

// holdingClient is a client's session as the inbox sees it, announced to
// the game, and the inbox.
func holdingClient() (*inbox, *session) {
	q := newInbox(1<<16, 64<<20, 2*MaxMessage)
	return q, &session{id: ServerID, delivered: true, ended: make(chan struct{})}
}

func (q *inbox) readAll() []string {
	var got []string
	for {
		p, ok := q.pop()
		if !ok {
			return got
		}
		got = append(got, fmt.Sprintf("%d/%d:%s", p.Channel, p.Mode, p.Data))
	}
}

// A marked message waits for what its mark names; the messages of its
// channel behind it wait for it; unmarked messages of other channels and
// unreliable ones pass.
func TestMarkedMessagesWaitForWhatTheyName(t *testing.T) {
	q, s := holdingClient()
	push := func(channel int, mode Mode, data string, after orderMark) {
		t.Helper()
		if !q.pushAfter(Packet{From: ServerID, Channel: channel, Mode: mode, Data: []byte(data), owner: s}, after, false, nil) {
			t.Fatalf("%q refused", data)
		}
	}
	expect := func(when, want string) {
		t.Helper()
		if got := fmt.Sprint(q.readAll()); got != want {
			t.Fatalf("%s the game read %s, want %s", when, got, want)
		}
	}
	afterAdd := orderMark{{channel: 0, number: 2}}
	push(0, Reliable, "ch0 #1", nil)
	push(3, Reliable, "relay", afterAdd)
	push(0, Unreliable, "relay sync", afterAdd)
	push(3, Reliable, "behind the relay", nil)
	push(5, Reliable, "other channel", nil)
	push(1, Unreliable, "unmarked", nil)
	expect("before channel 0's second message", "[0/2:ch0 #1 5/2:other channel 1/0:unmarked]")
	push(0, Reliable, "ch0 #2: the add", nil)
	expect("after it", "[0/2:ch0 #2: the add 3/2:relay 0/0:relay sync 3/2:behind the relay]")
	// A DEL_PEER on channel 0 waits for channel 3's fourth message, and
	// channel 0's next message waits behind it.
	push(0, Reliable, "del", orderMark{{channel: 3, number: 4}})
	push(0, Reliable, "after the del", nil)
	push(3, Reliable, "ch3 #3", nil)
	expect("before channel 3's fourth message", "[3/2:ch3 #3]")
	push(3, Reliable, "ch3 #4: the last relay", nil)
	expect("after it", "[3/2:ch3 #4: the last relay 0/2:del 0/2:after the del]")
	// A channel keeps its order even when a later message's mark passes
	// first (channel 0 has had 4 messages).
	push(7, Reliable, "waits for ch0 #7", orderMark{{channel: 0, number: 7}})
	push(7, Reliable, "waits for ch0 #6", orderMark{{channel: 0, number: 6}})
	for _, want := range []string{"[0/2:ch0 #5]", "[0/2:ch0 #6]", "[0/2:ch0 #7 7/2:waits for ch0 #7 7/2:waits for ch0 #6]"} {
		push(0, Reliable, want[5:11], nil)
		expect("after "+want[5:11], want)
	}
	// An unreliable-ordered message is dropped rather than held: held, it
	// could come after a newer one of its channel.
	if q.pushAfter(Packet{From: ServerID, Channel: 2, Mode: UnreliableOrdered, Data: []byte("ordered"), owner: s}, orderMark{{channel: 0, number: 99}}, false, nil) {
		t.Fatal("an unreliable-ordered message was held behind its mark")
	}
	push(2, UnreliableOrdered, "ordered, its mark passed", orderMark{{channel: 0, number: 7}})
	expect("after an unreliable-ordered message whose mark had passed", "[2/1:ordered, its mark passed]")
	if q.bytes != 0 || q.held != 0 || s.queued != 0 {
		t.Fatalf("with all read the inbox counts %d bytes, %d held; the session %d bytes", q.bytes, q.held, s.queued)
	}
}

// The hold is bounded: beyond maxOrderHeld an unreliable message is dropped
// and a reliable one's reader waits until what holds the others passes.
// What an ended session held is dropped and uncounted.
func TestOrderHoldIsBoundedAndFreed(t *testing.T) {
	q, s := holdingClient()
	after := orderMark{{channel: 0, number: 1}}
	for i := 0; i < maxOrderHeld; i++ {
		if !q.pushAfter(Packet{Channel: 1, Mode: Unreliable, Data: []byte("x"), owner: s}, after, false, nil) {
			t.Fatalf("message %d refused below the bound", i)
		}
	}
	if q.pushAfter(Packet{Channel: 1, Mode: Unreliable, Data: []byte("x"), owner: s}, after, false, nil) {
		t.Fatal("an unreliable message beyond the bound was held")
	}
	pushed := make(chan bool)
	go func() {
		pushed <- q.pushAfter(Packet{Channel: 2, Mode: Reliable, Data: []byte("reliable"), owner: s}, after, true, s.ended)
	}()
	select {
	case <-pushed:
		t.Fatal("a reliable message beyond the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	if !q.push(Packet{Channel: 0, Mode: Reliable, Data: []byte("named"), owner: s}, false, nil) {
		t.Fatal("the named message refused")
	}
	if !<-pushed {
		t.Fatal("the waiting reliable message was refused")
	}
	if got := len(q.readAll()); got != maxOrderHeld+2 {
		t.Fatalf("read %d messages, want %d", got, maxOrderHeld+2)
	}

	// An ended session: what it held goes, and what comes after is not held.
	for i := 0; i < 10; i++ {
		q.pushAfter(Packet{Channel: 1, Mode: Unreliable, Data: []byte("x"), owner: s}, orderMark{{channel: 0, number: 9}}, false, nil)
	}
	close(s.ended)
	q.dropHeld(s)
	q.pushAfter(Packet{Channel: 1, Mode: Unreliable, Data: []byte("x"), owner: s}, orderMark{{channel: 0, number: 9}}, false, nil)
	if q.bytes != 0 || q.held != 0 || s.queued != 0 || s.orderHeld != nil {
		t.Fatalf("after the end the inbox counts %d bytes, %d held; the session %d bytes, %d held", q.bytes, q.held, s.queued, len(s.orderHeld))
	}
}

// A client marks nothing: a mark from one ends its session, on a stream;
// unreliable, it is dropped.
func TestAMarkFromAClientEndsItsSession(t *testing.T) {
	m := startServer(t, 4, Options{SceneOrder: true})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	id := waitEvent(t, m, PeerConnected).Peer
	s := c.sess.Load()
	if _, err := s.sendAfter(2, Unreliable, &outgoing{data: []byte("marked")}, orderMark{{channel: 0, number: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sendAfter(2, Reliable, &outgoing{data: []byte("marked")}, orderMark{{channel: 0, number: 1}}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, m, PeerDisconnected)
	if ev.Peer != id || !strings.Contains(ev.Reason, "order mark from a client") {
		t.Fatalf("the server's event %+v, want the client's end for its mark", ev)
	}
	if p, ok := m.Pop(); ok {
		t.Fatalf("the server's game read %q", p.Data)
	}
}

func TestMarksRoundTripAndMalformedOnesAreRefused(t *testing.T) {
	after := orderMark{{channel: 0, number: 7}, {channel: 255, number: 1 << 31}}
	got, data, err := parseMark(withMark(after, []byte("data")))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(after) || string(data) != "data" {
		t.Fatalf("parsed %v %q %v", got, data, err)
	}
	for _, b := range [][]byte{nil, {0, 1, 2}, {1, 0, 0, 0}, {2, 0, 0, 0, 0, 1}} {
		if _, _, err := parseMark(b); err == nil {
			t.Errorf("parseMark(%v) accepted", b)
		}
	}
}
