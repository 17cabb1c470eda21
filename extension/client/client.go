// Package client is the DTLS 1.2 client behind GoDTLSClient: its own UDP
// socket, name resolution and the handshake on goroutines, the same bounded
// queues, writer goroutine and read loop as the server's peers (package
// link), and a failure reason for every way a connection attempt ends.
// Nothing here calls into Godot.
package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/link"
	"godtls/extension/queue"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// Status values are Godot's PacketPeerDTLS.Status numbers (package link).
type Status = link.Status

// Client statuses.
const (
	StatusDisconnected          = link.StatusDisconnected
	StatusHandshaking           = link.StatusHandshaking
	StatusConnected             = link.StatusConnected
	StatusError                 = link.StatusError
	StatusErrorHostnameMismatch = link.StatusErrorHostnameMismatch
)

// Defaults and bounds.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	MaxHandshakeTimeout     = 24 * time.Hour
	DefaultMTU              = 1400
	MinMTU                  = 256
	MaxMTU                  = link.MaxRecord
	DefaultRecvQueue        = 1024
	DefaultRecvQueueBytes   = 1 << 20
	sendQueue               = 8192
	sendQueueBytes          = 16 << 20
	// unreachableLimit is how many ICMP port-unreachable reports in a row,
	// with no packet from the server between them, end a connection: one
	// spoofed report must not.
	unreachableLimit = 3
)

// Config describes one connection attempt. Certificates are verified
// against RootCAs (nil: the system's roots) and ServerName unless Insecure;
// with a PSKIdentity the handshake uses the pre-shared key instead.
type Config struct {
	RootCAs    *x509.CertPool
	ServerName string // what the certificate must name; "" means the host
	Insecure   bool   // no certificate verification (tests only)
	// AnyName verifies the chain against RootCAs but not the name, as
	// Godot's TLSOptions.client_unsafe(chain) does.
	AnyName bool

	PSKIdentity string
	PSKKey      []byte

	HandshakeTimeout time.Duration // 0: DefaultHandshakeTimeout
	MTU              int           // 0: DefaultMTU
	RecvQueue        int           // packets; 0: DefaultRecvQueue
	RecvQueueBytes   int           // 0: DefaultRecvQueueBytes

	// Resolve looks a host name up; nil uses the system resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Errors of Connect (the arguments) and Send.
var (
	ErrBadConfig       = errors.New("invalid client configuration")
	ErrNotConnected    = errors.New("not connected")
	ErrTooBig          = errors.New("packet larger than the maximum payload")
	ErrSendQueueFull   = link.ErrQueueFull
	errClosedByCaller  = errors.New("closed")
	errTooManyRefusals = errors.New("the server's port answered unreachable")
)

// Client is one connection attempt and, if it succeeds, the connection.
// Methods are safe for concurrent use.
type Client struct {
	cfg  Config
	host string
	port int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	status  atomic.Int32
	failure atomic.Pointer[Failure]
	events  *eventQueue

	mu         sync.Mutex // guards conn and the fields set at connection
	conn       *dtls.Conn
	guard      *guardConn
	remote     netip.AddrPort
	peerCerts  [][]byte
	maxPayload int
	suite      dtls.CipherSuiteID
	closed     bool

	recv     *queue.Packets
	writers  *link.Writers
	counts   link.Counters
	lastRecv atomic.Int64
	refusals atomic.Int32
	// authFailed counts records that failed authentication (our suites).
	authFailed atomic.Uint64
	// restarts counts handshakes started over for a stale cookie.
	restarts  atomic.Uint64
	closeOnce sync.Once

	// settled is closed when the attempt is over (connected, failed or
	// closed), done when the connection or the attempt has ended: for a
	// goroutine that builds on the client instead of the game polling it.
	settled, done        chan struct{}
	settleOnce, doneOnce sync.Once
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	switch {
	case c.HandshakeTimeout < 0 || c.HandshakeTimeout > MaxHandshakeTimeout:
		return fmt.Errorf("%w: handshake_timeout must be between 0 and %v, got %v", ErrBadConfig, MaxHandshakeTimeout, c.HandshakeTimeout)
	case c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU):
		return fmt.Errorf("%w: mtu must be between %d and %d, got %d", ErrBadConfig, MinMTU, MaxMTU, c.MTU)
	case c.RecvQueue < 0 || c.RecvQueueBytes < 0:
		return fmt.Errorf("%w: queue sizes must not be negative", ErrBadConfig)
	case c.PSKIdentity != "" && len(c.PSKKey) == 0:
		return fmt.Errorf("%w: the PSK key is empty", ErrBadConfig)
	case c.PSKIdentity == "" && len(c.PSKKey) > 0:
		return fmt.Errorf("%w: the PSK identity is empty", ErrBadConfig)
	case len(c.PSKIdentity) > 128:
		return fmt.Errorf("%w: the PSK identity is longer than 128 bytes", ErrBadConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.RecvQueue == 0 {
		c.RecvQueue = DefaultRecvQueue
	}
	if c.RecvQueueBytes == 0 {
		c.RecvQueueBytes = DefaultRecvQueueBytes
	}
	return c
}

// Connect starts connecting to host:port and returns at once: resolution
// and the handshake run on goroutines, and the outcome arrives as an event
// (and in Status). Only invalid arguments are refused here.
func Connect(host string, port int, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if host == "" {
		return nil, fmt.Errorf("%w: the address is empty", ErrBadConfig)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: port must be between 1 and 65535, got %d", ErrBadConfig, port)
	}
	cfg = cfg.withDefaults()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	c := &Client{cfg: cfg, host: host, port: port, events: newEventQueue(), recv: queue.NewPackets(cfg.RecvQueue, cfg.RecvQueueBytes),
		settled: make(chan struct{}), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.status.Store(int32(StatusHandshaking))
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// run resolves, dials and handshakes; on success it starts the read loop.
func (c *Client) run() {
	defer c.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			c.failWith(&Failure{Kind: FailInternal, Detail: fmt.Sprint(r)})
		}
	}()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	addr, err := c.resolve(ctx)
	if err != nil {
		c.failWith(classify(ctx, err, c.cfg))
		return
	}
	var (
		conn    *dtls.Conn
		guard   *guardConn
		offered []dtls.CipherSuite
	)
	for {
		conn, guard, offered, err = c.attempt(ctx, addr)
		if err == nil || !errors.Is(err, errStaleCookie) || ctx.Err() != nil {
			break
		}
		c.restarts.Add(1) // the server forgot our cookie: start over (restart.go)
	}
	if err != nil {
		f := classify(ctx, err, c.cfg)
		if f.Kind == FailTimeout && c.cfg.PSKIdentity != "" && guard != nil && guard.reads.Load() > 0 {
			// The server answered our hello, then went silent after our
			// key exchange: it could not decrypt our Finished. pion
			// servers drop such records without an alert.
			f = &Failure{Kind: FailPSKKey, Detail: "the server stopped answering after the key exchange"}
		}
		c.failWith(f)
		return
	}
	guard.established.Store(true)
	state := conn.ConnectionState()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = conn.Close()
		return
	}
	c.conn = conn
	c.guard = guard
	c.remote = addr
	c.peerCerts = state.PeerCertificates
	c.suite = link.NegotiatedSuite(offered)
	c.maxPayload = link.MaxPayload(c.cfg.MTU, c.suite)
	c.writers = link.NewWriters(1, sendQueue, sendQueueBytes, nil)
	c.mu.Unlock()
	c.lastRecv.Store(time.Now().UnixNano())
	if !c.status.CompareAndSwap(int32(StatusHandshaking), int32(StatusConnected)) {
		return
	}
	c.events.push(Event{Kind: EventConnected})
	c.settle()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		link.ReadLoop(conn, c.recv, (*clientSink)(c))
	}()
}

// attempt runs one handshake from a fresh socket. It gives up with
// errStaleCookie when the server stops answering our cookie (restart.go).
// On failure the socket is closed and err says why; guard.reads tells
// whether the server answered at all.
func (c *Client) attempt(ctx context.Context, addr netip.AddrPort) (*dtls.Conn, *guardConn, []dtls.CipherSuite, error) {
	udp, err := udpsock.Dial(net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, nil, nil, err
	}
	offered, pcfg := c.pionConfig()
	guard := &guardConn{Conn: udp}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := guard.cookie.watch(actx, cancel)
	conn, err := dtls.ClientWithContext(actx, guard, pcfg)
	stop()
	guard.release()
	if err != nil {
		_ = udp.Close()
		if cause := context.Cause(actx); errors.Is(cause, errStaleCookie) && ctx.Err() == nil {
			err = cause
		}
		return nil, guard, offered, err
	}
	return conn, guard, offered, nil
}

func (c *Client) resolve(ctx context.Context) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(c.host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(c.port)), nil
	}
	lookup := c.cfg.Resolve
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, c.host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, &net.DNSError{Err: "no addresses", Name: c.host, IsNotFound: true}
	}
	// Prefer IPv4: a game server on IPv4 only is the common case, and one
	// address is tried within the handshake timeout.
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return netip.AddrPortFrom(a.Unmap(), uint16(c.port)), nil
		}
	}
	return netip.AddrPortFrom(addrs[0], uint16(c.port)), nil
}

// pionConfig offers our ChaCha20-Poly1305 suites first and pion's CBC suites
// after them, never pion's GCM/CCM (their nonces repeat: CVE-2026-26014).
// offered is the list of our suite instances, to learn which one was chosen.
func (c *Client) pionConfig() (offered []dtls.CipherSuite, cfg *dtls.Config) {
	cfg = &dtls.Config{
		MTU:                  c.cfg.MTU,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		FlightInterval:       time.Second,
		LoggerFactory:        link.Quiet,
	}
	var kinds []suites.KeyKind
	if c.cfg.PSKIdentity != "" {
		key := append([]byte(nil), c.cfg.PSKKey...)
		cfg.PSK = func([]byte) ([]byte, error) { return key, nil }
		cfg.PSKIdentityHint = []byte(c.cfg.PSKIdentity)
		kinds = []suites.KeyKind{suites.PreSharedKey}
	} else {
		// We verify the chain and the name ourselves (pion's check is Go's
		// crypto/x509, which ignores the Common Name): certificates made by
		// Godot's Crypto.generate_self_signed_certificate carry the host name
		// only there, and PacketPeerDTLS (mbedTLS) accepts them.
		cfg.InsecureSkipVerify = true
		if !c.cfg.Insecure {
			name := c.cfg.ServerName
			if c.cfg.AnyName {
				name = ""
			}
			cfg.VerifyPeerCertificate = verifyServer(c.cfg.RootCAs, name)
		}
		kinds = []suites.KeyKind{suites.ECDSAKey, suites.RSAKey}
	}
	cfg.CipherSuites = []dtls.CipherSuiteID{}
	for _, k := range kinds {
		offered = append(offered, suites.New(suites.ChaChaID(k)).CountingFailures(&c.authFailed))
		cfg.CipherSuites = append(cfg.CipherSuites, suites.CBCFallback(k))
	}
	// pion asks for the custom suites once per connection; hand it these
	// instances so the one it initialises is the one we ask afterwards.
	cfg.CustomCipherSuites = func() []dtls.CipherSuite { return offered }
	return offered, cfg
}

// verifyServer checks the server's chain against roots (nil: the system's)
// and, unless name is "", that the leaf is for name: by its subject
// alternative names, or by its Common Name when it has none (as mbedTLS
// does). Errors are crypto/x509's, so classify knows them.
func verifyServer(roots *x509.CertPool, name string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign, Detail: "no certificate"}
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			certs[i] = cert
		}
		inter := x509.NewCertPool()
		for _, cert := range certs[1:] {
			inter.AddCert(cert)
		}
		leaf := certs[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && len(leaf.URIs) == 0 && len(leaf.EmailAddresses) == 0 {
			if strings.EqualFold(leaf.Subject.CommonName, strings.TrimSuffix(name, ".")) {
				return nil
			}
			return x509.HostnameError{Certificate: leaf, Host: name}
		}
		return leaf.VerifyHostname(name)
	}
}

// cryptoSlots bounds the client handshakes computing at once, across every
// client of the process, to GOMAXPROCS-1: every call from Godot's thread
// into Go needs a free Go processor, and a hundred handshakes' elliptic-curve
// work would otherwise take them all (the server bounds its signing the
// same way).
var cryptoSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

const (
	// cryptoSlotWait bounds the wait for a slot: past it the handshake goes
	// on without one rather than risk its timeout.
	cryptoSlotWait = 500 * time.Millisecond
	// cryptoSlotHold bounds how long one handshake keeps a slot.
	cryptoSlotHold = 250 * time.Millisecond
)

// guardConn is the socket as pion sees it. During the handshake it counts
// the datagrams the server sent (to tell a wrong PSK from silence) and holds
// a crypto slot from a server flight's arrival until pion writes its answer
// (the work between is the handshake's crypto); once the handshake is over
// it keeps only the records a genuine server still sends
// (wire.KeepEstablished): an epoch-0 alert or application data, or a forged
// ChangeCipherSpec, from anyone who can spoof the server's address would
// otherwise end or silently deafen the connection inside pion v2.
type guardConn struct {
	net.Conn
	reads                atomic.Int32
	established          atomic.Bool
	postHandshakeDropped atomic.Uint64 // records wire.KeepEstablished removed
	garbage              atomic.Uint64 // datagrams that were not DTLS records
	lingering            atomic.Bool   // see Close
	cookie               cookieWatch   // restart.go

	slotMu   sync.Mutex
	holding  atomic.Bool // changed under slotMu; read without it on every write
	holdTill *time.Timer
}

func (g *guardConn) Read(b []byte) (int, error) {
	for {
		n, err := g.Conn.Read(b)
		if err != nil {
			return n, err
		}
		if !g.established.Load() {
			g.reads.Add(1)
			g.cookie.read()
			g.acquire()
			return n, nil
		}
		kept, dropped, ok := wire.KeepEstablished(b[:n])
		g.postHandshakeDropped.Add(uint64(dropped))
		switch {
		case !ok:
			g.garbage.Add(1)
		case len(kept) > 0:
			return copy(b, kept), nil
		}
	}
}

// While the client sends its close_notify (lingering), the socket stays
// open and pion's read loop stays in Read: pion v2's Close cancels its read
// loop before writing the close_notify, and that loop, leaving, closed the
// connection under the write and sometimes dropped it. So a deadline pion
// sets then is ignored, and pion's own Close of the socket only wakes the
// read loop; the client closes the socket itself afterwards.

func (g *guardConn) SetReadDeadline(t time.Time) error {
	if g.lingering.Load() {
		return nil
	}
	return g.Conn.SetReadDeadline(t)
}

func (g *guardConn) SetDeadline(t time.Time) error {
	if g.lingering.Load() {
		return g.Conn.SetWriteDeadline(t)
	}
	return g.Conn.SetDeadline(t)
}

func (g *guardConn) Close() error {
	if g.lingering.Load() {
		return g.Conn.SetReadDeadline(time.Unix(1, 0)) // wake the read loop
	}
	return g.Conn.Close()
}

func (g *guardConn) Write(b []byte) (int, error) {
	g.release() // pion answered: its crypto for this flight is done
	if !g.established.Load() {
		g.cookie.wrote(b)
	}
	return g.Conn.Write(b)
}

// acquire takes a crypto slot unless this handshake holds one; it waits at
// most cryptoSlotWait.
func (g *guardConn) acquire() {
	if g.holding.Load() { // only the read loop acquires: no race with itself
		return
	}
	t := time.NewTimer(cryptoSlotWait)
	defer t.Stop()
	select {
	case cryptoSlots <- struct{}{}:
	case <-t.C:
		return
	}
	g.slotMu.Lock()
	g.holding.Store(true)
	g.holdTill = time.AfterFunc(cryptoSlotHold, g.release)
	g.slotMu.Unlock()
}

// release gives the slot back, once; safe from any goroutine.
func (g *guardConn) release() {
	if !g.holding.Load() { // every write after the handshake: no lock
		return
	}
	g.slotMu.Lock()
	defer g.slotMu.Unlock()
	if !g.holding.Load() {
		return
	}
	g.holding.Store(false)
	if g.holdTill != nil {
		g.holdTill.Stop()
		g.holdTill = nil
	}
	<-cryptoSlots
}

// clientSink is what the read loop reports to.
type clientSink Client

func (cs *clientSink) Received(n int) {
	c := (*Client)(cs)
	c.lastRecv.Store(time.Now().UnixNano())
	c.refusals.Store(0)
	c.counts.PacketsIn.Add(1)
	c.counts.BytesIn.Add(uint64(n))
}

func (cs *clientSink) Dropped() {}

// Trouble: warning alerts and unusable records are survived. ICMP port
// unreachable reports end the connection only several in a row, with no
// packet from the server between them (the server is gone; a single
// report may be spoofed).
func (cs *clientSink) Trouble(err error) bool {
	c := (*Client)(cs)
	if errors.Is(err, syscall.ECONNREFUSED) && c.refusals.Add(1) >= unreachableLimit {
		c.end(StatusError, &Failure{Kind: FailUnreachable, Detail: errTooManyRefusals.Error()}, false)
		return true
	}
	return false
}

func (cs *clientSink) Closed() {
	(*Client)(cs).end(StatusDisconnected, &Failure{Kind: FailClosedByServer, Detail: "the server closed the connection"}, false)
}

func (cs *clientSink) Failed(reason string) {
	(*Client)(cs).end(StatusError, &Failure{Kind: FailNetwork, Detail: reason}, false)
}

func (cs *clientSink) Queued() {}

func (cs *clientSink) Ours() bool { return (*Client)(cs).Status() != StatusConnected }

// failWith ends a connection attempt that never connected.
func (c *Client) failWith(f *Failure) {
	st := StatusError
	if f.Kind == FailHostname {
		st = StatusErrorHostnameMismatch
	}
	if c.status.CompareAndSwap(int32(StatusHandshaking), int32(st)) {
		c.failure.Store(f)
		c.events.push(Event{Kind: EventFailed, Failure: f})
		c.settle()
		c.finish()
	}
}

func (c *Client) settle() { c.settleOnce.Do(func() { close(c.settled) }) }
func (c *Client) finish() { c.doneOnce.Do(func() { close(c.done) }) }

// Settled is closed when the attempt is over: connected, failed or closed.
func (c *Client) Settled() <-chan struct{} { return c.settled }

// Done is closed when the attempt failed or the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Signal receives a value after a packet is queued (see queue.Signal).
func (c *Client) Signal() <-chan struct{} { return c.recv.Signal() }

// end ends an established connection once.
func (c *Client) end(st Status, f *Failure, notify bool) {
	c.closeOnce.Do(func() {
		c.failure.Store(f)
		wasConnected := c.status.Swap(int32(st)) == int32(StatusConnected)
		c.mu.Lock()
		conn, w, guard := c.conn, c.writers, c.guard
		c.mu.Unlock()
		if w != nil {
			w.Stop() // packets the game sent go out before the close_notify
		}
		if conn != nil {
			if notify {
				guard.lingering.Store(true) // the socket stays open for the close_notify
				_ = conn.Close()
				guard.lingering.Store(false)
				_ = guard.Conn.Close()
			} else {
				// Called from the read loop, which Conn.Close waits for: close
				// on another goroutine. The read loop holds a count on wg, so
				// this Add cannot race a finished Wait.
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					_ = conn.Close()
				}()
			}
		}
		if wasConnected {
			c.events.push(Event{Kind: EventDisconnected, Failure: f})
		}
		c.settle()
		c.finish()
	})
}

// Close ends the attempt or the connection (with a close_notify) and waits
// for the goroutines. It is safe to call more than once.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	// Before cancelling: the attempt's goroutine, seeing its context end,
	// must find it already over (no failure event after Close).
	if c.status.CompareAndSwap(int32(StatusHandshaking), int32(StatusDisconnected)) {
		c.failure.Store(&Failure{Kind: FailClosedByCaller, Detail: errClosedByCaller.Error()})
	}
	c.cancel()
	c.end(StatusDisconnected, &Failure{Kind: FailClosedByCaller, Detail: "disconnected"}, true)
	c.wg.Wait()
}

// Status is the PacketPeerDTLS-compatible status.
func (c *Client) Status() Status { return Status(c.status.Load()) }

// Failure is why the attempt failed or the connection ended (nil if it
// has not).
func (c *Client) Failure() *Failure { return c.failure.Load() }

// LastError is Failure in words, or "".
func (c *Client) LastError() string {
	if f := c.Failure(); f != nil {
		return f.Error()
	}
	return ""
}

// NextEvent pops the oldest event not yet taken.
func (c *Client) NextEvent() (Event, bool) { return c.events.pop() }

// RemoteAddr is the address the client connects to (valid once connected).
func (c *Client) RemoteAddr() netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// PeerCertificates is the server's chain, DER, leaf first (nil with PSK).
func (c *Client) PeerCertificates() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerCerts
}

// MaxPayload is the largest packet Send accepts (0 before connecting).
func (c *Client) MaxPayload() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxPayload
}

// CipherSuite is the negotiated ChaCha20 suite, or 0 for pion's CBC.
func (c *Client) CipherSuite() dtls.CipherSuiteID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.suite
}

// Available is the number of queued packets.
func (c *Client) Available() int { return c.recv.Len() }

// Receive pops the oldest packet. Packets stay readable after the
// connection ends: nothing received is lost.
func (c *Client) Receive() ([]byte, bool) { return c.recv.Pop() }

// Send queues one packet for encryption and sending and returns at once.
func (c *Client) Send(b []byte) error {
	if c.Status() != StatusConnected {
		return ErrNotConnected
	}
	c.mu.Lock()
	w, maxPayload := c.writers, c.maxPayload
	c.mu.Unlock()
	if len(b) > maxPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooBig, len(b), maxPayload)
	}
	if err := w.Enqueue(0, (*clientWriter)(c), b); err != nil {
		if errors.Is(err, link.ErrStopped) {
			return ErrNotConnected
		}
		return err
	}
	return nil
}

// clientWriter is what the writer goroutine sends for.
type clientWriter Client

func (cw *clientWriter) Write(b []byte) {
	c := (*Client)(cw)
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return
	}
	if _, err := conn.Write(b); err == nil {
		c.counts.PacketsOut.Add(1)
		c.counts.BytesOut.Add(uint64(len(b)))
	}
}

// Stats are the connection's counters. PostHandshakeDropped counts records
// removed after the handshake (stale or forged: wire.KeepEstablished),
// AuthFailed records that failed authentication (ChaCha20-Poly1305 suites
// only: pion's CBC suites drop theirs uncounted), Garbage datagrams that
// were not DTLS.
type Stats struct {
	link.Traffic
	Dropped, PostHandshakeDropped, AuthFailed, Garbage uint64
	Queued                                             int
	LastReceive                                        time.Time
}

// Stats returns the connection's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	g := c.guard
	c.mu.Unlock()
	var postHandshakeDropped, garbage uint64
	if g != nil {
		postHandshakeDropped, garbage = g.postHandshakeDropped.Load(), g.garbage.Load()
	}
	return Stats{
		PostHandshakeDropped: postHandshakeDropped, Garbage: garbage, AuthFailed: c.authFailed.Load(),
		Traffic: c.counts.Read(), Dropped: c.recv.Dropped(), Queued: c.recv.Len(),
		LastReceive: time.Unix(0, c.lastRecv.Load()),
	}
}

// LocalAddr is the connection's own address, or the zero AddrPort before its
// socket is open.
func (c *Client) LocalAddr() netip.AddrPort {
	c.mu.Lock()
	g := c.guard
	c.mu.Unlock()
	if g == nil {
		return netip.AddrPort{}
	}
	if a, ok := g.LocalAddr().(*net.UDPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// String names the target, for logs.
func (c *Client) String() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }
