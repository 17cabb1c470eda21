// Package memtrim gives the Go heap's memory back to the system once a
// burst of handshakes is over.
//
// A handshake allocates far more than the connection it leaves behind
// (certificates, key exchange, pion's flights). After a burst of joins the heap holds that garbage until
// the next collection, and the collector's goal, twice the live heap
// (GOGC=100), keeps the pages it grew into. An idle server would keep that
// memory; Go's background scavenger returns only what lies beyond the goal.
// So, once no handshake has ended for Quiet, and the heap has allocated a
// quarter of its live size (at least MinAllocated) since the last trim,
// the library collects and returns the free pages to the system
// (debug.FreeOSMemory) on a goroutine of its own.
//
// What that costs: one forced collection per burst, never while
// handshakes keep ending (each one moves the trim back by Quiet). A
// collection's work grows with the live heap, and so does the allocation
// a trim needs: trims collect at most four times as often as Go's own
// collector would for the same allocation (GOGC=100 collects once per live
// size allocated), and only in the quiet after handshakes. The collection is
// Go's concurrent one; it pauses other goroutines only for its short
// stop-the-world phases. Pages given back are faulted in again when the
// heap grows, which the next burst pays for.
package memtrim

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Quiet is how long no handshake may end before a trim; MinAllocated the
// fewest bytes allocated since the last trim for one.
const (
	Quiet        = time.Second
	MinAllocated = 1 << 20
)

// Trimmer schedules trims. Its zero value is not usable; New makes one.
type Trimmer struct {
	quiet        time.Duration
	minAllocated uint64
	trim         func()        // debug.FreeOSMemory; tests count instead
	allocated    func() uint64 // bytes allocated on the heap since the process started
	live         func() uint64 // the heap's live bytes at the last collection

	mu         sync.Mutex
	timer      *time.Timer
	stopped    bool
	atLastTrim uint64
	running    sync.WaitGroup // a trim under way: Stop waits for it

	trims atomic.Uint64
}

// New returns a trimmer that trims quiet after the last handshake ended,
// once a quarter of the live heap, and at least minAllocated bytes, were
// allocated since its last trim.
func New(quiet time.Duration, minAllocated uint64) *Trimmer {
	return &Trimmer{quiet: quiet, minAllocated: minAllocated, trim: debug.FreeOSMemory,
		allocated: func() uint64 { return readMetric(allocsMetric) },
		live:      func() uint64 { return readMetric(liveMetric) }}
}

// process is the trimmer the engines report to: the heap is the process's.
var process = New(Quiet, MinAllocated)

// HandshakeEnded tells the process's trimmer that a handshake ended, one
// way or another.
func HandshakeEnded() { process.HandshakeEnded() }

// Trims is how many trims the process's trimmer has made.
func Trims() uint64 { return process.Trims() }

// Stop ends the process's trimmer (the library is being unloaded): a
// pending trim is cancelled and one under way waited for.
func Stop() { process.Stop() }

// HandshakeEnded moves the next trim to quiet from now.
func (t *Trimmer) HandshakeEnded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if t.timer == nil {
		t.timer = time.AfterFunc(t.quiet, t.fire)
		return
	}
	t.timer.Reset(t.quiet)
}

// fire runs on the timer's goroutine once handshakes have been quiet.
func (t *Trimmer) fire() {
	t.mu.Lock()
	if t.stopped || t.allocated()-t.atLastTrim < max(t.minAllocated, t.live()/4) {
		t.mu.Unlock()
		return
	}
	t.running.Add(1)
	t.mu.Unlock()
	defer t.running.Done()
	t.trim()
	t.trims.Add(1)
	t.mu.Lock()
	t.atLastTrim = t.allocated()
	t.mu.Unlock()
}

// Trims is how many trims t has made.
func (t *Trimmer) Trims() uint64 { return t.trims.Load() }

// Stop cancels a pending trim and waits for one under way; t trims no
// more.
func (t *Trimmer) Stop() {
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	t.running.Wait()
}

const (
	allocsMetric = "/gc/heap/allocs:bytes"
	liveMetric   = "/gc/heap/live:bytes"
)

// readMetrics reads the runtime's uint64 metrics, in the order named (0
// for a metric this Go does not have: then an allocation never reaches a
// threshold, and nothing is trimmed).
func readMetrics(names ...string) []uint64 {
	samples := make([]metrics.Sample, len(names))
	for i, name := range names {
		samples[i].Name = name
	}
	metrics.Read(samples)
	out := make([]uint64, len(names))
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			out[i] = s.Value.Uint64()
		}
	}
	return out
}

func readMetric(name string) uint64 { return readMetrics(name)[0] }

// Usage is what the Go runtime holds, in bytes.
type Usage struct {
	HeapLive  uint64 // heap objects marked live by the last collection
	HeapInUse uint64 // heap objects now, garbage not yet collected included
	Stacks    uint64 // goroutine stacks
	Held      uint64 // everything the runtime has mapped and not given back to the system
	Allocated uint64 // heap bytes allocated since the process started: what the collector works for
	Trims     uint64 // trims the process's trimmer has made
}

var usageNames = []string{
	liveMetric,
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	allocsMetric,
}

// ReadUsage reads the runtime's memory classes (runtime/metrics: no
// stop-the-world).
func ReadUsage() Usage {
	v := readMetrics(usageNames...)
	return Usage{HeapLive: v[0], HeapInUse: v[1], Stacks: v[2], Held: v[3] - v[4], Allocated: v[5], Trims: Trims()}
}
