package client

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
