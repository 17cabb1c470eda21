package multiplayer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"godtls/extension/server"
)

// Server runs multiplayer sessions over the peers of a DTLS server: it takes
// every peer the server connects, sets up its session on a goroutine, gives
// it a random peer id (≥ 2) and announces it once the client knows that id.
type Server struct {
	sh         *shared
	srv        *server.Server
	maxClients int
	refusing   atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	sessions map[int32]*session    // announced
	setting  map[*session]struct{} // setting up, not yet announced
	// leaving: announced sessions that ended and whose PeerDisconnected the
	// game has not taken yet. The game still counts them as peers, and
	// SceneMultiplayer may send to one in the meantime: that is dropped
	// without an error, as it would have been a moment earlier, instead
	// of an "unknown peer" error for a mistake the game did not make. As
	// many as the unread events hold, which the event queue bounds.
	leaving map[int32]*session
}

// NewServer serves multiplayer sessions on srv, which must be listening
// (or attached) already. maxClients bounds announced and setting-up
// sessions together.
func NewServer(srv *server.Server, maxClients int, opts Options) *Server {
	m := &Server{
		sh: newShared(opts, 2*maxClients+16), srv: srv, maxClients: maxClients,
		sessions: map[int32]*session{}, setting: map[*session]struct{}{},
		leaving: map[int32]*session{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.sh.wg.Add(2)
	go m.acceptLoop()
	go m.sh.janitor(m.ctx.Done(), m.all)
	return m
}

// DTLS is the DTLS server underneath (limits, stats, its own events).
func (m *Server) DTLS() *server.Server { return m.srv }

// SetRefusing makes the server turn new peers away or accept them again.
// New clients are refused by the DTLS server (an alert before any
// handshake work, server.SetRefusing, which also reports EventDrained when
// the last peer has left); a session already being set up is refused here,
// with the same reason.
func (m *Server) SetRefusing(on bool) {
	m.refusing.Store(on)
	m.srv.SetRefusing(on)
}

// Refusing reports SetRefusing's state.
func (m *Server) Refusing() bool { return m.refusing.Load() }

func (m *Server) acceptLoop() {
	defer m.sh.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.srv.ReadySignal():
		}
		for p := m.srv.TakeConnection(); p != nil; p = m.srv.TakeConnection() {
			m.admit(p)
		}
	}
}

// admit starts a session for p, or turns p away with the reason.
func (m *Server) admit(p *server.Peer) {
	car := peerCarrier{p}
	m.mu.Lock()
	reason := ""
	switch {
	case m.closed:
		reason = "the server is closing"
	case m.refusing.Load():
		reason = "the server is not accepting new connections"
	case len(m.sessions)+len(m.setting) >= m.maxClients:
		reason = "the server is full"
	case !m.sh.events.Reserve(2): // the game is not draining events
		reason = "the server is busy"
	}
	if reason != "" {
		m.mu.Unlock()
		refuse(car, reason)
		return
	}
	s := newSession(m.sh, car, true, m.ended)
	s.id = m.newIDLocked() // before any reader can see the session
	m.setting[s] = struct{}{}
	m.mu.Unlock()
	m.sh.wg.Add(1)
	go m.setup(s)
}

// refuse tells a peer why it is turned away (twice: a datagram may be
// lost) and closes the DTLS connection.
func refuse(car carrier, reason string) {
	bye := byeRecord(reason)
	_ = car.Send(bye)
	_ = car.Send(bye)
	car.Close()
}

func (m *Server) setup(s *session) {
	defer m.sh.wg.Done()
	if err := s.start(); err != nil {
		s.end("setup failed: " + err.Error())
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.gone {
		return
	}
	// Announced and live before the hello leaves: the client sends as soon
	// as it reads its id, and a message that arrives before live is set is
	// dropped. With the hello first, a server goroutine descheduled between
	// the two lost the client's first message (the likely cause of one
	// churn-test session in ~2,000, under -race on a loaded machine, whose
	// first reliable message never came back).
	delete(m.setting, s)
	m.sessions[s.id] = s
	s.announced = true
	m.sh.events.PushReserved(Event{Kind: PeerConnected, Peer: s.id, sess: s})
	s.live.Store(true)
	hello := make([]byte, 5)
	hello[0] = ctlHello
	binary.BigEndian.PutUint32(hello[1:], uint32(s.id))
	if err := s.write(streamControl, hello, false); err != nil {
		go s.end("setup failed: " + err.Error())
	}
}

// newIDLocked picks a random unused id in [2, 2^31-1], as Godot's
// generate_unique_id does.
func (m *Server) newIDLocked() int32 {
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		id := int32(binary.BigEndian.Uint32(b[:]) & 0x7fffffff)
		if id >= 2 && m.sessions[id] == nil && m.leaving[id] == nil && !m.settingHasLocked(id) {
			return id
		}
	}
}

func (m *Server) settingHasLocked(id int32) bool {
	for s := range m.setting {
		if s.id == id {
			return true
		}
	}
	return false
}

// ended is every session's onEnd.
func (m *Server) ended(s *session, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.gone = true
	delete(m.setting, s)
	if !s.announced {
		m.sh.events.Release(2)
		m.sh.in.discard(s) // the game never knew this peer
		return
	}
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
		m.leaving[s.id] = s
	}
	m.sh.in.dropHeld(s)
	m.sh.events.PushReserved(Event{Kind: PeerDisconnected, Peer: s.id, Reason: reason, sess: s})
}

func (m *Server) all() []*session {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	return out
}

// known returns the session of a peer the game knows of: announced, and
// either live or leaving (ended, the game not told yet).
func (m *Server) known(id int32) (s *session, leaving bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sessions[id]; s != nil {
		return s, false
	}
	s = m.leaving[id]
	return s, s != nil
}

// Send sends a message to target as Godot's set_target_peer means it: 0
// every peer, a positive id that peer, a negative id every peer but that
// one. It reports the first error (a peer whose send buffer is full does
// not stop the others). A message to a peer that left but whose
// PeerDisconnected the game has not taken yet is dropped, with no error:
// the game could not have known (ErrClosed is a session ending now).
// data stays the caller's: a reliable message is copied once, when the
// first peer's outbox accepts it, and every peer it goes to shares that copy.
func (m *Server) Send(target int32, channel int, mode Mode, data []byte) error {
	return m.send(target, channel, mode, &outgoing{data: data})
}

// SendOwned is Send for data the caller gives up: a reliable message is
// queued as it is, shared by every peer it goes to, and data must not be
// written after the call. The bridge hands over the copy it made of
// Godot's bytes, so that a broadcast costs the game's thread no copy.
func (m *Server) SendOwned(target int32, channel int, mode Mode, data []byte) error {
	return m.send(target, channel, mode, &outgoing{data: data, kept: true})
}

func (m *Server) send(target int32, channel int, mode Mode, msg *outgoing) error {
	if target > 0 {
		s, err := m.reachable(target)
		if s == nil {
			return err
		}
		s.sentTo(channel, mode, msg.data)
		return droppedIfEnded(s.sendOrdered(channel, mode, msg))
	}
	var first error
	for _, s := range m.all() {
		if target < 0 && s.id == -target {
			continue
		}
		if err := droppedIfEnded(s.send(channel, mode, msg)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// droppedIfEnded is err, or nil for ErrClosed: the session ended and its
// PeerDisconnected is on its way to the game.
func droppedIfEnded(err error) error {
	if err == ErrClosed {
		return nil
	}
	return err
}

// Disconnect ends one peer with a reason its side reports: gracefully
// (after the goodbye is acknowledged) or at once. A peer that already
// left (its PeerDisconnected not taken yet) is left as it is.
func (m *Server) Disconnect(id int32, reason string, force bool) error {
	s, err := m.reachable(id)
	if s == nil {
		return err
	}
	s.leave(reason, !force)
	return nil
}

// reachable is the session a call about peer id acts on: nil with
// ErrUnknownPeer for an id the game was never told of or already heard
// leave, and nil with no error for a peer that left whose
// PeerDisconnected the game has not taken (the call is dropped).
func (m *Server) reachable(id int32) (*session, error) {
	s, leaving := m.known(id)
	switch {
	case s == nil:
		return nil, ErrUnknownPeer
	case leaving:
		return nil, nil
	}
	return s, nil
}

// Peers lists the ids of the announced peers that have not ended (not
// those leaving: ended, their PeerDisconnected not taken yet).
func (m *Server) Peers() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int32, 0, len(m.sessions))
	for id := range m.sessions {
		out = append(out, id)
	}
	return out
}

// Stats describes one peer, also one that left while the game has not
// taken its PeerDisconnected yet.
func (m *Server) Stats(id int32) (PeerStats, error) {
	s, _ := m.known(id)
	if s == nil {
		return PeerStats{}, ErrUnknownPeer
	}
	return s.stats(s.car.(peerCarrier).Stats().Traffic), nil
}

// Available, Front and Pop give the game its messages.
func (m *Server) Available() int        { return m.sh.in.len() }
func (m *Server) Front() (Packet, bool) { return m.sh.in.front() }
func (m *Server) Pop() (Packet, bool)   { return m.sh.in.pop() }
func (m *Server) Dropped() uint64       { return m.sh.in.droppedCount() }

// NextEvent gives the game the oldest event. Once it has taken a peer's
// PeerDisconnected, that peer is unknown.
func (m *Server) NextEvent() (Event, bool) {
	ev, ok := m.sh.nextEvent()
	if ok && ev.Kind == PeerDisconnected {
		m.mu.Lock()
		delete(m.leaving, ev.Peer)
		m.mu.Unlock()
	}
	return ev, ok
}

// Close says goodbye to every peer, stops the DTLS server and waits for
// every goroutine. Queued messages stay readable.
func (m *Server) Close(reason string) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	list := make([]*session, 0, len(m.sessions)+len(m.setting))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	for s := range m.setting {
		list = append(list, s)
	}
	m.mu.Unlock()
	for _, s := range list {
		s.leave(reason, false)
	}
	m.cancel()
	m.srv.Stop()
	m.sh.waitForGoroutines()
}

// peerCarrier is a server peer as a session's carrier.
type peerCarrier struct{ *server.Peer }

// Close lets what the session queued (a goodbye) go out first.
func (c peerCarrier) Close() { c.Peer.CloseAfterQueued() }

// Health is the sessions' round trips and retransmissions, lock-free.
func (m *Server) Health() Health { return m.sh.health.read() }
