package server

// The handshake's admission against a hostile client: made-up cookies,
// stray bytes, floods of bytes before and after the cookie, and a client
// that restarts mid-handshake.

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testsock"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// ---- D2: made-up cookies verify nothing and pin nothing ----------------------

func TestMadeUpCookiesNeitherVerifyNorPinSlots(t *testing.T) {
	defer checkRoutines(t)()
	const attackers = 128
	s, _ := startServer(t, suites.ECDSAKey, Config{MaxPendingHandshakes: attackers, HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	hello := captureClientHello(t)
	var socks []net.PacketConn
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	for i := 0; i < attackers; i++ {
		sock := listenOn(t, "127.0.0."+itoa(10+i%100)+":0")
		socks = append(socks, sock)
		h := withRandom(hello, byte(i))
		sock.WriteTo(h, dst)
		sock.WriteTo(withCookie(h, []byte("made-up-cookie-00000")), dst)
	}
	waitFor(t, "the pool full of attackers", func() bool { return s.Stats().Unverified == attackers })
	waitFor(t, "made-up cookies refused", func() bool { return s.Stats().Spoofed >= attackers })
	time.Sleep(20 * time.Millisecond) // older than the global eviction floor

	c, hellos, err := dialCounting(s, clientConfig(suites.ECDSAKey), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("a genuine client could not join: %v", err)
	}
	defer c.Close()
	st := s.Stats()
	t.Logf("genuine client joined with %d ClientHellos; pool %d, spoofed %d, evicted %d", hellos, st.Unverified, st.Spoofed, st.Evicted)
	if hellos != 2 {
		t.Fatalf("the genuine client needed %d ClientHellos: it waited for a retransmission", hellos)
	}
	if st.Evicted == 0 {
		t.Fatal("the genuine client got in without evicting: the pool was not full")
	}
}

// ---- D3: a datagram pion answers with nothing cannot keep a crypto slot -------

func TestCookieHelloWithStrayBytesCannotHoldTheCryptoSlots(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	hello := captureClientHello(t)
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	// Attackers that own their addresses: they echo the real cookie, with 3
	// stray bytes inside the record, as many as there are slots and more.
	for i := 0; i < s.cryptoSlots.n+1; i++ {
		sock := listenOn(t, "127.0.0.1:0")
		h := withRandom(hello, byte(0x40+i))
		bad := withCookie(h, cookieFor(t, sock, s, h))
		bad = append(bad, 1, 2, 3)
		binary.BigEndian.PutUint16(bad[11:], uint16(len(bad)-wire.RecordHeaderLen))
		sock.WriteTo(bad, dst)
	}
	time.Sleep(50 * time.Millisecond)
	c, hellos, err := dialCounting(s, clientConfig(suites.ECDSAKey), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("genuine client after %d stray-byte cookie hellos: %d ClientHellos", s.cryptoSlots.n+1, hellos)
	if hellos != 2 {
		t.Fatalf("the genuine client needed %d ClientHellos: a slot was held", hellos)
	}
}

// ---- D4, D5: bytes before the cookie are bounded ------------------------------

func TestPreCookieBytesAreBounded(t *testing.T) {
	defer checkRoutines(t)()
	const sources = 128
	s, _ := startServer(t, suites.ECDSAKey, Config{MaxPendingHandshakes: sources, HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	hello := captureClientHello(t)
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	heapBefore := heapInUse()
	var socks []net.PacketConn
	for i := 0; i < sources; i++ {
		sock := listenOn(t, "127.0.0."+itoa(10+i%100)+":0")
		socks = append(socks, sock)
		sock.WriteTo(withRandom(hello, byte(i)), dst)
	}
	waitFor(t, "sessions", func() bool { return s.Stats().Unverified == sources })
	// D4: in-order 8 KB handshake records (message_seq 1, 2, ...) before any
	// cookie; D5: 60 KB datagrams.
	big := make([]byte, 8000)
	huge := make([]byte, 60000)
	var sentBytes int64
	for round := 0; round < 16; round++ {
		for i, sock := range socks {
			frag := make([]byte, 12)
			frag[0] = 11 // Certificate
			binary.BigEndian.PutUint16(frag[4:], uint16(round+1))
			rec := epochZeroRecord(wire.ContentHandshake, append(frag, big[:len(big)-12]...)...)
			sock.WriteTo(rec, dst)
			if i%4 == 0 {
				sock.WriteTo(huge, dst)
				sentBytes += int64(len(huge))
			}
			sentBytes += int64(len(rec))
		}
	}
	waitFor(t, "records refused", func() bool { st := s.Stats(); return st.Spoofed > 0 && st.Oversize > 0 })
	time.Sleep(200 * time.Millisecond)
	growth := int64(heapInUse()) - int64(heapBefore)
	st := s.Stats()
	t.Logf("%d MiB sent from %d unverified sources: heap growth %d KiB, refused before the cookie %d, oversize %d",
		sentBytes>>20, sources, growth>>10, st.Spoofed, st.Oversize)
	const bound = 32 << 20
	if growth > bound {
		t.Fatalf("heap grew %d MiB (bound %d MiB)", growth>>20, bound>>20)
	}
}

// A client that proved its address may still not make pion buffer without
// end: the handshake budget caps what reaches pion before the handshake ends.
func TestVerifiedHandshakeBudget(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	hello := captureClientHello(t)
	sock := listenOn(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	sock.WriteTo(withCookie(hello, cookieFor(t, sock, s, hello)), dst)
	heapBefore := heapInUse()
	body := make([]byte, 8000)
	for seq := 2; seq < 2+200; seq++ {
		frag := make([]byte, 12)
		frag[0] = 11
		binary.BigEndian.PutUint16(frag[4:], uint16(seq))
		sock.WriteTo(epochZeroRecord(wire.ContentHandshake, append(frag, body[:len(body)-12]...)...), dst)
	}
	waitFor(t, "budget reached", func() bool { return s.Stats().Dropped > 0 })
	growth := int64(heapInUse()) - int64(heapBefore)
	t.Logf("1.6 MB of in-order handshake records from a verified address: heap growth %d KiB, dropped %d", growth>>10, s.Stats().Dropped)
	if growth > 8<<20 {
		t.Fatalf("heap grew %d MiB", growth>>20)
	}
}

// A forger at the client's address who spends the handshake's budget before
// the client's last flight ends the handshake: at once, with an alert to
// the client, where the client's flight and each retransmission of it were
// dropped over the budget until the handshake timed out. Both legs of the
// budget: its datagrams and its bytes.
func TestASpentHandshakeBudgetEndsTheHandshakeAtOnce(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{HandshakeTimeout: 30 * time.Second})
	defer s.Stop()
	for _, leg := range []struct {
		name string
		body int // bytes of each forged message
	}{
		{"datagrams", 32},
		{"bytes", 8000},
	} {
		t.Run(leg.name, func(t *testing.T) {
			relay, flight, connected := dialHoldingLastFlight(t, s)
			defer relay.Close()
			// A message at a number no flight takes: pion keeps it, and it
			// competes with nothing the client sends.
			stray := make([]byte, 12+leg.body)
			stray[0] = clientKeyExchange
			binary.BigEndian.PutUint16(stray[1:], uint16(leg.body))
			binary.BigEndian.PutUint16(stray[4:], 200)
			binary.BigEndian.PutUint16(stray[10:], uint16(leg.body))
			forged := forge.Record(wire.ContentHandshake, 0, 9, stray)
			droppedBefore := s.Stats().Dropped
			spent := func() bool { return s.Stats().Dropped > droppedBefore }
			sent := 0
			for ; sent < 2*handshakeDatagrams && !spent(); sent++ {
				if err := relay.ToServer(forged); err != nil {
					t.Fatal(err)
				}
				if sent%32 == 31 {
					time.Sleep(5 * time.Millisecond) // the server's socket keeps up
				}
			}
			waitFor(t, "the budget spent", spent)
			start := time.Now()
			if err := relay.ToServer(flight); err != nil {
				t.Fatal(err)
			}
			err := handshakeFailsAtOnce(t, connected, start, "past a spent budget")
			t.Logf("%d forged datagrams of %d bytes; the client's handshake ended within %v of the budget being spent: %v",
				sent, len(forged), time.Since(start).Round(time.Millisecond), err)
			ev := nextEvent(t, s, EventHandshakeFailed)
			if !strings.Contains(ev.Reason, "during the handshake") {
				t.Fatalf("reported %q, not the spent budget", ev.Reason)
			}
			t.Logf("reported: %s", ev.Reason)
		})
	}
}

// ---- D7: a restart during the handshake replaces it -----------------------------

func TestRestartDuringHandshakeJoinsAtOnce(t *testing.T) {
	for _, afterCookie := range []bool{false, true} {
		name := "before the cookie"
		if afterCookie {
			name = "after the cookie"
		}
		t.Run(name, func(t *testing.T) {
			defer checkRoutines(t)()
			s, _ := startServer(t, suites.ECDSAKey, Config{})
			defer s.Stop()
			hello := captureClientHello(t)
			first, err := testsock.ListenAt("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := first.LocalAddr().String()
			ck := cookieFor(t, first, s, hello)
			if afterCookie {
				dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
				first.WriteTo(withCookie(hello, ck), dst)
				waitFor(t, "verified", func() bool { return s.Stats().Unverified == 0 && s.Stats().Pending == 1 })
			}
			first.Close() // the client crashes mid-handshake and restarts on the same port
			c, hellos, err := dialCounting(s, clientConfig(suites.ECDSAKey), port)
			if err != nil {
				t.Fatalf("restarted client: %v", err)
			}
			defer c.Close()
			if hellos != 2 {
				t.Fatalf("the restarted client needed %d ClientHellos", hellos)
			}
		})
	}
}
