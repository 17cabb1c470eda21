package multiplayer

import (
	"encoding/binary"
	"time"

	"github.com/pion/sctp"
)

// The send path: messages onto their streams or, unreliable ones, straight
// into DTLS records.

// send queues one message; it never waits for the network, nor for
// SCTP: a small unreliable message leaves at once in a DTLS record, the
// others go through the session's outbox (outbox.go), from which a pusher
// moves them into SCTP (which fragments and queues; pion's write loop
// sends). A reliable message is kept as outgoing.keep says (a broadcast's
// sessions share one copy); an unreliable one is copied behind its
// sequence header.
func (s *session) send(channel int, mode Mode, msg *outgoing) error {
	_, err := s.sendAfter(channel, mode, msg, nil)
	return err
}

// sendAfter is send with an order mark (frame.go; nil for none). It
// returns a reliable message's number on its channel where the session
// numbers them (outbox.numbered), and 0 otherwise.
func (s *session) sendAfter(channel int, mode Mode, msg *outgoing, after orderMark) (uint32, error) {
	if channel < 0 || channel >= MaxChannels {
		return 0, ErrBadChannel
	}
	if len(msg.data) > MaxMessage {
		return 0, ErrTooLarge
	}
	if s.hasEnded() {
		return 0, ErrClosed
	}
	if mode != Reliable {
		var mark []byte
		if after != nil {
			mark = withMark(after, nil)
		}
		s.mu.Lock()
		seq := s.sendSeq[channel] + 1
		s.sendSeq[channel] = seq
		s.mu.Unlock()
		follows := s.follows(channel)
		fixed := unreliableHeaderFor(follows)
		header := fixed + len(mark)
		if 1+header+len(msg.data) <= s.car.MaxPayload() {
			rec := make([]byte, 1+header+len(msg.data))
			rec[0] = kindData
			putUnreliable(rec[1:], channel, mode, seq, follows, after != nil)
			copy(rec[1+fixed:], mark)
			copy(rec[1+header:], msg.data)
			if follows != 0 {
				s.sendFollowing(channel, follows, rec)
			} else {
				s.sendRecord(rec)
			}
			return 0, nil
		}
		framed := make([]byte, header+len(msg.data))
		putUnreliable(framed, channel, mode, seq, follows, after != nil)
		copy(framed[fixed:], mark)
		copy(framed[header:], msg.data)
		return s.enqueue(streamUnreliable, &outgoing{data: framed, kept: true}, false)
	}
	if after != nil {
		msg = &outgoing{data: withMark(after, msg.data), kept: true}
	}
	return s.enqueue(streamReliable0+channel, msg, after != nil)
}

// write sends a message on one of our streams, opening it on first use.
// It takes the association's lock: the pushers call it for the game's
// messages and the goodbye, the server's setup goroutine for the hello.
// The send buffer's bound is enqueue's.
func (s *session) write(index int, msg []byte, marked bool) error {
	if hook := testBeforeWrite.Load(); hook != nil {
		(*hook)()
	}
	a := s.assoc.Load()
	if a == nil {
		return ErrNotReady
	}
	s.mu.Lock()
	o := s.out[index]
	if o == nil {
		st, err := a.OpenStream(streamID(index, s.isServer), sctp.PayloadTypeWebRTCBinary)
		if err != nil {
			s.mu.Unlock()
			return ErrClosed
		}
		if index == streamUnreliable {
			// Reliable, unordered: partial reliability would need
			// FORWARD-TSN, which the guard refuses (sctpguard.go); the
			// receiver's sequence check still drops an ordered-mode
			// message older than one delivered.
			st.SetReliabilityParams(true, sctp.ReliabilityTypeReliable, 0)
		} else {
			st.SetReliabilityParams(false, sctp.ReliabilityTypeReliable, 0)
		}
		o = &outStream{Stream: st}
		s.out[index] = o
	}
	s.mu.Unlock()
	ppi := sctp.PayloadTypeWebRTCBinary
	switch {
	case marked:
		ppi = ppiMarked // never empty: the mark is in front
	case len(msg) == 0:
		msg, ppi = []byte{0}, sctp.PayloadTypeWebRTCBinaryEmpty
	}
	if _, err := o.WriteSCTP(msg, ppi); err != nil {
		return ErrClosed
	}
	s.mu.Lock()
	o.log.add(len(msg))
	s.mu.Unlock()
	s.lastSent.Store(time.Now().UnixNano())
	return nil
}

// bufferedOut is what waits in the outbox (a batch being pushed included),
// and in our streams for sending or acknowledgement. The streams are read
// with the outbox's lock held (outbox.mu): read one after the other, a
// message pushed between the two readings was in neither, and a graceful
// goodbye that waits for nothing to be buffered (session.leave) could go
// out before it: under the race detector, 100 of 150 sends read as nothing
// buffered before they could have been acknowledged
// (TestWhatAGoodbyeWaitsOnCountsAMessageOnItsWayIntoSCTP), and one CI run
// lost a kick's last message that way.
func (s *session) bufferedOut() uint64 {
	s.outbox.mu.Lock()
	defer s.outbox.mu.Unlock()
	inStreams, _ := s.streamsHold()
	return uint64(s.outbox.bytes) + inStreams
}

// streamsHold is what waits in our streams for sending or acknowledgement:
// the bytes, and about how many messages (insctp.go).
func (s *session) streamsHold() (bytes uint64, messages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.out {
		b := o.BufferedAmount()
		bytes += b
		messages += o.log.settle(b)
	}
	return bytes, messages
}

func (s *session) ping() uint32 {
	rec := make([]byte, pingSize)
	rec[0] = kindPing
	seq, at := s.probe.sent()
	binary.BigEndian.PutUint32(rec[1:], seq)
	binary.BigEndian.PutUint64(rec[5:], uint64(at))
	s.sendRecord(rec)
	return seq
}
