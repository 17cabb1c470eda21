package multiplayer

import "sync"

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

// eventQueue is bounded without ever losing an event Godot needs to stay
// consistent: a session reserves room for both its events before it is
// announced, and a session that finds no room is refused instead.
type eventQueue struct {
	mu       sync.Mutex
	list     []Event
	reserved int
	limit    int
}

func newEventQueue(limit int) *eventQueue { return &eventQueue{limit: limit} }

// reserve claims room for n events, or reports false.
func (q *eventQueue) reserve(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list)+q.reserved+n > q.limit {
		return false
	}
	q.reserved += n
	return true
}

// release gives back room reserved for an event that will not come.
func (q *eventQueue) release(n int) {
	q.mu.Lock()
	q.reserved -= n
	q.mu.Unlock()
}

// pushReserved queues an event whose room was reserved.
func (q *eventQueue) pushReserved(e Event) {
	q.mu.Lock()
	q.reserved--
	q.list = append(q.list, e)
	q.mu.Unlock()
}

func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) == 0 {
		return Event{}, false
	}
	e := q.list[0]
	q.list[0] = Event{}
	q.list = q.list[1:]
	if len(q.list) == 0 {
		q.list = nil
	}
	return e, true
}
