package multiplayer

import (
	"math/bits"
	"sync"
	"time"
)

// arrivalOrder hands a session's reliable messages to the game in the
// order they arrived, across channels. Each channel is a stream with a
// reader of its own (readStream), so two messages that arrive a
// microsecond apart on two channels reached the game in whichever order
// the Go scheduler ran their readers: on loopback, 12-41 of 2,000 pairs
// sent a message on channel 0 then one on channel 2 came out reversed
// (677-770 under the race detector).
// ENet delivers in arrival order, and games lean on it without knowing.
//
// The SCTP guard sees every DATA chunk before pion/sctp does, on pion's
// read loop, in arrival order (chunk). A reader that has read a message
// asks, before handing it on (wait), whether another channel's next
// message is complete and arrived earlier; if so it waits for that
// channel's reader to hand it on first. A message is complete once all its
// chunks have arrived, and a channel's next message is the one its reader
// reads next (SSNs count from 0 on each ordered stream, and nothing here
// skips one: FORWARD-TSN is refused). A message not complete (a chunk
// lost) holds nothing back: loss on one channel never delays another, and
// under loss order across channels is kept only as far as the data
// arrived in order, as with ENet.
//
// The model can be wrong: pion drops a new chunk when its receive buffer
// is full, and a rogue peer can send chunks pion throws away. A reader
// therefore waits at most arrivalWait; what it waited for is then no
// longer trusted to hold anything back (distrusted), and it goes on.
// What is tracked is bounded (maxArrivals entries per session; past that,
// new messages are not tracked and are delivered as they are read).
type arrivalOrder struct {
	mu sync.Mutex
	// clock counts the DATA chunks that arrived.
	clock uint64
	// entries are the messages seen but not yet handed on, by
	// arrivalKey; peak is the most it has held since it was made. A table
	// that grew past smallArrivals is dropped once empty (Go's maps never
	// shrink); a small one is kept, rather than made again for every
	// frame's few messages.
	entries map[uint32]arrival
	peak    int
	// next is, per stream index, the SSN of the message its reader reads
	// next; whole, the SSN of the first message from next on that has not
	// arrived whole (every one before it is complete: ready, follow.go).
	next  map[int]uint16
	whole map[int]uint16
	// changed is closed (and dropped) when a reader hands a message on or
	// a wait ends, waking the readers that wait; nil while nobody waits.
	changed chan struct{}
	// overdue counts the waits that ran to arrivalWait.
	overdue uint64
}

// arrival is what the guard saw of one message's chunks.
type arrival struct {
	// at is the clock when its last missing chunk arrived; 0 until it is
	// complete.
	at uint64
	// seen marks its chunks' TSNs from base on, so that a chunk sent
	// again is counted once. A message has at most 64 chunks here: a
	// longer one is never complete, and holds nothing back.
	base        uint32
	seen        [2]uint64
	first, last uint32 // the TSNs of its B and E chunks
	hasFirst    bool
	hasLast     bool
	distrusted  bool
}

const (
	// maxArrivals bounds the messages tracked per session: far more than
	// a game has in flight at once (a burst past it is delivered as read,
	// without the order across channels). At 48 bytes each, plus the
	// map's key and overhead, it is a small share of what pion/sctp's
	// receive window lets a peer hold.
	maxArrivals = 1024
	// maxArrivalChunks is the longest message tracked, in chunks.
	maxArrivalChunks = 64
	// smallArrivals is what a table may have held and still be kept
	// once empty: one of Go's map buckets.
	smallArrivals = 8
)

// arrivalWait is the longest a reader waits for another channel's reader
// (a var: tests change it). A genuine wait lasts as long as the scheduler
// takes to run the other reader, which on a loaded machine can be
// milliseconds; running out lets a message go out of order. A wait that
// runs out for nothing (the model was wrong) costs that message this much,
// once per message pion dropped: a genuine peer's only when pion's receive
// buffer is full, so the game is not reading anyway.
var arrivalWait = 100 * time.Millisecond

// arrivalOrdered turns the wait off when false: a test hook, to measure
// what the readers do without it.
var arrivalOrdered = true

// DATA chunk flags (RFC 4960 §3.3.1).
const (
	dataFlagEnd       = 0x01
	dataFlagBegin     = 0x02
	dataFlagUnordered = 0x04
)

func arrivalKey(index int, ssn uint16) uint32 { return uint32(index)<<16 | uint32(ssn) }

// tracks says whether messages on stream index are ordered across
// channels: the reliable channels', not control or the large unreliable
// ones (unordered).
func tracks(index int) bool { return index >= streamReliable0 }

// chunk notes a DATA chunk the guard admitted; the guard holds its lock.
func (o *arrivalOrder) chunk(index int, ssn uint16, tsn uint32, flags byte) {
	if !tracks(index) || flags&dataFlagUnordered != 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clock++
	if int16(ssn-o.next[index]) < 0 {
		return // a message already handed on, sent again
	}
	key := arrivalKey(index, ssn)
	a, known := o.entries[key]
	if !known {
		if len(o.entries) >= maxArrivals {
			return
		}
		a.base = tsn - maxArrivalChunks
	}
	off := tsn - a.base
	if off >= 2*maxArrivalChunks {
		return // not a chunk of a message this short: it never completes
	}
	word, bit := off/64, uint64(1)<<(off%64)
	if a.seen[word]&bit != 0 {
		return // a chunk sent again
	}
	a.seen[word] |= bit
	if flags&dataFlagBegin != 0 {
		a.first, a.hasFirst = tsn, true
	}
	if flags&dataFlagEnd != 0 {
		a.last, a.hasLast = tsn, true
	}
	completed := false
	if a.at == 0 && a.hasFirst && a.hasLast && a.last-a.first < maxArrivalChunks &&
		bits.OnesCount64(a.seen[0])+bits.OnesCount64(a.seen[1]) == int(a.last-a.first)+1 {
		a.at = o.clock
		completed = true
	}
	if o.entries == nil {
		o.entries = make(map[uint32]arrival)
	}
	o.entries[key] = a
	o.peak = max(o.peak, len(o.entries))
	if !known {
		o.noteStreamLocked(index)
	}
	if completed {
		o.advanceWholeLocked(index)
	}
}

// advanceWholeLocked moves stream index's whole mark past the messages
// that have arrived whole.
func (o *arrivalOrder) advanceWholeLocked(index int) {
	if o.whole == nil {
		o.whole = make(map[int]uint16)
	}
	w, ok := o.whole[index]
	if next := o.next[index]; !ok || int16(w-next) < 0 {
		w = next
	}
	for {
		a, known := o.entries[arrivalKey(index, w)]
		if !known || a.at == 0 {
			break
		}
		w++
	}
	o.whole[index] = w
}

// noteStreamLocked makes sure stream index has its next SSN noted, so that
// its next message is weighed (earlierLocked) before its reader has handed
// any message on.
func (o *arrivalOrder) noteStreamLocked(index int) {
	if o.next == nil {
		o.next = make(map[int]uint16)
	}
	if _, ok := o.next[index]; !ok {
		o.next[index] = 0
	}
}

// wait returns once no other channel's next message is complete and
// arrived before the message the reader of stream index has just read, or
// after arrivalWait, or when stop closes.
func (o *arrivalOrder) wait(index int, stop <-chan struct{}) {
	if !tracks(index) || !arrivalOrdered {
		return
	}
	var deadline *time.Timer
	for {
		o.mu.Lock()
		a, known := o.entries[arrivalKey(index, o.next[index])]
		if !known || a.at == 0 || !o.earlierLocked(index, a.at, false) {
			o.mu.Unlock()
			break
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		if deadline == nil {
			deadline = time.NewTimer(arrivalWait)
		}
		select {
		case <-changed:
			continue
		case <-stop:
		case <-deadline.C:
			o.mu.Lock()
			o.overdue++
			o.earlierLocked(index, a.at, true)
			o.wakeLocked()
			o.mu.Unlock()
		}
		break
	}
	if deadline != nil {
		deadline.Stop()
	}
}

// earlierLocked reports whether another stream's next message is complete,
// trusted, and arrived before at; with distrust, it stops trusting every
// such message instead.
func (o *arrivalOrder) earlierLocked(index int, at uint64, distrust bool) bool {
	found := false
	for other, ssn := range o.next {
		if other == index {
			continue
		}
		key := arrivalKey(other, ssn)
		b, known := o.entries[key]
		if !known || b.at == 0 || b.at > at || b.distrusted {
			continue
		}
		if !distrust {
			return true
		}
		found = true
		b.distrusted = true
		o.entries[key] = b
	}
	return found
}

// handedOn notes that the reader of stream index has handed its message
// on (or dropped it): the stream's next message is the one after.
func (o *arrivalOrder) handedOn(index int) {
	if !tracks(index) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.noteStreamLocked(index)
	ssn := o.next[index]
	if o.entries != nil {
		delete(o.entries, arrivalKey(index, ssn))
		if len(o.entries) == 0 && o.peak > smallArrivals {
			o.entries, o.peak = nil, 0 // the table of a burst goes with it
		}
	}
	o.next[index] = ssn + 1
	o.wakeLocked()
}

func (o *arrivalOrder) wakeLocked() {
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
}

// overdueWaits is how many waits ran to arrivalWait.
func (o *arrivalOrder) overdueWaits() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.overdue
}
