package multiplayer

import "github.com/pion/sctp"

// outStream is one of our streams, with the log of what it holds; the
// session's mu guards the log.
type outStream struct {
	*sctp.Stream
	log inSCTP
}

// inSCTP estimates how many of our messages one of our streams still holds
// (queued or sent, not yet acknowledged). pion/sctp reports the bytes
// (Stream.BufferedAmount) but not the messages, and keeps a chunk of about
// 120 bytes for each until it is acknowledged: a peer that stops
// acknowledging while the game sends it small reliable messages would make
// the send buffer's bytes hold many times their size in pion's chunks. So
// the messages in SCTP are charged messageCost each too (enqueue).
//
// The log keeps each message's size as it is written; settle drops the
// oldest while the log holds more bytes than the stream: acknowledged
// messages leave pion in about the order they were sent, and where one is
// acknowledged early (a gap block) another of about its size is dropped
// from the log in its place.
type inSCTP struct {
	sizes []uint32 // sizes[head:], oldest first
	head  int
	bytes uint64
}

// maxIdleLog is the most entries an emptied log keeps room for: an idle
// session's streams keep next to nothing.
const maxIdleLog = 4

// add logs a message of n bytes, after pion has taken it: logged before,
// settle could drop it before pion counts it, and the log would count one
// message short for good.
func (l *inSCTP) add(n int) {
	if l.head > 0 && l.head >= len(l.sizes)/2 {
		l.sizes = append(l.sizes[:0], l.sizes[l.head:]...)
		l.head = 0
	}
	l.sizes = append(l.sizes, uint32(n))
	l.bytes += uint64(n)
}

// settle forgets what the stream no longer holds (buffered is its
// BufferedAmount) and returns how many messages it holds.
func (l *inSCTP) settle(buffered uint64) int {
	for l.bytes > buffered && l.head < len(l.sizes) {
		l.bytes -= uint64(l.sizes[l.head])
		l.head++
	}
	if l.head == len(l.sizes) {
		l.head, l.bytes = 0, 0
		if cap(l.sizes) > maxIdleLog {
			l.sizes = nil // an idle session keeps no burst's log
		} else {
			l.sizes = l.sizes[:0]
		}
	}
	return len(l.sizes) - l.head
}
