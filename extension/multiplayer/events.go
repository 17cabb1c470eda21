package multiplayer

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

	// sess is the session a PeerConnected announces: taking the event
	// releases the messages it sent before the game knew of it.
	sess *session
}

// nextEvent pops the oldest event; taking a PeerConnected hands the game
// the messages its peer sent before (inbox.deliver).
func (sh *shared) nextEvent() (Event, bool) {
	ev, ok := sh.events.Pop()
	if ok && ev.Kind == PeerConnected && ev.sess != nil {
		sh.in.deliver(ev.sess)
	}
	ev.sess = nil
	return ev, ok
}
