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
	m, c, client, relay := lossyPair(t, Options{SceneOrder: sceneOrder}, Options{})
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
	relay.mustHaveDropped(t)
	return beforeAdd, afterDel, beforeSpawn, read
}

// lossRelay is a relay between a client and its server that loses a fifth
// of the datagrams each way.
type lossRelay struct{ *lossy.Relay }

func (r lossRelay) mustHaveDropped(t *testing.T) {
	t.Helper()
	if r.Dropped.Load() == 0 {
		t.Fatal("the relay dropped nothing: the test did not test loss")
	}
}

// lossyPair is a server and a client connected through a lossRelay (the
// client's timeout raised to 30 s), both told of the connection, and the
// client's id.
func lossyPair(t *testing.T, serverOpts, clientOpts Options) (*Server, *Client, int32, lossRelay) {
	t.Helper()
	m := startServer(t, 4, serverOpts)
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Loss: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	clientOpts.Timeout = 30 * time.Second
	c := dial(t, relay.Addr().Port, clientOpts)
	waitEvent(t, c, PeerConnected)
	return m, c, waitEvent(t, m, PeerConnected).Peer, lossRelay{relay}
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

const clientSpawnNodes = 300

// clientSpawnBreaks plays a client that spawns nodes and calls an RPC on
// each on another channel right after, to the server through a relay
// losing a fifth of the datagrams each way, and counts the RPCs the
// server's game would have read before their node's SPAWN.
func clientSpawnBreaks(t *testing.T, sceneOrder bool) (beforeSpawn, read int) {
	m, c, _, relay := lossyPair(t, Options{SceneOrder: true}, Options{SceneOrder: sceneOrder})
	go func() {
		send := func(channel int, data []byte) {
			for c.Send(channel, Reliable, data) == ErrSendBacklog {
				time.Sleep(time.Millisecond)
			}
		}
		for id := int32(1); id <= clientSpawnNodes; id++ {
			send(0, sceneSpawn(id))
			time.Sleep(2 * time.Millisecond) // apart, in separate datagrams
			send(2, sceneRPC(id))
			time.Sleep(2 * time.Millisecond)
		}
		send(2, []byte("end")) // marked after the last SPAWN, behind the last RPC
	}()
	spawned := map[int32]bool{}
	for {
		p := waitPacket(t, m)
		if string(p.Data) == "end" {
			break
		}
		read++
		id := int32(binary.LittleEndian.Uint32(p.Data[2:]))
		if p.Data[0] == sceneCommandSpawn {
			spawned[id] = true
		} else if !spawned[id] {
			beforeSpawn++
		}
	}
	relay.mustHaveDropped(t)
	return beforeSpawn, read
}

// A client's own spawns (sceneorder.go): without its marks the server
// reads RPCs before the SPAWN of their node under loss; with them, never.
func TestAClientsSpawnsKeepTheirPlaceUnderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("a lossy run of a few seconds")
	}
	beforeSpawn, read := clientSpawnBreaks(t, false)
	t.Logf("without the client's marks: %d RPCs before their node's SPAWN, of %d read", beforeSpawn, read)
	if beforeSpawn == 0 {
		t.Fatal("without the client's marks the loss left the order whole: the test cannot tell")
	}
	beforeSpawn, read = clientSpawnBreaks(t, true)
	t.Logf("with them: %d RPCs before their node's SPAWN, of %d read", beforeSpawn, read)
	if beforeSpawn != 0 || read != 2*clientSpawnNodes {
		t.Fatalf("with the client's marks the server read %d RPCs before their node's SPAWN, %d messages in all (want %d)", beforeSpawn, read, 2*clientSpawnNodes)
	}
}

// A held message waits at most markWait, then goes on with the messages
// of its channel behind it; one that arrived later waits its own
// markWait. What a session the game let go of held is dropped instead.
func TestAHeldMessageWaitsAtMostMarkWait(t *testing.T) {
	q, s := holdingClient()
	s.live.Store(true)
	never := orderMark{{channel: 0, number: 99}}
	start := time.Now()
	push := func(channel int, data string, after orderMark) {
		t.Helper()
		if !q.pushAfter(Packet{Channel: channel, Mode: Reliable, Data: []byte(data), owner: s}, after, false, nil) {
			t.Fatalf("%q refused", data)
		}
	}
	push(3, "named what never comes", never)
	push(3, "behind it", nil)
	s.orderHeld[0].since, s.orderHeld[1].since = start, start
	push(4, "named it too, later", never)
	s.orderHeld[2].since = start.Add(time.Second)
	q.expireOrderHeld(start.Add(markWait - time.Millisecond))
	if got := q.readAll(); len(got) != 0 {
		t.Fatalf("before markWait the game read %v", got)
	}
	q.expireOrderHeld(start.Add(markWait))
	if got, want := fmt.Sprint(q.readAll()), "[3/2:named what never comes 3/2:behind it]"; got != want {
		t.Fatalf("at markWait the game read %s, want %s", got, want)
	}
	q.expireOrderHeld(start.Add(markWait + time.Second))
	if got, want := fmt.Sprint(q.readAll()), "[4/2:named it too, later]"; got != want {
		t.Fatalf("at its own markWait the game read %s, want %s", got, want)
	}
	if q.held != 0 || q.holding.Load() != 0 || len(q.orderHolders) != 0 {
		t.Fatalf("after the waits: %d held, %d holding", q.held, q.holding.Load())
	}

	push(3, "held when the game let its peer go", never)
	s.live.Store(false)
	q.expireOrderHeld(start.Add(time.Hour))
	if got := q.readAll(); len(got) != 0 {
		t.Fatalf("from a peer the game had let go the game read %v", got)
	}
	if q.bytes != 0 || q.held != 0 || s.queued != 0 || q.holding.Load() != 0 {
		t.Fatalf("after the drop the inbox counts %d bytes, %d held, %d holding; the session %d bytes", q.bytes, q.held, q.holding.Load(), s.queued)
	}
}

// A server holds a client's marked messages, within markWait, and keeps
// the client, while the other clients' messages pass; a mark a client
// never sends (more than one entry, or another channel than 0) ends its
// session on a stream and is dropped unreliable.
func TestAClientsMarksAreHeldWithinBounds(t *testing.T) {
	defer func(w time.Duration) { markWait = w }(markWait)
	markWait = 300 * time.Millisecond
	m := startServer(t, 4, Options{SceneOrder: true})
	c := dial(t, port(m), Options{SceneOrder: true})
	waitEvent(t, c, PeerConnected)
	id := waitEvent(t, m, PeerConnected).Peer
	other := dial(t, port(m), Options{SceneOrder: true})
	waitEvent(t, other, PeerConnected)
	waitEvent(t, m, PeerConnected)
	s := c.sess.Load()
	sent := time.Now()
	if _, err := s.sendAfter(2, Reliable, &outgoing{data: []byte("names what it never sent")}, orderMark{{channel: 0, number: 5}}); err != nil {
		t.Fatal(err)
	}
	// The other client's messages pass meanwhile, on the same channel.
	time.Sleep(20 * time.Millisecond)
	if err := other.Send(2, Reliable, []byte("another client's")); err != nil {
		t.Fatal(err)
	}
	var read []string
	for len(read) < 2 && time.Since(sent) < 10*time.Second {
		if ev, got := m.NextEvent(); got { // the game's poll lets overdue messages go
			t.Fatalf("event %+v while the marked message waited", ev)
		}
		if p, ok := m.Pop(); ok {
			read = append(read, string(p.Data))
		}
		time.Sleep(time.Millisecond)
	}
	if waited := time.Since(sent); fmt.Sprint(read) != "[another client's names what it never sent]" || waited < markWait {
		t.Fatalf("the server's game read %q after %v, want the other client's message, then the marked one after markWait (%v)", read, waited, markWait)
	}
	if len(m.Peers()) != 2 {
		t.Fatal("the client is gone after a mark naming what it never sent")
	}
	if _, err := s.sendAfter(2, Unreliable, &outgoing{data: []byte("two entries")}, orderMark{{channel: 0, number: 1}, {channel: 1, number: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sendAfter(2, Reliable, &outgoing{data: []byte("channel 1")}, orderMark{{channel: 1, number: 1}}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, m, PeerDisconnected)
	if ev.Peer != id || !strings.Contains(ev.Reason, "malformed order mark") {
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
