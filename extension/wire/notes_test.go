package wire

import "testing"

func TestHandshakeNotes(t *testing.T) {
	frag := func(typ byte, seq uint16, length, offset int, data ...byte) HandshakeFragment {
		return HandshakeFragment{Type: typ, Length: length, Seq: seq, Offset: offset, FragmentLength: len(data), Data: data}
	}
	var n HandshakeNotes
	steps := []struct {
		name     string
		f        HandshakeFragment
		competes bool
	}{
		{"the first of message 2", frag(16, 2, 3, 0, 1, 2, 3), false},
		{"its retransmission", frag(16, 2, 3, 0, 1, 2, 3), false},
		{"other bytes at its offset", frag(16, 2, 3, 0, 1, 2, 4), true},
		{"another type at its number", frag(11, 2, 3, 0, 1, 2, 3), true},
		{"another length at its number", frag(16, 2, 6, 0, 1, 2, 3), true},
		{"a fragment inside it", frag(16, 2, 3, 1, 2), true},
		{"the first of message 3", frag(20, 3, 2, 0, 9, 9), false},
		{"a first fragment of message 4", frag(14, 4, 4, 0, 1, 2), false},
		{"the fragment after it", frag(14, 4, 4, 2, 3, 4), false},
		{"a number not followed", frag(1, NotedMessages, 1, 0, 1), false},
		{"and another copy of it", frag(2, NotedMessages, 1, 0, 2), false},
	}
	for _, s := range steps {
		if got := n.Note(s.f); got != s.competes {
			t.Errorf("%s: competes %v, want %v", s.name, got, s.competes)
		}
	}
	for seq, want := range map[int]bool{2: true, 3: true, 4: true, 5: false, NotedMessages: false, -1: false} {
		if n.Seen(seq) != want {
			t.Errorf("Seen(%d) = %v, want %v", seq, !want, want)
		}
	}
}
