// Package link is what both ends of an established DTLS association share,
// the server's peers and the client: the goroutine that reads decrypted
// packets from pion into a bounded queue (the client's, and a server peer on
// pion's CBC fallback), the writer goroutines that keep sending off the
// caller's thread, the counters, and the payload size a negotiated suite
// leaves. Nothing here calls into Godot.
package link

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/pion/dtls/v2"

	"godtls/extension/queue"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// Status values are Godot's PacketPeerDTLS.Status numbers, for both ends.
type Status int32

// Statuses.
const (
	StatusDisconnected          Status = 0
	StatusHandshaking           Status = 1
	StatusConnected             Status = 2
	StatusError                 Status = 3
	StatusErrorHostnameMismatch Status = 4 // the client's only
)

// MaxRecord is the largest plaintext pion can hand us: it reads datagrams of
// at most wire.MaxDatagram bytes.
const MaxRecord = wire.MaxDatagram

// cbcOverhead is the worst case of pion's CBC fallback: header, explicit IV,
// HMAC-SHA256 and a full padding block.
const cbcOverhead = 13 + 16 + 32 + 16

// MaxPayload is the largest packet one record carries at this MTU with the
// negotiated suite (a ChaCha20 suite of ours, or 0 for pion's CBC fallback).
func MaxPayload(mtu int, suite dtls.CipherSuiteID) int {
	if suites.IsChaCha(suite) {
		return mtu - suites.Overhead
	}
	return mtu - cbcOverhead
}

// PionMTU is the MTU to give pion's configuration so that no datagram of
// its handshake is larger than mtu. pion cuts a handshake message into
// fragments of up to its MTU and then adds the handshake and record headers
// to each. Given mtu itself, it sent datagrams 25 bytes larger; at the
// largest MTU, all a pion peer reads in one datagram, no pion peer could
// have read them.
func PionMTU(mtu int) int { return mtu - wire.RecordHeaderLen - wire.HandshakeHeaderLen }

// NegotiatedSuite returns the suite pion initialised among our ChaCha20
// instances (the ones handed to its CustomCipherSuites), or 0 when it chose
// its CBC fallback (pion v2 does not expose that ID).
func NegotiatedSuite(offered []dtls.CipherSuite) dtls.CipherSuiteID {
	for _, cs := range offered {
		if cs.IsInitialized() {
			return cs.ID()
		}
	}
	return 0
}

// Counters are one association's traffic counts.
type Counters struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut atomic.Uint64
}

// Traffic is a reading of Counters, the part every connection's stats share.
type Traffic struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut uint64
}

// Read returns the counts.
func (c *Counters) Read() Traffic {
	return Traffic{
		PacketsIn: c.PacketsIn.Load(), PacketsOut: c.PacketsOut.Load(),
		BytesIn: c.BytesIn.Load(), BytesOut: c.BytesOut.Load(),
	}
}

// Sink is told what a read loop sees. Its methods run on the loop's
// goroutine.
type Sink interface {
	// Admit: pion opened a packet of n bytes (it authenticated); false
	// drops it, counted by the sink. Where a budget is taken from what
	// pion reads, it is taken here, after authentication: a spoofer's
	// datagram never gets this far.
	Admit(n int) bool
	// Received: one admitted packet of n bytes arrived (queued or not).
	Received(n int)
	// Queued: that packet is now in the queue.
	Queued()
	// Dropped: a packet could not be queued.
	Dropped()
	// Trouble: pion reported an error it survives (a warning alert, a
	// record it could not use, a socket error such as an ICMP port
	// unreachable). The loop goes on unless Trouble says to stop.
	Trouble(err error) (stop bool)
	// Closed: the association ended from the other side: a close_notify,
	// or a fatal alert (pion closes its Conn on either).
	Closed()
	// Failed: the connection broke; reason is in words.
	Failed(reason string)
	// Ours reports whether we closed the connection ourselves: its read
	// errors are then expected and reported nowhere.
	Ours() bool
}

// readBuffer is the fallback loop's buffer, on the heap: allocated in
// ReadLoop it would live on the goroutine's stack, which then holds 16 KiB
// per association for as long as it lives (the runtime halves a stack only
// when less than a quarter of it is in use, and this frame always uses the
// 8 KiB). On the heap: 8 KiB, and a stack that shrinks to a few KiB.
//
//go:noinline
func readBuffer() []byte { return make([]byte, MaxRecord) }

// ReadLoop moves decrypted packets from conn into q until the association
// ends. pion's non-fatal read errors do not end it: one bad or spoofed
// record must never cost a player the session.
func ReadLoop(conn *dtls.Conn, q *queue.Packets, s Sink) {
	readLoop(conn, records(conn), q, s)
}

// readLoop takes the records from ch, pion's own channel, or through
// conn.Read where ch is nil.
func readLoop(conn *dtls.Conn, ch <-chan interface{}, q *queue.Packets, s Sink) {
	defer func() {
		if r := recover(); r != nil {
			s.Failed(fmt.Sprintf("internal error: %v", r))
		}
	}()
	// Taken from pion's channel, a record is already the queue's own
	// copy; through Read it is copied out of buf.
	var buf []byte
	if ch == nil {
		buf = readBuffer()
	}
	for {
		var pkt []byte
		var err error
		if ch != nil {
			pkt, err = nextRecord(ch)
		} else {
			var n int
			if n, err = conn.Read(buf); err == nil {
				pkt = append([]byte(nil), buf[:n]...)
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				s.Closed()
			case s.Ours():
			case errors.Is(err, net.ErrClosed), errors.Is(err, dtls.ErrConnClosed):
				s.Failed(err.Error())
			default:
				if !s.Trouble(err) {
					continue
				}
			}
			return
		}
		n := len(pkt)
		if !s.Admit(n) {
			continue
		}
		s.Received(n)
		if q.Push(pkt) {
			s.Queued()
		} else {
			s.Dropped()
		}
	}
}
