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
	c.counts.PacketsIn.Add(1)
	c.counts.BytesIn.Add(uint64(n))
}

func (cs *clientSink) Dropped() {}

// Trouble: warning alerts and unusable records are survived. ICMP port
// unreachable reports end the connection only several in a row, with no
// packet from the server between them (the server is gone; a single
// report may be spoofed).
func (cs *clientSink) Trouble(err error) bool {
	c := (*Client)(cs)
	if udpsock.Unreachable(err) && c.refusals.Add(1) >= unreachableLimit {
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
