package multiplayer

import (
	"godtls/extension/queue"
	"sync"
	"sync/atomic"
)

// Packet is one message for the game.
type Packet struct {
	From    int32 // the sender's peer id
	Channel int
	Mode    Mode
	Data    []byte

	owner *session // whose budget the bytes count against
	// follows is, for an unreliable message, the number of the reliable
	// message of its channel its sender had queued before it (0: none to
	// wait for; follow.go).
	follows uint32
}

// inbox holds the messages of every session until the game takes them,
// bounded in packets and bytes overall and in bytes per session. An
// unreliable message that does not fit is dropped (and counted); a reliable
// one waits for room, which stops its stream's reader, which fills SCTP's
// receive window, which slows the sender: back-pressure instead of memory.
type inbox struct {
	mu       sync.Mutex
	ring     queue.Ring[Packet]
	bytes    int
	maxItems int
	maxBytes int
	perPeer  int
	dropped  uint64
	held     int // packets held in their sessions' early, authHeld and orderHeld lists
	waiting  int
	// orderHolders are the sessions with packets in orderHeld; holding is
	// their count, read without the mutex by the game's poll.
	orderHolders []*session
	holding      atomic.Int32
	spaceFree    chan struct{} // closed and replaced when room is freed while someone waits
}

func newInbox(maxItems, maxBytes, perPeer int) *inbox {
	return &inbox{ring: queue.NewRing[Packet](16, maxItems), maxItems: maxItems, maxBytes: maxBytes, perPeer: perPeer, spaceFree: make(chan struct{})}
}

// fitsLocked: a message always fits an empty session budget, so a reliable
// message of MaxMessage bytes can never wait forever.
func (q *inbox) fitsLocked(p *Packet, after orderMark) bool {
	size := len(p.Data)
	if q.ring.Len()+q.held >= q.maxItems {
		return false
	}
	if s := p.owner; s != nil {
		if len(s.authHeld) >= maxAuthHeld && s.overtakesAuthLocked(p) {
			return false
		}
		if len(s.orderHeld) >= maxOrderHeld && s.waitsLocked(p, after) {
			return false
		}
		if s.queued > 0 && s.queued+size > q.perPeer {
			return false
		}
	}
	return q.bytes == 0 || q.bytes+size <= q.maxBytes
}

// push queues p. With wait it blocks until there is room or stop is
// closed (then it reports false); without, a full inbox drops p.
func (q *inbox) push(p Packet, wait bool, stop <-chan struct{}) bool {
	return q.pushAfter(p, nil, wait, stop)
}

// pushAfter is push of a message with an order mark (nil for none), which
// waits until what the mark names has passed (orderhold.go).
func (q *inbox) pushAfter(p Packet, after orderMark, wait bool, stop <-chan struct{}) bool {
	q.mu.Lock()
	for !q.fitsLocked(&p, after) {
		if !wait {
			q.dropped++
			q.mu.Unlock()
			return false
		}
		q.waiting++
		ch := q.spaceFree
		q.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			return false
		}
		q.mu.Lock()
		q.waiting--
	}
	defer q.mu.Unlock()
	s := p.owner
	if s == nil {
		q.bytes += len(p.Data)
		q.ring.Push(p) // fitsLocked checked the room
		return true
	}
	behindAuth := s.delivered && s.overtakesAuthLocked(&p)
	behindMark := s.waitsLocked(&p, after)
	if p.Mode == UnreliableOrdered && s.markWaitsLocked(after) {
		// Held up to markWait behind an announcement, it would be stale:
		// the mode allows a loss. (Held behind the reliable message it
		// follows, it waits at most followWait, and the newer ones of
		// its channel wait behind it.)
		q.dropped++
		return false
	}
	if (behindAuth || behindMark) && s.hasEnded() {
		// Held for what will never come; its owner has dropped what was
		// held (dropHeld), or will.
		return true
	}
	q.bytes += len(p.Data)
	s.queued += len(p.Data)
	if behindMark {
		q.holdLocked(p, after)
		return true
	}
	q.placeLocked(p)
	q.passedLocked(s, &p)
	return true
}

// placeLocked queues a message of a session, counted in the inbox's and
// the session's bytes, for the game: behind what it waits for, if
// anything, or in the ring.
func (q *inbox) placeLocked(p Packet) {
	s := p.owner
	switch {
	case !s.delivered:
		// the game has not been told of this peer yet: hold the message
		// back until it is (deliver), counted against the same budgets
		s.early = append(s.early, p)
		q.held++
	case s.overtakesAuthLocked(&p):
		s.authHeld = append(s.authHeld, p) // until the completion (below)
		q.held++
	default:
		q.ringLocked(p) // fitsLocked checked the room
	}
	if isSceneAuthCompletion(p.Channel, p.Mode, p.Data) {
		// Queued now, in early or in the ring: what overtook it follows
		// it.
		q.endAuthHoldLocked(s)
	}
}

// overtakesAuthLocked reports whether p would reach the game before its
// peer's authentication completion, which SceneMultiplayer reads first
// (sceneauth.go); the caller holds q.mu.
func (s *session) overtakesAuthLocked(p *Packet) bool {
	return s.auth.holding() && !isSceneAuth(p.Channel, p.Mode, p.Data)
}

// releaseAuth ends the hold of s: this side sent the peer something else
// than authentication, which SceneMultiplayer never does while it waits
// for the peer's completion (sceneauth.go).
func (q *inbox) releaseAuth(s *session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.endAuthHoldLocked(s)
}

// endAuthHoldLocked queues what s held behind its peer's completion and
// holds nothing more; the caller holds q.mu.
func (q *inbox) endAuthHoldLocked(s *session) {
	if s.auth.state.Swap(authOver) != authHolding {
		return
	}
	for _, held := range s.authHeld {
		q.ringLocked(held) // counted in q.held until now: there is room
	}
	q.held -= len(s.authHeld)
	s.authHeld = nil
	q.roomFreedLocked() // a reader waiting at maxAuthHeld
}

// ringLocked queues a session's message where the game reads it; the
// caller holds q.mu.
func (q *inbox) ringLocked(p Packet) {
	q.ring.Push(p)
	p.owner.readable++
}

// readableFor is how many messages of s the game can read now.
func (q *inbox) readableFor(s *session) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return s.readable
}

// front is the next packet without taking it (Godot asks for its sender,
// channel and mode before it takes it).
func (q *inbox) front() (Packet, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ring.Front()
}

// pop takes the next packet.
func (q *inbox) pop() (Packet, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p, ok := q.ring.Pop()
	if !ok {
		return Packet{}, false
	}
	q.bytes -= len(p.Data)
	if p.owner != nil {
		p.owner.queued -= len(p.Data)
		p.owner.readable--
	}
	q.roomFreedLocked()
	p.owner = nil
	return p, true
}

func (q *inbox) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ring.Len()
}

// queuedFor is how many bytes of s wait in the inbox.
func (q *inbox) queuedFor(s *session) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return s.queued
}

func (q *inbox) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// deliver marks s announced to the game and queues the messages it held
// back, in order, behind what is already waiting.
func (q *inbox) deliver(s *session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s.delivered = true
	for _, p := range s.early {
		q.ringLocked(p) // counted in q.held until now: there is room
	}
	q.held -= len(s.early)
	s.early = nil
}

// discard drops what s held back: the game will never be told of it.
func (q *inbox) discard(s *session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropLocked(s, s.early)
	s.early = nil
	q.dropOrderHeldLocked(s)
}

// dropHeld drops what an announced session that has ended still held:
// what overtook its authentication completion (SceneMultiplayer would
// drop it, the peer never having completed) and what waited for messages
// that will not come now (orderhold.go). A reader that pushes after it
// finds s ended (pushAfter).
func (q *inbox) dropHeld(s *session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropLocked(s, s.authHeld)
	s.authHeld = nil
	q.dropOrderHeldLocked(s)
}

func (q *inbox) dropLocked(s *session, held []Packet) {
	for _, p := range held {
		q.bytes -= len(p.Data)
		s.queued -= len(p.Data)
	}
	q.held -= len(held)
	q.roomFreedLocked()
}

// roomFreedLocked wakes the readers waiting for room (push with wait).
func (q *inbox) roomFreedLocked() {
	if q.waiting > 0 {
		close(q.spaceFree)
		q.spaceFree = make(chan struct{})
	}
}
