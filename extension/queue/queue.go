// Package queue holds the bounded packet queues that carry datagrams between
// the network goroutines and the caller's (Godot's main) thread.
package queue

import "sync"

// Packets is a bounded FIFO of packets, safe for one or more producers and
// consumers. It is bounded twice, in packets and in bytes: a count alone lets
// a peer that sends large datagrams hold count x 64 KiB. Push never blocks:
// when either bound would be passed the new packet is dropped and counted, so
// a slow game loop costs packets, never memory.
type Packets struct {
	mu      sync.Mutex
	ring    Ring[[]byte]
	limit   int
	byteCap int
	bytes   int
	dropped uint64
	signal  chan struct{} // nil until Signal is first called
}

// initialRing is where a queue starts: most peers of a game never have more
// than a few packets waiting, and a thousand idle peers should not each
// reserve room for a thousand.
const initialRing = 8

// NewPackets returns a queue holding at most capacity packets (minimum 1)
// and at most byteCap bytes of them (minimum 1; one packet larger than
// byteCap is never accepted).
func NewPackets(capacity, byteCap int) *Packets {
	capacity = max(capacity, 1)
	return &Packets{ring: NewRing[[]byte](initialRing, capacity), limit: capacity, byteCap: max(byteCap, 1)}
}

// Push appends p, taking ownership of it. It reports false (and counts a
// drop) when the queue is full.
func (q *Packets) Push(p []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bytes+len(p) > q.byteCap || !q.ring.Push(p) {
		q.dropped++
		return false
	}
	q.bytes += len(p)
	if q.signal != nil {
		select {
		case q.signal <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return true
}

// Signal returns a channel that receives a value after a Push succeeds, for
// a consumer goroutine that blocks instead of polling. One pending value
// stands for any number of pushes: after waking, Pop until empty.
func (q *Packets) Signal() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.signal == nil {
		q.signal = make(chan struct{}, 1)
	}
	return q.signal
}

// Pop removes and returns the oldest packet, or nil and false when empty.
func (q *Packets) Pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p, ok := q.ring.Pop()
	q.bytes -= len(p)
	return p, ok
}

// Len is the exact number of queued packets.
func (q *Packets) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ring.Len()
}

// Bytes is the exact number of queued bytes.
func (q *Packets) Bytes() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// Cap is the queue's capacity.
func (q *Packets) Cap() int { return q.limit }

// Dropped is how many packets Push refused.
func (q *Packets) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
