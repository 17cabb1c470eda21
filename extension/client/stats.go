package client

import (
	"godtls/extension/link"
	"time"
)

// Stats are the connection's counters. PostHandshakeDropped counts records
// no genuine server sends after the handshake (stale or forged:
// wire.KeepEstablished on pion's path, the record layer on ours), Replayed
// records the record layer had already received (ChaCha20-Poly1305 suites
// only), AuthFailed records that failed authentication (the same suites:
// pion's CBC suites drop theirs uncounted), Garbage datagrams that were not
// DTLS.
type Stats struct {
	link.Traffic
	Dropped, PostHandshakeDropped, Replayed, AuthFailed, Garbage uint64
	Queued                                                       int
	LastReceive                                                  time.Time
}

// Stats returns the connection's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	g := c.guard
	c.mu.Unlock()
	var postHandshakeDropped, garbage uint64
	if g != nil {
		postHandshakeDropped, garbage = g.postHandshakeDropped.Load(), g.garbage.Load()
	}
	return Stats{
		PostHandshakeDropped: postHandshakeDropped, Garbage: garbage, AuthFailed: c.authFailed.Load(), Replayed: c.replayed.Load(),
		Traffic: c.counts.Read(), Dropped: c.recv.Dropped() + c.earlyDropped.Load(), Queued: c.recv.Len(),
		LastReceive: time.Unix(0, c.lastRecv.Load()),
	}
}
