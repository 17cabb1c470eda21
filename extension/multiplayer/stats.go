package multiplayer

import (
	"godtls/extension/link"
	"time"
)

// PeerStats describe one peer's connection.
type PeerStats struct {
	link.Traffic                  // DTLS records and their bytes
	RTT             time.Duration // smoothed, from pings
	LastRTT         time.Duration
	Loss            float64 // share of the last pings that got no answer
	Retransmissions uint64  // SCTP DATA chunks sent again
	QueuedIn        int     // bytes waiting for the game
	BufferedOut     uint64  // bytes waiting to be sent or acknowledged
	// OverBudget counts the SCTP packets and unreliable records dropped
	// over Options.PeerMessageRate.
	OverBudget uint64
}

func (s *session) stats(traffic link.Traffic) PeerStats {
	rtt, last, loss := s.probe.read()
	return PeerStats{Traffic: traffic, RTT: rtt, LastRTT: last, Loss: loss, Retransmissions: s.conn.retransmissions(),
		QueuedIn: s.sh.in.queuedFor(s), BufferedOut: s.bufferedOut(),
		OverBudget: s.conn.guard.overBudgetCount()}
}
