package client

import (
	"godtls/extension/link"
	"time"
)

// Stats are the connection's counters. PostHandshakeDropped counts records
// removed after the handshake (stale or forged: wire.KeepEstablished),
// AuthFailed records that failed authentication (ChaCha20-Poly1305 suites
// only: pion's CBC suites drop theirs uncounted), Garbage datagrams that
// were not DTLS.
type Stats struct {
	link.Traffic
	Dropped, PostHandshakeDropped, AuthFailed, Garbage uint64
	Queued                                             int
	LastReceive                                        time.Time
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
		PostHandshakeDropped: postHandshakeDropped, Garbage: garbage, AuthFailed: c.authFailed.Load(),
		Traffic: c.counts.Read(), Dropped: c.recv.Dropped(), Queued: c.recv.Len(),
		LastReceive: time.Unix(0, c.lastRecv.Load()),
	}
}
