package multiplayer

import "slices"

// The inbox's hold behind order marks, on a client: a message the server
// marked (sceneorder.go, frame.go) waits in its session's orderHeld until
// every reliable message the mark names has passed this hold, and a
// reliable message waits while an earlier one of its channel does, so
// that a channel keeps its order. An unreliable-ordered message that would
// wait is dropped instead (pushAfter): held, it could reach the game after
// a newer one of its channel that was not held. What passes goes on to the
// rest of the inbox (placeLocked). Everything here runs under the inbox's
// mutex.
//
// A server's sessions never hold: a client does not mark, and a mark from
// a client ends its session (receive.go).

// markedPacket is a message that waits for its mark.
type markedPacket struct {
	Packet
	after orderMark
}

// maxOrderHeld bounds the messages one session may have waiting for marks,
// beside its inbox bytes. Marks name messages the server sent earlier,
// which SCTP delivers, so the wait ends; beyond the bound a reliable
// message's reader waits for room (back-pressure) and an unreliable one is
// dropped.
const maxOrderHeld = 1024

// waitsLocked reports whether p, arriving now, waits (waitsBehindLocked
// behind every message already waiting).
func (s *session) waitsLocked(p *Packet, after orderMark) bool {
	return !s.isServer && s.waitsBehindLocked(p, after, len(s.orderHeld))
}

// waitsBehindLocked reports whether p waits behind the first n waiting
// messages: what its mark names has not all passed, or p is reliable and
// one of them is reliable on its channel.
func (s *session) waitsBehindLocked(p *Packet, after orderMark, n int) bool {
	return s.markWaitsLocked(after) || (p.Mode == Reliable && s.heldOnLocked(p.Channel, n))
}

// heldOnLocked reports whether one of the first n waiting messages is
// reliable on channel.
func (s *session) heldOnLocked(channel, n int) bool {
	for i := range s.orderHeld[:n] {
		if h := &s.orderHeld[i]; h.Mode == Reliable && h.Channel == channel {
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

// passedLocked counts a reliable message of a client's session that has
// passed the hold, then lets through what waited for it.
func (q *inbox) passedLocked(s *session, p *Packet) {
	if s.isServer || p.Mode != Reliable {
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
		s.orderHeld = slices.Delete(s.orderHeld, i, i+1)
		q.held--
		q.placeLocked(h.Packet)
		if h.Mode == Reliable {
			s.countPassedLocked(h.Channel)
			i = 0
		}
	}
	if len(s.orderHeld) == 0 {
		s.orderHeld = nil
	}
	q.roomFreedLocked() // a reader waiting at maxOrderHeld
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
	s.orderHeld = nil
	q.roomFreedLocked()
}
