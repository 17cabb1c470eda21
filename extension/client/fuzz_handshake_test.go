package client

// FuzzClientHandshakeWindow sends a connecting client one or two datagrams
// of the fuzzer's from its server's address: one right before the server's
// ServerHello (ahead), one right after it (behind). Nothing in a DTLS 1.2
// handshake is authenticated before its Finished, so a forger there may
// end the handshake, or make the client start over from a new socket; what
// it must never do is leave the handshake hanging until its timeout, or
// leave a client that says connected and does not echo. The server
// package's FuzzHandshakeWindow is the other side. Run the seeds with go
// test; fuzz with
//
//	go test ./extension/client -run '^$' -fuzz FuzzClientHandshakeWindow -fuzztime 60s

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/udprelay"
	"godtls/extension/server"
	"godtls/extension/wire"
)

// outcomeWithin is how long a client's handshake with a forger in it may
// take to connect or end: longer than a start-over for a forged message
// (forgedAfter) or a stale cookie (staleCookieAfter) and the handshake
// after it, far shorter than the fuzzed client's handshake timeout. With
// the echo after it, an input takes under the 10 s after which the fuzzer
// calls its worker deadlocked.
const outcomeWithin = 7 * time.Second

func FuzzClientHandshakeWindow(f *testing.F) {
	passedOver := forge.Record(wire.ContentHandshake, 0, 10, []byte{1})
	passedOver[1], passedOver[2] = 3, 3 // a version pion passes over
	serverHelloDone := func(seq byte) []byte {
		return forge.Record(wire.ContentHandshake, 0, 9, []byte{14, 0, 0, 0, 0, seq, 0, 0, 0, 0, 0, 0})
	}
	f.Add(forge.Record(wire.ContentApplicationData, 0, 11, make([]byte, 24)), []byte(nil)) // ended the handshake
	f.Add(bytes.Join([][]byte{serverHelloDone(200), passedOver, forge.Record(wire.ContentHandshake, 0, 1<<48-1, []byte{14, 0, 0, 0, 0, 201, 0, 0, 0, 0, 0, 0})}, nil), []byte(nil))
	f.Add(forge.Record(wire.ContentHandshake, 0, 9, []byte{11, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0}), []byte(nil)) // a message at the ServerHello's number
	f.Add([]byte(nil), forge.Record(wire.ContentChangeCipherSpec, 0, 12, []byte{0xfe}))
	f.Add(forge.Record(wire.ContentAlert, 0, 9, []byte{1, 100}), forge.Record(wire.ContentAlert, 1, 9, []byte{2, 40}))
	f.Add(serverHelloDone(2), forge.Record(24, 0, 12, []byte{1}))

	s := ourServer(f, testcert.ECDSA(f), nil)
	// Every input's client comes from 127.0.0.1, and the handshakes its
	// forger made the client give up stay on the server until they time
	// out: with the default 10 s, those of a few hundred inputs held the
	// address's share of the server, and the next clients waited.
	if err := s.SetConfig(server.Config{HandshakeTimeout: 2 * time.Second, IdleTimeout: time.Second}); err != nil {
		f.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", s.LocalPort())
	n := 0
	f.Fuzz(func(t *testing.T, ahead, behind []byte) {
		r := aroundServerHello(t, addr, ahead, behind)
		defer r.Close()
		c := connect(t, r.Port(), Config{Insecure: true, HandshakeTimeout: 3 * outcomeWithin})
		deadline := time.Now().Add(outcomeWithin)
		for {
			ev, ok := c.NextEvent()
			if ok {
				if ev.Kind != EventConnected {
					return // ended: a forger may do that before the Finished
				}
				n++
				if err := echoWithin(c, fmt.Sprintf("after the forger %d", n), 2*time.Second); err != nil {
					t.Fatalf("connected, but the client does not echo: %v", err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the handshake neither completed nor ended within %v (status %d)", outcomeWithin, c.Status())
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// aroundServerHello is a relay to server that sends the client ahead
// right before the server's first ServerHello and behind right after it.
func aroundServerHello(t *testing.T, server string, ahead, behind []byte) *udprelay.Relay {
	var (
		r    *udprelay.Relay
		once sync.Once
		wg   sync.WaitGroup
	)
	r = udprelay.New(t, server, nil, func(b []byte) bool {
		if opensWithServerHello(b) {
			once.Do(func() {
				if len(ahead) > 0 {
					_ = r.ToClient(ahead)
				}
				if len(behind) > 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(2 * time.Millisecond) // after the relay passed the ServerHello on
						_ = r.ToClient(behind)
					}()
				}
			})
		}
		return true
	})
	t.Cleanup(wg.Wait)
	return r
}
