package multiplayer

import "time"

// An unreliable message follows the reliable messages of its channel sent
// before it. A reliable message goes through the session's outbox and
// SCTP (a pusher, pion's write loop, the other side's stream reader) while
// an unreliable one that fits a datagram leaves at once in a record of its
// own, so the unreliable message overtook the reliable one queued just
// before it, on a link that loses nothing too: every time, in the test
// (follow_test.go). ENet sends both in the order the game queued them,
// and a game that spawns a node with a reliable RPC and sends the node's
// first state unreliably in the same frame worked over it and not here.
//
// So where the session numbers its reliable messages (Options.SceneOrder,
// as GoDTLSMultiplayerPeer sets it), an unreliable message carries the
// number of the last reliable message queued on its channel, if that was
// queued within followWindow, and the other side's inbox holds it
// (orderhold.go) until that reliable message has passed, at most
// followWait: on a link that loses nothing that is the time the reliable
// message takes to cross behind it; under loss, an unreliable message
// waits for a resend no longer than that, and goes on. An
// unreliable-ordered message held keeps the newer ones of its channel
// behind it (the mode's promise); a plain unreliable one holds nothing
// back. What is held counts against the sender's bytes and maxOrderHeld,
// like any held message: a client that names a number it never sent only
// delays its own messages, by followWait each.

// followWait bounds how long an unreliable message waits for the reliable
// message it follows (a var: tests change it). It is let go at the first
// poll after it.
var followWait = 50 * time.Millisecond

// followWindow is how long after a reliable message an unreliable one on
// its channel still names it: a reliable message queued a second before
// has arrived or is being resent, and a message held behind a resend
// would be stale by the time it went on.
const followWindow = time.Second

// follows is the number an unreliable message sent now on channel names:
// that of the last reliable message queued there within followWindow, or
// 0 (none, or the session does not number them).
func (s *session) follows(channel int) uint32 {
	if !s.numbersReliable() {
		return 0
	}
	o := &s.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	if channel >= len(o.numbered) || o.numbered[channel] == 0 || time.Since(o.numberedAt[channel]) > followWindow {
		return 0
	}
	return o.numbered[channel]
}

// followWaitsLocked reports whether p waits for the reliable message it
// follows.
func (s *session) followWaitsLocked(p *Packet) bool {
	return p.follows != 0 && s.passedOn(p.Channel) < p.follows
}

// expireFollowsLocked stops every message of s that has waited followWait
// or longer from waiting for the reliable message it follows, and reports
// whether it stopped any.
func (s *session) expireFollowsLocked(now time.Time) bool {
	expired := false
	for i := range s.orderHeld {
		if h := &s.orderHeld[i]; h.follows != 0 && now.Sub(h.since) >= followWait {
			h.follows = 0
			expired = true
		}
	}
	return expired
}
