package multiplayer

import (
	"sync"
	"time"
)

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
// queued within followWindow, and:
//   - the sender holds its record until the first chunk of that reliable
//     message has gone out (the guard sees it leave: startedMessage), so
//     that on the wire it comes after it; at most followSendWait (SCTP's
//     congestion window can hold a burst's reliable messages back), after
//     which it goes out marked early;
//   - the receiver, if that reliable message and every one before it on
//     its stream have arrived whole (the arrival order knows them:
//     ready), holds it in the inbox (orderhold.go) until the reliable
//     message has passed this side's hold, at most followWait: the time
//     pion and the stream's reader take to hand it on. If one of them has
//     not (lost, or overtaken on the network), the unreliable message goes
//     on at once, as with ENet, which does not hold an unreliable message
//     for a resend either. One marked early is held, at most followWait,
//     whatever has arrived: its reliable message is still to come.
// An unreliable-ordered message held keeps the newer ones of its channel
// behind it (the mode's promise); a plain unreliable one holds nothing
// back. What is held counts against the sender's bytes and maxOrderHeld,
// like any held message: a client that names a number it never sent only
// delays its own messages, by followWait each.

// followWait bounds how long an unreliable message waits on the receiving
// side for the reliable message it follows, which has arrived (a var:
// tests change it). It is let go at the first poll after it.
var followWait = 50 * time.Millisecond

// followSendWait bounds how long an unreliable record waits on the sending
// side for the first chunk of the reliable message it follows to go out:
// longer only while SCTP's congestion window holds that chunk back.
const followSendWait = 10 * time.Millisecond

// maxFollowing and maxFollowingBytes bound the records a session holds
// back so; past either, a record goes out at once.
const (
	maxFollowing      = 256
	maxFollowingBytes = 256 << 10
)

// following turns the numbers off when false: a test hook, to measure
// what unreliable messages cost without them.
var following = true

// followWindow is how long after a reliable message an unreliable one on
// its channel still names it: a reliable message queued a second before
// has arrived or is being resent, and a message held behind a resend
// would be stale by the time it went on.
const followWindow = time.Second

// follows is the number an unreliable message sent now on channel names:
// that of the last reliable message queued there within followWindow, or
// 0 (none, or the session does not number them).
func (s *session) follows(channel int) uint32 {
	if !following || !s.numbersReliable() {
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

// ready reports whether the reliable message numbered number on stream
// index is about to be handed on, or has been: it has arrived whole, and
// so has every message before it on the stream. One that waits behind a
// lost message, or was lost itself, waits for a resend, which an
// unreliable message does not.
func (o *arrivalOrder) ready(index int, number uint32) bool {
	ssn := uint16(number - 1)
	o.mu.Lock()
	defer o.mu.Unlock()
	next, ok := o.next[index]
	if !ok {
		return false
	}
	if int16(ssn-next) < 0 {
		return true // handed on
	}
	w, ok := o.whole[index]
	return ok && int16(w-next) > 0 && int16(ssn-w) < 0
}

// followQueue holds a session's unreliable records until the reliable
// message each follows has started out (sendFollowing), in the order they
// were sent.
type followQueue struct {
	mu      sync.Mutex
	recs    []waitingRecord
	bytes   int
	timer   *time.Timer
	stopped bool // the session ended: nothing more is held or sent
}

type waitingRecord struct {
	channel  int
	number   uint32 // of the reliable message it follows
	rec      []byte
	deadline time.Time
}

// sendFollowing sends rec, an unreliable message on channel that follows
// reliable message number: now if that message has started out and no
// earlier record of the channel waits, otherwise once it has
// (releaseFollowing) or after followSendWait.
func (s *session) sendFollowing(channel int, number uint32, rec []byte) {
	q := &s.following
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	started := s.conn.guard.startedMessage(streamReliable0+channel, number)
	if started && !q.waitsOnLocked(channel) {
		s.sendRecord(rec)
		return
	}
	if len(q.recs) >= maxFollowing || q.bytes+len(rec) > maxFollowingBytes {
		if !started {
			markEarly(rec[1:])
		}
		s.sendRecord(rec)
		return
	}
	q.recs = append(q.recs, waitingRecord{channel: channel, number: number, rec: rec, deadline: time.Now().Add(followSendWait)})
	q.bytes += len(rec)
	if len(q.recs) == 1 {
		if q.timer == nil {
			q.timer = time.AfterFunc(followSendWait, s.releaseFollowing)
		} else {
			q.timer.Reset(followSendWait)
		}
	}
}

func (q *followQueue) waitsOnLocked(channel int) bool {
	for i := range q.recs {
		if q.recs[i].channel == channel {
			return true
		}
	}
	return false
}

// releaseFollowing sends, in order, the held records whose reliable
// message has started out or whose time is up; a record that stays keeps
// the later ones of its channel behind it. Called after each SCTP packet
// goes out (sctpConn.Write) and by the queue's timer. It sends under the
// queue's lock, so that two callers cannot interleave their records.
func (s *session) releaseFollowing() {
	q := &s.following
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.recs) == 0 || q.stopped {
		return
	}
	now := time.Now()
	var blocked [MaxChannels / 64]uint64
	kept := q.recs[:0]
	for _, w := range q.recs {
		word, bit := w.channel/64, uint64(1)<<(w.channel%64)
		if blocked[word]&bit != 0 {
			kept = append(kept, w)
			continue
		}
		if started := s.conn.guard.startedMessage(streamReliable0+w.channel, w.number); started || !now.Before(w.deadline) {
			if !started {
				markEarly(w.rec[1:])
			}
			s.sendRecord(w.rec)
			q.bytes -= len(w.rec)
			continue
		}
		blocked[word] |= bit
		kept = append(kept, w)
	}
	clear(q.recs[len(kept):])
	q.recs = kept
	if len(kept) > 0 {
		q.timer.Reset(max(time.Millisecond, kept[0].deadline.Sub(now)))
	}
}

// stopFollowing drops what the queue holds when the session ends.
func (s *session) stopFollowing() {
	q := &s.following
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.recs, q.bytes = nil, 0
	if q.timer != nil {
		q.timer.Stop()
	}
}
