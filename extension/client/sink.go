package client

import (
	"time"

	"godtls/extension/link"
	"godtls/extension/udpsock"
)

// clientSink is what the read loop reports to.
type clientSink Client

// Admit: a client holds its server to no budget.
func (cs *clientSink) Admit(int) bool { return true }

func (cs *clientSink) Received(n int) {
	c := (*Client)(cs)
	c.lastRecv.Store(time.Now().UnixNano())
	c.refusals.Store(0)
	c.refusedSince.Store(0)
	c.counts.PacketsIn.Add(1)
	c.counts.BytesIn.Add(uint64(n))
}

func (cs *clientSink) Dropped() {}

// Trouble: warning alerts and unusable records are survived. ICMP port
// unreachable reports end the connection (the server is gone) only
// unreachableLimit in a row over at least refusedFor, with no packet from
// the server between them. Anyone who knows the client's port can forge
// them, and need not see a packet of the connection to send several at
// once: a count alone let a burst of three end it.
func (cs *clientSink) Trouble(err error) bool {
	c := (*Client)(cs)
	if !udpsock.Unreachable(err) {
		return false
	}
	now := time.Now().UnixNano()
	c.refusedSince.CompareAndSwap(0, now)
	if c.refusals.Add(1) >= unreachableLimit && now-c.refusedSince.Load() >= int64(refusedFor) {
		c.end(link.StatusError, &Failure{Kind: FailUnreachable, Detail: errTooManyRefusals.Error()}, false)
		return true
	}
	return false
}

func (cs *clientSink) Closed() {
	(*Client)(cs).end(link.StatusDisconnected, &Failure{Kind: FailClosedByServer, Detail: "the server closed the connection"}, false)
}

func (cs *clientSink) Failed(reason string) {
	(*Client)(cs).end(link.StatusError, &Failure{Kind: FailNetwork, Detail: reason}, false)
}

func (cs *clientSink) Queued() {}

func (cs *clientSink) Ours() bool { return (*Client)(cs).Status() != link.StatusConnected }
