package testtool

import (
	"testing"

	"godtls/extension/wire"
)

// EpochOneRecords lists the epoch-1 records of captured datagrams, in
// order: everything one side sealed under its session's key.
func EpochOneRecords(grams [][]byte) []wire.OneRecord {
	var out []wire.OneRecord
	for _, d := range grams {
		for rest := d; len(rest) > 0; {
			r, next, ok := wire.NextRecord(rest)
			if !ok {
				break
			}
			rest = next
			if r.Epoch == 1 {
				out = append(out, r)
			}
		}
	}
	return out
}

// DistinctSequences fails t when two of recs, sealed under one key, share
// a sequence number: with ChaCha20-Poly1305 the sequence is the nonce. It
// returns how many records of each content type there were.
func DistinctSequences(t testing.TB, recs []wire.OneRecord) map[byte]int {
	t.Helper()
	seen := map[uint64]byte{}
	counts := map[byte]int{}
	for _, rec := range recs {
		if ct, dup := seen[rec.Seq]; dup {
			t.Fatalf("sequence number %d sent twice under one key (content types %d and %d)", rec.Seq, ct, rec.ContentType)
		}
		seen[rec.Seq] = rec.ContentType
		counts[rec.ContentType]++
	}
	return counts
}
