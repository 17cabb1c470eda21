package main

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// pins counts the threads that found an object of ours in a table (a
// server's peer map, a multiplayer peer's get_server() view) and are still
// asking Godot for a reference to it, or that listed it (a server's
// take_connection(udp_peer) peers) and are using what it holds. Any of the game's threads may drop
// the object's last reference at that moment: Godot then frees it, and our
// free takes it out of the table (after which nobody pins it again) and
// waits for the pins already taken, so that the memory those threads touch
// is still there. A pinned thread is refused its reference (the count is
// already 0) and lets go at once. So no lock is held across the call into
// Godot, and the object found is either kept alive or known to be going.
type pins struct{ n atomic.Int32 }

// take pins: call with the table's lock held, the object found in it.
func (p *pins) take() { p.n.Add(1) }

// retain takes a reference to obj, the object p pins, and lets go of the
// pin; false: obj is being freed, and no reference was taken.
func (p *pins) retain(obj object) bool {
	defer p.release()
	return obj.retain()
}

// release lets go of a pin without a reference.
func (p *pins) release() { p.n.Add(-1) }

// wait returns once nobody pins the object: call from free, after the
// object left its table.
func (p *pins) wait() {
	for p.n.Load() != 0 {
		runtime.Gosched()
	}
}

// shared is the Go side of an object kept in such a table.
type shared interface {
	comparable
	shared() (*pins, object)
}

// lookup is the object slot (run with mu held) holds, and whether a
// reference of ours to it was taken (false: there is none, or it is being
// freed, and found is then the one going).
func lookup[T shared](mu *sync.Mutex, slot func() T) (found T, held bool) {
	var none T
	mu.Lock()
	found = slot()
	if found == none {
		mu.Unlock()
		return none, false
	}
	p, obj := found.shared()
	p.take()
	mu.Unlock()
	return found, p.retain(obj)
}

// claim puts made, an object just constructed that holds a reference of
// ours, in its table slot (slot and fill run with mu held; slot's ok is false
// once the table is gone), unless another thread put a live object there
// meanwhile: then that one comes back, with a reference of ours, and made
// is freed, nobody else having seen it. So two threads asking at once get
// one object. dead is an object found there that is being freed (its free
// has yet to take it out): made replaces it.
func claim[T shared](mu *sync.Mutex, slot func() (in T, ok bool), fill func(T), made, dead T) T {
	var none T
	for {
		mu.Lock()
		other, ok := slot()
		if !ok || other == none || other == dead {
			if ok {
				fill(made)
			}
			mu.Unlock()
			return made
		}
		p, obj := other.shared()
		p.take()
		mu.Unlock()
		if p.retain(obj) {
			_, ours := made.shared()
			ours.release()
			return other
		}
		dead = other
	}
}
