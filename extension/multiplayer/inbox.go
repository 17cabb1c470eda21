package multiplayer

import (
	"godtls/extension/queue"
	"sync"
)

// Packet is one message for the game.
type Packet struct {
	From    int32 // the sender's peer id
	Channel int
	Mode    Mode
	Data    []byte

	owner *session // whose budget the bytes count against
}

// inbox holds the messages of every session until the game takes them,
// bounded in packets and bytes overall and in bytes per session. An
// unreliable message that does not fit is dropped (and counted); a reliable
// one waits for room, which stops its stream's reader, which fills SCTP's
// receive window, which slows the sender: back-pressure instead of memory.
type inbox struct {
	mu        sync.Mutex
	ring      queue.Ring[Packet]
	bytes     int
	maxItems  int
	maxBytes  int
	perPeer   int
	dropped   uint64
	early     int // packets held in their sessions' early lists
	waiting   int
	spaceFree chan struct{} // closed and replaced when room is freed while someone waits
}

func newInbox(maxItems, maxBytes, perPeer int) *inbox {
	return &inbox{ring: queue.NewRing[Packet](16, maxItems), maxItems: maxItems, maxBytes: maxBytes, perPeer: perPeer, spaceFree: make(chan struct{})}
}

// fitsLocked: a message always fits an empty session budget, so a reliable
// message of MaxMessage bytes can never wait forever.
func (q *inbox) fitsLocked(p *Packet) bool {
	size := len(p.Data)
	if q.ring.Len()+q.early >= q.maxItems {
		return false
	}
	if p.owner != nil && p.owner.queued > 0 && p.owner.queued+size > q.perPeer {
		return false
	}
	return q.bytes == 0 || q.bytes+size <= q.maxBytes
}

// push queues p. With wait it blocks until there is room or stop is
// closed (then it reports false); without, a full inbox drops p.
func (q *inbox) push(p Packet, wait bool, stop <-chan struct{}) bool {
	q.mu.Lock()
	for !q.fitsLocked(&p) {
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
	if p.owner != nil && !p.owner.delivered {
		// the game has not been told of this peer yet: hold the message
		// back until it is (deliver), counted against the same budgets
		p.owner.early = append(p.owner.early, p)
		q.early++
	} else {
		q.ring.Push(p) // fitsLocked checked the room
	}
	q.bytes += len(p.Data)
	if p.owner != nil {
		p.owner.queued += len(p.Data)
	}
	q.mu.Unlock()
	return true
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
		q.ring.Push(p) // counted in q.early until now: there is room
	}
	q.early -= len(s.early)
	s.early = nil
}

// discard drops what s held back: the game will never be told of it.
func (q *inbox) discard(s *session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range s.early {
		q.bytes -= len(p.Data)
		s.queued -= len(p.Data)
	}
	q.early -= len(s.early)
	s.early = nil
	q.roomFreedLocked()
}

// roomFreedLocked wakes the readers waiting for room (push with wait).
func (q *inbox) roomFreedLocked() {
	if q.waiting > 0 {
		close(q.spaceFree)
		q.spaceFree = make(chan struct{})
	}
}
