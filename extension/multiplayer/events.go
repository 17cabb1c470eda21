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
}
