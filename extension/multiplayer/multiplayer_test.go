package multiplayer

import (
	"bytes"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"godtls/extension/client"
	"godtls/extension/credentials"
	"godtls/extension/internal/lossy"
	"godtls/extension/internal/testcert"
	"godtls/extension/server"
)

// startServer listens on loopback with a fresh ECDSA certificate.
func startServer(t testing.TB, maxClients int, opts Options) *Server {
	t.Helper()
	pair := testcert.ECDSA(t)
	c, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{MaxPeers: maxClients + 4}) // room for the refusals to be told
	if err := srv.SetCertificate(c); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	m := NewServer(srv, maxClients, opts)
	t.Cleanup(func() { m.Close("test over") })
	return m
}

func dial(t testing.TB, port int, opts Options) *Client {
	t.Helper()
	c, err := Dial("127.0.0.1", port, client.Config{Insecure: true}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close("test over") })
	return c
}

// eventSource is what both ends have.
type eventSource interface{ NextEvent() (Event, bool) }

// waitEvent waits for the next event of kind (others are returned in
// skipped order to nobody: tests ask for what they expect next).
func waitEvent(t testing.TB, src eventSource, kind EventKind) Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ev, ok := src.NextEvent(); ok {
			if ev.Kind == kind {
				return ev
			}
			t.Fatalf("event %+v while waiting for kind %d", ev, kind)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no event of kind %d", kind)
	return Event{}
}

type packetSource interface{ Pop() (Packet, bool) }

func waitPacket(t testing.TB, src packetSource) Packet {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if p, ok := src.Pop(); ok {
			return p
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no packet")
	return Packet{}
}

func port(m *Server) int { return m.DTLS().LocalPort() }

// gameLoop runs frame once every period on a goroutine of its own, as a
// game's main thread would, until stop is called; stop waits for the frame
// under way.
func gameLoop(period time.Duration, frame func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			frame()
			time.Sleep(period)
		}
	}()
	return func() { close(done); wg.Wait() }
}

func TestServerAndThreeClients(t *testing.T) {
	m := startServer(t, 8, Options{})
	ids := map[int32]*Client{}
	var clients []*Client
	for range 3 {
		c := dial(t, port(m), Options{})
		ev := waitEvent(t, c, PeerConnected)
		if ev.Peer != ServerID || c.Status() != Connected {
			t.Fatalf("client event %+v, status %d", ev, c.Status())
		}
		if c.ID() < 2 {
			t.Fatalf("peer id %d: ids given by the server are ≥ 2", c.ID())
		}
		sev := waitEvent(t, m, PeerConnected)
		if sev.Peer != c.ID() {
			t.Fatalf("server announced %d, the client has %d", sev.Peer, c.ID())
		}
		if ids[c.ID()] != nil {
			t.Fatalf("id %d given twice", c.ID())
		}
		ids[c.ID()] = c
		clients = append(clients, c)
	}

	// every mode, both ways, on several channels
	for _, c := range clients {
		for _, mode := range []Mode{Unreliable, UnreliableOrdered, Reliable} {
			for _, ch := range []int{0, 3, 255} {
				msg := []byte{byte(mode), byte(ch), 'h', 'i'}
				if err := c.Send(ch, mode, msg); err != nil {
					t.Fatal(err)
				}
				p := waitPacket(t, m)
				if p.From != c.ID() || p.Mode != mode || p.Channel != ch || !bytes.Equal(p.Data, msg) {
					t.Fatalf("server got %+v, want from %d mode %d channel %d", p, c.ID(), mode, ch)
				}
				if err := m.Send(c.ID(), ch, mode, msg); err != nil {
					t.Fatal(err)
				}
				p = waitPacket(t, c)
				if p.From != ServerID || p.Mode != mode || p.Channel != ch || !bytes.Equal(p.Data, msg) {
					t.Fatalf("client got %+v", p)
				}
			}
		}
	}

	// broadcast to all but one
	except := clients[0].ID()
	if err := m.Send(-except, 1, Reliable, []byte("all but one")); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients[1:] {
		if p := waitPacket(t, c); string(p.Data) != "all but one" {
			t.Fatalf("got %q", p.Data)
		}
	}
	// an empty message and a 256 KiB one (fragmented), both reliable; and
	// a large unreliable one (through SCTP, unordered)
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16)
	for _, msg := range [][]byte{{}, big} {
		if err := clients[1].Send(0, Reliable, msg); err != nil {
			t.Fatal(err)
		}
		if p := waitPacket(t, m); !bytes.Equal(p.Data, msg) {
			t.Fatalf("reliable message of %d bytes arrived as %d bytes", len(msg), len(p.Data))
		}
	}
	if err := m.Send(clients[1].ID(), 2, UnreliableOrdered, big[:20000]); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, clients[1]); !bytes.Equal(p.Data, big[:20000]) || p.Mode != UnreliableOrdered || p.Channel != 2 {
		t.Fatalf("large unreliable message: %d bytes, mode %d, channel %d", len(p.Data), p.Mode, p.Channel)
	}
	if _, ok := clients[0].Pop(); ok {
		t.Fatal("the excluded client received the broadcast")
	}
	if err := m.Send(12345, 0, Reliable, []byte("x")); err != ErrUnknownPeer {
		t.Fatalf("send to an unknown peer: %v", err)
	}
	if err := clients[0].Send(MaxChannels, Reliable, []byte("x")); err != ErrBadChannel {
		t.Fatalf("channel out of range: %v", err)
	}
	if err := clients[0].Send(0, Reliable, make([]byte, MaxMessage+1)); err != ErrTooLarge {
		t.Fatalf("oversized message: %v", err)
	}

	// a kick with a reason the client sees
	if err := m.Disconnect(clients[2].ID(), "kicked: cheating", false); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, clients[2], PeerDisconnected); ev.Reason != "kicked: cheating" {
		t.Fatalf("kicked client's reason: %q", ev.Reason)
	}
	if ev := waitEvent(t, m, PeerDisconnected); ev.Peer != clients[2].ID() {
		t.Fatalf("server event %+v", ev)
	}
	// a client leaving
	clients[1].Close("bye from client")
	if ev := waitEvent(t, m, PeerDisconnected); ev.Peer != clients[1].ID() || ev.Reason != "bye from client" {
		t.Fatalf("server event %+v", ev)
	}
	// the server closing
	m.Close("server shutting down")
	if ev := waitEvent(t, clients[0], PeerDisconnected); ev.Reason != "server shutting down" {
		t.Fatalf("client saw %q", ev.Reason)
	}
	if clients[0].Status() != Disconnected {
		t.Fatal("status after the server left")
	}
}

func TestFullAndRefusingServers(t *testing.T) {
	m := startServer(t, 1, Options{})
	first := dial(t, port(m), Options{})
	waitEvent(t, first, PeerConnected)
	waitEvent(t, m, PeerConnected)
	second := dial(t, port(m), Options{})
	if ev := waitEvent(t, second, ConnectFailed); !strings.Contains(ev.Reason, "full") {
		t.Fatalf("second client: %q", ev.Reason)
	}
	first.Close("")
	waitEvent(t, m, PeerDisconnected)
	m.SetRefusing(true)
	third := dial(t, port(m), Options{})
	if ev := waitEvent(t, third, ConnectFailed); !strings.Contains(ev.Reason, "not accepting new connections") || !strings.Contains(ev.Reason, "AccessDenied") {
		t.Fatalf("third client: %q", ev.Reason)
	}
	if ev, ok := m.NextEvent(); ok {
		t.Fatalf("refused clients produced a server event: %+v", ev)
	}
}

// TestReliableUnderLoss sends 10,000 reliable messages through a relay
// that loses and reorders datagrams; each must arrive once, in order.
func TestReliableUnderLoss(t *testing.T) {
	for _, loss := range []float64{0.05, 0.20} {
		t.Run(strings.TrimSuffix(strings.TrimSuffix(time.Duration(loss*100).String(), "ns"), "")+"pct", func(t *testing.T) {
			m := startServer(t, 4, Options{})
			relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Loss: loss, Reorder: 0.05})
			if err != nil {
				t.Fatal(err)
			}
			defer relay.Close()
			c := dial(t, relay.Addr().Port, Options{Timeout: 30 * time.Second})
			waitEvent(t, c, PeerConnected)
			waitEvent(t, m, PeerConnected)
			const n = 10000
			go func() {
				for i := 0; i < n; i++ {
					msg := make([]byte, 8)
					binary.BigEndian.PutUint64(msg, uint64(i))
					for c.Send(i%2, Reliable, msg) != nil { // the send buffer is bounded: wait for room
						time.Sleep(time.Millisecond)
					}
				}
			}()
			next := [2]uint64{0, 1}
			for got := 0; got < n; got++ {
				p, ok := Packet{}, false
				for deadline := time.Now().Add(20 * time.Second); !ok && time.Now().Before(deadline); {
					if p, ok = m.Pop(); !ok {
						time.Sleep(time.Millisecond)
					}
				}
				if !ok {
					st, _ := c.Stats()
					sst, _ := m.Stats(c.ID())
					t.Fatalf("stalled after %d messages: client %+v; server's view %+v; relay forwarded %d dropped %d", got, st, sst, relay.Forwarded.Load(), relay.Dropped.Load())
				}
				v := binary.BigEndian.Uint64(p.Data)
				if v != next[p.Channel] {
					t.Fatalf("channel %d: got message %d, want %d", p.Channel, v, next[p.Channel])
				}
				next[p.Channel] += 2
			}
			st, _ := c.Stats()
			if relay.Dropped.Load() == 0 || st.Retransmissions == 0 {
				t.Fatalf("the relay dropped %d datagrams and SCTP retransmitted %d chunks: the test did not test loss", relay.Dropped.Load(), st.Retransmissions)
			}
			t.Logf("loss %.0f%%: relay dropped %d, reordered %d; client retransmitted %d chunks", loss*100, relay.Dropped.Load(), relay.Reordered.Load(), st.Retransmissions)
		})
	}
}

// TestUnreliableOrderedNeverGoesBack: through a reordering relay, an
// ordered channel delivers increasing sequence numbers only, and an
// unordered one delivers the late ones too.
func TestUnreliableOrderedNeverGoesBack(t *testing.T) {
	m := startServer(t, 4, Options{})
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Reorder: 0.3, Loss: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	c := dial(t, relay.Addr().Port, Options{})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	const n = 2000
	// one channel after the other: the relay swaps neighbouring datagrams,
	// which must belong to the same channel for it to reorder a channel
	for _, ch := range []int{0, 1} {
		mode := []Mode{UnreliableOrdered, Unreliable}[ch]
		for i := 0; i < n; i++ {
			msg := make([]byte, 4)
			binary.BigEndian.PutUint32(msg, uint32(i))
			_ = c.Send(ch, mode, msg)
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	if !relay.WaitQuiet(300*time.Millisecond, 20*time.Second) {
		t.Fatal("the relay was still forwarding after 20 s")
	}
	time.Sleep(50 * time.Millisecond) // the last datagrams' way from the relay into the inbox
	last, ordered, unorderedLate := -1, 0, 0
	lastUnordered := -1
	for {
		p, ok := m.Pop()
		if !ok {
			break
		}
		v := int(binary.BigEndian.Uint32(p.Data))
		if p.Channel == 0 {
			if v <= last {
				t.Fatalf("ordered channel delivered %d after %d", v, last)
			}
			last = v
			ordered++
		} else {
			if v < lastUnordered {
				unorderedLate++
			}
			lastUnordered = max(lastUnordered, v)
		}
	}
	if ordered == 0 || unorderedLate == 0 || relay.Reordered.Load() == 0 {
		t.Fatalf("ordered delivered %d, unordered late %d, relay reordered %d: the test saw no reordering", ordered, unorderedLate, relay.Reordered.Load())
	}
	t.Logf("ordered: %d of %d delivered; unordered: %d arrived late and were delivered", ordered, n, unorderedLate)
}

// TestSilentPeerTimesOut: a client that vanishes (its relay stops) is
// disconnected by the server's timeout, and the client by its own.
func TestSilentPeerTimesOut(t *testing.T) {
	opts := Options{Timeout: time.Second}
	m := startServer(t, 4, opts)
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, relay.Addr().Port, opts)
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	relay.Close()
	if ev := waitEvent(t, m, PeerDisconnected); !strings.Contains(ev.Reason, "timed out") {
		t.Fatalf("server: %q", ev.Reason)
	}
	if ev := waitEvent(t, c, PeerDisconnected); !strings.Contains(ev.Reason, "timed out") {
		t.Fatalf("client: %q", ev.Reason)
	}
}

func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		pair := testcert.ECDSA(t)
		cr, _ := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
		srv := server.New(server.Config{})
		_ = srv.SetCertificate(cr)
		if err := srv.Listen(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		m := NewServer(srv, 8, Options{})
		var cs []*Client
		for range 4 {
			c, err := Dial("127.0.0.1", srv.LocalPort(), client.Config{Insecure: true}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
			waitEvent(t, c, PeerConnected)
			_ = c.Send(0, Reliable, []byte("x"))
		}
		cs[0].Close("")
		m.Close("")
		for _, c := range cs[1:] {
			c.Close("")
		}
	}()
	noGoroutineLeft(t, before)
}

// TestMalformedRecordsKeepTheSession: an authenticated peer sending
// truncated, unknown and out-of-range records inside its DTLS session
// costs nothing but those records: the session goes on and nothing of
// them reaches the game.
func TestMalformedRecordsKeepTheSession(t *testing.T) {
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	car := c.sess.Load().car
	junk := [][]byte{
		{},                              // empty record
		{0x7f, 1, 2, 3},                 // unknown kind
		{kindData},                      // data without a header
		{kindData, 0, 1, 0, 0},          // truncated sequence
		{kindData, 0, 9, 0, 0, 0, 1, 5}, // unknown transfer mode
		{kindData, 0, byte(Reliable), 0, 0, 0, 1, 5}, // reliable is never a data record
		{kindPing, 1, 2}, // short ping
		{kindPong, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 2}, // pong of no ping, wrong size
		{kindPong, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1},    // pong of no ping
		// (malformed SCTP ends the session: rogue_test.go)
	}
	for i := 0; i < 50; i++ {
		for _, j := range junk {
			if err := car.Send(j); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Send(0, Reliable, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if p := waitPacket(t, m); string(p.Data) != "still here" {
		t.Fatalf("the game got %q (mode %d): a malformed record reached it", p.Data, p.Mode)
	}
	if n := m.Available(); n != 0 {
		t.Fatalf("%d more packets reached the game", n)
	}
	if st, err := m.Stats(c.ID()); err != nil || st.RTT < 0 {
		t.Fatalf("the session is gone: %v", err)
	}
}

// TestSlowServerSideSetupIsRetried: the server's side of a session starts
// SCTP 1.5 s late (as under loss, when its round-trip probe needs
// retries), longer than pion's 8 INIT retransmissions at a game's
// retransmission timeout last. The client must start its association
// over and connect, not fail the setup.
func TestSlowServerSideSetupIsRetried(t *testing.T) {
	testBeforeSCTP = func(isServer bool) {
		if isServer {
			time.Sleep(1500 * time.Millisecond)
		}
	}
	t.Cleanup(func() { testBeforeSCTP = nil })
	before := runtime.NumGoroutine()
	func() {
		m := startServer(t, 4, Options{})
		defer m.Close("")
		c := dial(t, port(m), Options{})
		defer c.Close("")
		waitEvent(t, c, PeerConnected)
		waitEvent(t, m, PeerConnected)
		if err := c.Send(0, Reliable, []byte("after a retried setup")); err != nil {
			t.Fatal(err)
		}
		if p := waitPacket(t, m); string(p.Data) != "after a retried setup" {
			t.Fatalf("got %q", p.Data)
		}
	}()
	// the failed associations' goroutines ended with their attempts
	noGoroutineLeft(t, before)
}

// noGoroutineLeft fails when more goroutines run than before, once the
// ones ending have had 5 s to end.
func noGoroutineLeft(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestAssociationEndEndsTheSession: when the SCTP association ends under a
// live DTLS connection (here the client aborts it), both sessions end. No
// goroutine of the engine waits on the association for that: it is its
// conn's close and read error (attempt.Close, attempt.Read).
func TestAssociationEndEndsTheSession(t *testing.T) {
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	a := c.sess.Load().assoc.Load()
	go a.Abort("the test ends the association") // returns once its read loop ended
	// Missed, the sessions would end later by their idle timeout, with
	// that reason.
	if ev := waitEvent(t, m, PeerDisconnected); ev.Reason != connectionClosed {
		t.Fatalf("server: the session ended with %q, want %q", ev.Reason, connectionClosed)
	}
	if ev := waitEvent(t, c, PeerDisconnected); ev.Reason != connectionClosed {
		t.Fatalf("client: the session ended with %q, want %q", ev.Reason, connectionClosed)
	}
}

// TestLeftPeerUntilTheGameHears: between a peer's end and the game taking
// its PeerDisconnected, the game still counts it as a peer and may send
// to it (SceneMultiplayer does, every frame it syncs): that is dropped
// without an error. Once the event is taken the id is unknown.
func TestLeftPeerUntilTheGameHears(t *testing.T) {
	m := startServer(t, 4, Options{})
	defer m.Close("")
	stay, leave := dial(t, port(m), Options{}), dial(t, port(m), Options{})
	defer stay.Close("")
	for _, c := range []*Client{stay, leave} {
		waitEvent(t, c, PeerConnected)
		waitEvent(t, m, PeerConnected)
	}
	id := leave.ID()
	leave.Close("bye")
	deadline := time.Now().Add(20 * time.Second)
	for _, leaving := m.known(id); !leaving; _, leaving = m.known(id) {
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the client leave")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := m.Send(id, 0, Reliable, []byte("late")); err != nil {
		t.Fatalf("send to a peer whose end the game was not told of: %v", err)
	}
	if err := m.Disconnect(id, "kick", false); err != nil {
		t.Fatalf("disconnect of a peer whose end the game was not told of: %v", err)
	}
	if _, err := m.Stats(id); err != nil {
		t.Fatalf("stats of a peer whose end the game was not told of: %v", err)
	}
	if err := m.Send(0, 0, Reliable, []byte("all")); err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	if p := waitPacket(t, stay); string(p.Data) != "all" {
		t.Fatalf("the staying client got %q", p.Data)
	}
	if ev := waitEvent(t, m, PeerDisconnected); ev.Peer != id || ev.Reason != "bye" {
		t.Fatalf("event %+v", ev)
	}
	if err := m.Send(id, 0, Reliable, []byte("later")); err != ErrUnknownPeer {
		t.Fatalf("send once the game was told: %v, want ErrUnknownPeer", err)
	}
	if err := m.Disconnect(id, "kick", false); err != ErrUnknownPeer {
		t.Fatalf("disconnect once the game was told: %v, want ErrUnknownPeer", err)
	}
	m.mu.Lock()
	n := len(m.leaving)
	m.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d peers still leaving after their ends were taken", n)
	}
}

// TestClientSendsUntilTheGameHears: a client whose server left takes
// messages without an error (dropped) until the game takes its
// PeerDisconnected; then it is not connected.
func TestClientSendsUntilTheGameHears(t *testing.T) {
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	defer c.Close("")
	waitEvent(t, c, PeerConnected)
	m.Close("bye")
	deadline := time.Now().Add(20 * time.Second)
	for c.Status() == Connected {
		if time.Now().After(deadline) {
			t.Fatal("the client never saw the server leave")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := c.Send(0, Reliable, []byte("late")); err != nil {
		t.Fatalf("send after the server left, before the game was told: %v", err)
	}
	waitEvent(t, c, PeerDisconnected)
	if err := c.Send(0, Reliable, []byte("later")); err != ErrNotReady {
		t.Fatalf("send once the game was told: %v, want ErrNotReady", err)
	}
}
