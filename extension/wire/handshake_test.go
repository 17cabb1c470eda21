package wire

import (
	"bytes"
	"testing"
)

// message builds a handshake message header and body of type typ with
// message number seq; fragment covers [offset, offset+len(frag)) of a
// message of length total.
func message(typ byte, seq uint16, total, offset int, frag []byte) []byte {
	m := []byte{typ,
		byte(total >> 16), byte(total >> 8), byte(total),
		byte(seq >> 8), byte(seq),
		byte(offset >> 16), byte(offset >> 8), byte(offset),
		byte(len(frag) >> 16), byte(len(frag) >> 8), byte(len(frag))}
	return append(m, frag...)
}

func TestHandshakeFragments(t *testing.T) {
	recordOf := func(body ...[]byte) OneRecord {
		r, _, ok := NextRecord(record(ContentHandshake, 0, bytes.Join(body, nil)...))
		if !ok {
			t.Fatal("test record does not parse")
		}
		return r
	}
	kx := message(HandshakeClientKeyExchange, 2, 3, 0, []byte{1, 2, 3})
	other := message(11, 3, 2, 0, []byte{9, 9})
	got := HandshakeFragments(recordOf(kx, other))
	want := []HandshakeFragment{
		{Type: HandshakeClientKeyExchange, Length: 3, Seq: 2, Offset: 0, FragmentLength: 3, Data: []byte{1, 2, 3}},
		{Type: 11, Length: 2, Seq: 3, Offset: 0, FragmentLength: 2, Data: []byte{9, 9}},
	}
	same := func(got, want []HandshakeFragment) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Type != w.Type || g.Length != w.Length || g.Seq != w.Seq || g.Offset != w.Offset || g.FragmentLength != w.FragmentLength || !bytes.Equal(g.Data, w.Data) {
				return false
			}
		}
		return true
	}
	if !same(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// As pion reads them: a fragment's bytes run to its message's length,
	// whatever its fragment_length says, or to the record's end; a tail
	// shorter than a header ends the list.
	later := message(HandshakeClientKeyExchange, 2, 6, 3, []byte{4, 5, 6})
	got = HandshakeFragments(recordOf(later, []byte{7, 7}))
	want = []HandshakeFragment{{Type: HandshakeClientKeyExchange, Length: 6, Seq: 2, Offset: 3, FragmentLength: 3, Data: []byte{4, 5, 6, 7, 7}}}
	if !same(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	long := message(11, 2, 1, 0, []byte{0})
	long[11] = 25 // fragment_length past the record: pion takes the one byte of the message
	got = HandshakeFragments(recordOf(long, []byte{1, 2, 3}))
	want = []HandshakeFragment{{Type: 11, Length: 1, Seq: 2, Offset: 0, FragmentLength: 25, Data: []byte{0}}}
	if !same(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// not a handshake record
	r, _, _ := NextRecord(record(ContentAlert, 0, 2, 40))
	if got := HandshakeFragments(r); got != nil {
		t.Errorf("an alert gave %v", got)
	}
}
