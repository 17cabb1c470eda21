package record

// Window is the anti-replay window of RFC 6347 §4.1.2.6 over the last 64
// sequence numbers received. A record is checked with Fresh before it is
// decrypted (a replay costs no AEAD work) and marked with Mark only after it
// authenticated: an unauthenticated record never moves the window, so a
// forged header with a high sequence number cannot push genuine records out
// of it (pion v2 moved its window on a forged ChangeCipherSpec).
//
// The zero Window has seen nothing. Not safe for concurrent use.
type Window struct {
	top  uint64 // highest sequence number marked
	bits uint64 // bit i set: top-i was marked
	any  bool
}

// Size is how far behind the highest sequence number a record may arrive.
const Size = 64

// Fresh reports whether seq has not been marked and is not too old.
func (w *Window) Fresh(seq uint64) bool {
	if !w.any || seq > w.top {
		return true
	}
	d := w.top - seq
	return d < Size && w.bits&(1<<d) == 0
}

// Mark records seq as received.
func (w *Window) Mark(seq uint64) {
	switch {
	case !w.any:
		w.any, w.top, w.bits = true, seq, 1
	case seq > w.top:
		if shift := seq - w.top; shift < Size {
			w.bits = w.bits<<shift | 1
		} else {
			w.bits = 1
		}
		w.top = seq
	default:
		if d := w.top - seq; d < Size {
			w.bits |= 1 << d
		}
	}
}
