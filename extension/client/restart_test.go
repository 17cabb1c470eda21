package client

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2/pkg/protocol/alert"
	"github.com/pion/transport/v2/test"

	"godtls/extension/credentials"
	"godtls/extension/internal/forge"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/internal/udprelay"
	"godtls/extension/link"
	"godtls/extension/server"
	"godtls/extension/wire"
)

// A server that forgets a handshake after our cookie (here: the address
// leads to a fresh server from the moment our ClientHello with the cookie
// leaves, as if the first had restarted in between) never answers our
// retransmissions, which carry that cookie; the client starts over from a
// new socket and gets in.
func TestClientStartsOverWhenTheServerForgetsItsCookie(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	pair := testcert.ECDSA(t)
	cred, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	listen := func() *server.Server {
		s := server.New(server.Config{})
		if err := s.SetCertificate(cred); err != nil {
			t.Fatal(err)
		}
		if err := s.Listen(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s
	}
	first, fresh := listen(), listen()
	// From the first ClientHello with a cookie on, the address leads to
	// the fresh server. The filter runs on the relay's goroutine: it finds
	// the relay through an atomic, set before the client sends anything.
	var relay atomic.Pointer[udprelay.Relay]
	var switched atomic.Bool
	r := udprelay.New(t, fmt.Sprintf("127.0.0.1:%d", first.LocalPort()), func(b []byte) bool {
		if wire.Classify(b).HasCookie && !switched.Swap(true) {
			if err := relay.Load().SwitchTo(fmt.Sprintf("127.0.0.1:%d", fresh.LocalPort())); err != nil {
				t.Errorf("switching servers: %v", err)
			}
		}
		return true
	}, nil)
	relay.Store(r)
	t.Cleanup(r.Close)
	c := connect(t, r.Port(), Config{Insecure: true, HandshakeTimeout: 20 * time.Second})
	mustConnect(t, c)
	if n := c.restarts.Load(); n == 0 {
		t.Fatal("connected without starting over: the test did not reach the stale cookie")
	}
	// The client is in once it has the server's Finished; the server's
	// handshake goroutine counts the handshake a moment later.
	st := fresh.Stats()
	for wait := time.Now().Add(10 * time.Second); st.HandshakesOK == 0 && time.Now().Before(wait); st = fresh.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Spoofed == 0 || st.HandshakesOK != 1 {
		t.Fatalf("the fresh server dropped %d ClientHellos with unknown cookies and completed %d handshakes", st.Spoofed, st.HandshakesOK)
	}
	t.Logf("connected after %d restart(s); the fresh server dropped %d ClientHellos with a cookie it never sent", c.restarts.Load(), st.Spoofed)
}

// A HelloVerifyRequest forged from the server's address, ahead of the
// server's own, makes pion v2 echo the forger's cookie, which the server
// drops; pion takes no later HelloVerifyRequest. Nothing the forger sends
// next may keep the attempt alive: the server's own HelloVerifyRequest,
// with another cookie, has the client start over forgedAfter later, and
// if it was lost on the way the client starts over once the server has
// not answered its cookie for staleCookieAfter. Each form connects after
// one start-over; each hung until the handshake's timeout.
func TestClientStartsOverAfterAForgedHelloVerifyRequest(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	for _, then := range []struct {
		name string
		sent []byte // by the forger after the server's HelloVerifyRequest; nil: nothing
		lost bool   // the server's own HelloVerifyRequest never reaches the client
	}{
		{"alone", nil, false},
		{"then a datagram of junk", []byte("not a DTLS record"), false},
		{"then a record the client drops", forge.Record(wire.ContentApplicationData, 0, 9, make([]byte, 24)), false},
		{"then a warning alert pion reads and goes on", forge.Record(wire.ContentAlert, 0, 9, []byte{1, 100}), false},
		{"then another message at the HelloVerifyRequest's number", forge.Record(wire.ContentHandshake, 0, 9, []byte{wire.HandshakeHelloVerifyRequest, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}), false},
		{"then a ServerHello", forgedServerHello(), false},
		{"the server's own lost, then a warning alert", forge.Record(wire.ContentAlert, 0, 9, []byte{1, 100}), true},
		{"the server's own lost, then another message at its number", forge.Record(wire.ContentHandshake, 0, 9, []byte{wire.HandshakeHelloVerifyRequest, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}), true},
	} {
		t.Run(then.name, func(t *testing.T) {
			s := ourServer(t, testcert.ECDSA(t), nil)
			var (
				r       *udprelay.Relay
				trailed sync.WaitGroup
			)
			t.Cleanup(trailed.Wait)
			r = forgedAhead(t, s, func(b []byte) bool {
				_, ok := wire.HelloVerifyCookie(b)
				return ok
			}, func(b []byte) []byte {
				forged := append([]byte(nil), b...)
				cookie, _ := wire.HelloVerifyCookie(forged)
				for i := range cookie {
					cookie[i] ^= 0xff
				}
				if then.sent != nil {
					trailed.Add(1)
					go func() {
						defer trailed.Done()
						time.Sleep(200 * time.Millisecond) // after the server's own
						_ = r.ToClient(then.sent)
					}()
				}
				return forged
			}, !then.lost)
			defer r.Close()
			c := connect(t, r.Port(), Config{Insecure: true, HandshakeTimeout: 20 * time.Second})
			mustConnectAfterRestart(t, c, "the forged HelloVerifyRequest")
		})
	}
}

// Nothing authenticates an alert during a handshake: a fatal one or a
// close_notify forged from the server's address ended the attempt as a
// server's refusal does ("alert HandshakeFailure"). The client starts over
// once and connects; a server that refuses refuses the second attempt
// too, and that is what the client reports (TestServerNotAccepting).
func TestClientStartsOverAfterAForgedAlert(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	for name, forged := range map[string][]byte{
		"a fatal alert":  forge.Record(wire.ContentAlert, 0, 9, []byte{2, 40}),
		"a close_notify": forge.Record(wire.ContentAlert, 0, 9, []byte{1, 0}),
	} {
		t.Run(name, func(t *testing.T) {
			s := ourServer(t, testcert.ECDSA(t), nil)
			r := beforeServerHello(t, fmt.Sprintf("127.0.0.1:%d", s.LocalPort()), [][]byte{forged})
			defer r.Close()
			c := connect(t, r.Port(), Config{Insecure: true})
			mustConnectAfterRestart(t, c, name)
		})
	}
}

// A server that refused the client and then went quiet (it closed, or
// the attacker who forged its alert now drops what the client sends) is
// reported by its alert once the attempt started over gets no answer,
// however much of the handshake timeout is left when that attempt starts:
// the player reads why they were turned away, not that nobody answered.
func TestARefusalFollowedBySilenceIsReportedAsTheRefusal(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	for name, timeout := range map[string]time.Duration{
		"the timeout outlasts the retry":    10 * time.Second,
		"the timeout ends during the retry": 2 * time.Second,
	} {
		t.Run(name, func(t *testing.T) {
			port := refusesOnceThenQuiet(t)
			start := time.Now()
			c := connect(t, port, Config{Insecure: true, HandshakeTimeout: timeout})
			f := mustFail(t, c, FailNotAccepting, link.StatusError)
			if c.restarts.Load() != 1 {
				t.Errorf("%d attempts started over, want the one after the alert", c.restarts.Load())
			}
			if took, most := time.Since(start), min(timeout, alertRetryWithin)+time.Second; took > most {
				t.Errorf("reported after %v, more than %v", took, most)
			}
			if !strings.Contains(f.Error(), "access_denied") && !strings.Contains(f.Error(), "AccessDenied") {
				t.Errorf("reason %q does not name the alert", f.Error())
			}
		})
	}
}

// refusesOnceThenQuiet is a UDP socket that answers every datagram of the
// first client socket it hears with a fatal access_denied alert, and never
// answers another socket. It returns the socket's port.
func refusesOnceThenQuiet(t *testing.T) int {
	t.Helper()
	sock, err := testsock.ListenAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = sock.Close()
		<-done
	})
	refusal := forge.Record(wire.ContentAlert, 0, 0, []byte{2, byte(alert.AccessDenied)})
	go func() {
		defer close(done)
		var first netip.AddrPort
		buf := make([]byte, 2048)
		for {
			_, from, err := sock.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if !first.IsValid() {
				first = from
			}
			if from == first {
				_, _ = sock.WriteToUDPAddrPort(refusal, from)
			}
		}
	}()
	return sock.LocalAddr().(*net.UDPAddr).Port
}

// A handshake message forged from the server's address ahead of the
// server's own wedges pion's handshake: a Certificate header at the
// ServerHello's number (pion builds the message from what it got first),
// or, with PSK, where nothing signs the server's flight, a ServerHello
// with another random (the keys then differ from the server's). Both hung
// until the handshake timed out; the client must start over and connect.
func TestClientStartsOverAfterAForgedHandshakeMessage(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	t.Run("a message at the ServerHello's number", func(t *testing.T) {
		s := ourServer(t, testcert.ECDSA(t), nil)
		header := forge.Record(wire.ContentHandshake, 0, 9, []byte{11, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0})
		r := beforeServerHello(t, fmt.Sprintf("127.0.0.1:%d", s.LocalPort()), [][]byte{header})
		defer r.Close()
		c := connect(t, r.Port(), Config{Insecure: true})
		mustConnectAfterRestart(t, c, "the forged message")
	})
	t.Run("a ServerHello, with PSK", func(t *testing.T) {
		key := []byte("0123456789abcdef")
		s := ourServer(t, testcert.Pair{}, map[string][]byte{"player-1": key})
		r := forgedAhead(t, s, opensWithServerHello, func(b []byte) []byte {
			// the ServerHello record alone, with another random
			rec, _, _ := wire.NextRecord(b)
			forged := append([]byte(nil), rec.Whole...)
			random := forged[wire.RecordHeaderLen+wire.HandshakeHeaderLen+2:][:wire.RandomLen]
			for i := range random {
				random[i] ^= 0x5a
			}
			return forged
		}, true)
		defer r.Close()
		c := connect(t, r.Port(), Config{PSKIdentity: "player-1", PSKKey: key, HandshakeTimeout: 20 * time.Second})
		mustConnectAfterRestart(t, c, "the forged ServerHello")
	})
}

// forgedAhead is a relay to server s that, at the first datagram of the
// server's that match picks, sends the client the forger's version of it
// (forgery) and, if thenGenuine, the server's own 50 ms later, once pion
// has answered the forger's. Later datagrams pass as they are.
func forgedAhead(t *testing.T, s *server.Server, match func([]byte) bool, forgery func([]byte) []byte, thenGenuine bool) *udprelay.Relay {
	var (
		r       *udprelay.Relay
		once    sync.Once
		forging atomic.Bool
		wg      sync.WaitGroup
	)
	r = udprelay.New(t, fmt.Sprintf("127.0.0.1:%d", s.LocalPort()), nil, func(b []byte) bool {
		if !match(b) {
			return true
		}
		once.Do(func() {
			forging.Store(true)
			_ = r.ToClient(forgery(b))
			if !thenGenuine {
				return
			}
			genuine := append([]byte(nil), b...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(50 * time.Millisecond)
				_ = r.ToClient(genuine)
			}()
		})
		return !forging.Swap(false)
	})
	t.Cleanup(wg.Wait)
	return r
}

// mustConnectAfterRestart fails unless c connects, having started over
// (what, forged, took), and echoes.
func mustConnectAfterRestart(t *testing.T, c *Client, what string) {
	t.Helper()
	mustConnect(t, c)
	if c.restarts.Load() == 0 {
		t.Fatalf("connected without starting over: %s never took", what)
	}
	echo(t, c, "after starting over")
}

// forgedServerHello is a well-formed ServerHello (message 1, after the
// HelloVerifyRequest) for the engine's ECDSA suite, with a random of its
// own and no extensions: what a forger who has seen one sends.
func forgedServerHello() []byte {
	body := append([]byte{0xfe, 0xfd}, bytes.Repeat([]byte{0x5a}, wire.RandomLen)...)
	body = append(body, 0, 0xcc, 0xa9, 0) // no session id, the suite, no compression
	header := []byte{serverHello, 0, 0, byte(len(body)), 0, 1, 0, 0, 0, 0, 0, byte(len(body))}
	return forge.Record(wire.ContentHandshake, 0, 9, append(header, body...))
}
