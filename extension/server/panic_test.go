package server

// A bug that panics in the library's own code ends at most the session it
// hit, never the server or the game.

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testsock"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// ---- panics ---------------------------------------------------------------------

func TestDemultiplexerSurvivesAPanic(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	// The panic comes with the server's lock held, where a routing bug
	// would strike: the dial below proves the lock was released (a
	// panicking admission once left it held and the server deaf).
	bomb := epochZeroRecord(wire.ContentAlert, 2, 40)
	hook := func(b []byte) {
		if string(b) == string(bomb) {
			panic("boom")
		}
	}
	routeHook.Store(&hook)
	defer routeHook.Store(nil)
	conn, err := testsock.Dial("", serverAddr(s))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(bomb)
	ev := nextEvent(t, s, EventInternalError)
	t.Logf("event: %s", ev.Reason)
	c := dial(t, s, clientConfig(suites.ECDSAKey))
	c.Close()
	if !s.Listening() || s.Stats().Panics != 1 {
		t.Fatalf("listening %v panics %d", s.Listening(), s.Stats().Panics)
	}
}

type panickySuite struct{ dtls.CipherSuite }

func (panickySuite) Decrypt([]byte) ([]byte, error) { panic("suite bug") }

func TestSuitePanicEndsOnlyThatSession(t *testing.T) {
	s := New(Config{})
	s.mu.Lock()
	s.startLocked()
	c := newSession(s, netip.MustParseAddrPort("127.0.0.9:9"), [32]byte{}, time.Now())
	s.sessions[c.addr] = c
	s.joinPoolLocked(c)
	s.unlock()
	g := guardedSuite{CipherSuite: panickySuite{suites.New(suites.ECDHEECDSAChaCha20Poly1305)}, c: c}
	if _, err := g.Decrypt([]byte{1}); err == nil {
		t.Fatal("a panic must come back as an error")
	}
	if !c.isClosed() || s.Stats().Panics != 1 || s.Stats().Unverified != 0 {
		t.Fatalf("closed %v panics %d pool %d", c.isClosed(), s.Stats().Panics, s.Stats().Unverified)
	}
	s.Stop()
}
