package wire

import "sync/atomic"

// EpochZeroNumbering gives the epoch-0 records that reach pion during a
// handshake sequence numbers of its own, in the order they arrive.
//
// Why: pion v2 keeps a replay window for epoch 0 as for the later epochs,
// and moves it on every epoch-0 handshake record that parses, though
// nothing at epoch 0 is authenticated. One record forged from the peer's
// address with a sequence number far ahead (or a run of records with the
// numbers the peer uses next) made pion refuse each of the peer's later
// flights as a replay, every retransmission too: the handshake hung until
// its timeout. An epoch-0 record has no MAC that covers its number, pion
// uses the number for that window alone (it is not in the handshake's
// transcript, and pion never echoes it), so numbering in order of arrival
// takes nothing from pion but the forger's hold on the window. A record
// replayed is then one pion's handshake sees again, as it would a
// retransmission, which anyone at the address could already send.
//
// Records of other epochs keep their numbers: epoch 1 is authenticated,
// and its window must stay the peer's.
type EpochZeroNumbering struct {
	next atomic.Uint64
}

// Renumber rewrites, in place, the sequence number of each epoch-0 record
// of datagram b, split as pion splits it (NextAsPion). Where the split
// fails pion drops the datagram whole, and the rest is left as it is.
func (n *EpochZeroNumbering) Renumber(b []byte) {
	for len(b) > 0 {
		r, rest, ok := NextAsPion(b)
		if !ok {
			return
		}
		if r.Epoch == 0 {
			seq := n.next.Add(1) - 1
			h := r.Whole
			h[5], h[6] = byte(seq>>40), byte(seq>>32)
			h[7], h[8], h[9], h[10] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
		}
		b = rest
	}
}
