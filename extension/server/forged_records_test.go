package server

// A connected player's session, and a handshake under way, against records
// forged from the player's own address (attack_test.go crafts them).

import (
	"crypto/rand"
	"net/netip"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// ---- D1: one spoofed datagram never ends a player's session ------------------

func TestSpoofedDatagramsFromAPlayersAddressDoNotEndItsSession(t *testing.T) {
	defer checkRoutines(t)()
	raw := newRawSender(t)
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()
	hello := captureClientHello(t)

	player := dial(t, s, clientConfig(suites.ECDSAKey))
	defer player.Close()
	roundTrip(t, player, "before")
	from := addrPort(t, udpOf(player).LocalAddr())
	to := netip.MustParseAddrPort(serverAddr(s))

	attacks := map[string][]byte{
		"a cookieless ClientHello with a new random": withRandom(hello, 0x5a),
		"a ClientHello with a made-up cookie":        withCookie(withRandom(hello, 0x5b), []byte("0123456789abcdefghij")),
		"an epoch-0 fatal alert":                     epochZeroRecord(wire.ContentAlert, 2, 40),
		"an epoch-0 warning alert":                   epochZeroRecord(wire.ContentAlert, 1, 0),
		"epoch-0 application data":                   epochZeroRecord(wire.ContentApplicationData, 1, 2, 3, 4),
		"an epoch-0 handshake record":                epochZeroRecord(wire.ContentHandshake, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	}
	for name, b := range attacks {
		raw.send(t, from, to, b)
		time.Sleep(50 * time.Millisecond)
		if err := echoCheck(player, "after "+name); err != nil {
			t.Fatalf("after %s the player lost its session: %v", name, err)
		}
	}
	for ev, ok := s.NextEvent(); ok; ev, ok = s.NextEvent() {
		if ev.Kind == EventDisconnected {
			t.Fatalf("the player was disconnected: %s", ev.Reason)
		}
	}
	st := s.Stats()
	if st.Peers != 1 || st.PostHandshakeDropped < 4 {
		t.Fatalf("peers %d, epoch-0 records dropped %d", st.Peers, st.PostHandshakeDropped)
	}
	t.Logf("after 6 forged datagrams from the player's ip:port: still connected; %d epoch-0 records dropped, %d spoofed", st.PostHandshakeDropped, st.Spoofed)
}

// After its cookie, a client's handshake records are epoch 0: nothing
// authenticates them, their sequence numbers included. Forged ones from the
// client's address, one far ahead and a run over the numbers the client
// uses next, must not make the server refuse the client's last flight as
// replays: pion's epoch-0 replay window took them as genuine, and the
// handshake hung, every retransmission refused, until its timeout.
func TestForgedEpochZeroSequenceNumbersCannotHangAHandshake(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()

	relay, flight, connected := dialHoldingLastFlight(t, s)
	defer relay.Close()
	// the client's flights take the numbers after its two ClientHellos (0, 1)
	for _, d := range forge.HandshakeSequenceRun(2, clientKeyExchange) {
		if err := relay.ToServer(d); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // routed to pion before the client's flight
	if err := relay.ToServer(flight); err != nil {
		t.Fatal(err)
	}
	player := handshakeReturns(t, connected)
	defer player.Close()
	roundTrip(t, player, "after the forged sequence numbers")
}

// A ClientKeyExchange forged from the client's address, well formed (an
// X25519 share is any 32 bytes), ahead of the client's own: pion derives
// the session's keys from the first it gets, and the client's Finished
// then fails to open. The handshake hung, both ends waiting for their
// timeouts; it must end at once, and tell the client. Sent after the
// client's own, or ahead of it with a message number pion never takes, the
// forged one must change nothing.
func TestForgedKeyExchangeEndsTheHandshakeAtOnce(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()

	t.Run("ahead of the client's", func(t *testing.T) {
		relay, flight, connected := dialHoldingLastFlight(t, s)
		defer relay.Close()
		if err := relay.ToServer(forgedKeyExchange(t)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // pion derives its keys from it
		start := time.Now()
		if err := relay.ToServer(flight); err != nil {
			t.Fatal(err)
		}
		err := handshakeFailsAtOnce(t, connected, start, "under keys pion derived from a forged key exchange")
		t.Logf("the client's handshake ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
		t.Logf("reported: %s", nextEvent(t, s, EventHandshakeFailed).Reason)
	})
	t.Run("one pion never uses, ahead of the client's", func(t *testing.T) {
		relay, flight, connected := dialHoldingLastFlight(t, s)
		defer relay.Close()
		// a whole key exchange with a message number no flight takes
		stray := forgedKeyExchange(t)
		stray[wire.RecordHeaderLen+5] = 200
		if err := relay.ToServer(stray); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if err := relay.ToServer(flight); err != nil {
			t.Fatal(err)
		}
		player := handshakeReturns(t, connected)
		defer player.Close()
		roundTrip(t, player, "after a key exchange pion never used")
	})
	t.Run("after the client's", func(t *testing.T) {
		// pion has the client's flight and has finished; its handshake
		// goroutine waits here, before the session is handed over
		reached, open := holdAfterPion(t)
		defer open()
		player := dial(t, s, clientConfig(suites.ECDSAKey))
		defer player.Close()
		waitOrFail(t, reached, "the handshake never finished")
		// the forger's key exchange, with a Finished of its own that opens
		// under no key, from the player's own socket
		garbage := forge.Record(wire.ContentHandshake, 1, 0, make([]byte, 40))
		forged := append(forgedKeyExchange(t), garbage...)
		if _, err := udpOf(player).Write(forged); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		open()
		roundTrip(t, player, "after the forged key exchange")
	})
}

// forgedKeyExchange is a forger's ClientKeyExchange for an ECDHE suite on
// X25519: handshake message 2 of a pion client (after its two
// ClientHellos), a share of 32 random bytes.
func forgedKeyExchange(t *testing.T) []byte {
	share := make([]byte, 32)
	if _, err := rand.Read(share); err != nil {
		t.Fatal(err)
	}
	body := []byte{clientKeyExchange, 0, 0, 33, 0, 2, 0, 0, 0, 0, 0, 33, 32}
	return forge.Record(wire.ContentHandshake, 0, 9, append(body, share...))
}

// A ChangeCipherSpec no client sends (a body other than the one byte 1, or
// at epoch 1), forged from the client's address while pion's handshake
// has just finished and the session is not yet handed over: pion answered
// it with a fatal decode_error alert, and the client's new connection was
// gone (found by FuzzHandshakeWindow).
func TestAStrayChangeCipherSpecCannotEndAHandshake(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()
	for _, forged := range [][]byte{
		forge.Record(wire.ContentChangeCipherSpec, 0, 9, []byte{0xfe}),
		forge.Record(wire.ContentChangeCipherSpec, 0, 9, []byte{1, 1}),
		forge.Record(wire.ContentChangeCipherSpec, 1, 9, []byte{1}),
	} {
		reached, open := holdAfterPion(t)
		player := dial(t, s, clientConfig(suites.ECDSAKey))
		waitOrFail(t, reached, "the handshake never finished")
		if _, err := udpOf(player).Write(forged); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // routed while pion's goroutine waits
		open()
		if err := echoCheck(player, "after a stray ChangeCipherSpec"); err != nil {
			t.Fatalf("after % x: %v", forged, err)
		}
		player.Close()
	}
}

// Between pion's finished handshake and the hand-over, a connected client's
// epoch-1 records are held for whoever reads them next (session.early): on
// pion's CBC fallback that is pion, and nothing can authenticate them
// before. An epoch-0 fatal alert behind such a record, forged from the
// client's address, reached pion with it: the new connection ended at
// its hand-over.
func TestARecordBehindAHeldOneCannotEndANewConnection(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()
	for name, player := range players() {
		t.Run(name, func(t *testing.T) {
			reached, open := holdAfterPion(t)
			defer open()
			c := dial(t, s, player.config)
			defer c.Close()
			waitOrFail(t, reached, "the handshake never finished")
			held := forge.Record(wire.ContentApplicationData, 1, 1<<40, make([]byte, 48))
			forged := append(held, forge.Record(wire.ContentAlert, 0, 1<<40, []byte{2, 10})...)
			if _, err := udpOf(c).Write(forged); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // routed while pion's goroutine waits
			open()
			roundTrip(t, c, "after a fatal alert behind a held record")
		})
	}
}

// pion reads every record of a datagram: it passes over one whose version
// it does not read and goes on to the next. Routing looked at a datagram's
// first record, and its scans stopped where a record was not DTLS 1.0 or
// 1.2, so records behind those reached pion unseen. Each of these, forged
// from the client's address before its last flight, ended the handshake
// (pion's fatal alert to the client) or hung it until its timeout.
func TestRecordsBehindAnotherCannotEndAHandshake(t *testing.T) {
	defer checkRoutines(t)()
	t.Run("listen", func(t *testing.T) {
		s, _ := startServer(t, suites.ECDSAKey, Config{})
		defer s.Stop()
		defer echoing(s)()
		recordsBehindAnother(t, serverAddr(s))
	})
	t.Run("UDPServer mode", func(t *testing.T) {
		s := newAttachServer(t)
		defer s.Stop()
		u := newPump(t, s, 5*time.Millisecond)
		u.echo, u.forgetEnded = true, true
		defer u.start()()
		recordsBehindAnother(t, u.addr())
	})
}

// recordsBehindAnother has clients connect to the server at addr, each
// with a datagram forged from its address before its last flight, and
// fails unless each connects and echoes.
func recordsBehindAnother(t *testing.T, addr string) {
	// a message at a number no flight takes: pion keeps it and reads on
	stray := forge.Record(wire.ContentHandshake, 0, 9, []byte{clientKeyExchange, 0, 0, 1, 0, 200, 0, 0, 0, 0, 0, 1, 0})
	passedOver := forge.Record(wire.ContentHandshake, 0, 10, []byte{1})
	passedOver[1], passedOver[2] = 3, 3 // TLS 1.2's version: pion passes over it
	for _, c := range []struct {
		name   string
		hidden []byte
	}{
		{"epoch-0 application data", forge.Record(wire.ContentApplicationData, 0, 11, make([]byte, 20))},
		{"an epoch-0 fatal alert", forge.Record(wire.ContentAlert, 0, 11, []byte{2, 10})},
		{"a content type DTLS does not have", forge.Record(24, 0, 11, []byte{1})},
		{"a ChangeCipherSpec of another body", forge.Record(wire.ContentChangeCipherSpec, 0, 11, []byte{2})},
		{"an epoch-0 record numbered past every other", forge.Record(wire.ContentHandshake, 0, 1<<48-1, []byte{clientKeyExchange, 0, 0, 1, 0, 201, 0, 0, 0, 0, 0, 1, 0})},
	} {
		for _, behind := range []struct {
			name string
			b    []byte // nil: a replay of one of the client's ClientHellos
			// hold picks the client's datagram held back until the forged
			// one is sent
			hold func([]byte) bool
			// hello picks the ClientHello replayed
			hello func([]byte) bool
		}{
			{"a handshake record", stray, opensLastFlight, nil},
			{"a record pion passes over", append(append([]byte(nil), stray...), passedOver...), opensLastFlight, nil},
			{"the client's ClientHello with its cookie", nil, opensLastFlight, helloWithCookie},
			{"the client's first ClientHello, before its cookie came back", nil, helloWithCookie, helloWithoutCookie},
		} {
			t.Run(c.name+" behind "+behind.name, func(t *testing.T) {
				d := dialHolding(t, addr, behind.hold)
				defer d.relay.Close()
				first := behind.b
				if first == nil {
					first = d.first(t, behind.hello) // replayed: it takes the ClientHello route
				}
				if err := d.relay.ToServer(append(append([]byte(nil), first...), c.hidden...)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond) // routed, and read by pion if passed
				if err := d.relay.ToServer(d.held); err != nil {
					t.Fatal(err)
				}
				player := handshakeReturns(t, d.connected)
				defer player.Close()
				roundTrip(t, player, "after "+c.name)
			})
		}
	}
}
