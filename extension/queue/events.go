package queue

import "sync"

// Events is the bounded queue of events a server or client keeps for the
// caller's thread, which drains it in poll(). A full queue drops the new
// event and counts it, so a game that never drains cannot grow the heap.
// An event that must never be dropped (the multiplayer peer's connected and
// disconnected, which SceneMultiplayer must see in pairs) has its room
// reserved first: Reserve refuses when there is none, and the caller turns
// the cause away instead.
type Events[E any] struct {
	mu       sync.Mutex
	ring     Ring[E]
	limit    int
	reserved int
	dropped  uint64
}

// NewEvents returns a queue of at most limit events (at least 1).
func NewEvents[E any](limit int) *Events[E] {
	limit = max(limit, 1)
	return &Events[E]{ring: NewRing[E](min(limit, 8), limit), limit: limit}
}

// Push queues e unless the queue (with its reservations) is full; then it
// counts a drop and reports false.
func (q *Events[E]) Push(e E) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ring.Len()+q.reserved >= q.limit {
		q.dropped++
		return false
	}
	return q.ring.Push(e)
}

// Reserve claims room for n events, or reports false.
func (q *Events[E]) Reserve(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ring.Len()+q.reserved+n > q.limit {
		return false
	}
	q.reserved += n
	return true
}

// Release gives back room reserved for events that will not come.
func (q *Events[E]) Release(n int) {
	q.mu.Lock()
	q.reserved -= n
	q.mu.Unlock()
}

// PushReserved queues an event whose room was reserved; it always fits.
func (q *Events[E]) PushReserved(e E) {
	q.mu.Lock()
	q.reserved--
	q.ring.Push(e)
	q.mu.Unlock()
}

// Front is the oldest event, left in the queue (for a caller that may
// leave it there until its next poll; one consumer only).
func (q *Events[E]) Front() (E, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ring.Front()
}

// Pop takes the oldest event.
func (q *Events[E]) Pop() (E, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ring.Pop()
}

// Dropped is how many events Push refused.
func (q *Events[E]) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
