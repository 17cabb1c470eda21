package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/protocol/alert"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"

	"godtls/extension/link"
	"godtls/extension/memtrim"
	"godtls/extension/suites"
)

// ipv6HandshakeMTU is the largest datagram the handshake sends an IPv6
// peer: 1,280 bytes, the least MTU every IPv6 link carries, less the IPv6
// and UDP headers (the size DNS settled on for the same reason).
const ipv6HandshakeMTU = 1280 - 40 - 8

// handshakeMTU is the largest datagram the handshake may send peer. Over
// IPv6 it is at most ipv6HandshakeMTU: an ICMPv6 "packet too big", which
// anyone can forge, lowers the path MTU to that peer to 1,280 for ten
// minutes, and then a larger datagram leaves in IP fragments, which many
// networks drop; a genuine narrower path (a VPN's) does the same. Over IPv4
// the sockets ignore the forged report instead (udpsock/pathmtu_linux.go),
// which IPv6 cannot afford: its routers never fragment. Application data
// keeps the configured MTU.
func handshakeMTU(mtu int, peer netip.Addr) int {
	if peer.Is6() && !peer.Is4In6() {
		return min(mtu, ipv6HandshakeMTU)
	}
	return mtu
}

// pionConfig is the pion configuration of one session. Called with s.mu held.
func (s *Server) pionConfig(c *session) *dtls.Config {
	cfg := &dtls.Config{
		MTU:                  link.PionMTU(handshakeMTU(s.cfg.MTU, c.addr.Addr())),
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        s.loggers,
		FlightInterval:       time.Second,
	}
	if s.psk != nil {
		psk := s.psk
		// pion calls this on its own goroutine with the client's identity.
		cfg.PSK = func(identity []byte) (key []byte, err error) {
			defer s.recoverSession(c, "PSK lookup", &err)
			c.mu.Lock()
			c.peerIdentity = string(identity)
			c.mu.Unlock()
			return psk.Lookup(identity)
		}
		cfg.PSKIdentityHint = []byte(psk.Hint)
		suites.Apply(cfg, suites.PreSharedKey, !s.cfg.DisableCBCFallback, &s.authFailed)
	} else {
		cfg.Certificates = []tls.Certificate{s.cert.TLS}
		suites.Apply(cfg, s.cert.Kind, !s.cfg.DisableCBCFallback, &s.authFailed)
	}
	// pion calls the factory for every suite ID a ClientHello offers; hand it
	// the same instances each time, so the one it initialises is the one we
	// can ask about afterwards. Each is wrapped so that a panic in our suite
	// code, which pion runs on its own goroutines, ends only this session.
	factory := cfg.CustomCipherSuites
	cfg.CustomCipherSuites = func() []dtls.CipherSuite {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.chacha == nil {
			for _, cs := range factory() {
				c.chacha = append(c.chacha, guardedSuite{CipherSuite: cs, c: c})
			}
		}
		return c.chacha
	}
	return cfg
}

// guardedSuite recovers panics in a custom cipher suite.
type guardedSuite struct {
	dtls.CipherSuite
	c *session
}

// Unwrap is the suite under the guard, for suites.Initialized.
func (g guardedSuite) Unwrap() dtls.CipherSuite { return g.CipherSuite }

func (g guardedSuite) Init(masterSecret, clientRandom, serverRandom []byte, isClient bool) (err error) {
	defer g.c.srv.recoverSession(g.c, "cipher suite Init", &err)
	return g.CipherSuite.Init(masterSecret, clientRandom, serverRandom, isClient)
}

func (g guardedSuite) Encrypt(pkt *recordlayer.RecordLayer, raw []byte) (out []byte, err error) {
	defer g.c.srv.recoverSession(g.c, "cipher suite Encrypt", &err)
	return g.CipherSuite.Encrypt(pkt, raw)
}

func (g guardedSuite) Decrypt(in []byte) (out []byte, err error) {
	defer g.c.srv.recoverSession(g.c, "cipher suite Decrypt", &err)
	return g.CipherSuite.Decrypt(in)
}

// recoverSession turns a panic in code of ours that pion runs on its own
// goroutines into an error, counts it and ends that one session. Deferred
// directly by the function it guards.
func (s *Server) recoverSession(c *session, where string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	s.panics.Add(1)
	msg := fmt.Sprintf("internal error in %s: %v", where, r)
	*err = errors.New(msg)
	c.mu.Lock()
	p := c.peer
	c.mu.Unlock()
	if p != nil && p.live() {
		go p.fail(msg) // not on pion's goroutine: closing waits for it
	}
	c.end(msg, false)
}

// beforePion, when a test sets it, runs on each handshake goroutine before
// pion starts; afterPion once pion's handshake succeeded, before the peer
// is listed.
var beforePion, afterPion atomic.Pointer[func()]

// handshake runs one pion server handshake on the session's pipe.
func (s *Server) handshake(ctx context.Context, c *session) {
	defer s.wg.Done()
	defer s.handshakesRunning.Add(-1)
	defer memtrim.HandshakeEnded()
	defer c.doneStarting() // first: a waiting session starts before this one stops counting
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.failHandshake(c, fmt.Sprintf("internal error: %v", r))
		}
	}()
	if hook := beforePion.Load(); hook != nil {
		(*hook)()
	}
	s.mu.Lock()
	cfg := s.pionConfig(c)
	timeout := s.cfg.HandshakeTimeout
	mtu, recvQueue, recvBytes := s.cfg.MTU, s.cfg.RecvQueue, s.cfg.RecvQueueBytes
	s.mu.Unlock()

	// The deadline starts at HandshakeTimeout and moves while the client
	// waits for room (session.handshakeDeadline).
	hctx, cancel := context.WithCancel(ctx)
	c.extendHandshake(time.Now().Add(timeout))
	stopDeadline := c.onHandshakeDeadline(cancel)
	// Watchdog: whatever pion is waiting for when the deadline passes (or
	// the server stops), closing its pipe makes the handshake end.
	stopWatchdog := context.AfterFunc(hctx, func() {
		if c.phaseNow() < phaseEstablished {
			if c.phaseNow() == phaseUnverified {
				c.end(fmt.Sprintf("timed out after %v: the client never echoed its cookie", timeout), false)
			} else {
				c.end(fmt.Sprintf("timed out after %v", timeout), false)
			}
		}
	})
	conn, err := dtls.ServerWithContext(hctx, c, cfg)
	stopDeadline()
	stopWatchdog()
	cancel()
	c.releaseCryptoSlot()
	if err != nil {
		if ctx.Err() != nil {
			c.quiet.Store(true) // the server is stopping
		}
		s.failHandshake(c, handshakeFailure(err))
		return
	}
	if hook := afterPion.Load(); hook != nil {
		(*hook)()
	}
	c.mu.Lock()
	peer := c.peer // attach mode: the caller already holds it
	c.mu.Unlock()
	if peer == nil {
		peer = newPeer(s, c, recvQueue, recvBytes)
	}
	peer.establish(conn, mtu)
	s.mu.Lock()
	if !s.running {
		s.unlock()
		// The client may have the server's Finished, and be connected:
		// it is told, as the listed peers are (Stop waits for this
		// goroutine before it closes the sessions and the socket).
		peer.close("the server stopped during the handshake", true)
		_ = conn.Close()
		return
	}
	s.settleLocked(c)
	c.phase.Store(int32(phaseEstablished))
	c.hs = nil // what it noted (about 1 KiB) served the handshake alone
	if peer.rec != nil {
		c.owner.Store(peer)
	}
	// What arrived while pion finished goes first, before anything the
	// reader routes once the lock is released.
	for _, b := range s.heldEarlyLocked(c) {
		c.take(b)
	}
	c.mu.Lock()
	fresh := c.peer == nil
	c.peer = peer
	c.mu.Unlock()
	if fresh {
		peer.readyAt = s.ready.PushBack(peer)
		select {
		case s.readySig <- struct{}{}:
		default:
		}
	}
	s.peers[peer] = struct{}{}
	// Counted before anyone can see the peer: whoever takes it or its
	// event finds it in the stats.
	s.handshakesOK.Add(1)
	// Under the lock: a peer ending from now on reports its disconnection
	// (removePeer takes the lock) after this connection, never before.
	s.events.Push(Event{Kind: EventConnected, Peer: peer, Addr: c.addr})
	s.unlock()
	// A client can finish its handshake and close (or its session be
	// ended) before this goroutine, starved of CPU, gets here: its end
	// found the peer unknown and reported nothing, and the connection
	// vanished, with whatever it had sent. It is reported as what it was,
	// a connection and then its end; removePeer reports an end once.
	if peer.rec != nil {
		// The record layer has the session (records.go): pion's goroutines
		// end here and its buffers go; its close_notify is discarded.
		_ = conn.Close()
	}
	if peer.Status() != link.StatusConnected {
		_ = conn.Close() // an end before establish had no conn to close
		s.removePeer(peer, peer.LastError())
	}
}

// ClientClosedDuringHandshake is the reason reported for a client whose
// close_notify reached pion before the server's side of the handshake was
// over: a client that finished, connected and left at once, seen by a
// server goroutine that had not yet run (pion v2 ends the handshake with
// the alert as an error, and there is no connection to hand out).
const ClientClosedDuringHandshake = "the client closed the connection as the handshake ended"

// handshakeFailure is pion's handshake error in words.
func handshakeFailure(err error) string {
	if a := link.AlertOf(err); a != nil && a.Description == alert.CloseNotify {
		return ClientClosedDuringHandshake
	}
	return err.Error()
}

// failHandshake ends a handshake that did not finish. The engine's own
// reason (timeout, eviction, budget) wins over pion's error text.
func (s *Server) failHandshake(c *session, pionErr string) {
	s.handshakesFailed.Add(1)
	c.mu.Lock()
	p := c.peer
	reason := c.failure
	c.mu.Unlock()
	if reason == "" {
		reason = pionErr
	}
	if p != nil {
		p.fail("handshake failed: " + reason)
	}
	c.shutdown()
	// An address that never echoed its cookie has not shown it receives
	// there: its failure is counted, not reported. Reporting it would turn a
	// spoofed flood into one signal per forged address on the game's thread.
	// (An attach-mode session is reported: the game holds its peer.)
	unproven := p == nil && c.phaseNow() < phaseVerified
	if !c.quiet.Load() && !unproven {
		s.events.Push(Event{Kind: EventHandshakeFailed, Addr: c.addr, Reason: reason})
	}
}

// removePeer is called once when a peer ends.
func (s *Server) removePeer(p *Peer, reason string) {
	s.mu.Lock()
	_, known := s.peers[p]
	delete(s.peers, p)
	s.unreadyLocked(p)
	s.slotFreed = s.slotFreed || known
	s.unlock()
	if known {
		s.events.Push(Event{Kind: EventDisconnected, Peer: p, Addr: p.addr, Reason: reason})
	}
}
