// Package queue holds the bounded packet queues that carry datagrams between
// the network goroutines and the caller's (Godot's main) thread.
package queue

import "sync"

// Packets is a bounded FIFO of packets, safe for one or more producers and
// consumers. Push never blocks: when the queue is full the new packet is
// dropped and counted, so a slow game loop costs packets, never memory.
type Packets struct {
	mu      sync.Mutex
	buf     [][]byte // ring storage; grows on demand up to limit
	limit   int
	head    int
	n       int
	dropped uint64
}

// initialRing is where a queue starts: most peers of a game never have more
// than a few packets waiting, and a thousand idle peers should not each
// reserve room for a thousand.
const initialRing = 8

// NewPackets returns a queue holding at most capacity packets (minimum 1).
func NewPackets(capacity int) *Packets {
	if capacity < 1 {
		capacity = 1
	}
	return &Packets{buf: make([][]byte, min(capacity, initialRing)), limit: capacity}
}

// growLocked doubles the ring (up to the limit), keeping FIFO order.
func (q *Packets) growLocked() {
	next := make([][]byte, min(len(q.buf)*2, q.limit))
	for i := 0; i < q.n; i++ {
		next[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = next, 0
}

// Push appends p, taking ownership of it. It reports false (and counts a
// drop) when the queue is full.
func (q *Packets) Push(p []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == len(q.buf) {
		if len(q.buf) == q.limit {
			q.dropped++
			return false
		}
		q.growLocked()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = p
	q.n++
	return true
}

// Pop removes and returns the oldest packet, or nil and false when empty.
func (q *Packets) Pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return nil, false
	}
	p := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return p, true
}

// Len is the exact number of queued packets.
func (q *Packets) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Cap is the queue's capacity.
func (q *Packets) Cap() int { return q.limit }

// Dropped is how many packets Push refused.
func (q *Packets) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
