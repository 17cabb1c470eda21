package client

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v2/test"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testtool"
	"godtls/extension/internal/udprelay"
	"godtls/extension/server"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// capture keeps a copy of every datagram a relay filter sees.
type capture struct {
	mu    sync.Mutex
	grams [][]byte
}

func (c *capture) filter(b []byte) bool {
	c.mu.Lock()
	c.grams = append(c.grams, append([]byte(nil), b...))
	c.mu.Unlock()
	return true
}

func (c *capture) all() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.grams...)
}

// echoMany sends n packets, at most window of them unanswered, and checks
// that each comes back in order.
func echoMany(t *testing.T, c *Client, n, window int) {
	t.Helper()
	sent, got := 0, 0
	deadline := time.Now().Add(wait)
	for got < n {
		for sent < n && sent-got < window {
			if err := c.Send([]byte(fmt.Sprintf("packet %d", sent))); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		if b, ok := c.Receive(); ok {
			if want := fmt.Sprintf("packet %d", got); string(b) != want {
				t.Fatalf("echo %q, want %q", b, want)
			}
			got++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packets echoed", got, n)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// On the engine's record layer the client numbers every record it sends
// under the session's key from one counter, its Finished (sealed through
// pion) included: no (epoch, sequence number) twice, which with
// ChaCha20-Poly1305 would reuse a nonce. Every server record replayed to
// it is dropped and counted, and none reaches the game.
func TestClientRecordLayerNonceAndReplay(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	s := ourServer(t, testcert.ECDSA(t), nil)
	var up, down capture
	r := udprelay.New(t, fmt.Sprintf("127.0.0.1:%d", s.LocalPort()), up.filter, down.filter)
	defer r.Close()
	c := connect(t, r.Port(), Config{Insecure: true})
	mustConnect(t, c)
	if !suites.IsChaCha(c.CipherSuite()) {
		t.Fatalf("suite %v: the record layer runs on the engine's ChaCha20-Poly1305 suites", c.CipherSuite())
	}
	const packets = 3000
	echoMany(t, c, packets, 32)

	// Replay what the server sent after its Finished.
	var replays [][]byte
	records := 0
	for _, d := range down.all() {
		n := 0
		for _, rec := range testtool.EpochOneRecords([][]byte{d}) {
			if rec.ContentType == wire.ContentApplicationData {
				n++
			}
		}
		if n > 0 {
			replays = append(replays, d)
			records += n
		}
	}
	before := c.Stats()
	for i, d := range replays {
		if err := r.ToClient(d); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // within the socket's buffer
		}
	}
	deadline := time.Now().Add(wait)
	for c.Stats().Replayed-before.Replayed < uint64(records) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	after := c.Stats()
	if got := after.Replayed - before.Replayed; got != uint64(records) {
		t.Fatalf("%d of %d replayed records counted as replays", got, records)
	}
	if after.PacketsIn != before.PacketsIn || c.Available() != 0 {
		t.Fatalf("replays reached the game: %d packets in, %d queued", after.PacketsIn-before.PacketsIn, c.Available())
	}
	echo(t, c, "after the replays")

	c.Close() // its close_notify goes through the relay too
	deadline = time.Now().Add(wait)
	alerts := func() int {
		n := 0
		for _, rec := range testtool.EpochOneRecords(up.all()) {
			if rec.ContentType == wire.ContentAlert {
				n++
			}
		}
		return n
	}
	for alerts() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	captured := testtool.EpochOneRecords(up.all())
	counts := testtool.DistinctSequences(t, captured)
	finished, data := counts[wire.ContentHandshake], counts[wire.ContentApplicationData]
	if finished != 1 || data != packets+1 || counts[wire.ContentAlert] != 1 {
		t.Fatalf("captured %d Finished, %d packets, %d alerts from the client; want 1, %d, 1", finished, data, counts[wire.ContentAlert], packets+1)
	}
	t.Logf("%d epoch-1 records from the client, each with its own sequence number; %d replayed records dropped",
		len(captured), records)
}

// greetingServer is the engine's server, which sends greeting (by default
// two packets, "first" and "second") to every new peer and disconnects it
// (the close_notify follows them). Where the handshake's end and those
// records race, they arrive before the client's handshake has returned, in
// the gap before the record layer takes over. (pion's own server would do,
// but pion v2's Close can drop its close_notify: link's
// TestReadLoopDeliversAndCloses.)
func greetingServer(t *testing.T, greeting ...string) *net.UDPAddr {
	if len(greeting) == 0 {
		greeting = twoGreetings
	}
	s := engineServer(t, testcert.ECDSA(t), nil, func(s *server.Server) {
		for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
			for _, g := range greeting {
				_ = p.Send([]byte(g))
			}
			p.Disconnect()
		}
	})
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.LocalPort()}
}

var twoGreetings = []string{"first", "second"}

// greetings returns what client c received of a greetingServer's n
// packets within wait.
func greetings(c *Client, n int) []string {
	var got []string
	for deadline := time.Now().Add(wait); len(got) < n && time.Now().Before(deadline); {
		if b, ok := c.Receive(); ok {
			got = append(got, string(b))
			continue
		}
		time.Sleep(time.Millisecond)
	}
	return got
}

// greetedInOrder reports whether got is a greetingServer's two packets,
// in order.
func greetedInOrder(got []string) bool { return slices.Equal(got, twoGreetings) }

// mustBeClosedByServer fails unless c's next event is the server's close.
func mustBeClosedByServer(t *testing.T, c *Client) {
	t.Helper()
	if ev := outcome(t, c); ev.Kind != EventDisconnected || ev.Failure.Kind != FailClosedByServer {
		t.Fatalf("event %d (%v), want the server's close", ev.Kind, ev.Failure)
	}
}

// What the server sends right after its Finished, and its close_notify,
// reach the game in order, however the client's handshake and the server's
// first records race: nothing received is lost to pion's connection as the
// record layer takes over. Half the connections run through a relay that
// holds the server's Finished back until its packets and close_notify have
// arrived, which puts them all in the gap every time.
func TestClientKeepsWhatArrivesBeforeTheTakeOver(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	srv := greetingServer(t)
	for i := 0; i < 30; i++ {
		port := srv.Port
		if i%2 == 1 {
			r := finishedLast(t, srv.String(), 0, false)
			defer r.Close()
			port = r.Port()
		}
		c := connect(t, port, Config{Insecure: true})
		if ev := outcome(t, c); ev.Kind != EventConnected { // and maybe closed already
			t.Fatalf("connection %d failed: %v", i, ev.Failure)
		}
		if got := greetings(c, 2); !greetedInOrder(got) {
			t.Fatalf("connection %d received %q, want [first second]", i, got)
		}
		mustBeClosedByServer(t, c)
		c.Close()
	}
}

// A burst from the server in the same gap (a game's welcome, the world's
// state) is kept as the receive queue would keep it, not cut at a few
// datagrams; a replay of each of its records from the server's address
// takes no place and never reaches the game. (The receive queue holds the
// burst and no more, so that replays kept would crowd the server's
// records out.)
func TestClientKeepsABurstBeforeTheTakeOver(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	const burst = 64
	var greeting []string
	for i := range burst {
		greeting = append(greeting, fmt.Sprintf("packet %d", i))
	}
	srv := greetingServer(t, greeting...)
	r := finishedLast(t, srv.String(), 0, true)
	defer r.Close()
	c := connect(t, r.Port(), Config{Insecure: true, RecvQueue: burst})
	defer c.Close()
	if ev := outcome(t, c); ev.Kind != EventConnected {
		t.Fatalf("connection failed: %v", ev.Failure)
	}
	got := greetings(c, burst)
	if !slices.Equal(got, greeting) {
		t.Fatalf("received %d packets of %d (%q ...)", len(got), burst, got[:min(len(got), 4)])
	}
	mustBeClosedByServer(t, c)
	if st := c.Stats(); st.Replayed != burst || st.Dropped != 0 || c.Available() != 0 {
		t.Fatalf("%d replays counted, %d dropped, %d more queued; want %d, 0, 0", st.Replayed, st.Dropped, c.Available(), burst)
	}
}

// The same gap with a forger on the server's address: it sends the client
// application records under the session's epoch while the server's
// Finished is on its way, more than the gap's store holds. They must not
// take the places of the server's own first records.
func TestForgedRecordsCannotCrowdOutWhatArrivesBeforeTheTakeOver(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	srv := greetingServer(t)
	const places = 16 // the receive queue's, and the gap's store's
	const forged = 4 * places
	r := finishedLast(t, srv.String(), forged, false)
	defer r.Close()
	c := connect(t, r.Port(), Config{Insecure: true, RecvQueue: places})
	defer c.Close()
	if ev := outcome(t, c); ev.Kind != EventConnected {
		t.Fatalf("connection failed: %v", ev.Failure)
	}
	got := greetings(c, 2)
	st := c.Stats()
	t.Logf("%d forged records sent before the server's Finished: %d failed authentication; received %q", forged, st.AuthFailed, got)
	if !greetedInOrder(got) {
		t.Fatalf("received %q, want [first second]", got)
	}
	mustBeClosedByServer(t, c)
	if st.AuthFailed != forged {
		t.Errorf("%d of %d forged records failed authentication: some were never opened", st.AuthFailed, forged)
	}
}

// Before the client has its keys, nothing can check the server's epoch-1
// records, and they go to pion, which holds at most 100 of them until it
// has the keys and then drops those that fail. No genuine record can be
// among them (the server writes under the keys only after the client's
// last flight, which the client sends once it has them). Forged ones, more
// than pion holds, application data and fatal alerts, must cost the
// session nothing, nor take the places of what the client keeps before it
// takes the session over: the server's first records and its close still
// reach the game.
func TestForgedRecordsBeforeTheClientsKeysCrowdOutNothing(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	srv := greetingServer(t)
	var forged [][]byte
	for i := range 150 {
		if i%2 == 0 {
			forged = append(forged, forge.Record(wire.ContentApplicationData, 1, uint64(i), make([]byte, 64)))
		} else {
			forged = append(forged, forge.Record(wire.ContentAlert, 1, uint64(i), []byte{2, 40}))
		}
	}
	// The server's Finished held back: its greetings and close arrive in
	// the gap before the take-over, where the client keeps them.
	held := finishedLast(t, srv.String(), 0, false)
	defer held.Close()
	r := beforeServerHello(t, held.Addr(), forged)
	defer r.Close()
	c := connect(t, r.Port(), Config{Insecure: true})
	defer c.Close()
	if ev := outcome(t, c); ev.Kind != EventConnected {
		t.Fatalf("connection failed: %v", ev.Failure)
	}
	got := greetings(c, 2)
	if !greetedInOrder(got) {
		t.Fatalf("received %q, want [first second]", got)
	}
	mustBeClosedByServer(t, c)
}

// finishedLast is a relay that holds back the first datagram carrying the
// server's Finished (an epoch-1 handshake record) and sends it on 50 ms
// later, after what the server sent next. With forged > 0 it first sends
// the client that many forged application records of epoch 1, from the
// server's address as the client sees it. With replay, every datagram of
// the server's application data is sent twice, a replay from the server's
// address.
func finishedLast(t *testing.T, server string, forged int, replay bool) *udprelay.Relay {
	var (
		r    *udprelay.Relay
		once sync.Once
		wg   sync.WaitGroup
	)
	r = udprelay.New(t, server, nil, func(b []byte) bool {
		for _, rec := range testtool.EpochOneRecords([][]byte{b}) {
			if replay && rec.ContentType == wire.ContentApplicationData {
				_ = r.ToClient(b)
				break
			}
			if rec.ContentType != wire.ContentHandshake {
				continue
			}
			held := false
			once.Do(func() {
				held = true
				for i := range forged {
					_ = r.ToClient(forge.Record(wire.ContentApplicationData, 1, 1000+uint64(i), make([]byte, 64)))
				}
				finished := append([]byte(nil), b...)
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(50 * time.Millisecond)
					_ = r.ToClient(finished)
				}()
			})
			return !held
		}
		return true
	})
	t.Cleanup(wg.Wait)
	return r
}

// beforeServerHello is a relay that sends the client the forged datagrams,
// from the server's address as the client sees it, right before the
// server's first ServerHello: while the client has no keys yet.
func beforeServerHello(t *testing.T, server string, forged [][]byte) *udprelay.Relay {
	var (
		r    *udprelay.Relay
		once sync.Once
	)
	r = udprelay.New(t, server, nil, func(b []byte) bool {
		if opensWithServerHello(b) {
			once.Do(func() {
				for _, d := range forged {
					_ = r.ToClient(d)
				}
			})
		}
		return true
	})
	return r
}

// serverHello is the handshake type of the message that opens the
// server's flight after its HelloVerifyRequest (RFC 5246 §7.4).
const serverHello = 2

// opensWithServerHello reports whether datagram b starts with the server's
// ServerHello (an epoch-0 handshake record).
func opensWithServerHello(b []byte) bool {
	return len(b) > 13 && b[0] == wire.ContentHandshake && b[3] == 0 && b[4] == 0 && b[13] == serverHello
}

// A connected client on the engine's suites keeps two goroutines, its
// record layer's reader and its writer; pion's two (and the one its socket
// wrapper starts for every read and write) are gone.
func TestConnectedClientGoroutines(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	s := ourServer(t, testcert.ECDSA(t), nil)
	first := connect(t, s.LocalPort(), Config{Insecure: true})
	mustConnect(t, first)
	echo(t, first, "warm") // the library's own goroutines are started
	settle := func() int {
		time.Sleep(300 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	const n = 8
	for i := 0; i < n; i++ {
		c := connect(t, s.LocalPort(), Config{Insecure: true})
		mustConnect(t, c)
		echo(t, c, "hello")
	}
	after := settle()
	if per := float64(after-before) / n; per > 2 {
		t.Fatalf("%.2f goroutines per connected client (%d before, %d after %d clients), want 2", per, before, after, n)
	}
	t.Logf("%d goroutines for %d connected clients", after-before, n)
}

// A connected client's heap, its server's peer included (both in this
// process): the client's send queue grows with what waits. As a channel
// of its bound it was 320 KiB per client, allocated when it connected.
func TestConnectedClientHeap(t *testing.T) {
	s := ourServer(t, testcert.ECDSA(t), nil)
	first := connect(t, s.LocalPort(), Config{Insecure: true})
	mustConnect(t, first)
	echo(t, first, "warm")
	live := func() uint64 {
		time.Sleep(300 * time.Millisecond) // handshakes' goroutines end
		return testtool.HeapAfterGC()
	}
	before := live()
	const n = 20
	for i := 0; i < n; i++ {
		c := connect(t, s.LocalPort(), Config{Insecure: true})
		mustConnect(t, c)
		echo(t, c, "hello")
	}
	per := (float64(live()) - float64(before)) / n / 1024
	t.Logf("%.1f KiB of heap per connected client and its server peer", per)
	if per > 64 {
		t.Fatalf("%.1f KiB of heap per connected client, want at most 64", per)
	}
}
