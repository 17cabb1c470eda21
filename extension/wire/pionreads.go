package wire

import (
	"encoding/binary"
	"iter"
)

// What pion v2 reads of a datagram during a handshake, record by record.
//
// pion splits a datagram by the length in each record header alone
// (recordlayer.UnpackDatagram), and drops it whole when that fails: a
// length past the end, or a tail of 13 bytes or fewer. It then reads the
// records one by one, and passes over one whose version is not DTLS 1.0
// or 1.2 to read the next. A scan of what reaches pion that stopped at
// such a record, as NextRecord does, let whatever followed it through
// unseen: an epoch-0 record with a forged sequence number past the
// renumbering, a fragment past the handshake's notes. NextAsPion splits as
// pion does, so that the engine's scans see every record pion reads.

// NextAsPion splits the first record off datagram b as pion v2 does: by
// the length in its header. ok is false where pion drops the whole
// datagram. The record's version and content type are not checked; see
// Read.
func NextAsPion(b []byte) (r OneRecord, rest []byte, ok bool) {
	if len(b) <= RecordHeaderLen {
		return OneRecord{}, nil, false
	}
	n := RecordHeaderLen + int(binary.BigEndian.Uint16(b[11:13]))
	if n > len(b) {
		return OneRecord{}, nil, false
	}
	r = OneRecord{
		ContentType: b[0],
		Epoch:       binary.BigEndian.Uint16(b[3:5]),
		Seq:         uint64(b[5])<<40 | uint64(b[6])<<32 | uint64(binary.BigEndian.Uint32(b[7:11])),
		Whole:       b[:n],
	}
	return r, b[n:], true
}

// Read reports whether pion reads record r rather than passing over it:
// its version is DTLS 1.0 or 1.2.
func (r OneRecord) Read() bool {
	return len(r.Whole) >= 3 && r.Whole[1] == 0xfe && (r.Whole[2] == 0xff || r.Whole[2] == 0xfd)
}

// PionReads reports whether pion v2 reads datagram b at all: whether it
// splits into records the way pion splits (NextAsPion).
func PionReads(b []byte) bool {
	for len(b) > 0 {
		_, rest, ok := NextAsPion(b)
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

// PionRecords yields the records of datagram b that pion v2 reads, in
// order: none of a datagram pion drops whole (PionReads), and not those it
// passes over (Read). Every scan of what reaches pion during a handshake
// goes through it, so that none can stop short of a record pion reads.
func PionRecords(b []byte) iter.Seq[OneRecord] {
	return func(yield func(OneRecord) bool) {
		if !PionReads(b) {
			return
		}
		for len(b) > 0 {
			r, rest, _ := NextAsPion(b)
			if r.Read() && !yield(r) {
				return
			}
			b = rest
		}
	}
}

// EndsAHandshake reports whether datagram b holds a record that pion v2,
// reading it in one, answers by ending the handshake (OneRecord's
// EndsAHandshake).
func EndsAHandshake(b []byte) bool { return anyPionReads(b, OneRecord.EndsAHandshake) }

// EndsAHandshake reports whether record r is one no peer sends during a
// handshake and that pion v2, reading it in one, answers with a fatal
// alert that ends the handshake (conn.go, handleIncomingPacket), so that
// one forged from the peer's address ended it:
//   - at epoch 0, application data (unexpected_message) or a content type
//     DTLS 1.2 does not have (decode_error);
//   - a ChangeCipherSpec at an epoch other than 0, or whose body is not
//     the single byte 1 (decode_error).
func (r OneRecord) EndsAHandshake() bool {
	body := r.Whole[RecordHeaderLen:]
	switch {
	case r.ContentType == ContentChangeCipherSpec:
		return r.Epoch != 0 || len(body) != 1 || body[0] != 1
	case r.Epoch != 0:
		return false
	}
	return r.ContentType == ContentApplicationData ||
		r.ContentType < ContentChangeCipherSpec || r.ContentType > ContentApplicationData
}

// IsEpochZeroAlert reports whether record r is an alert at epoch 0.
func (r OneRecord) IsEpochZeroAlert() bool { return r.Epoch == 0 && r.ContentType == ContentAlert }

// anyPionReads reports whether is holds for a record pion reads in
// datagram b (PionRecords).
func anyPionReads(b []byte, is func(OneRecord) bool) bool {
	for r := range PionRecords(b) {
		if is(r) {
			return true
		}
	}
	return false
}
