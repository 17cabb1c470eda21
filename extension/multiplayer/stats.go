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
}

func (s *session) stats(traffic link.Traffic) PeerStats {
	rtt, last, loss := s.probe.read()
	return PeerStats{Traffic: traffic, RTT: rtt, LastRTT: last, Loss: loss, Retransmissions: s.conn.retransmissions(),
		QueuedIn: s.sh.in.queuedFor(s), BufferedOut: s.bufferedOut()}
}
