package wire

import (
	"bytes"
	"testing"
)

// join is a datagram of the records given.
func join(records ...[]byte) []byte { return bytes.Join(records, nil) }

// passedOver is a record with a version pion does not read.
func passedOver(ct byte, epoch uint16, body ...byte) []byte {
	r := record(ct, epoch, body...)
	r[1], r[2] = 3, 3
	return r
}

func TestNextAsPionSplitsAsPionDoes(t *testing.T) {
	handshake := record(ContentHandshake, 0, 1, 2, 3)
	for _, c := range []struct {
		name    string
		b       []byte
		records int
		reads   bool
		read    int // of the records, those pion reads (PionRecords)
	}{
		{"one record", handshake, 1, true, 1},
		{"past a version pion passes over", join(handshake, passedOver(ContentHandshake, 0, 7), handshake), 3, true, 2},
		{"past a content type DTLS does not have", join(handshake, record(30, 0, 7), handshake), 3, true, 3},
		{"an empty record between", join(handshake, record(ContentHandshake, 0), handshake), 3, true, 3},
		{"an empty record last: pion drops the datagram", join(handshake, record(ContentHandshake, 0)), 1, false, 0},
		{"a length past the end", join(handshake, record(ContentHandshake, 0, 1, 2)[:14]), 1, false, 0},
		{"a short tail", join(handshake, []byte{ContentHandshake, 0xfe}), 1, false, 0},
	} {
		read := 0
		for range PionRecords(c.b) {
			read++
		}
		if read != c.read {
			t.Errorf("%s: pion reads %d records, want %d", c.name, read, c.read)
		}
		n := 0
		for rest := c.b; len(rest) > 0; n++ {
			var ok bool
			if _, rest, ok = NextAsPion(rest); !ok {
				break
			}
		}
		if n != c.records || PionReads(c.b) != c.reads {
			t.Errorf("%s: %d records, pion reads it %v; want %d, %v", c.name, n, PionReads(c.b), c.records, c.reads)
		}
	}
	r, _, _ := NextAsPion(passedOver(ContentHandshake, 0, 7))
	if r.Read() {
		t.Error("a record of TLS 1.2's version is read")
	}
	r, _, _ = NextAsPion(record(ContentHandshake, 0, 7))
	if !r.Read() {
		t.Error("a DTLS 1.2 record is passed over")
	}
}

func TestEndsAHandshake(t *testing.T) {
	handshake := record(ContentHandshake, 0, 1, 2, 3)
	ccs := record(ContentChangeCipherSpec, 0, 1)
	for _, c := range []struct {
		name  string
		b     []byte
		ends  bool
		alert bool
	}{
		{"a handshake record", handshake, false, false},
		{"a client's ChangeCipherSpec and Finished", join(handshake, ccs, record(ContentHandshake, 1, 9, 9)), false, false},
		{"epoch-0 application data", record(ContentApplicationData, 0, 1), true, false},
		{"epoch-0 application data behind a handshake record", join(handshake, record(ContentApplicationData, 0, 1)), true, false},
		{"the same in a datagram pion drops", join(handshake, record(ContentApplicationData, 0, 1), record(ContentHandshake, 0)), false, false},
		{"the same behind a record pion passes over", join(handshake, passedOver(ContentAlert, 0, 1, 2), record(ContentApplicationData, 0, 1)), true, false},
		{"epoch-0 application data pion passes over", join(handshake, passedOver(ContentApplicationData, 0, 1)), false, false},
		{"epoch-1 application data", join(handshake, record(ContentApplicationData, 1, 1)), false, false},
		{"a content type DTLS does not have, behind a handshake record", join(handshake, record(24, 0, 1)), true, false},
		{"the same at epoch 1", join(handshake, record(24, 1, 1)), false, false},
		{"a ChangeCipherSpec of another body", join(handshake, record(ContentChangeCipherSpec, 0, 2)), true, false},
		{"a ChangeCipherSpec of two bytes", record(ContentChangeCipherSpec, 0, 1, 1), true, false},
		{"a ChangeCipherSpec at epoch 1", join(handshake, record(ContentChangeCipherSpec, 1, 1)), true, false},
		{"an epoch-0 alert", record(ContentAlert, 0, 2, 40), false, true},
		{"an epoch-0 alert behind a handshake record", join(handshake, record(ContentAlert, 0, 2, 40)), false, true},
		{"an epoch-1 alert", join(handshake, record(ContentAlert, 1, 2, 40)), false, false},
		{"an epoch-0 alert in a datagram pion drops", join(record(ContentAlert, 0, 2, 40), record(ContentHandshake, 0)), false, false},
	} {
		if got := EndsAHandshake(c.b); got != c.ends {
			t.Errorf("%s: EndsAHandshake %v, want %v", c.name, got, c.ends)
		}
		if got := anyPionReads(c.b, OneRecord.IsEpochZeroAlert); got != c.alert {
			t.Errorf("%s: an epoch-0 alert pion reads %v, want %v", c.name, got, c.alert)
		}
	}
}
