package link

import (
	"errors"
	"sync"
	"sync/atomic"

	"godtls/extension/udpsock"
)

// Writers keep the sending off the caller's thread: sealing a server peer's
// records and sending them in batches (Batched targets), or pion's
// Conn.Write, which starts and joins a goroutine per call (tens of
// microseconds). Each association always uses the same writer, which keeps
// its packets in order. The queue is bounded in packets per writer and in
// bytes across all writers.

// ErrQueueFull is returned by Enqueue when a bound would be passed.
var ErrQueueFull = errors.New("send queue full: packets are sent faster than the network takes them")

// ErrStopped is returned by Enqueue after Stop.
var ErrStopped = errors.New("writers stopped")

// Target is what a writer sends for: Write runs on the writer goroutine.
type Target interface {
	Write(b []byte)
}

// Batched is a Target whose packets can leave with others in one system
// call: Prepare turns a packet into the datagram to send (sealed), or
// reports false when it sent the packet itself or has nothing to send.
type Batched interface {
	Target
	Prepare(b []byte) (udpsock.Datagram, bool)
}

// batchSize is the most packets a writer takes at once.
const batchSize = 64

type job struct {
	to Target
	b  []byte
}

// Writers is a pool of writer goroutines.
type Writers struct {
	mu       sync.RWMutex // guards queues against Stop closing them
	queues   []*writerQueue
	wg       sync.WaitGroup
	bytes    atomic.Int64
	maxBytes int64
	onPanic  func(to Target, r any)
	// send, if set, sends the datagrams Batched targets prepared, in
	// order, for writer i (each writer calls it from its own goroutine).
	send func(i int, ds []udpsock.Datagram)
	// stopped is closed once Stop has let every queued packet go out.
	stopped  chan struct{}
	stopOnce sync.Once
}

// NewWriters starts n writer goroutines, each queueing up to perWriter
// packets, all together up to maxBytes bytes. onPanic (may be nil) hears of
// a panic in one Write; the writer goes on with the next packet. send (may
// be nil: every packet is written alone) sends what Batched targets
// prepared: a writer takes up to batchSize queued packets at once and
// hands their datagrams to send together.
func NewWriters(n, perWriter int, maxBytes int64, onPanic func(to Target, r any), send func(i int, ds []udpsock.Datagram)) *Writers {
	w := &Writers{queues: make([]*writerQueue, max(1, n)), maxBytes: maxBytes, onPanic: onPanic, send: send, stopped: make(chan struct{})}
	for i := range w.queues {
		w.queues[i] = newWriterQueue(max(1, perWriter))
		w.wg.Add(1)
		go w.run(i, w.queues[i])
	}
	return w
}

func (w *Writers) run(i int, q *writerQueue) {
	defer w.wg.Done()
	var batch []udpsock.Datagram
	flush := func() {
		if len(batch) > 0 {
			w.sendBatch(i, batch)
			clear(batch)
			batch = batch[:0]
		}
	}
	var jobs []job
	for {
		// The packets queued now, up to a batch, in order.
		var ok bool
		if jobs, ok = q.take(jobs[:0], batchSize); !ok {
			return
		}
		for _, j := range jobs {
			if bt, ok := j.to.(Batched); ok && w.send != nil {
				if d, ok := w.prepare(bt, j); ok {
					batch = append(batch, d)
				}
			} else {
				flush() // the packets before it go first
				w.writeOne(j)
			}
		}
		flush()
		clear(jobs)
	}
}

func (w *Writers) prepare(bt Batched, j job) (d udpsock.Datagram, ok bool) {
	defer w.bytes.Add(-int64(len(j.b)))
	defer func() {
		if r := recover(); r != nil && w.onPanic != nil {
			w.onPanic(j.to, r)
		}
	}()
	return bt.Prepare(j.b)
}

func (w *Writers) sendBatch(i int, ds []udpsock.Datagram) {
	defer func() {
		if r := recover(); r != nil && w.onPanic != nil {
			w.onPanic(nil, r)
		}
	}()
	w.send(i, ds)
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
	if len(w.queues) == 0 {
		return ErrStopped
	}
	if w.bytes.Add(int64(len(b))) > w.maxBytes {
		w.bytes.Add(-int64(len(b)))
		return ErrQueueFull
	}
	if err := w.queues[key%uint32(len(w.queues))].push(job{to, b}); err != nil {
		w.bytes.Add(-int64(len(b)))
		return err
	}
	return nil
}

// Stop lets the writers send what is queued, then ends them. It is safe to
// call more than once.
func (w *Writers) Stop() {
	w.mu.Lock()
	for _, q := range w.queues {
		q.close()
	}
	w.queues = nil
	w.mu.Unlock()
	w.wg.Wait()
	w.stopOnce.Do(func() { close(w.stopped) })
}

// Stopped is closed once Stop has sent everything that was queued: what
// was to follow the queued packets (a close_notify, when Enqueue says
// ErrStopped) waits for it.
func (w *Writers) Stopped() <-chan struct{} { return w.stopped }
