package record

import (
	"github.com/pion/dtls/v2/pkg/protocol"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

// Early holds the records that arrive under a session's keys before its
// record layer runs. In that gap the other side may already send: a client
// that has the server's Finished while the server's handshake goroutine
// has not handed the session over, a server that greets its new peer while
// the client's take-over closes pion's connection. On a loaded machine the
// gap lasts long enough for a burst, and what Early does not hold is lost:
// its bounds are those of the receive queue the records are headed for, not
// a handful of datagrams (with 16, a client's first 32 packets lost 16 on a
// slow machine).
//
// Only records that authenticate are held, each sequence number once:
// anyone can send from the peer's address, and forged or replayed records
// would take the places of the peer's own. The record layer opens what was
// held again, through its own window (Conn.Open).
//
// The bounds count application data, as the receive queue does; alerts
// (a close_notify after a burst must not be lost to it) and handshake
// records have a few places of their own.
//
// Not safe for concurrent use.
type Early struct {
	maxRecords, maxBytes int

	win     Window
	held    [][]byte
	records int // application data records held
	bytes   int // their bytes
	others  int // other records held
}

// earlyOthers bounds the alerts and handshake records an Early holds: a
// genuine peer sends one alert that ends the session, or its last flight
// again, in the gap.
const earlyOthers = 8

// NewEarly returns a holder of at most maxRecords application data
// records and maxBytes of their bytes.
func NewEarly(maxRecords, maxBytes int) *Early {
	return &Early{maxRecords: maxRecords, maxBytes: maxBytes}
}

// Hold keeps a copy of the records of datagram b that authenticate under
// suite and were not held before, as one datagram. The rest it drops and
// counts: records of another epoch and ChangeCipherSpecs as unexpected
// (Open would drop them too), and those beyond the bounds as full.
func (e *Early) Hold(b []byte, suite *suites.ChaCha20Poly1305) (d Drops, full int) {
	var keep []byte
	for rest := b; len(rest) > 0; {
		r, next, ok := wire.NextRecord(rest)
		if !ok {
			d.Malformed++
			break
		}
		rest = next
		data := r.ContentType == wire.ContentApplicationData
		switch {
		case r.Epoch != Epoch || r.ContentType == wire.ContentChangeCipherSpec:
			d.Unexpected++
		case !e.win.Fresh(r.Seq):
			d.Replayed++
		case !suite.Authentic(r.Whole, protocol.ContentType(r.ContentType), r.Epoch, r.Seq):
			d.Forged++
		case data && (e.records == e.maxRecords || e.bytes+len(r.Whole) > e.maxBytes),
			!data && e.others == earlyOthers:
			full++
		default:
			// Marked only once held: one datagram may repeat a record.
			e.win.Mark(r.Seq)
			keep = append(keep, r.Whole...)
			if data {
				e.records++
				e.bytes += len(r.Whole)
			} else {
				e.others++
			}
		}
	}
	if keep != nil {
		e.held = append(e.held, keep)
	}
	return d, full
}

// Take hands over what was held, in the order it came, and empties e.
func (e *Early) Take() [][]byte {
	held := e.held
	e.held, e.records, e.bytes, e.others = nil, 0, 0, 0
	return held
}
