package multiplayer

import "time"

// EventKind says what happened.
type EventKind int

// Event kinds.
const (
	// PeerConnected: a peer joined (on a client: the server, id 1, once
	// this client knows its own id).
	PeerConnected EventKind = iota + 1
	// PeerDisconnected: a peer announced by PeerConnected left; Reason
	// says why.
	PeerDisconnected
	// ConnectFailed: a client's attempt ended before it connected.
	ConnectFailed
)

// Event is what the caller learns on its own thread.
type Event struct {
	Kind   EventKind
	Peer   int32
	Reason string

	// sess is the session the event is about: taking a PeerConnected
	// releases the messages it sent before the game knew of it; a
	// PeerDisconnected waits behind the messages it sent before it left.
	sess *session
}

// endDrain bounds how long a PeerDisconnected waits for its session's
// stream readers to hand over what pion had received (endMayGo).
const endDrain = 250 * time.Millisecond

// endMayGo reports whether the PeerDisconnected of s may go to the game
// now. First its stream readers hand over what pion had received: the
// other side ends on a goodbye record, which pion's read loop sees, while
// a reader may not have pushed the message before it yet (pion had it, and
// had acknowledged it, which is what a graceful goodbye waits for); they
// end once they have read it, as the association closes. Then, once,
// the messages that wait to be read go first (nextEvent).
func (sh *shared) endMayGo(s *session) bool {
	if s.readers.Load() > 0 && time.Since(time.Unix(0, s.endedAt.Load())) < endDrain {
		return false
	}
	return sh.in.readableFor(s) == 0 || s.endHeldBack.Swap(true)
}

// nextEvent pops the oldest event; taking a PeerConnected hands the game
// the messages its peer sent before (inbox.deliver).
//
// A PeerDisconnected is held back once while messages of its peer wait to
// be read, and nothing comes out until the next call: the caller reads
// them first. SceneMultiplayer's poll() polls the peer (which takes the
// events) and then reads every message; a message from a peer whose end it
// has already seen it drops ("!connected_peers.has(sender)"), and on a
// client whose server left it reads none at all. So a peer's last messages
// before it left, its last words and the server's before a kick, were
// lost whenever the game polled after the end had arrived too (ENet loses
// them the same way). Once only, so that a caller that does not read
// messages still learns of the end, one poll later.
func (sh *shared) nextEvent() (Event, bool) {
	sh.in.expireOrderHeld(time.Now())
	ev, ok := sh.events.Front()
	if !ok {
		return ev, false
	}
	if ev.Kind == PeerDisconnected && ev.sess != nil && !sh.endMayGo(ev.sess) {
		return Event{}, false
	}
	ev, _ = sh.events.Pop()
	if ev.Kind == PeerConnected && ev.sess != nil {
		sh.in.deliver(ev.sess)
	}
	ev.sess = nil
	return ev, true
}
