package main

/*
#include "gdx.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// Work that must run on Godot's main thread. free_instance may come from
// any thread (the last reference to a RefCounted can drop anywhere), but
// releasing a PacketPeerUDP of a UDPServer there is not safe: its last
// unreference runs the peer's close(), which edits the UDPServer's peer
// list while the main thread may be polling it. Such work waits here until
// the next call from Godot on the main thread (any method, virtual or
// deinitialization), or runs at once when it already is on it. The list
// holds at most one entry per object freed, so it is bounded by the objects
// the game had.

var (
	mainThreadMu   sync.Mutex
	mainThreadWork []func()
	mainThreadN    atomic.Int32
)

// onMainThread runs f now if the caller is on the main thread, otherwise at
// the next call from Godot on it.
func onMainThread(f func()) {
	if C.gdx_on_main_thread() != 0 {
		f()
		return
	}
	mainThreadMu.Lock()
	mainThreadWork = append(mainThreadWork, f)
	mainThreadN.Add(1)
	mainThreadMu.Unlock()
}

// runMainThreadWork runs what waits, when called on the main thread. It
// costs one atomic load when nothing waits.
func runMainThreadWork() {
	if mainThreadN.Load() == 0 || C.gdx_on_main_thread() == 0 {
		return
	}
	mainThreadMu.Lock()
	work := mainThreadWork
	mainThreadWork = nil
	mainThreadN.Add(-int32(len(work)))
	mainThreadMu.Unlock()
	for _, f := range work {
		f()
	}
}
