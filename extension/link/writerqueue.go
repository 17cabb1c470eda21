package link

import "sync"

// writerQueue is one writer's queue of packets, in order, bounded in
// packets by max. Its storage grows with what is queued and is let go once
// a burst has drained: a channel of the same bound allocates every slot at
// once, 320 KiB for 8,192 packets, which each client paid for a queue that
// usually holds a few.
type writerQueue struct {
	mu     sync.Mutex
	jobs   []job // jobs[head:] wait
	head   int
	max    int
	closed bool
	// parked: the writer waits for ready. Only then does a push wake it:
	// while it works, it takes what was queued on its next round.
	parked bool
	ready  chan struct{} // one slot: something was queued, or the queue closed
}

// keptJobs is the most slots a drained queue keeps for the next burst.
const keptJobs = 256

func newWriterQueue(max int) *writerQueue {
	return &writerQueue{max: max, ready: make(chan struct{}, 1)}
}

// push queues j: ErrQueueFull past the bound, ErrStopped once closed.
func (q *writerQueue) push(j job) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrStopped
	case len(q.jobs)-q.head >= q.max:
		q.mu.Unlock()
		return ErrQueueFull
	}
	q.jobs = append(q.jobs, j)
	parked := q.parked
	q.parked = false
	q.mu.Unlock()
	if parked {
		q.wake()
	}
	return nil
}

func (q *writerQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take appends up to n queued jobs to dst, in order, waiting while none
// is queued; ok is false once the queue is closed and empty.
func (q *writerQueue) take(dst []job, n int) (_ []job, ok bool) {
	for {
		q.mu.Lock()
		if waiting := len(q.jobs) - q.head; waiting > 0 {
			k := min(waiting, n)
			dst = append(dst, q.jobs[q.head:q.head+k]...)
			clear(q.jobs[q.head : q.head+k])
			q.head += k
			q.compactLocked()
			q.mu.Unlock()
			return dst, true
		}
		closed := q.closed
		q.parked = !closed
		q.mu.Unlock()
		if closed {
			return dst, false
		}
		<-q.ready
	}
}

// compactLocked keeps the slice from growing past what waits: the taken
// front is reused once it is half the slice, and a drained queue lets a
// burst's storage go.
func (q *writerQueue) compactLocked() {
	switch {
	case q.head == len(q.jobs) && cap(q.jobs) > keptJobs:
		q.jobs, q.head = nil, 0
	case q.head == len(q.jobs):
		q.jobs, q.head = q.jobs[:0], 0
	case q.head >= len(q.jobs)/2:
		n := copy(q.jobs, q.jobs[q.head:])
		clear(q.jobs[n:])
		q.jobs, q.head = q.jobs[:n], 0
	}
}

// close ends the queue: what is queued is still taken, nothing more is
// queued.
func (q *writerQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}
