package multiplayer

import "sync"

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
	ring      []Packet
	head, n   int
	bytes     int
	maxItems  int
	maxBytes  int
	perPeer   int
	dropped   uint64
	waiting   int
	spaceFree chan struct{} // closed and replaced when room is freed while someone waits
}

func newInbox(maxItems, maxBytes, perPeer int) *inbox {
	return &inbox{ring: make([]Packet, 16), maxItems: maxItems, maxBytes: maxBytes, perPeer: perPeer, spaceFree: make(chan struct{})}
}

// fitsLocked: a message always fits an empty session budget, so a reliable
// message of MaxMessage bytes can never wait forever.
func (q *inbox) fitsLocked(p *Packet) bool {
	size := len(p.Data)
	if q.n >= q.maxItems {
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
	if q.n == len(q.ring) {
		next := make([]Packet, 2*len(q.ring))
		for i := 0; i < q.n; i++ {
			next[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = next, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = p
	q.n++
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
	if q.n == 0 {
		return Packet{}, false
	}
	return q.ring[q.head], true
}

// pop takes the next packet.
func (q *inbox) pop() (Packet, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return Packet{}, false
	}
	p := q.ring[q.head]
	q.ring[q.head] = Packet{}
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	q.bytes -= len(p.Data)
	if p.owner != nil {
		p.owner.queued -= len(p.Data)
	}
	if q.waiting > 0 {
		close(q.spaceFree)
		q.spaceFree = make(chan struct{})
	}
	if q.n == 0 && len(q.ring) > 64 {
		q.ring, q.head = make([]Packet, 16), 0 // a burst does not keep its memory
	}
	p.owner = nil
	return p, true
}

func (q *inbox) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
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
