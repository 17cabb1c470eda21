package multiplayer

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The outbox: the game's messages, and a goodbye, on their way into SCTP. pion/sctp's
// WriteSCTP takes the association's lock, which the association's own
// goroutines hold while they gather and marshal packets, and every write
// wakes the association's write loop. Called on Godot's thread, a send
// waited for that lock whenever the peer's loops were busy, and each
// goroutine it woke could take the thread's Go processor while Godot ran
// its own code in between (docs/profiles.md, "Where the first frame of
// the burst went": at 200 peers, a quarter to a third of the first frame
// of a burst of ends was that thread asleep). So a send only queues the message in its session's
// outbox, and a small pool of pushers moves it into SCTP.
//
// Order: one session's messages are pushed by one pusher at a time, in
// the order they were queued. Bounds: the outbox counts toward the send
// buffer (Options.SendBuffer, bytes) with what SCTP's streams hold, each
// message charged its bytes and messageCost more, so that the bytes bound
// the messages too (32,768 at the default 4 MiB).
//
// The outbox once held at most 4,096 messages besides the bytes: a game
// that sent 10,000 small RPCs in one frame (the multiplayer test's loss
// clients) had some refused whenever the pusher fell behind, which it did
// only when the machine was busy. A limit that depends on how busy the
// machine is was the wrong one: now only what the messages cost counts.

// messageCost is what a message is charged beyond its data against the
// send buffer, in the outbox and in SCTP: there pion keeps a chunk of about
// 120 bytes for it until it is acknowledged, and a copy of its data.
const messageCost = 128

// testBeforeWrite, set by tests only (while sessions run, hence atomic),
// runs before a message is written into SCTP.
var testBeforeWrite atomic.Pointer[func()]

type outMsg struct {
	stream int
	data   []byte // owned by the outbox; never written after queuing
	marked bool   // data starts with an order mark (frame.go)
}

type outbox struct {
	// mu is taken before the session's mu, never after. Whoever adds what
	// the outbox holds to what the streams hold (enqueue, bufferedOut)
	// reads the streams with mu held: a pusher counts a message out of the
	// outbox only after writing it into a stream (pushOutbox), so each
	// message is counted in one of them, or both for a moment, never in
	// neither.
	mu        sync.Mutex
	msgs      []outMsg
	bytes     int  // of msgs and of the batch a pusher is writing
	count     int  // messages in msgs and in that batch
	scheduled bool // in the pushers' ready list or being pushed
	// numbered: the reliable messages queued on each channel, which are
	// their numbers on the peer's side of the stream too (a stream
	// delivers every one, in order). Kept where order marks are made:
	// with Options.SceneOrder (sceneorder.go). numberedAt is when the
	// last of each channel was queued (follow.go).
	numbered   []uint32
	numberedAt []time.Time
}

// outgoing is a message on its way into one outbox or, broadcast, several.
// A message from Send is still the caller's until an outbox accepts it:
// the first outbox to accept it copies it, and the others share that copy,
// so that a broadcast copies a message once and a refused send not at all.
type outgoing struct {
	data []byte
	kept bool // data is the outboxes' own: nothing writes it after
}

// keep is the message as an outbox may keep it.
func (m *outgoing) keep() []byte {
	if !m.kept {
		m.data = bytes.Clone(m.data)
		m.kept = true
	}
	return m.data
}

// enqueue queues msg for stream index. It refuses it when the messages
// waiting to go out, here and in SCTP's streams (each charged messageCost
// more), would pass the send buffer. It returns a reliable message's
// number on its channel where the session numbers them, and 0 otherwise.
func (s *session) enqueue(index int, msg *outgoing, marked bool) (uint32, error) {
	if s.assoc.Load() == nil {
		return 0, ErrNotReady
	}
	o := &s.outbox
	o.mu.Lock()
	inStreams, inSCTP := s.streamsHold() // with mu held (outbox.mu)
	waiting := inStreams + uint64(o.bytes+(o.count+inSCTP)*messageCost)
	if waiting > 0 && waiting+uint64(len(msg.data)+messageCost) > uint64(s.sh.opts.SendBuffer) {
		queued := o.count
		o.mu.Unlock()
		return 0, fmt.Errorf("%w (%d bytes, with %d messages not yet handed to SCTP and about %d in it)", ErrSendBacklog, waiting, queued, inSCTP)
	}
	data := msg.keep() // under the lock: the check above and the count below go together
	o.msgs = append(o.msgs, outMsg{stream: index, data: data, marked: marked})
	o.bytes += len(data)
	o.count++
	var number uint32
	if channel := index - streamReliable0; channel >= 0 && s.numbersReliable() {
		if channel >= len(o.numbered) {
			o.numbered = append(o.numbered, make([]uint32, channel+1-len(o.numbered))...)
			o.numberedAt = append(o.numberedAt, make([]time.Time, channel+1-len(o.numberedAt))...)
		}
		o.numbered[channel]++
		o.numberedAt[channel] = time.Now()
		number = o.numbered[channel]
	}
	wake := !o.scheduled
	o.scheduled = true
	o.mu.Unlock()
	if wake {
		s.sh.push.schedule(s)
	}
	return number, nil
}

// reliableSent is how many reliable messages the session has queued on
// each channel that has any (where it numbers them).
func (s *session) reliableSent() []uint32 {
	s.outbox.mu.Lock()
	defer s.outbox.mu.Unlock()
	return append([]uint32(nil), s.outbox.numbered...)
}

// pushOutbox writes what the session's outbox holds into SCTP, in order,
// and hands the session back to the pushers if more came meanwhile
// (behind the sessions already waiting). batch is scratch space, returned
// emptied for the next session.
func (s *session) pushOutbox(batch []outMsg) []outMsg {
	o := &s.outbox
	o.mu.Lock()
	batch = append(batch, o.msgs...)
	clear(o.msgs)
	o.msgs = o.msgs[:0]
	o.mu.Unlock()
	failed := s.hasEnded() // then there is nothing to push into
	for i, m := range batch {
		if !failed && s.write(m.stream, m.data, m.marked) != nil {
			failed = true // the session is ending: the rest is dropped
		}
		// Now counted by the stream (or gone): no longer the outbox's.
		o.mu.Lock()
		o.bytes -= len(m.data)
		o.count--
		o.mu.Unlock()
		batch[i] = outMsg{}
	}
	o.mu.Lock()
	more := len(o.msgs) > 0
	o.scheduled = more
	o.mu.Unlock()
	if more {
		s.sh.push.schedule(s)
	}
	return batch[:0]
}

// pushers run the outboxes of one server's or client's sessions: at most
// max goroutines, started when a session has messages and none is
// running, ending when no session has any. Godot's thread only appends to
// an outbox and, once per burst, starts a pusher.
type pushers struct {
	mu      sync.Mutex
	ready   []*session
	running int
	max     int
	closed  bool
	wg      *sync.WaitGroup
}

// schedule puts s, whose outbox has messages, in line for a pusher.
func (p *pushers) schedule(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return // the owner is closing: its sessions have ended
	}
	p.ready = append(p.ready, s)
	if p.running < p.max {
		p.running++
		p.wg.Add(1)
		go p.run()
	}
}

func (p *pushers) run() {
	defer p.wg.Done()
	var batch []outMsg
	for {
		p.mu.Lock()
		if len(p.ready) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		s := p.ready[0]
		p.ready[0] = nil
		p.ready = p.ready[1:]
		p.mu.Unlock()
		batch = s.pushOutbox(batch)
	}
}

// close starts no more pushers; the owner then waits for those running
// (its wait group), which end once the ready sessions are pushed.
func (p *pushers) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}
