package client

import (
	"runtime"
	"time"
)

// cryptoSlots bounds the client handshakes computing at once, across every
// client of the process, to GOMAXPROCS-1: every call from Godot's thread
// into Go needs a free Go processor, and a hundred handshakes' elliptic-curve
// work would otherwise take them all (the server bounds its handshakes'
// crypto the same way).
var cryptoSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

const (
	// cryptoSlotWait bounds the wait for a slot: past it the handshake goes
	// on without one rather than risk its timeout.
	cryptoSlotWait = 500 * time.Millisecond
	// cryptoSlotHold bounds how long one handshake keeps a slot.
	cryptoSlotHold = 250 * time.Millisecond
)

// acquire takes a crypto slot unless this handshake holds one; it waits at
// most cryptoSlotWait.
func (g *guardConn) acquire() {
	if g.holding.Load() { // only the read loop acquires: no race with itself
		return
	}
	t := time.NewTimer(cryptoSlotWait)
	defer t.Stop()
	select {
	case cryptoSlots <- struct{}{}:
	case <-t.C:
		return
	}
	g.slotMu.Lock()
	g.holding.Store(true)
	g.holdTill = time.AfterFunc(cryptoSlotHold, g.release)
	g.slotMu.Unlock()
}

// release gives the slot back, once; safe from any goroutine.
func (g *guardConn) release() {
	if !g.holding.Load() { // every write after the handshake: no lock
		return
	}
	g.slotMu.Lock()
	defer g.slotMu.Unlock()
	if !g.holding.Load() {
		return
	}
	g.holding.Store(false)
	if g.holdTill != nil {
		g.holdTill.Stop()
		g.holdTill = nil
	}
	<-cryptoSlots
}
