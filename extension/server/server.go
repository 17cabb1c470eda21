package server

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"

	"godtls/extension/credentials"
	"godtls/extension/link"
	"godtls/extension/netsim"
	"godtls/extension/queue"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// Server is one DTLS server. Methods are safe for concurrent use.
type Server struct {
	cfg Config
	// peerByteRate and peerPacketRate are cfg's, for the record layer,
	// which takes from a peer's budget without the server's lock
	// (session.takeBudget).
	peerByteRate, peerPacketRate atomic.Int64

	cert *credentials.Certificate
	psk  *credentials.PSK

	// mu guards the lifecycle and routing state below. unlock() releases
	// it after admitting queued ClientHellos into freed slots and then runs
	// what was deferred with later(); the routing paths end with it. Other
	// holders call mu.Unlock(): a slot they free is filled at the next
	// unlock().
	mu           sync.Mutex
	running      bool                        // Listen or Attach started the goroutines; Stop ends them
	attached     bool                        // running in attach mode: the caller moves the datagrams
	sock         udpsock.PacketConn          // the socket in listen mode
	frame        atomic.Pointer[frameReader] // the socket read in the game's frame (pump.go); nil while not listening or where it cannot be
	noFrameReads atomic.Bool                 // SetFrameReads(false)
	readInFrame  atomic.Uint64               // datagrams Pump read
	// handshakesRunning counts the handshake goroutines: while any runs,
	// the reader goroutine reads as datagrams come (pump.go).
	handshakesRunning atomic.Int32
	pipes             map[*session]struct{} // attach-mode sessions
	ctx               context.Context
	cancel            context.CancelFunc
	wg                sync.WaitGroup
	sessions          map[netip.AddrPort]*session // the session of each address
	candidates        map[netip.AddrPort]*session // a new client's handshake beside a live session
	adm               admission
	starts            startGate // guarded by mu
	peers             map[*Peer]struct{}
	ready             *list.List // connected peers not yet taken, oldest first; a peer leaves when taken or when it ends
	readySig          chan struct{}
	deferred          []func()
	slotFreed         bool

	events *queue.Events[Event]
	inbox  inbox // peers with packets waiting, for ReceiveAll

	writers    atomic.Pointer[link.Writers] // nil while stopped
	nextWriter atomic.Uint32

	handshakesOK, handshakesFailed       atomic.Uint64
	traffic                              link.Counters
	dropped, garbage, oversize           atomic.Uint64
	stray, spoofed, postHandshakeDropped atomic.Uint64
	replayed                             atomic.Uint64 // records the record layer's replay window dropped
	rejected, evicted, panics            atomic.Uint64
	refused                              atomic.Uint64          // new clients turned away while refusing
	published                            atomic.Pointer[counts] // PublishedStats: the janitor's last count

	// refusing turns new clients away (drain.go); drainedSent: EventDrained
	// went out since refusing was turned on. Guarded by mu, as are the
	// refusal alerts' per-second count.
	refusing, drainedSent bool
	refusalSecond         int64
	refusalsThisSecond    int
	authFailed, overRate  atomic.Uint64

	loggers logging.LoggerFactory

	// cryptoSlots bounds the handshakes computing at once (cryptoslots.go).
	cryptoSlots *cryptoSlots
}

// New returns a server with the given limits (see Config.Validate; invalid
// values are replaced by defaults); it does nothing until it is set up and
// listening.
func New(cfg Config) *Server {
	if cfg.Validate() != nil {
		cfg = Config{}
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:         cfg,
		cryptoSlots: newCryptoSlots(max(1, min(runtime.GOMAXPROCS(0), runtime.NumCPU())-1)),
		readySig:    make(chan struct{}, 1),
		events:      queue.NewEvents[Event](cfg.EventQueue),
		loggers:     link.Quiet,
	}
	s.storeRates()
	return s
}

// Config returns the limits in force.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// SetConfig changes the limits, or refuses them with the reason. Limits
// apply to new handshakes and peers; the MTU and queue sizes of existing
// peers stay as they were.
func (s *Server) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg.Network = s.cfg.Network // the link New chose stays: the socket uses it
	s.cfg = cfg.withDefaults()
	s.storeRates()
	return nil
}

// storeRates copies the peers' budgets for takeBudget; with s.mu held, or
// before s is shared.
func (s *Server) storeRates() {
	s.peerByteRate.Store(int64(s.cfg.PeerByteRate))
	s.peerPacketRate.Store(int64(s.cfg.PeerPacketRate))
}

// SetCertificate configures certificate authentication, or replaces the
// credentials of a server already set up (a renewed certificate, with
// clients still connected): new handshakes use c; peers connected and
// handshakes under way keep what they started with, because each session's
// pion configuration is built from the credentials when it is admitted.
func (s *Server) SetCertificate(c *credentials.Certificate) error {
	if c == nil {
		return fmt.Errorf("%w: no certificate", ErrBadConfig)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cert, s.psk = c, nil
	return nil
}

// SetPSK configures pre-shared-key authentication, or replaces the
// credentials as SetCertificate does.
func (s *Server) SetPSK(p *credentials.PSK) error {
	if p == nil {
		return fmt.Errorf("%w: no pre-shared keys", ErrBadConfig)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.psk, s.cert = p, nil
	return nil
}

func (s *Server) configuredLocked() bool { return s.cert != nil || s.psk != nil }

// Configured reports whether credentials are set.
func (s *Server) Configured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configuredLocked()
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
	defer s.unlock()
	if !s.configuredLocked() {
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
	// A socket the game's frame reads (pump.go) is kept out of Go's
	// poller: nobody waits on it most of the time, and the poller would
	// wake a thread for each of its datagrams all the same. A server whose
	// goroutine reads every datagram as it comes (frame reads off before
	// Listen, as the multiplayer server's) waits on it nearly all the
	// time, so the poller's wake-ups are not wasted there, and it keeps
	// Go's socket, without the unpolled socket's extra system calls per
	// wait (arming its one-shot, taking the event).
	var sock udpsock.PacketConn
	if s.noFrameReads.Load() {
		sock, err = udpsock.Listen(laddr)
	} else {
		sock, err = udpsock.ListenUnpolled(laddr)
	}
	if err != nil {
		if udpsock.AddrInUse(err) {
			return fmt.Errorf("%w: %d", ErrPortInUse, port)
		}
		return err
	}
	// Large socket buffers absorb a join storm while handshakes are queued.
	_ = sock.SetReadBuffer(4 << 20)
	_ = sock.SetWriteBuffer(4 << 20)
	// Every datagram passes the simulated network (netsim), which costs an
	// atomic load while it is off.
	s.sock = netsim.Wrap(sock, s.cfg.Network)
	s.startLocked()
	frame := newFrameReader(s.sock)
	s.frame.Store(frame)
	s.wg.Add(1)
	go s.readLoop(s.ctx, s.sock, frame)
	return nil
}

// startLocked prepares the state both modes share and starts the janitor
// and the writers.
func (s *Server) startLocked() {
	s.running = true
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sessions = make(map[netip.AddrPort]*session)
	s.candidates = make(map[netip.AddrPort]*session)
	s.pipes = make(map[*session]struct{})
	s.adm = newAdmission()
	s.starts = newStartGate()
	s.peers = make(map[*Peer]struct{})
	s.ready = list.New()
	s.wg.Add(1)
	go s.janitor(s.ctx)
	s.startWritersLocked()
}

// Attach starts a handshake with a remote address whose datagrams the caller
// moves itself (Godot's UDPServer and PacketPeerUDP own the socket): the
// caller hands received datagrams to Peer.Feed and sends what Peer.Outbound
// returns. The same admission rules as in listen mode apply: the handshake
// starts unverified, may wait in the admission queue, and is verified only
// by the cookie pion sent. The peer is returned at once in
// StatusHandshaking and keeps its identity throughout.
func (s *Server) Attach(addr netip.AddrPort) (*Peer, error) {
	s.mu.Lock()
	defer s.unlock()
	if !s.configuredLocked() {
		return nil, ErrNotConfigured
	}
	if s.sock != nil {
		return nil, ErrModeMixed
	}
	if !s.running {
		s.startLocked()
		s.attached = true
	}
	if s.refusing {
		s.refused.Add(1)
		return nil, ErrRefusing
	}
	ip := addr.Addr()
	if s.serverFullLocked(ip) {
		s.rejected.Add(1)
		return nil, ErrBusy
	}
	now := time.Now()
	c := newSession(s, addr, [wire.RandomLen]byte{}, now)
	c.attached = true
	c.out = queue.NewPackets(sessionOutbound, sessionOutboundBytes)
	p := newPeer(s, c, s.cfg.RecvQueue, s.cfg.RecvQueueBytes)
	c.peer = p
	s.pipes[c] = struct{}{}
	global, perIP := s.poolFullLocked(ip)
	if (global || perIP) && !s.evictForLocked(ip, now) {
		c.phase.Store(int32(phaseQueued))
		s.enqueueLocked(queuedHello{addr: addr, sess: c, at: now})
		return p, nil
	}
	s.startUnverifiedLocked(addr, c.random, nil, c, now)
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
	s.frame.Store(nil)
	s.running = false
	s.attached = false
	cancel := s.cancel
	peers := make([]*Peer, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	var sessions []*session
	for _, c := range s.sessions {
		sessions = append(sessions, c)
	}
	for _, c := range s.candidates {
		sessions = append(sessions, c)
	}
	for c := range s.pipes {
		sessions = append(sessions, c)
		if c.peer != nil && c.peer.Status() == link.StatusHandshaking {
			peers = append(peers, c.peer)
		}
	}
	for _, c := range sessions {
		c.quiet.Store(true)
	}
	s.adm.queue.clear()
	s.clearStartsLocked()  // their sessions are shut down below, never started
	s.published.Store(nil) // a stopped server shows no peers to a monitor
	s.unlock()

	// Packets already sent by the game go out before the close_notify.
	s.closeWriters()
	for _, p := range peers {
		p.close("server stopped", true)
	}
	cancel()
	// A handshake that pion finished just now, its peer not listed yet,
	// sends its close_notify through its session and the socket: both stay
	// open until the running handshakes have ended. The engine suite's
	// "stop with live peers" once saw a client that never heard of the
	// stop this way (TestStopTellsAPeerItWasAboutToList).
	s.awaitHandshakes(stopHandshakeWait)
	for _, c := range sessions {
		c.shutdown()
	}
	// Closing the socket after the peers lets their close_notify go out.
	if sock != nil {
		_ = sock.Close()
	}
	s.wg.Wait()
}

// stopHandshakeWait bounds how long Stop waits for the handshakes it
// cancelled: pion returns at once on cancellation, so this is only a
// bound.
const stopHandshakeWait = time.Second

// awaitHandshakes waits until no handshake goroutine runs, or at most d.
func (s *Server) awaitHandshakes(d time.Duration) {
	for deadline := time.Now().Add(d); s.handshakesRunning.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// TakeConnection returns the next connected peer that nobody has taken yet,
// or nil. It never blocks.
func (s *Server) TakeConnection() *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.ready != nil && s.ready.Len() > 0 {
		p := s.unreadyLocked(s.ready.Front().Value.(*Peer))
		if p.Status() == link.StatusConnected {
			return p
		}
	}
	return nil
}

// unreadyLocked takes p off the list of peers not yet taken, if it is on it,
// and returns it. A peer that ends leaves the list too: a game that never
// calls TakeConnection (it uses the connection signal and ReceiveAll) must
// not keep every peer that ever connected.
func (s *Server) unreadyLocked(p *Peer) *Peer {
	if p.readyAt != nil {
		s.ready.Remove(p.readyAt)
		p.readyAt = nil
	}
	return p
}

// ReadySignal receives a value after a connected peer joins the ones
// TakeConnection returns: for a goroutine that takes peers as they come
// (one pending value stands for any number of peers).
func (s *Server) ReadySignal() <-chan struct{} { return s.readySig }

// ConnectionAvailable reports whether TakeConnection would return a peer.
func (s *Server) ConnectionAvailable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready == nil {
		return false
	}
	for e := s.ready.Front(); e != nil; e = e.Next() {
		if e.Value.(*Peer).Status() == link.StatusConnected {
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
		if p.Status() == link.StatusConnected {
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
func (s *Server) NextEvent() (Event, bool) { return s.events.Pop() }

// forget removes a closed session from the routing tables and gives back
// whatever slot it held.
func (s *Server) forget(c *session) {
	s.mu.Lock()
	defer s.unlock()
	if s.sessions[c.addr] == c {
		delete(s.sessions, c.addr)
	}
	if s.candidates[c.addr] == c {
		delete(s.candidates, c.addr)
		// the live session no longer competes with a newcomer for the address
		if cur := s.sessions[c.addr]; cur != nil && cur.phaseNow() == phaseVerified {
			cur.muted.Store(false)
		}
	}
	delete(s.pipes, c)
	if c.phaseNow() == phaseQueued {
		s.unqueueLocked(c)
	}
	s.leavePoolLocked(c)
	s.settleLocked(c)
	if c.counted {
		c.counted = false
		decrement(s.adm.peersPerIP, c.addr.Addr())
		s.slotFreed = true
	}
	s.checkDrainedLocked()
}

// Network is the simulated network of the listening socket (package
// netsim): set it to test the game on a bad link.
func (s *Server) Network() *netsim.Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Network
}
