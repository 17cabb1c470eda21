package multiplayer

import (
	"slices"
	"sync/atomic"
	"time"
)

// Health is what a monitor shows of a server's or client's sessions: the
// round trips' median and 99th percentile, the retransmissions and what
// was dropped over the message budget, as the
// janitor last published them (every janitorTick). Reading it takes no
// lock.
type Health struct {
	RTTp50, RTTp99  time.Duration
	Retransmissions uint64 // of the sessions alive at the last publication
	OverBudget      uint64 // their packets and records dropped over PeerMessageRate
}

// health is the published Health.
type health struct {
	p50, p99, retransmissions, overBudget atomic.Int64
}

func (h *health) read() Health {
	return Health{RTTp50: time.Duration(h.p50.Load()), RTTp99: time.Duration(h.p99.Load()),
		Retransmissions: uint64(h.retransmissions.Load()), OverBudget: uint64(h.overBudget.Load())}
}

// publish computes Health over the sessions the janitor just tended.
func (h *health) publish(sessions []*session) {
	rtts := make([]time.Duration, 0, len(sessions))
	var retrans, over uint64
	for _, s := range sessions {
		if rtt, _, _ := s.probe.read(); rtt > 0 {
			rtts = append(rtts, rtt)
		}
		retrans += s.conn.retransmissions()
		over += s.conn.guard.overBudgetCount()
	}
	var p50, p99 time.Duration
	if len(rtts) > 0 {
		slices.Sort(rtts)
		p50 = rtts[(len(rtts)-1)/2]
		p99 = rtts[(len(rtts)-1)*99/100]
	}
	h.p50.Store(int64(p50))
	h.p99.Store(int64(p99))
	h.retransmissions.Store(int64(retrans))
	h.overBudget.Store(int64(over))
}
