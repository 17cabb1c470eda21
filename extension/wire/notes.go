package wire

import "crypto/sha256"

// NotedMessages is how many message numbers HandshakeNotes follows: 0 to
// 15. A peer's flights in a handshake take the first few, and pion never
// asks for a later one.
const NotedMessages = 16

// fragmentsNoted bounds the fragments noted per message number.
const fragmentsNoted = 4

// HandshakeNotes is what was passed to pion of a peer's epoch-0 handshake
// fragments, to tell when a later one competes with what pion got first.
// pion builds each message from the first fragments it gets for that
// message number (the type and length of the first, the first fragment at
// each offset) and takes nothing of a second, different copy, so a forged
// one got first wedges the handshake or gives it a forger's key exchange.
// The zero value is ready; it is not safe for concurrent use.
type HandshakeNotes struct {
	messages [NotedMessages]messageNoted
}

type messageNoted struct {
	seen      bool
	typ       byte
	length    int
	fragments []fragmentNoted
}

type fragmentNoted struct {
	offset, length int // fragment_offset and fragment_length, as the header says
	digest         [sha256.Size]byte
}

// Note records fragment f as passed to pion and reports whether it
// competes with one noted before: a different type or length for its
// message number, or a fragment at the same offset, or overlapping one,
// that is not identical to it (a retransmission is). Fragments beyond
// NotedMessages, and beyond fragmentsNoted per number, are not recorded.
func (n *HandshakeNotes) Note(f HandshakeFragment) (competes bool) {
	if int(f.Seq) >= NotedMessages {
		return false
	}
	m := &n.messages[f.Seq]
	if !m.seen {
		m.seen, m.typ, m.length = true, f.Type, f.Length
	} else if f.Type != m.typ || f.Length != m.length {
		return true
	}
	// pion chains fragments by their headers' offsets and lengths, and
	// takes their bytes as HandshakeFragments reads them
	this := fragmentNoted{offset: f.Offset, length: f.FragmentLength, digest: sha256.Sum256(f.Data)}
	for _, g := range m.fragments {
		if g.offset == this.offset || (this.offset < g.offset+g.length && g.offset < this.offset+this.length) {
			return g != this
		}
	}
	if len(m.fragments) < fragmentsNoted {
		m.fragments = append(m.fragments, this)
	}
	return false
}

// Seen reports whether a fragment of message number seq was noted.
func (n *HandshakeNotes) Seen(seq int) bool {
	return seq >= 0 && seq < NotedMessages && n.messages[seq].seen
}
