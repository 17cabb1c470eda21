package server

import (
	"net/netip"
	"sync/atomic"
)

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
)

// Event is something the caller learns about on its own thread by draining
// the server's events.
type Event struct {
	Kind   EventKind
	Peer   *Peer // Connected, Disconnected
	Addr   netip.AddrPort
	Reason string // Disconnected, HandshakeFailed, InternalError
}

// events is a bounded event queue: a full queue drops the new event and
// counts it, so a game that never drains cannot grow the heap.
type events struct {
	ch      chan Event
	dropped atomic.Uint64
}

func newEvents(n int) *events { return &events{ch: make(chan Event, n)} }

func (e *events) push(ev Event) {
	select {
	case e.ch <- ev:
	default:
		e.dropped.Add(1)
	}
}

func (e *events) pop() (Event, bool) {
	select {
	case ev := <-e.ch:
		return ev, true
	default:
		return Event{}, false
	}
}
