package client

import (
	"context"
	"errors"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/wire"
)

// A handshake whose cookie the server no longer knows never finishes by
// itself: the server lost the session (it restarted, or evicted or timed
// out the unverified handshake), every retransmission of our ClientHello
// carries the old cookie, and pion v2 cannot start over within the same
// handshake (message_seq is part of the transcript). The client then starts
// a fresh attempt from a new socket: a cookieless ClientHello the server
// answers as any newcomer.
//
// staleCookieAfter is how long the server may stay silent after our
// ClientHello with a cookie before the attempt is given up. It is longer
// than the server's own patience with a client it has no room for (it
// keeps such a client's handshake and answers the moment room frees), so
// a client waiting for room keeps its place for a while; and short enough
// that a client meets a restarted server within its handshake timeout.
const staleCookieAfter = 4 * time.Second

// errStaleCookie is the cause of an attempt given up for a stale cookie.
var errStaleCookie = errors.New("the server no longer knows our cookie")

// A handshake message forged from the server's address ahead of the
// server's own wedges pion's handshake (wire.HandshakeNotes says why): the
// server's retransmissions are never read, and the attempt hung until the
// handshake timed out. Once a fragment competes with one pion got first
// (after the HelloVerifyRequest, whose cookie the rule above covers) and the
// handshake is still not over forgedAfter later, the client starts over
// from a new socket, as for a stale cookie. A competing copy after the
// server's own changes nothing pion does, and that handshake is over long
// before.
const forgedAfter = 2 * time.Second

// errForgedHandshake is the cause of an attempt given up for a forged
// handshake message.
var errForgedHandshake = errors.New("a handshake message forged from the server's address reached pion first")

// forgeryWatch notes the server's epoch-0 handshake fragments that pion
// reads during one attempt.
type forgeryWatch struct {
	mu         sync.Mutex
	notes      wire.HandshakeNotes
	competedAt atomic.Int64 // unix nanoseconds of the first competing fragment; 0: none
}

// read notes the handshake fragments after the HelloVerifyRequest in
// datagram b (answerFragments), as pion's read loop gets them.
func (w *forgeryWatch) read(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for f := range answerFragments(b) {
		if w.notes.Note(f) {
			w.competedAt.CompareAndSwap(0, time.Now().UnixNano())
		}
	}
}

// answerFragments yields the epoch-0 handshake fragments pion reads in
// datagram b that come after the HelloVerifyRequest (RFC 6347 §4.2.2
// numbers it 0, the ServerHello 1): the server's answer to our cookie, or
// what a forger sends as one.
func answerFragments(b []byte) iter.Seq[wire.HandshakeFragment] {
	return func(yield func(wire.HandshakeFragment) bool) {
		for r := range wire.PionRecords(b) {
			if r.Epoch != 0 {
				continue
			}
			for _, f := range wire.HandshakeFragments(r) {
				if f.Seq > 0 && !yield(f) {
					return
				}
			}
		}
	}
}

// forged reports whether a fragment competed forgedAfter or more before now.
func (w *forgeryWatch) forged(now time.Time) bool {
	at := w.competedAt.Load()
	return at != 0 && now.Sub(time.Unix(0, at)) >= forgedAfter
}

// A HelloVerifyRequest forged from the server's address ahead of the
// server's own makes pion echo the forger's cookie, and pion v2 takes no
// later HelloVerifyRequest: the server never answers that cookie, and
// whatever the forger sends next (a ServerHello that competes with
// nothing) counted as its answer, so the attempt hung until the handshake
// timed out. But the server's own HelloVerifyRequest, with another cookie
// than the one pion echoed, says so: once one has come and the handshake
// is still not over forgedAfter later, the attempt starts over. A server
// that restarted and no longer knows our cookie looks the same, and a
// fresh attempt is what it needs as well.

// errCookieRefused is the cause of an attempt given up for a cookie the
// server does not take.
var errCookieRefused = errors.New("a HelloVerifyRequest with another cookie than the one pion echoed: the server does not take ours (a forged HelloVerifyRequest reached pion first, or the server forgot us)")

// cookiesNoted bounds the HelloVerifyRequest cookies noted before pion
// echoes one.
const cookiesNoted = 4

// cookieWatch follows one attempt: when the first ClientHello with a
// cookie left, whether the server answered it, and whether a
// HelloVerifyRequest asked for another cookie than the one it carried.
type cookieWatch struct {
	sentAt    atomic.Int64 // unix nanoseconds of the first ClientHello with a cookie; 0: none yet
	heardFrom atomic.Bool  // the server's answer arrived after it
	refusedAt atomic.Int64 // unix nanoseconds of the first HelloVerifyRequest with another cookie; 0: none

	mu      sync.Mutex
	echoed  []byte   // the cookie of the first ClientHello with one
	offered [][]byte // the cookies of the HelloVerifyRequests read before it, up to cookiesNoted
}

// wrote notes an outgoing datagram.
func (w *cookieWatch) wrote(b []byte) {
	if w.sentAt.Load() != 0 {
		return
	}
	info := wire.Classify(b)
	if info.Kind != wire.ClientHello || !info.HasCookie {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.echoed != nil {
		return
	}
	w.echoed = append([]byte(nil), info.Cookie...)
	for _, cookie := range w.offered {
		w.refusedIf(cookie)
	}
	w.offered = nil
	w.sentAt.CompareAndSwap(0, time.Now().UnixNano())
}

// read notes an incoming datagram b.
func (w *cookieWatch) read(b []byte) {
	if cookie, ok := wire.HelloVerifyCookie(b); ok {
		w.mu.Lock()
		if w.echoed == nil {
			if len(w.offered) < cookiesNoted {
				w.offered = append(w.offered, append([]byte(nil), cookie...))
			}
		} else {
			w.refusedIf(cookie)
		}
		w.mu.Unlock()
		return
	}
	if w.sentAt.Load() == 0 || w.heardFrom.Load() {
		return
	}
	if answersCookie(b) {
		w.heardFrom.Store(true)
	}
}

// refusedIf notes the first HelloVerifyRequest cookie other than the one
// echoed. Called with w.mu held, once echoed is set.
func (w *cookieWatch) refusedIf(cookie []byte) {
	if !wire.CookieEqual(cookie, w.echoed) {
		w.refusedAt.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// refused reports whether a HelloVerifyRequest asked for another cookie
// forgedAfter or more before now.
func (w *cookieWatch) refused(now time.Time) bool {
	at := w.refusedAt.Load()
	return at != 0 && now.Sub(time.Unix(0, at)) >= forgedAfter
}

// answersCookie reports whether datagram b carries a server's answer to a
// ClientHello whose cookie it took: a handshake message after the
// HelloVerifyRequest (answerFragments). Nothing else counts, so that a forger cannot hold the attempt with any
// datagram it sends from the server's address. A HelloVerifyRequest forged
// ahead of the server's own made pion send the forger's cookie, and pion v2
// takes no later HelloVerifyRequest: the server's own behind it, or one
// junk datagram after, kept the attempt from being called stale until the
// handshake timed out.
func answersCookie(b []byte) bool {
	for range answerFragments(b) {
		return true
	}
	return false
}

// stale reports whether the server has been silent for staleCookieAfter
// since our ClientHello with a cookie.
func (w *cookieWatch) stale(now time.Time) bool {
	at := w.sentAt.Load()
	return at != 0 && !w.heardFrom.Load() && now.Sub(time.Unix(0, at)) >= staleCookieAfter
}

// watch cancels the attempt with errStaleCookie once the cookie is stale,
// with errCookieRefused once the server asked for another cookie, or with
// errForgedHandshake once forgery says a forged message wedged it,
// unless the whole handshake would end before a new attempt could finish.
// It returns a function that stops the watch.
func (w *cookieWatch) watch(ctx context.Context, cancel context.CancelCauseFunc, forgery *forgeryWatch) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				var cause error
				switch {
				case w.stale(now):
					cause = errStaleCookie
				case w.refused(now):
					cause = errCookieRefused
				case forgery.forged(now):
					cause = errForgedHandshake
				default:
					continue
				}
				if dl, ok := ctx.Deadline(); !ok || dl.Sub(now) > staleCookieAfter/2 {
					cancel(cause)
				}
				return
			}
		}
	}()
	return func() { close(done) }
}
