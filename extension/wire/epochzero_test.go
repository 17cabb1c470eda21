package wire

import (
	"bytes"
	"testing"
)

// numbered returns the sequence number of each record of datagram b.
func numbered(t *testing.T, b []byte) []uint64 {
	t.Helper()
	var seqs []uint64
	for len(b) > 0 {
		r, rest, ok := NextAsPion(b)
		if !ok {
			break
		}
		seqs = append(seqs, r.Seq)
		b = rest
	}
	return seqs
}

// withSeq returns record r with sequence number seq.
func withSeq(r []byte, seq uint64) []byte {
	out := append([]byte(nil), r...)
	for i := 0; i < 6; i++ {
		out[10-i] = byte(seq >> (8 * i))
	}
	return out
}

func TestEpochZeroNumbering(t *testing.T) {
	var n EpochZeroNumbering
	far := withSeq(record(ContentHandshake, 0, 1, 2, 3), 1<<48-1)
	epochOne := withSeq(record(ContentApplicationData, 1, 9, 9), 77)

	// epoch-0 records take the next numbers in order, wherever they were;
	// the epoch-1 record between them keeps its own
	first := append(append(append([]byte(nil), far...), epochOne...), withSeq(record(ContentChangeCipherSpec, 0, 1), 5)...)
	n.Renumber(first)
	if got := numbered(t, first); len(got) != 3 || got[0] != 0 || got[1] != 77 || got[2] != 1 {
		t.Fatalf("numbers after the first datagram: %v, want [0 77 1]", got)
	}
	second := append([]byte(nil), far...)
	n.Renumber(second)
	if got := numbered(t, second); len(got) != 1 || got[0] != 2 {
		t.Fatalf("the next datagram's record: %v, want [2]", got)
	}

	// nothing but the numbers changes; a malformed tail is left as it is
	tail := []byte{ContentHandshake, 0xfe, 0xfd, 0, 0, 0xff, 0xff}
	third := append(append([]byte(nil), far...), tail...)
	n.Renumber(third)
	if want := append(withSeq(far, 3), tail...); !bytes.Equal(third, want) {
		t.Fatalf("got % x\nwant % x", third, want)
	}
}

// A record pion passes over (a version it does not read) is no end to
// the numbering: pion reads the epoch-0 record after it, and a forged
// number there moved its window as the first record's did.
func TestEpochZeroNumberingPastARecordPionPassesOver(t *testing.T) {
	var n EpochZeroNumbering
	odd := record(ContentHandshake, 0, 1)
	odd[1], odd[2] = 3, 3 // TLS 1.2's version, which pion passes over
	b := append(append(append([]byte(nil), withSeq(record(ContentHandshake, 0, 1, 2), 9)...), withSeq(odd, 1<<40)...),
		withSeq(record(ContentHandshake, 0, 1, 2, 3), 1<<48-1)...)
	n.Renumber(b)
	if got := numbered(t, b); len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("numbers: %v, want [0 1 2]", got)
	}
}
