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

func TestWholeHandshakeMessage(t *testing.T) {
	kx := message(HandshakeClientKeyExchange, 2, 3, 0, []byte{1, 2, 3})
	recordOf := func(body ...[]byte) OneRecord {
		r, _, ok := NextRecord(record(ContentHandshake, 0, bytes.Join(body, nil)...))
		if !ok {
			t.Fatal("test record does not parse")
		}
		return r
	}
	// found after another message in the same record
	other := message(11, 1, 2, 0, []byte{9, 9})
	if got, ok := WholeHandshakeMessage(recordOf(other, kx), HandshakeClientKeyExchange); !ok || !bytes.Equal(got, kx) {
		t.Fatalf("got % x %v, want % x", got, ok, kx)
	}
	// not whole: a fragment of it, or a length past the record
	for name, r := range map[string]OneRecord{
		"a first fragment":  recordOf(message(HandshakeClientKeyExchange, 2, 6, 0, []byte{1, 2, 3})),
		"a later fragment":  recordOf(message(HandshakeClientKeyExchange, 2, 6, 3, []byte{4, 5, 6})),
		"a length too long": recordOf(kx[:len(kx)-1]),
		"another type":      recordOf(other),
	} {
		if got, ok := WholeHandshakeMessage(r, HandshakeClientKeyExchange); ok {
			t.Errorf("%s: got % x", name, got)
		}
	}
	// not a handshake record
	r, _, _ := NextRecord(record(ContentAlert, 0, 2, 40))
	if _, ok := WholeHandshakeMessage(r, HandshakeClientKeyExchange); ok {
		t.Error("an alert gave a handshake message")
	}
}
