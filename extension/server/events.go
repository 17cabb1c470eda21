package server

import "net/netip"

// EventKind says what happened.
type EventKind int

// Event kinds.
const (
	EventConnected EventKind = iota
	EventDisconnected
	EventHandshakeFailed
	// EventInternalError reports a bug of ours that the engine recovered
	// from (a panic on network input); the server keeps running.
	EventInternalError
	// EventDrained: the server refuses new connections (SetRefusing) and
	// its last peer and handshake are gone. Sent once per SetRefusing(true).
	EventDrained
)

// Event is something the caller learns about on its own thread by draining
// the server's events.
type Event struct {
	Kind   EventKind
	Peer   *Peer // Connected, Disconnected
	Addr   netip.AddrPort
	Reason string // Disconnected, HandshakeFailed, InternalError
}
