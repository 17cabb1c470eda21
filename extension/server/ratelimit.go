package server

import "time"

// byteBudget is a token bucket of bytes: what one connected peer may hand
// the engine per second, with a burst of half a second's worth. The
// demultiplexer takes from it before a datagram reaches pion, so a peer
// that sends more costs the server a header check per extra datagram, not
// its decryption and processing: one player cannot take more than its
// share of the server. A genuine sender of bulk data sees the drops as
// congestion (SCTP slows down). Guarded by Server.mu.
type byteBudget struct {
	tokens float64
	last   time.Time
}

// take reports whether n bytes fit the budget at rate bytes per second,
// and takes them if so.
func (b *byteBudget) take(n int, rate int, now time.Time) bool {
	burst := float64(rate) / 2
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*float64(rate))
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
