package client

import "sync"

// EventKind is what happened to a client.
type EventKind int

// Event kinds. A client produces at most two events in its life: Connected
// then Disconnected, or Failed.
const (
	EventConnected EventKind = iota + 1
	EventFailed
	EventDisconnected
)

// Event is one thing the caller's thread learns in poll().
type Event struct {
	Kind    EventKind
	Failure *Failure // Failed and Disconnected
}

// eventQueue holds the (at most a few) events not yet taken.
type eventQueue struct {
	mu   sync.Mutex
	list []Event
}

func newEventQueue() *eventQueue { return &eventQueue{} }

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) < 8 { // bounded; a client's life has at most two
		q.list = append(q.list, e)
	}
}

func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) == 0 {
		return Event{}, false
	}
	e := q.list[0]
	q.list = q.list[1:]
	return e, true
}
