package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"godtls/extension/credentials"
	"godtls/extension/queue"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// Errors the bridge maps to Godot Error codes.
var (
	ErrNotConfigured     = errors.New("no certificate or PSK set up")
	ErrAlreadyConfigured = errors.New("already set up")
	ErrAlreadyListening  = errors.New("already listening")
	ErrNotListening      = errors.New("not listening")
	ErrPortInUse         = errors.New("port already in use")
	ErrBadAddress        = errors.New("invalid bind address")
	ErrBadPort           = errors.New("port must be between 0 and 65535")
	ErrModeMixed         = errors.New("listen() and take_connection(udp_peer) cannot be mixed on one server")
	ErrBusy              = errors.New("too many peers or pending handshakes")
	ErrSendQueueFull     = errors.New("send queue full: packets are sent faster than the network takes them")
)

// Stats are the server's counters.
type Stats struct {
	HandshakesOK, HandshakesFailed uint64
	Peers, Pending                 int
	PacketsIn, PacketsOut          uint64
	BytesIn, BytesOut              uint64
	Dropped                        uint64 // datagrams or packets dropped because a queue was full
	Garbage                        uint64 // datagrams that were not DTLS
	Rejected                       uint64 // ClientHellos refused by a limit
	Evicted                        uint64 // unverified handshakes pushed out by newer ones
	EventsDropped                  uint64
}

// Server is one DTLS server. Methods are safe for concurrent use.
type Server struct {
	cfg Config

	cert *credentials.Certificate
	psk  *credentials.PSK

	// lifecycle
	mu       sync.Mutex
	running  bool                  // Listen or Attach started the goroutines; Stop ends them
	attached bool                  // running in attach mode: the caller moves the datagrams
	sock     *net.UDPConn          // the socket in listen mode
	pipes    map[*session]struct{} // attach-mode sessions
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	sessions map[netip.AddrPort]*session
	pending  int
	perIP    map[netip.Addr]int
	peers    map[*Peer]struct{}
	ready    []*Peer // connected peers not yet taken, oldest first

	events *events

	// Sends go through writer goroutines: pion's Conn.Write starts and joins
	// a goroutine per call, which costs tens of microseconds on the caller's
	// (Godot's main) thread. sendMu guards writers against Stop closing them.
	sendMu     sync.RWMutex
	writers    []chan sendJob
	writerWG   sync.WaitGroup
	nextWriter atomic.Uint32

	handshakesOK, handshakesFailed atomic.Uint64
	packetsIn, packetsOut          atomic.Uint64
	bytesIn, bytesOut              atomic.Uint64
	dropped, garbage               atomic.Uint64
	rejected, evicted              atomic.Uint64

	loggers logging.LoggerFactory

	// cryptoSlots bounds handshakes computing their signed server flight at
	// once to GOMAXPROCS-1. Every call from Godot into Go needs a free Go
	// processor; with all of them busy signing (RSA-4096: ~8 ms each) the
	// game's thread would wait for the scheduler instead of doing no work.
	cryptoSlots chan struct{}
}

// New returns a server with the given limits; it does nothing until it is
// set up and listening.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:         cfg,
		cryptoSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1)),
		events:      newEvents(cfg.EventQueue),
		loggers:     &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
	}
}

// Config returns the limits in force.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// SetConfig changes the limits. Limits apply to new handshakes and peers;
// the MTU and queue sizes of existing peers stay as they were.
func (s *Server) SetConfig(cfg Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg.withDefaults()
}

// SetCertificate configures certificate authentication.
func (s *Server) SetCertificate(c *credentials.Certificate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil || s.psk != nil {
		return ErrAlreadyConfigured
	}
	s.cert = c
	return nil
}

// SetPSK configures pre-shared-key authentication.
func (s *Server) SetPSK(p *credentials.PSK) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil || s.psk != nil {
		return ErrAlreadyConfigured
	}
	s.psk = p
	return nil
}

// Configured reports whether credentials are set.
func (s *Server) Configured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert != nil || s.psk != nil
}

// Listen opens the UDP socket. bindAddress "*" or "" means every address,
// IPv4 and IPv6; port 0 picks a free port (see LocalPort).
func (s *Server) Listen(port int, bindAddress string) error {
	if port < 0 || port > 65535 {
		return ErrBadPort
	}
	host := bindAddress
	if host == "*" {
		host = ""
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%w %q: %v", ErrBadAddress, bindAddress, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil && s.psk == nil {
		return ErrNotConfigured
	}
	if s.sock != nil {
		return ErrAlreadyListening
	}
	if s.attached {
		return ErrModeMixed
	}
	laddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadAddress, bindAddress, err)
	}
	sock, err := net.ListenUDP("udp", laddr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %d", ErrPortInUse, port)
		}
		return err
	}
	// Large socket buffers absorb a join storm while handshakes are queued.
	_ = sock.SetReadBuffer(4 << 20)
	_ = sock.SetWriteBuffer(4 << 20)
	s.sock = sock
	s.startLocked()
	s.wg.Add(1)
	go s.readLoop(sock)
	return nil
}

// startLocked prepares the state both modes share and starts the janitor.
func (s *Server) startLocked() {
	s.running = true
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sessions = make(map[netip.AddrPort]*session)
	s.pipes = make(map[*session]struct{})
	s.perIP = make(map[netip.Addr]int)
	s.peers = make(map[*Peer]struct{})
	s.ready = nil
	s.pending = 0
	s.wg.Add(1)
	go s.janitor(s.ctx)
	s.sendMu.Lock()
	s.writers = make([]chan sendJob, max(2, runtime.GOMAXPROCS(0)))
	for i := range s.writers {
		s.writers[i] = make(chan sendJob, writerQueue)
		s.writerWG.Add(1)
		go s.writer(s.writers[i])
	}
	s.sendMu.Unlock()
}

// writerQueue bounds the packets waiting in one writer.
const writerQueue = 8192

type sendJob struct {
	p *Peer
	b []byte
}

// writer encrypts and sends queued packets until its channel is closed.
func (s *Server) writer(jobs chan sendJob) {
	defer s.writerWG.Done()
	defer s.recoverTo("writer")
	for j := range jobs {
		j.p.write(j.b)
	}
}

// enqueue hands a packet to the peer's writer without blocking.
func (s *Server) enqueue(p *Peer, b []byte) error {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if len(s.writers) == 0 {
		return ErrNotConnected
	}
	select {
	case s.writers[p.writer%uint32(len(s.writers))] <- sendJob{p, b}:
		return nil
	default:
		s.dropped.Add(1)
		return ErrSendQueueFull
	}
}

// closeWriters lets the writers send what is queued, then ends them.
func (s *Server) closeWriters() {
	s.sendMu.Lock()
	for _, w := range s.writers {
		close(w)
	}
	s.writers = nil
	s.sendMu.Unlock()
	s.writerWG.Wait()
}

// Attach starts a handshake with a remote address whose datagrams the caller
// moves itself (Godot's UDPServer and PacketPeerUDP own the socket): the
// caller hands received datagrams to Peer.Feed and sends what Peer.Outbound
// returns. The handshake runs on a goroutine; the peer is returned at once in
// StatusHandshaking and keeps its identity through the cookie exchange.
func (s *Server) Attach(addr netip.AddrPort) (*Peer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil && s.psk == nil {
		return nil, ErrNotConfigured
	}
	if s.sock != nil {
		return nil, ErrModeMixed
	}
	if !s.running {
		s.startLocked()
		s.attached = true
	}
	if len(s.peers)+s.pending >= s.cfg.MaxPeers || s.pending >= s.cfg.MaxPendingHandshakes {
		s.rejected.Add(1)
		return nil, ErrBusy
	}
	c := newSession(s, addr, [wire.RandomLen]byte{})
	c.out = queue.NewPackets(sessionOutbound)
	c.verified.Store(true) // the caller's UDPServer decided to take it; never evicted
	p := newPeer(s, c, s.cfg.RecvQueue)
	c.peer = p
	s.pipes[c] = struct{}{}
	s.pending++
	s.perIP[addr.Addr()]++
	s.wg.Add(1)
	go s.handshake(s.ctx, c)
	return p, nil
}

// Listening reports whether the socket is open.
func (s *Server) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock != nil
}

// LocalPort is the bound port, or 0 when not listening.
func (s *Server) LocalPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sock == nil {
		return 0
	}
	return s.sock.LocalAddr().(*net.UDPAddr).Port
}

// Stop sends close_notify to every peer, closes the socket and waits until
// every goroutine of the server has returned. It is safe to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return
	}
	sock := s.sock
	s.sock = nil
	s.running = false
	s.attached = false
	cancel := s.cancel
	peers := make([]*Peer, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	sessions := make([]*session, 0, len(s.sessions))
	for _, c := range s.sessions {
		sessions = append(sessions, c)
	}
	for c := range s.pipes {
		sessions = append(sessions, c)
		if c.peer != nil && c.peer.Status() == StatusHandshaking {
			peers = append(peers, c.peer)
		}
	}
	s.mu.Unlock()

	// Packets already sent by the game go out before the close_notify.
	s.closeWriters()
	for _, p := range peers {
		p.close("server stopped", true)
	}
	cancel()
	for _, c := range sessions {
		_ = c.Close()
	}
	// Closing the socket after the peers lets their close_notify go out.
	if sock != nil {
		_ = sock.Close()
	}
	s.wg.Wait()
}

// TakeConnection returns the next connected peer that nobody has taken yet,
// or nil. It never blocks.
func (s *Server) TakeConnection() *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ready) > 0 {
		p := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		if p.Status() == StatusConnected {
			return p
		}
	}
	return nil
}

// ConnectionAvailable reports whether TakeConnection would return a peer.
func (s *Server) ConnectionAvailable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.ready {
		if p.Status() == StatusConnected {
			return true
		}
	}
	return false
}

// Peers returns the connected peers.
func (s *Server) Peers() []*Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Peer, 0, len(s.peers))
	for p := range s.peers {
		if p.Status() == StatusConnected {
			out = append(out, p)
		}
	}
	return out
}

// Broadcast sends packet to every connected peer except the one given, and
// returns how many peers it was sent to.
func (s *Server) Broadcast(packet []byte, except *Peer) int {
	n := 0
	for _, p := range s.Peers() {
		if p != except && p.Send(packet) == nil {
			n++
		}
	}
	return n
}

// NextEvent pops the oldest undrained event.
func (s *Server) NextEvent() (Event, bool) { return s.events.pop() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	peers, pending := 0, s.pending
	for p := range s.peers {
		if p.Status() == StatusConnected {
			peers++
		}
	}
	s.mu.Unlock()
	return Stats{
		HandshakesOK: s.handshakesOK.Load(), HandshakesFailed: s.handshakesFailed.Load(),
		Peers: peers, Pending: pending,
		PacketsIn: s.packetsIn.Load(), PacketsOut: s.packetsOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		Dropped: s.dropped.Load(), Garbage: s.garbage.Load(),
		Rejected: s.rejected.Load(), Evicted: s.evicted.Load(),
		EventsDropped: s.events.dropped.Load(),
	}
}

// readLoop is the demultiplexer: the only reader of the socket.
func (s *Server) readLoop(sock *net.UDPConn) {
	defer s.wg.Done()
	defer s.recoverTo("demultiplexer")
	buf := make([]byte, 65536)
	for {
		n, addr, err := sock.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port-unreachable and friends surface here on some systems.
			continue
		}
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		s.route(buf[:n], addr)
	}
}

// route delivers one datagram: to its session, to a new session when it is a
// ClientHello from a new address (or a new ClientHello from an address whose
// client restarted), or nowhere.
func (s *Server) route(b []byte, addr netip.AddrPort) {
	info := wire.Classify(b)
	if info.Kind == wire.Garbage {
		s.garbage.Add(1)
		return
	}
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return
	}
	c := s.sessions[addr]
	if c != nil && info.Kind == wire.ClientHello && info.Random != c.random && c.peer != nil {
		// RFC 6347 §4.2.8: the client on this address restarted. The old
		// connection ends without a close_notify (the address belongs to the
		// new client now) and the new handshake starts at once.
		delete(s.sessions, addr)
		c.muted.Store(true)
		peer := c.peer
		s.mu.Unlock()
		if peer != nil {
			peer.close("the client reconnected from the same address", false)
		}
		_ = c.Close()
		s.mu.Lock()
		c = nil
	}
	if c == nil {
		if info.Kind != wire.ClientHello {
			s.mu.Unlock()
			s.garbage.Add(1)
			return
		}
		if info.HasCookie {
			// The answer to a cookie from a session that no longer exists
			// (evicted or timed out). pion needs a fresh handshake that starts
			// at message 0; the client starts one when it gives up on this.
			s.mu.Unlock()
			s.rejected.Add(1)
			return
		}
		c = s.admitLocked(addr, info)
		if c == nil {
			s.mu.Unlock()
			s.rejected.Add(1)
			return
		}
	} else if info.Kind == wire.ClientHello && info.HasCookie {
		c.verified.Store(true)
	}
	s.mu.Unlock()
	if !c.deliver(append([]byte(nil), b...)) {
		s.dropped.Add(1)
	}
}

// admitLocked creates a session for a new address if the limits allow,
// pushing out the oldest handshake that never answered its cookie when a
// limit is reached. Called with s.mu held.
func (s *Server) admitLocked(addr netip.AddrPort, info wire.Info) *session {
	ip := addr.Addr()
	if len(s.peers)+s.pending >= s.cfg.MaxPeers {
		return nil
	}
	if s.perIP[ip] >= s.cfg.MaxPendingPerIP {
		if !s.evictLocked(func(c *session) bool { return c.addr.Addr() == ip }) {
			return nil
		}
	}
	if s.pending >= s.cfg.MaxPendingHandshakes {
		if !s.evictLocked(func(*session) bool { return true }) {
			return nil
		}
	}
	c := newSession(s, addr, info.Random)
	c.verified.Store(info.HasCookie)
	s.sessions[addr] = c
	s.pending++
	s.perIP[ip]++
	s.wg.Add(1)
	go s.handshake(s.ctx, c)
	return c
}

// evictGrace is how long a new handshake is safe from eviction: time for a
// genuine client to answer the cookie, even one polled once per game frame
// across the internet. Younger handshakes are never pushed out; when every
// slot is that young, new ClientHellos wait for the client's retransmission.
const evictGrace = time.Second

// evictLocked ends the oldest unverified pending handshake that matches.
// An unverified handshake is one whose client never came back with the
// cookie within evictGrace: a spoofed source, or a client that went away.
func (s *Server) evictLocked(match func(*session) bool) bool {
	var oldest *session
	now := time.Now()
	for _, c := range s.sessions {
		if c.settled.Load() || c.verified.Load() || !match(c) || now.Sub(c.created) < evictGrace {
			continue
		}
		if oldest == nil || c.created.Before(oldest.created) {
			oldest = c
		}
	}
	if oldest == nil {
		return false
	}
	s.evicted.Add(1)
	oldest.evicted.Store(true)
	s.releasePendingLocked(oldest)
	delete(s.sessions, oldest.addr)
	// Closing the pipe makes pion's handshake fail; the goroutine then exits.
	go func() { _ = oldest.Close() }()
	return true
}

// releasePendingLocked gives back a session's pending slot, once.
func (s *Server) releasePendingLocked(c *session) {
	if !c.settled.CompareAndSwap(false, true) {
		return
	}
	s.pending--
	ip := c.addr.Addr()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// forget removes a closed session from the routing table.
func (s *Server) forget(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[c.addr] == c {
		delete(s.sessions, c.addr)
	}
	delete(s.pipes, c)
	s.releasePendingLocked(c)
}

func (s *Server) pionConfig(c *session) *dtls.Config {
	cfg := &dtls.Config{
		MTU:                  s.cfg.MTU,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        s.loggers,
		FlightInterval:       time.Second,
	}
	if s.psk != nil {
		psk := s.psk
		cfg.PSK = func(identity []byte) ([]byte, error) {
			c.mu.Lock()
			if c.peer == nil {
				c.peerIdentity = string(identity)
			}
			c.mu.Unlock()
			return psk.Lookup(identity)
		}
		cfg.PSKIdentityHint = []byte(psk.Hint)
		suites.Apply(cfg, suites.PreSharedKey, !s.cfg.DisableCBCFallback)
	} else {
		cfg.Certificates = []tls.Certificate{s.cert.TLS}
		suites.Apply(cfg, s.cert.Kind, !s.cfg.DisableCBCFallback)
	}
	// pion calls the factory for every suite ID a ClientHello offers; hand it
	// the same instance each time, so the one it initialises is the one we
	// can ask about afterwards.
	factory := cfg.CustomCipherSuites
	cfg.CustomCipherSuites = func() []dtls.CipherSuite {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.chacha == nil {
			c.chacha = factory()
		}
		return c.chacha
	}
	return cfg
}

// handshake runs one pion server handshake on the session's pipe.
func (s *Server) handshake(ctx context.Context, c *session) {
	defer s.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			s.failHandshake(c, fmt.Sprintf("internal error: %v", r))
		}
	}()
	s.mu.Lock()
	cfg := s.pionConfig(c)
	timeout := s.cfg.HandshakeTimeout
	mtu, recvQueue := s.cfg.MTU, s.cfg.RecvQueue
	s.mu.Unlock()

	hctx, cancel := context.WithTimeout(ctx, timeout)
	// Watchdog: whatever pion is waiting for when the deadline passes,
	// closing its pipe makes the handshake end.
	stopWatchdog := context.AfterFunc(hctx, func() {
		if !c.settled.Load() {
			_ = c.Close()
		}
	})
	conn, err := dtls.ServerWithContext(hctx, c, cfg)
	stopWatchdog()
	cancel()
	c.releaseCryptoSlot()
	if err != nil {
		if c.evicted.Load() || ctx.Err() != nil {
			// evicted by a flood or server stopping: not worth an event each
			s.handshakesFailed.Add(1)
			return
		}
		s.failHandshake(c, err.Error())
		return
	}
	s.mu.Lock()
	peer := c.peer // attach mode: the caller already holds it
	s.mu.Unlock()
	if peer == nil {
		peer = newPeer(s, c, recvQueue)
	}
	peer.establish(conn, mtu)
	s.mu.Lock()
	if !s.running || c.isClosed() || peer.Status() != StatusConnected {
		s.mu.Unlock()
		peer.close("the server stopped during the handshake", false)
		_ = conn.Close()
		return
	}
	s.releasePendingLocked(c)
	if c.peer == nil {
		c.peer = peer
		s.ready = append(s.ready, peer)
	}
	s.peers[peer] = struct{}{}
	s.mu.Unlock()
	s.handshakesOK.Add(1)
	s.events.push(Event{Kind: EventConnected, Peer: peer, Addr: c.addr})
}

func (s *Server) failHandshake(c *session, reason string) {
	s.handshakesFailed.Add(1)
	s.mu.Lock()
	p := c.peer
	s.mu.Unlock()
	if p != nil {
		p.fail("handshake failed: " + reason)
	}
	_ = c.Close()
	s.events.push(Event{Kind: EventHandshakeFailed, Addr: c.addr, Reason: reason})
}

// removePeer is called once when a peer ends.
func (s *Server) removePeer(p *Peer, reason string) {
	s.mu.Lock()
	_, known := s.peers[p]
	delete(s.peers, p)
	s.mu.Unlock()
	if known {
		s.events.push(Event{Kind: EventDisconnected, Peer: p, Addr: p.addr, Reason: reason})
	}
}

// janitor applies the idle timeout.
func (s *Server) janitor(ctx context.Context) {
	defer s.wg.Done()
	defer s.recoverTo("janitor")
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			idle := s.cfg.IdleTimeout
			var expired []*Peer
			if idle > 0 {
				for p := range s.peers {
					if now.Sub(p.LastReceive()) > idle {
						expired = append(expired, p)
					}
				}
			}
			s.mu.Unlock()
			for _, p := range expired {
				p.close(fmt.Sprintf("idle for more than %v", idle), true)
			}
		}
	}
}

// recoverTo keeps a panic in one of our goroutines from killing the host
// process; it is counted as garbage-level trouble and the loop ends.
func (s *Server) recoverTo(where string) {
	if r := recover(); r != nil {
		s.events.push(Event{Kind: EventHandshakeFailed, Reason: fmt.Sprintf("internal error in %s: %v", where, r)})
	}
}
