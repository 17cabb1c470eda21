package multiplayer

import (
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/client"
	"godtls/extension/link"
)

// Status is a client's connection status, numbered as Godot's
// MultiplayerPeer.ConnectionStatus.
type Status int32

// Statuses.
const (
	Disconnected Status = 0
	Connecting   Status = 1
	Connected    Status = 2
)

// ServerID is the server's peer id.
const ServerID int32 = 1

// Client is one multiplayer connection to a server: the DTLS handshake,
// the session set up on it, and the peer id the server gives.
type Client struct {
	sh     *shared
	dtls   *client.Client
	status atomic.Int32
	id     atomic.Int32
	// told: the game took the PeerConnected and not yet the
	// PeerDisconnected. Until it takes the latter it may still send.
	told atomic.Bool
	sess atomic.Pointer[session]
	done chan struct{}

	mu        sync.Mutex
	announced bool
	settled   bool
}

// Dial starts connecting and returns at once; the outcome arrives as an
// event (PeerConnected with the server's id 1, or ConnectFailed).
func Dial(host string, port int, cfg client.Config, opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = opts.withDefaults().SetupTimeout
	}
	c, err := client.Connect(host, port, cfg)
	if err != nil {
		return nil, err
	}
	m := &Client{sh: newShared(opts, 2), dtls: c, done: make(chan struct{})}
	m.sh.events.Reserve(2) // connected or failed, then disconnected
	m.status.Store(int32(Connecting))
	m.sh.wg.Add(2)
	go m.run()
	go m.sh.janitor(m.done, m.tended)
	return m, nil
}

func (m *Client) run() {
	defer m.sh.wg.Done()
	select {
	case <-m.dtls.Settled():
	case <-m.done:
		return
	}
	if m.dtls.Status() != link.StatusConnected {
		m.settle(false, byeOr(m.dtls, m.dtls.LastError()))
		return
	}
	s := newSession(m.sh, m.dtls, false, m.ended)
	s.id = ServerID
	s.live.Store(true) // the server may send before our hello is read
	m.sess.Store(s)
	deadline := time.Now().Add(m.sh.opts.SetupTimeout)
	if err := s.start(); err != nil {
		s.end("setup failed: " + err.Error())
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case id := <-s.hello:
		m.id.Store(id)
		m.settle(true, "")
	case <-s.ended:
	case <-m.done:
	case <-t.C:
		s.end("the server sent no peer id in time")
	}
}

// byeOr finds the reason a server gave before it closed the connection
// (it turned us away before our session started), or returns otherwise.
func byeOr(car carrier, otherwise string) string {
	for rec, ok := car.Receive(); ok; rec, ok = car.Receive() {
		if len(rec) > 0 && rec[0] == kindBye {
			return string(rec[1:min(len(rec), 1+maxReason)])
		}
	}
	return otherwise
}

// settle reports the outcome of the attempt once.
func (m *Client) settle(ok bool, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settled {
		return
	}
	m.settled = true
	if ok {
		m.announced = true
		m.status.Store(int32(Connected))
		m.sh.events.PushReserved(Event{Kind: PeerConnected, Peer: ServerID, sess: m.sess.Load()})
		return
	}
	m.status.Store(int32(Disconnected))
	m.sh.events.PushReserved(Event{Kind: ConnectFailed, Reason: reason})
	m.sh.events.Release(1)
	if sess := m.sess.Load(); sess != nil {
		m.sh.in.discard(sess) // never announced
	}
}

// ended is the session's onEnd.
func (m *Client) ended(s *session, reason string) {
	m.mu.Lock()
	if !m.settled {
		m.mu.Unlock()
		m.settle(false, reason)
		return
	}
	defer m.mu.Unlock()
	m.sh.in.dropHeld(s)
	if m.announced {
		m.announced = false
		m.status.Store(int32(Disconnected))
		m.sh.events.PushReserved(Event{Kind: PeerDisconnected, Peer: ServerID, Reason: reason, sess: s})
	}
}

// tended is the session once its association is up (before, the setup
// has its own deadline).
func (m *Client) tended() []*session {
	if s := m.sess.Load(); s != nil && s.assoc.Load() != nil {
		return []*session{s}
	}
	return nil
}

// Status is the connection status.
func (m *Client) Status() Status { return Status(m.status.Load()) }

// ID is the peer id the server gave, or 0 before.
func (m *Client) ID() int32 { return m.id.Load() }

// Send sends a message to the server. Once the connection has ended,
// while the game has not taken its PeerDisconnected yet, a message is
// dropped with no error, as the server drops one to a peer that just
// left: the game could not have known. data stays the caller's (a
// reliable message is copied once its outbox accepts it).
func (m *Client) Send(channel int, mode Mode, data []byte) error {
	return m.send(channel, mode, &outgoing{data: data})
}

// SendOwned is Send for data the caller gives up (see Server.SendOwned).
func (m *Client) SendOwned(channel int, mode Mode, data []byte) error {
	return m.send(channel, mode, &outgoing{data: data, kept: true})
}

func (m *Client) send(channel int, mode Mode, msg *outgoing) error {
	err := ErrNotReady
	if s := m.sess.Load(); s != nil && m.Status() == Connected {
		s.sentTo(channel, mode, msg.data)
		err = s.sendOrdered(channel, mode, msg)
	}
	if m.told.Load() && (err == ErrNotReady || err == ErrClosed) {
		return nil
	}
	return err
}

// Stats describes the connection to the server.
func (m *Client) Stats() (PeerStats, bool) {
	s := m.sess.Load()
	if s == nil {
		return PeerStats{}, false
	}
	return s.stats(m.dtls.Stats().Traffic), true
}

// Available, Front and Pop give the game its messages.
func (m *Client) Available() int        { return m.sh.in.len() }
func (m *Client) Front() (Packet, bool) { return m.sh.in.front() }
func (m *Client) Pop() (Packet, bool)   { return m.sh.in.pop() }

// NextEvent gives the game the oldest event.
func (m *Client) NextEvent() (Event, bool) {
	ev, ok := m.sh.nextEvent()
	if ok {
		m.told.Store(ev.Kind == PeerConnected)
	}
	return ev, ok
}

// Close says goodbye (the server reports reason), closes the connection
// and waits for every goroutine. Queued messages stay readable.
func (m *Client) Close(reason string) {
	select {
	case <-m.done:
		return
	default:
	}
	close(m.done)
	if s := m.sess.Load(); s != nil {
		s.leave(reason, false)
	}
	m.dtls.Close()
	m.sh.waitForGoroutines()
}

// Leave says goodbye to the server gracefully, after what the game sent
// before has arrived (session.leave): PeerDisconnected follows once the
// goodbye is acknowledged, or after byeLinger. Before the client is
// connected it closes at once. Close still ends everything.
func (m *Client) Leave(reason string) {
	if s := m.sess.Load(); s != nil && m.Status() == Connected {
		s.leave(reason, true)
		return
	}
	m.Close(reason)
}

// Health is the session's round trip and retransmissions, lock-free.
func (m *Client) Health() Health { return m.sh.health.read() }

// DTLS is the DTLS client underneath (its status and counters).
func (m *Client) DTLS() *client.Client { return m.dtls }
