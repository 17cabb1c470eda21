package multiplayer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pion/sctp"
)

// The receive path: the streams the other side opens, the records that are
// not SCTP (unreliable messages, pings, goodbyes) and the control messages.

// acceptStreams starts a reader for each of n streams the peer has just
// opened (the guard saw its first DATA on them; pion has not read that
// packet yet). Before the association is set up, they wait for it. There
// is no goroutine per session waiting for streams: an idle session's only
// goroutines are pion/sctp's two.
func (s *session) acceptStreams(n int) {
	s.acceptMu.Lock()
	a := s.assoc.Load()
	if a == nil {
		s.pendingStreams += n
		s.acceptMu.Unlock()
		return
	}
	s.acceptMu.Unlock()
	s.startReaders(a, n)
}

func (s *session) startReaders(a *sctp.Association, n int) {
	for i := 0; i < n; i++ {
		s.sh.wg.Add(1)
		s.readers.Add(1)
		go s.acceptStream(a)
	}
}

// acceptStream takes the next stream pion accepted and reads it. A reader
// started for DATA that pion did not take (it came before the association
// could) waits for the next stream, or the association's end.
func (s *session) acceptStream(a *sctp.Association) {
	defer s.sh.wg.Done()
	defer s.readers.Add(-1)
	st, err := a.AcceptStream()
	if err != nil {
		return // the association's end ends the session (attempt.Close, attempt.Read)
	}
	index, ok := streamIndex(st.StreamIdentifier(), !s.isServer)
	if !ok { // the guard admits no such DATA
		s.end(fmt.Sprintf("protocol violation: the peer opened stream %d", st.StreamIdentifier()))
		return
	}
	s.readStream(st, index)
}

// associationEnded ends the session after its association ended. pion may
// call it holding the association's lock, and ending the session calls the
// owner and closes the association: that runs on a goroutine of its own.
func (s *session) associationEnded() {
	if s.hasEnded() {
		return
	}
	s.sh.wg.Add(1)
	go func() {
		defer s.sh.wg.Done()
		s.end(connectionClosed)
	}()
}

// readStream delivers the messages of one stream. Its buffer is small; a
// larger message is read into a buffer of its size, which is not kept.
func (s *session) readStream(st *sctp.Stream, index int) {
	small := make([]byte, 2048)
	for {
		buf := small
		n, ppi, err := st.ReadSCTP(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			buf = make([]byte, n)
			n, ppi, err = st.ReadSCTP(buf)
		}
		if err != nil {
			return
		}
		msg := append([]byte(nil), buf[:n]...)
		var after orderMark
		switch ppi {
		case sctp.PayloadTypeWebRTCBinaryEmpty:
			msg = msg[:0]
		case ppiMarked:
			if index < streamReliable0 {
				s.violated("protocol violation: an order mark on a stream that takes none")
				return
			}
			if after, msg, err = parseMark(msg); err != nil || !s.takesMark(after) {
				s.violated("protocol violation: a malformed order mark")
				return
			}
		}
		switch index {
		case streamControl:
			s.onControl(msg)
		case streamUnreliable:
			if h, payload, err := parseUnreliable(msg); err == nil {
				s.deliverUnreliable(h, payload)
			}
		default:
			// A client's session is live from the start (Client), so every
			// reliable message it reads is counted by the order hold.
			if !s.live.Load() {
				s.arrivals.handedOn(index)
				continue
			}
			p := Packet{From: s.id, Channel: index - streamReliable0, Mode: Reliable, Data: msg, owner: s}
			s.arrivals.wait(index, s.ended)
			pushed := s.sh.in.pushAfter(p, after, true, s.ended)
			s.arrivals.handedOn(index)
			if !pushed {
				return
			}
		}
	}
}

// onRecord handles a DTLS record that is not SCTP. It runs on pion's
// read loop (or the setup goroutine): it must not wait.
func (s *session) onRecord(rec []byte) {
	switch rec[0] {
	case kindData:
		if !s.conn.guard.takeMessages(1) {
			return
		}
		if h, payload, err := parseUnreliable(rec[1:]); err == nil {
			s.deliverUnreliable(h, append([]byte(nil), payload...))
		}
	case kindPing:
		if len(rec) == pingSize {
			pong := append([]byte(nil), rec...)
			pong[0] = kindPong
			s.sendRecord(pong)
		}
	case kindPong:
		if len(rec) == pingSize {
			s.probe.answer(binary.BigEndian.Uint32(rec[1:]), int64(binary.BigEndian.Uint64(rec[5:])))
		}
	case kindBye:
		s.byeReceived(string(rec[1:min(len(rec), 1+maxReason)]))
	}
}

func (s *session) onControl(msg []byte) {
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case ctlHello:
		if !s.isServer && len(msg) == 5 {
			select {
			case s.hello <- int32(binary.BigEndian.Uint32(msg[1:])):
			default:
			}
		}
	case ctlBye:
		s.byeReceived(string(msg[1:min(len(msg), 1+maxReason)]))
	}
}

// violated ends a session whose peer broke the protocol, telling it why
// (in a record, not on SCTP: the guard runs on pion's read loop).
func (s *session) violated(reason string) {
	s.sendRecord(byeRecord(reason))
	s.end(reason)
}

func (s *session) byeReceived(reason string) {
	if reason == "" {
		reason = "the other side left"
	}
	s.byeReason.Store(&reason)
	s.end(reason)
}

// connectionClosed is the reason of an association that ended without a
// goodbye.
const connectionClosed = "the connection closed"

// deliverUnreliable drops an ordered packet older than one already
// delivered on its channel, one with a mark its sender would not send
// (takesMark), and any packet the inbox has no room for.
func (s *session) deliverUnreliable(h unreliableHead, payload []byte) {
	if !s.live.Load() || (h.after != nil && !s.takesMark(h.after)) {
		return
	}
	if h.mode == UnreliableOrdered {
		s.recvMu.Lock()
		last, seen := s.recvSeq[h.channel]
		if seen && !newer(h.seq, last) {
			s.recvMu.Unlock()
			return
		}
		s.recvSeq[h.channel] = h.seq
		s.recvMu.Unlock()
	}
	follows := h.follows
	if follows != 0 && !h.early && !s.arrivals.ready(streamReliable0+h.channel, follows) {
		follows = 0 // lost, or overtaken on the way: no wait for a resend (follow.go)
	}
	s.sh.in.pushAfter(Packet{From: s.id, Channel: h.channel, Mode: h.mode, Data: payload, owner: s, follows: follows}, h.after, false, nil)
}
