// Package hostfirst lets a call from the host (Godot's threads) into Go go
// ahead of the library's background goroutines when it has to wait for a Go
// processor.
//
// Why: between two calls, Godot's thread runs its own code and the runtime
// hands its processor to other work. The next call needs one back; when
// none is idle the runtime puts the call's goroutine on the global run
// queue, which a busy processor reads only once in 61 scheduling rounds
// while its own queue has work. During a join storm the handshake
// goroutines keep those queues full, and a call that does 100 µs of work
// waited milliseconds (docs/profiles.md, "Main thread").
//
// How: the host counts a call before it enters Go (the bridge's C side
// increments a counter this package watches) and the call takes itself off
// the count first thing once in Go (Entered). Background goroutines call
// StandAside at points where they hold no lock: while a call is counted
// they park, so their processor's queue empties and the processor takes
// the waiting call from the global queue. Every call's entry releases them,
// and no park lasts longer than maxStand.
package hostfirst

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxStand bounds one park. A call that waits longer still finds the
// goroutines parked again at their next stopping point; the bound is for a
// count that never comes down (a host call counted that never reached
// Entered would be a bug), which must cost a slowdown, never a hang.
var maxStand atomic.Int64 // a time.Duration; 5 ms (init)

func init() { maxStand.Store(int64(5 * time.Millisecond)) }

// SetMaxStand sets how long one park may last and returns the bound it
// replaces (tests that hold a count on purpose raise it).
func SetMaxStand(d time.Duration) time.Duration {
	return time.Duration(maxStand.Swap(int64(d)))
}

var (
	// entering is the host's count of calls on their way into Go; nil until
	// Watch. The host increments it (sequentially consistent) in C.
	entering atomic.Pointer[int32]

	// standing counts the goroutines that parked since the last release
	// (one that left after maxStand still counts); it is raised before the
	// count is looked at, so Entered cannot miss one (see StandAside).
	standing atomic.Int32

	mu   sync.Mutex
	gate = make(chan struct{}) // closed by Entered to release the goroutines standing aside
)

// Watch makes counter the host's count of calls entering Go. counter must
// stay valid for the life of the process (C memory the host never frees),
// and be set before the first counted call. Watch(nil) stops watching.
func Watch(counter *int32) { entering.Store(counter) }

// Entered takes one call off the count. Every counted call makes it once,
// before anything else it does in Go. It releases any goroutine standing
// aside (those that see another call still counted park again).
func Entered() {
	p := entering.Load()
	if p == nil {
		return
	}
	atomic.AddInt32(p, -1)
	if standing.Load() == 0 {
		return
	}
	mu.Lock()
	close(gate)
	gate = make(chan struct{})
	standing.Store(0)
	mu.Unlock()
}

// StandAside parks the calling goroutine while a host call is counted and
// not yet in Go (at most maxStand), and returns at once otherwise (one
// atomic load). Call it holding no lock a host call might need: the call
// releases it only on entering Go.
func StandAside() {
	p := entering.Load()
	if p == nil || atomic.LoadInt32(p) <= 0 {
		return
	}
	mu.Lock()
	// Raised before the count is read again: an Entered whose decrement
	// comes after that read sees standing > 0 and closes this gate.
	standing.Add(1)
	if atomic.LoadInt32(p) <= 0 {
		standing.Add(-1)
		mu.Unlock()
		return
	}
	g := gate
	mu.Unlock()
	t := time.NewTimer(time.Duration(maxStand.Load()))
	select {
	case <-g:
	case <-t.C:
	}
	t.Stop()
}

// Standing reports how many goroutines parked in StandAside since the last
// release (those that left after maxStand included).
func Standing() int32 { return standing.Load() }

// Waiting reports how many host calls are counted and not yet in Go.
func Waiting() int32 {
	if p := entering.Load(); p != nil {
		return atomic.LoadInt32(p)
	}
	return 0
}
