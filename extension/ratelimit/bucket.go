// Package ratelimit holds the token bucket each peer is held to: bytes and
// records per second of what the server's record layer authenticates
// (server.Config.PeerByteRate, PeerPacketRate), messages per second at the multiplayer
// transport's SCTP guard (multiplayer.Options.PeerMessageRate). Both drop
// what is over before the work the game pays for: the first before the
// packet is queued, the second before pion/sctp reads the packet.
package ratelimit

import "time"

// Bucket is a token bucket with a burst of half a second's worth; the
// rate is passed on each take, so that a changed setting applies at once.
// The zero value fills at its first take. Not safe for concurrent use: its
// owner's lock guards it.
type Bucket struct {
	tokens float64
	last   time.Time
}

// Take reports whether n fit the budget at rate per second, and takes
// them if so.
func (b *Bucket) Take(n int, rate int, now time.Time) bool {
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
