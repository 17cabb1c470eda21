package multiplayer

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// sctpPacket builds a packet of one DATA chunk (flags 0x03: one whole
// message) and one SACK chunk, with the checksum pion would write.
func sctpPacket(withChecksum bool) []byte {
	pkt := make([]byte, 12)
	binary.BigEndian.PutUint16(pkt[0:], 5000)
	binary.BigEndian.PutUint16(pkt[2:], 5000)
	data := []byte{chunkData, 0x03, 0, 0, 0, 0, 0, 7, 0, 1, 0, 0, 0, 0, 0, 51, 'h', 'i'}
	binary.BigEndian.PutUint16(data[2:], uint16(len(data)))
	pkt = append(pkt, data...)
	pkt = append(pkt, 0, 0)                                            // padding to 4 bytes
	pkt = append(pkt, 3, 0, 0, 16, 0, 0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0) // SACK
	if withChecksum {
		binary.LittleEndian.PutUint32(pkt[8:], sctpChecksum(pkt))
	}
	return pkt
}

func TestAskImmediateAckSetsTheIBitAndKeepsTheChecksumValid(t *testing.T) {
	pkt := sctpPacket(true)
	askImmediateAck(pkt)
	if pkt[12+1] != 0x03|sctpImmediateAck {
		t.Fatalf("DATA flags %#x, want the I bit added to 0x03", pkt[13])
	}
	if pkt[32+1] != 0 {
		t.Fatalf("SACK flags changed to %#x", pkt[33])
	}
	if got := binary.LittleEndian.Uint32(pkt[8:]); got != sctpChecksum(pkt) {
		t.Fatalf("checksum %#x no longer matches %#x", got, sctpChecksum(pkt))
	}
}

func TestAskImmediateAckLeavesAZeroChecksumZero(t *testing.T) {
	pkt := sctpPacket(false)
	askImmediateAck(pkt)
	if pkt[13]&sctpImmediateAck == 0 || binary.LittleEndian.Uint32(pkt[8:]) != 0 {
		t.Fatalf("flags %#x checksum %#x: want the I bit and a zero checksum", pkt[13], binary.LittleEndian.Uint32(pkt[8:]))
	}
}

func TestAskImmediateAckDoesNotRepairABadChecksum(t *testing.T) {
	pkt := sctpPacket(true)
	pkt[len(pkt)-1] ^= 0xff // corrupted after the checksum was written
	before := append([]byte(nil), pkt...)
	askImmediateAck(pkt)
	if !bytes.Equal(pkt, before) {
		t.Fatal("a packet with a wrong checksum was rewritten; pion must still refuse it")
	}
}

func TestAskImmediateAckSurvivesTruncatedPackets(t *testing.T) {
	full := sctpPacket(false)
	for n := range len(full) {
		askImmediateAck(append([]byte(nil), full[:n]...)) // must not panic
	}
	bad := sctpPacket(false)
	binary.BigEndian.PutUint16(bad[14:], 2) // a chunk length below its header
	askImmediateAck(bad)
}

// TestProbeAnswerToIsThatPingsOwn: the second RTT sample of the setup
// probe must be the answer to the ping sent after the first answer, not a
// late answer to an older ping that waited in the peer's queue.
func TestProbeAnswerToIsThatPingsOwn(t *testing.T) {
	var p probe
	old, oldAt := p.sent()
	fresh, freshAt := p.sent()
	if _, ok := p.answerTo(fresh); ok {
		t.Fatal("an unanswered ping reports an RTT")
	}
	p.answer(old, oldAt)
	if _, ok := p.answerTo(fresh); ok {
		t.Fatal("the answer to an older ping was taken for the fresh one")
	}
	if _, ok := p.anyAnswer(); !ok {
		t.Fatal("anyAnswer missed the old ping's answer")
	}
	p.answer(fresh, freshAt)
	if rtt, ok := p.answerTo(fresh); !ok || rtt < 0 {
		t.Fatalf("fresh ping: %v %v", rtt, ok)
	}
	// a forged answer (wrong send time) counts for nothing
	forged, _ := p.sent()
	p.answer(forged, 12345)
	if _, ok := p.answerTo(forged); ok {
		t.Fatal("a forged answer was accepted")
	}
}

// FuzzParseUnreliable: what a peer sends as an unreliable message's header,
// order mark included, never panics the parser, and what it accepts is
// what putUnreliable and withMark would write for it.
func FuzzParseUnreliable(f *testing.F) {
	plain := make([]byte, unreliableHeader, unreliableHeader+4)
	putUnreliable(plain, 3, UnreliableOrdered, 7, 0, false)
	f.Add(append(plain, "data"...))
	marked := make([]byte, unreliableHeader)
	putUnreliable(marked, 0, Unreliable, 1, 0, true)
	f.Add(append(marked, withMark(orderMark{{channel: 0, number: 2}, {channel: 9, number: 5}}, []byte("relay"))...))
	f.Add(append(marked, 0))
	f.Add(append(marked, 3, 0, 0))
	following := make([]byte, unreliableHeaderFor(9))
	putUnreliable(following, 2, UnreliableOrdered, 4, 9, true)
	f.Add(append(following, withMark(orderMark{{channel: 0, number: 2}}, []byte("state"))...))
	f.Add(following[:unreliableHeader+2])
	early := slices.Clone(following)
	markEarly(early)
	f.Add(append(early, "state"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := parseUnreliable(b)
		if err != nil {
			return
		}
		again := make([]byte, unreliableHeaderFor(h.follows))
		putUnreliable(again, h.channel, h.mode, h.seq, h.follows, h.after != nil)
		if h.early {
			markEarly(again)
		}
		if h.after != nil {
			again = append(again, withMark(h.after, nil)...)
		}
		if again = append(again, payload...); !bytes.Equal(again, b) {
			t.Fatalf("parsed %x as %+v, payload %x, which writes %x", b, h, payload, again)
		}
	})
}
