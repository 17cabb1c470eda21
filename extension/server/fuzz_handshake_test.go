package server

// FuzzHandshakeWindow sends one or two datagrams of the fuzzer's from a
// connecting client's address while its handshake is under way: one after
// its cookie came back and before its last flight (ahead), one right
// after that flight (behind). Nothing in a DTLS 1.2 handshake is
// authenticated before its Finished, so a forger there may end the
// handshake; what it must never do is leave it hanging until its timeout,
// or leave a session that says connected and does not echo. Run the
// seeds with go test; fuzz with
//
//	go test ./extension/server -run '^$' -fuzz FuzzHandshakeWindow -fuzztime 60s

import (
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// handshakeWithin is how long a handshake with a forger in it may take to
// complete or end: the client's first retransmission comes after 1 s.
const handshakeWithin = 5 * time.Second

func FuzzHandshakeWindow(f *testing.F) {
	share := make([]byte, 32)
	kx := append([]byte{clientKeyExchange, 0, 0, 33, 0, 2, 0, 0, 0, 0, 0, 33, 32}, share...)
	run := forge.HandshakeSequenceRun(2, clientKeyExchange)
	f.Add(forge.Record(wire.ContentHandshake, 0, 9, kx), []byte(nil))                                                                           // a key exchange ahead of the client's
	f.Add([]byte(nil), forge.Record(wire.ContentHandshake, 0, 9, kx))                                                                           // and behind it
	f.Add(run[0], run[1])                                                                                                                       // seizing pion's epoch-0 window
	f.Add(forge.Record(wire.ContentHandshake, 0, 9, []byte{11, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 1, 0}), []byte(nil))                               // another message at the key exchange's number
	f.Add(forge.Record(wire.ContentHandshake, 0, 9, []byte{16, 0, 0, 40, 0, 2, 0, 0, 0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), []byte(nil)) // a first fragment of a longer one
	f.Add(forge.Record(wire.ContentChangeCipherSpec, 0, 3, []byte{1}), forge.Record(wire.ContentChangeCipherSpec, 1, 200, []byte{1}))
	f.Add([]byte(nil), forge.Record(wire.ContentChangeCipherSpec, 0, 3, []byte{0xfe}))                            // pion's decode_error ended what it had just finished
	f.Add(forge.Record(wire.ContentHandshake, 0, 9, []byte{20, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 1, 0}), []byte(nil)) // an epoch-0 message at the Finished's number
	f.Add(forge.Record(wire.ContentHandshake, 1, 0, make([]byte, 40)), forge.Record(wire.ContentAlert, 1, 5, make([]byte, 26)))
	f.Add(forge.Record(wire.ContentAlert, 0, 7, []byte{2, 40}), forge.Record(wire.ContentApplicationData, 0, 8, []byte{1}))
	// records behind another, and behind one pion passes over (a version it
	// does not read): a fatal alert pion ended the handshake on silently,
	// and a number past every other that moved its window past the renumbering
	stray := forge.Record(wire.ContentHandshake, 0, 9, []byte{clientKeyExchange, 0, 0, 1, 0, 200, 0, 0, 0, 0, 0, 1, 0})
	passedOver := forge.Record(wire.ContentHandshake, 0, 10, []byte{1})
	passedOver[1], passedOver[2] = 3, 3
	f.Add(append(append([]byte(nil), stray...), forge.Record(wire.ContentAlert, 0, 11, []byte{2, 10})...), []byte(nil))
	f.Add(append(append(append([]byte(nil), stray...), passedOver...), forge.Record(wire.ContentHandshake, 0, 1<<48-1, kx)...), []byte(nil))

	// Every input's client comes from 127.0.0.1, and pion's client does not
	// always get its close_notify out: peers it left go after a second,
	// not one per input for the whole run (the per-address cap would then
	// hold the next clients' handshakes, and the run would hang).
	s, _ := startServer(f, suites.ECDSAKey, Config{IdleTimeout: time.Second})
	stopEcho := echoing(s)
	f.Cleanup(func() { stopEcho(); s.Stop() })

	f.Fuzz(func(t *testing.T, ahead, behind []byte) {
		// A panic the server recovered from (a handshake goroutine's, the
		// janitor's, or the reader's, which drops the datagram) fails the
		// input that was running: the handshake may still complete, so
		// only the counter tells.
		defer func() {
			if n := s.Stats().Panics; n != 0 {
				t.Fatalf("the server recovered from %d panics", n)
			}
		}()
		relay, flight, connected := dialHoldingLastFlight(t, s)
		defer relay.Close()
		if len(ahead) > 0 {
			_ = relay.ToServer(ahead)
			time.Sleep(10 * time.Millisecond) // pion has read it before the flight
		}
		_ = relay.ToServer(flight)
		if len(behind) > 0 {
			_ = relay.ToServer(behind)
		}
		select {
		case d := <-connected:
			if d.err != nil {
				return // ended: a forger may do that before the Finished
			}
			defer d.c.Close()
			if err := echoCheckWithin(d.c, "after the forger", handshakeWithin); err != nil {
				t.Fatalf("connected, but the session does not echo: %v", err)
			}
		case <-time.After(handshakeWithin):
			t.Fatalf("the handshake neither completed nor ended within %v", handshakeWithin)
		}
	})
}
