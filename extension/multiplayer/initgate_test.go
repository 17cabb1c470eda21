package multiplayer

import (
	"encoding/binary"
	"testing"
)

// initPacket is an SCTP packet holding one INIT chunk with tag.
func initPacket(tag uint32) []byte {
	p := make([]byte, sctpCommonHeader, sctpCommonHeader+20)
	p = append(p, chunkInit, 0, 0, 20)
	p = binary.BigEndian.AppendUint32(p, tag)
	return append(p, make([]byte, 12)...) // a_rwnd, streams, initial TSN
}

func TestInitGate(t *testing.T) {
	var g initGate
	steps := []struct {
		pkt  []byte
		want bool
		what string
	}{
		{initPacket(1), true, "the first attempt's INIT"},
		{initPacket(1), true, "its retransmission"},
		{initPacket(2), true, "a new attempt's INIT"},
		{initPacket(1), false, "a late INIT of the abandoned attempt"},
		{initPacket(2), true, "the new attempt's retransmission"},
		{append(initPacket(1)[:sctpCommonHeader], 10, 0, 0, 8, 1, 2, 3, 4), true, "a COOKIE ECHO"},
		{initPacket(1)[:sctpCommonHeader+6], true, "a packet too short to be an INIT (pion judges it)"},
		{initPacket(3), true, "a third attempt"},
		{initPacket(2), false, "the second, late"},
	}
	for _, s := range steps {
		if got := g.admit(s.pkt); got != s.want {
			t.Fatalf("%s: admitted %v, want %v", s.what, got, s.want)
		}
	}
	for tag := uint32(10); tag < 10+2*maxRetired; tag++ {
		g.admit(initPacket(tag))
	}
	if len(g.retired) > maxRetired {
		t.Fatalf("%d tags kept, at most %d", len(g.retired), maxRetired)
	}
}
