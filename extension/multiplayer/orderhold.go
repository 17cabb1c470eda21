package multiplayer

import (
	"slices"
	"time"
)

// The inbox's hold behind order marks: a message the other side marked
// (sceneorder.go, frame.go) waits in its session's orderHeld until every
// reliable message the mark names has passed this hold, an unreliable
// message until the reliable message it follows has (follow.go, at most
// followWait), and a reliable or unreliable-ordered message waits while
// an earlier one of its channel and mode does, so that the channel keeps
// its order. An unreliable-ordered message that would wait for its mark
// is dropped instead (pushAfter): held up to markWait, it would be stale.
// What passes goes on to the rest of the inbox (placeLocked). Everything
// here runs under the inbox's mutex, except the count of sessions holding,
// which the game's poll reads first (expireOrderHeld).
//
// Both sides hold: a client behind the server's marks, a server behind a
// client's. A mark names messages its sender sent earlier, which SCTP
// delivers; a modified client can name one it never sent, and keep its
// own messages from the server's game. So a message waits at most
// markWait, then goes on as if its mark had passed (the order it asked
// for is given up, nothing is lost), and what waits counts against the
// sender's inbox bytes and maxOrderHeld: a client that lies only delays
// its own messages, within the bounds every peer has.

// markedPacket is a message that waits for its mark.
type markedPacket struct {
	Packet
	after orderMark
	since time.Time // when it arrived: it waits at most markWait
}

// maxOrderHeld bounds the messages one session may have waiting for marks,
// beside its inbox bytes. Beyond it a reliable message's reader waits for
// room (back-pressure) and an unreliable one is dropped.
const maxOrderHeld = 1024

// markWait bounds how long a marked message waits. The messages a mark
// names are resent by SCTP at least once a second (rtoFor caps its
// retransmission timeout there), so an honest wait past it means two
// losses of one packet in a row, or a peer that is going.
var markWait = 3 * time.Second

// waitsLocked reports whether p, arriving now, waits (waitsBehindLocked
// behind every message already waiting).
func (s *session) waitsLocked(p *Packet, after orderMark) bool {
	return s.waitsBehindLocked(p, after, len(s.orderHeld))
}

// waitsBehindLocked reports whether p waits behind the first n waiting
// messages: what its mark names has not all passed, nor the reliable
// message it follows (follow.go), or one of them is of p's channel and
// mode where the mode keeps an order (reliable, unreliable-ordered).
func (s *session) waitsBehindLocked(p *Packet, after orderMark, n int) bool {
	return s.markWaitsLocked(after) || s.followWaitsLocked(p) ||
		(p.Mode != Unreliable && s.heldOnLocked(p.Channel, p.Mode, n))
}

// heldOnLocked reports whether one of the first n waiting messages is of
// channel and mode.
func (s *session) heldOnLocked(channel int, mode Mode, n int) bool {
	for i := range s.orderHeld[:n] {
		if h := &s.orderHeld[i]; h.Mode == mode && h.Channel == channel {
			return true
		}
	}
	return false
}

func (s *session) passedOn(channel int) uint32 {
	if channel < len(s.passed) {
		return s.passed[channel]
	}
	return 0
}

func (s *session) countPassedLocked(channel int) {
	if channel >= len(s.passed) {
		s.passed = append(s.passed, make([]uint32, channel+1-len(s.passed))...)
	}
	s.passed[channel]++
}

// passedLocked counts a reliable message that has passed the hold, then
// lets through what waited for it.
func (q *inbox) passedLocked(s *session, p *Packet) {
	if p.Mode != Reliable {
		return
	}
	s.countPassedLocked(p.Channel)
	if len(s.orderHeld) > 0 {
		q.releaseOrderLocked(s)
	}
}

// releaseOrderLocked lets through, in order, every waiting message whose
// mark has passed and that no earlier message of its channel precedes.
// A reliable one that passes may free others: the scan starts over.
func (q *inbox) releaseOrderLocked(s *session) {
	for i := 0; i < len(s.orderHeld); {
		h := s.orderHeld[i]
		if s.waitsBehindLocked(&h.Packet, h.after, i) {
			i++
			continue
		}
		if q.letGoLocked(s, i) {
			i = 0
		}
	}
	if len(s.orderHeld) == 0 {
		q.heldEmptiedLocked(s)
	}
	q.roomFreedLocked() // a reader waiting at maxOrderHeld
}

// letGoLocked takes the i-th waiting message of s out of the hold and
// places it, counting it as passed if it is reliable (then it reports
// true: what waited for it may pass now).
func (q *inbox) letGoLocked(s *session, i int) (reliable bool) {
	h := s.orderHeld[i]
	s.orderHeld = slices.Delete(s.orderHeld, i, i+1)
	q.held--
	q.placeLocked(h.Packet)
	if h.Mode == Reliable {
		s.countPassedLocked(h.Channel)
		return true
	}
	return false
}

// holdLocked puts p in the hold of its session.
func (q *inbox) holdLocked(p Packet, after orderMark) {
	s := p.owner
	if len(s.orderHeld) == 0 {
		q.orderHolders = append(q.orderHolders, s)
		q.holding.Store(int32(len(q.orderHolders)))
	}
	s.orderHeld = append(s.orderHeld, markedPacket{Packet: p, after: after, since: time.Now()})
	q.held++
}

// heldEmptiedLocked forgets the hold of s, now empty.
func (q *inbox) heldEmptiedLocked(s *session) {
	s.orderHeld = nil
	if i := slices.Index(q.orderHolders, s); i >= 0 {
		q.orderHolders = slices.Delete(q.orderHolders, i, i+1)
		q.holding.Store(int32(len(q.orderHolders)))
	}
}

// expireOrderHeld stops what has waited followWait or longer from waiting
// for the reliable message it follows, and lets go on what has waited
// markWait or longer, oldest first, as if its mark had passed; what a
// session the game has let go of held, it drops (nothing of such a peer
// reaches the game, session.leave).
// The game's poll calls it (nextEvent): costless while nothing is held.
func (q *inbox) expireOrderHeld(now time.Time) {
	if q.holding.Load() == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// Backwards: a session whose hold empties leaves the list, which moves
	// only the sessions after it, already seen.
	for i := len(q.orderHolders) - 1; i >= 0; i-- {
		s := q.orderHolders[i]
		if !s.live.Load() {
			q.dropOrderHeldLocked(s)
			continue
		}
		if s.expireFollowsLocked(now) {
			q.releaseOrderLocked(s)
		}
		for len(s.orderHeld) > 0 && now.Sub(s.orderHeld[0].since) >= markWait {
			q.letGoLocked(s, 0)
			q.releaseOrderLocked(s)
		}
	}
}

// markWaitsLocked reports whether something a mark names has not passed.
func (s *session) markWaitsLocked(after orderMark) bool {
	for _, e := range after {
		if s.passedOn(int(e.channel)) < e.number {
			return true
		}
	}
	return false
}

// dropOrderHeldLocked drops what s had waiting for marks.
func (q *inbox) dropOrderHeldLocked(s *session) {
	for _, h := range s.orderHeld {
		q.bytes -= len(h.Data)
		s.queued -= len(h.Data)
	}
	q.held -= len(s.orderHeld)
	q.heldEmptiedLocked(s)
	q.roomFreedLocked()
}
