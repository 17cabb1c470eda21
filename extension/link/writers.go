package link

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Writers keep pion's Conn.Write, which starts and joins a goroutine per
// call (tens of microseconds), off the caller's thread. Each association
// always uses the same writer, which keeps its packets in order. The queue
// is bounded in packets per writer and in bytes across all writers.

// ErrQueueFull is returned by Enqueue when a bound would be passed.
var ErrQueueFull = errors.New("send queue full: packets are sent faster than the network takes them")

// ErrStopped is returned by Enqueue after Stop.
var ErrStopped = errors.New("writers stopped")

// Target is what a writer sends for: Write runs on the writer goroutine.
type Target interface {
	Write(b []byte)
}

type job struct {
	to Target
	b  []byte
}

// Writers is a pool of writer goroutines.
type Writers struct {
	mu       sync.RWMutex // guards chans against Stop closing them
	chans    []chan job
	wg       sync.WaitGroup
	bytes    atomic.Int64
	maxBytes int64
	onPanic  func(to Target, r any)
}

// NewWriters starts n writer goroutines, each queueing up to perWriter
// packets, all together up to maxBytes bytes. onPanic (may be nil) hears of
// a panic in one Write; the writer goes on with the next packet.
func NewWriters(n, perWriter int, maxBytes int64, onPanic func(to Target, r any)) *Writers {
	w := &Writers{chans: make([]chan job, max(1, n)), maxBytes: maxBytes, onPanic: onPanic}
	for i := range w.chans {
		w.chans[i] = make(chan job, max(1, perWriter))
		w.wg.Add(1)
		go w.run(w.chans[i])
	}
	return w
}

func (w *Writers) run(jobs chan job) {
	defer w.wg.Done()
	for j := range jobs {
		w.writeOne(j)
	}
}

func (w *Writers) writeOne(j job) {
	defer w.bytes.Add(-int64(len(j.b)))
	defer func() {
		if r := recover(); r != nil && w.onPanic != nil {
			w.onPanic(j.to, r)
		}
	}()
	j.to.Write(j.b)
}

// Enqueue hands b to writer key (mod the pool size) without blocking.
func (w *Writers) Enqueue(key uint32, to Target, b []byte) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.chans) == 0 {
		return ErrStopped
	}
	if w.bytes.Add(int64(len(b))) > w.maxBytes {
		w.bytes.Add(-int64(len(b)))
		return ErrQueueFull
	}
	select {
	case w.chans[key%uint32(len(w.chans))] <- job{to, b}:
		return nil
	default:
		w.bytes.Add(-int64(len(b)))
		return ErrQueueFull
	}
}

// Stop lets the writers send what is queued, then ends them. It is safe to
// call more than once.
func (w *Writers) Stop() {
	w.mu.Lock()
	for _, c := range w.chans {
		close(c)
	}
	w.chans = nil
	w.mu.Unlock()
	w.wg.Wait()
}
