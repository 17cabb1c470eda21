package queue

// Ring is a FIFO in a ring that grows by doubling up to a limit and
// shrinks back when a burst has drained. It is not locked: its owner
// (Packets, Events, the multiplayer inbox) holds its own lock and its own
// byte accounting around it.
type Ring[T any] struct {
	buf     []T
	head, n int
	limit   int // most items; the ring never grows past it
	initial int
}

// NewRing returns a ring starting at initial slots and holding at most
// limit items (both at least 1).
func NewRing[T any](initial, limit int) Ring[T] {
	limit = max(limit, 1)
	initial = min(max(initial, 1), limit)
	return Ring[T]{buf: make([]T, initial), limit: limit, initial: initial}
}

// Len is the number of items.
func (r *Ring[T]) Len() int { return r.n }

// Full reports whether Push would refuse.
func (r *Ring[T]) Full() bool { return r.n == r.limit }

// Push appends v, or reports false when the ring holds limit items.
func (r *Ring[T]) Push(v T) bool {
	if r.n == len(r.buf) {
		if len(r.buf) == r.limit {
			return false
		}
		next := make([]T, min(2*len(r.buf), r.limit))
		for i := 0; i < r.n; i++ {
			next[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = next, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
	return true
}

// Front is the oldest item without removing it.
func (r *Ring[T]) Front() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.buf[r.head], true
}

// Pop removes the oldest item. Its slot is cleared (the ring keeps no
// reference to what it handed out), and a ring grown past 8× its initial
// size for a burst goes back to that size once empty.
func (r *Ring[T]) Pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 && len(r.buf) > 8*r.initial {
		r.buf, r.head = make([]T, r.initial), 0
	}
	return v, true
}
