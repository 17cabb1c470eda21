// Package multiplayer is the engine behind GoDTLSMultiplayerPeer: Godot's
// high-level multiplayer (transfer modes, channels, peer ids) over the DTLS
// server and client of this module. Reliable messages and messages larger
// than one datagram travel in an SCTP association inside the DTLS
// connection (RFC 8261, pion/sctp, as WebRTC data channels do); unreliable
// messages that fit one datagram go straight into a DTLS record, so neither
// SCTP's congestion window nor its retransmissions ever hold them back.
// Nothing here calls into Godot: the caller drains packets and events on
// its own thread.
package multiplayer

import (
	"encoding/binary"
	"errors"
	"hash/crc32"

	"github.com/pion/sctp"
)

// Mode is a transfer mode, numbered as Godot's MultiplayerPeer.TransferMode.
type Mode uint8

// Transfer modes.
const (
	Unreliable        Mode = 0 // may be lost, duplicated never, reordered yes
	UnreliableOrdered Mode = 1 // may be lost; a packet older than one delivered is dropped
	Reliable          Mode = 2 // delivered once, in order (per channel), under loss
)

// Limits of the protocol.
const (
	// MaxChannels is the number of channels (0 … MaxChannels-1).
	MaxChannels = 256
	// MaxMessage is the largest message in any mode (reliable messages
	// are fragmented by SCTP, unreliable ones that do not fit a datagram
	// too).
	MaxMessage = 512 << 10
)

// Every DTLS record of a multiplayer session starts with one kind byte.
const (
	kindSCTP byte = 0x01 // an SCTP packet: control, reliable and large unreliable messages
	kindData byte = 0x02 // one unreliable message: channel, mode, sequence, payload
	kindPing byte = 0x03 // keepalive and RTT probe: sequence u32, send time i64
	kindPong byte = 0x04 // a ping echoed
	kindBye  byte = 0x05 // the sender is leaving: the reason in UTF-8
)

// dataHeader is kind, channel, mode and sequence of a kindData record;
// unreliableHeader the same without the kind, in front of an unreliable
// message on its SCTP stream.
const (
	dataHeader       = 1 + unreliableHeader
	unreliableHeader = 1 + 1 + 4
	pingSize         = 1 + 4 + 8
	maxReason        = 512
)

// SCTP streams. Each side sends only on its own streams (the server on odd
// identifiers, the client on even ones), so neither ever opens a stream the
// other has opened: index 0 is control, 1 carries unreliable messages larger
// than a datagram (unordered, never retransmitted), 2+c the reliable
// messages of channel c (ordered).
const (
	streamControl    = 0
	streamUnreliable = 1
	streamReliable0  = 2
	maxStreamIndex   = streamReliable0 + MaxChannels - 1
)

func streamID(index int, fromServer bool) uint16 {
	id := uint16(2 * index)
	if fromServer {
		id++
	}
	return id
}

// streamIndex is the index of a stream the other side opened, or false if
// the other side may not send on it.
func streamIndex(id uint16, fromServer bool) (int, bool) {
	if (id%2 == 1) != fromServer {
		return 0, false
	}
	index := int(id / 2)
	return index, index <= maxStreamIndex
}

// Control messages, on the control stream.
const (
	ctlHello byte = 1 // server → client: the client's peer id, u32
	ctlBye   byte = 2 // either way: leaving, with the reason
)

var errMalformed = errors.New("malformed message")

// unreliableHeaderFor is the length of an unreliable message's header:
// with the number of the reliable message it follows, when not 0.
func unreliableHeaderFor(follows uint32) int {
	if follows == 0 {
		return unreliableHeader
	}
	return unreliableHeader + followsSize
}

// putUnreliable writes channel, mode and sequence in front of a payload,
// then, when follows is not 0, the number of the reliable message of its
// channel it follows (the mode byte says so); with an order mark (marked),
// the mode byte says so and the mark follows the header.
func putUnreliable(b []byte, channel int, mode Mode, seq, follows uint32, marked bool) {
	b[0] = byte(channel)
	b[1] = byte(mode)
	if marked {
		b[1] |= modeMarked
	}
	binary.BigEndian.PutUint32(b[2:6], seq)
	if follows != 0 {
		b[1] |= modeFollows
		binary.BigEndian.PutUint32(b[unreliableHeader:], follows)
	}
}

// unreliableHead is what an unreliable message's header says.
type unreliableHead struct {
	channel int
	mode    Mode
	seq     uint32
	// follows is the number of the reliable message of the channel it
	// follows (0: none); early, that it left before that message's first
	// chunk did (follow.go).
	follows uint32
	early   bool
	after   orderMark // its order mark, or nil
}

// parseUnreliable reads what putUnreliable wrote (and markEarly), and the
// order mark after it if there is one.
func parseUnreliable(b []byte) (h unreliableHead, payload []byte, err error) {
	if len(b) < unreliableHeader {
		return h, nil, errMalformed
	}
	flags := b[1] & (modeMarked | modeFollows | modeEarly)
	h.mode = Mode(b[1] &^ flags)
	if h.mode != Unreliable && h.mode != UnreliableOrdered || flags&modeEarly != 0 && flags&modeFollows == 0 {
		return unreliableHead{}, nil, errMalformed
	}
	h.channel, h.seq, h.early = int(b[0]), binary.BigEndian.Uint32(b[2:6]), flags&modeEarly != 0
	payload = b[unreliableHeader:]
	if flags&modeFollows != 0 {
		if len(payload) < followsSize {
			return unreliableHead{}, nil, errMalformed
		}
		if h.follows = binary.BigEndian.Uint32(payload); h.follows == 0 {
			return unreliableHead{}, nil, errMalformed
		}
		payload = payload[followsSize:]
	}
	if flags&modeMarked != 0 {
		if h.after, payload, err = parseMark(payload); err != nil {
			return unreliableHead{}, nil, err
		}
	}
	return h, payload, nil
}

// markEarly flags an unreliable message's header (in b, as putUnreliable
// wrote it with a follows number) as sent before the reliable message it
// follows.
func markEarly(b []byte) { b[1] |= modeEarly }

// An order mark travels from the server to a client in front of a message
// that must not reach the client's game before other reliable messages
// the server sent earlier on other channels have (sceneorder.go): for
// each, the channel and the message's number on it (the first reliable
// message on a channel is 1). A reliable message with a mark travels with
// the payload protocol identifier ppiMarked; an unreliable one has
// modeMarked set in its mode byte. The mark is a count of entries, then
// each entry's channel (one byte) and number (four).
type orderMark []markEntry

type markEntry struct {
	channel uint8
	number  uint32
}

const (
	ppiMarked  sctp.PayloadProtocolIdentifier = 0x474f4401 // "GOD" 1: not one of WebRTC's
	modeMarked byte                           = 0x80
	// modeFollows: an unreliable message's header carries the number
	// (u32, never 0) of the reliable message of its channel it follows
	// (follow.go).
	modeFollows byte = 0x40
	// modeEarly, with modeFollows: the message left before the first
	// chunk of the reliable message it follows did (follow.go).
	modeEarly   byte = 0x20
	followsSize      = 4
	// markEntrySize: a mark names a channel at most once, and never
	// channel 0 together with others (sceneorder.go), so its count of
	// entries fits its byte.
	markEntrySize = 1 + 4
)

// withMark is data behind its mark, in a new slice.
func withMark(after orderMark, data []byte) []byte {
	b := make([]byte, 0, 1+len(after)*markEntrySize+len(data))
	b = append(b, byte(len(after)))
	for _, e := range after {
		b = append(b, e.channel)
		b = binary.BigEndian.AppendUint32(b, e.number)
	}
	return append(b, data...)
}

// parseMark reads what withMark wrote.
func parseMark(b []byte) (orderMark, []byte, error) {
	if len(b) < 1 {
		return nil, nil, errMalformed
	}
	n := int(b[0])
	if n == 0 || len(b) < 1+n*markEntrySize {
		return nil, nil, errMalformed
	}
	after := make(orderMark, n)
	for i := range after {
		e := b[1+i*markEntrySize:]
		after[i] = markEntry{channel: e[0], number: binary.BigEndian.Uint32(e[1:])}
	}
	return after, b[1+n*markEntrySize:], nil
}

// newer reports whether sequence a comes after b (serial arithmetic, so the
// counter may wrap).
func newer(a, b uint32) bool { return int32(a-b) > 0 }

// tsnTracker counts DATA chunks in outgoing SCTP packets whose TSN is
// not above the highest sent before: SCTP retransmitting what was lost.
type tsnTracker struct {
	seen    bool
	highest uint32
	count   uint64
}

// dataHead reads the fixed fields of a DATA chunk's value (RFC 4960
// §3.3.1), which holds at least 8 bytes: its TSN, stream identifier and
// stream sequence number.
func dataHead(body []byte) (tsn uint32, stream, ssn uint16) {
	return binary.BigEndian.Uint32(body), binary.BigEndian.Uint16(body[4:]), binary.BigEndian.Uint16(body[6:])
}

// observe reads the chunks of one outgoing SCTP packet.
func (t *tsnTracker) observe(pkt []byte) {
	forEachChunk(pkt, func(off int) {
		if pkt[off] != chunkData || off+8 > len(pkt) {
			return
		}
		tsn := binary.BigEndian.Uint32(pkt[off+4:])
		if t.seen && !newer(tsn, t.highest) {
			t.count++
		} else {
			t.seen, t.highest = true, tsn
		}
	})
}

// SCTP packet layout (RFC 4960 §3): a 12-byte common header whose last
// four bytes are the CRC32c checksum, then chunks of type, flags, length,
// each padded to 4 bytes.
const (
	sctpCommonHeader = 12
	sctpChunkHeader  = 4
	// sctpImmediateAck is the DATA chunk's I bit (RFC 7053): acknowledge
	// this chunk now rather than after the delayed-ack timer.
	sctpImmediateAck = 0x08
)

// SCTP chunk types (RFC 4960 §3.2, RFC 3758, RFC 6525); which of them the
// engine admits, and why, is sctpguard.go's chunkRules.
const (
	chunkData             = 0
	chunkInit             = 1
	chunkInitAck          = 2
	chunkSACK             = 3
	chunkHeartbeat        = 4
	chunkHeartbeatAck     = 5
	chunkAbort            = 6
	chunkShutdown         = 7
	chunkShutdownAck      = 8
	chunkError            = 9
	chunkCookieEcho       = 10
	chunkCookieAck        = 11
	chunkShutdownComplete = 14
	chunkReconfig         = 130
	chunkForwardTSN       = 192

	// chunkFlagT is the T bit of ABORT and SHUTDOWN COMPLETE: the packet
	// carries the sender's own tag (it had none of the receiver's).
	chunkFlagT = 0x01
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// forEachChunk calls visit with the offset of every chunk header in pkt.
func forEachChunk(pkt []byte, visit func(off int)) {
	for off := sctpCommonHeader; off+sctpChunkHeader <= len(pkt); {
		length := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if length < sctpChunkHeader {
			return
		}
		visit(off)
		off += (length + 3) &^ 3
	}
}

// askImmediateAck sets the I bit on every DATA chunk of a received SCTP
// packet before pion reads it, so pion acknowledges each packet at once.
// pion otherwise waits up to 200 ms to acknowledge a lone packet, which
// forces the retransmission timeout above 200 ms: a lost reliable message
// would then stall its channel for a quarter second or more. The packet
// arrived inside an authenticated DTLS record, so rewriting it changes
// nothing of its integrity; the checksum is recomputed when one is set
// (a zero checksum is RFC 9653's "the lower layer checks").
func askImmediateAck(pkt []byte) {
	if len(pkt) < sctpCommonHeader {
		return
	}
	stored := binary.LittleEndian.Uint32(pkt[8:])
	if stored != 0 && stored != sctpChecksum(pkt) {
		return // pion refuses it as it is; do not make it valid
	}
	marked := false
	forEachChunk(pkt, func(off int) {
		if pkt[off] == chunkData && pkt[off+1]&sctpImmediateAck == 0 {
			pkt[off+1] |= sctpImmediateAck
			marked = true
		}
	})
	if marked && stored != 0 {
		binary.LittleEndian.PutUint32(pkt[8:], sctpChecksum(pkt))
	}
}

// sctpChecksum is the CRC32c of pkt with its checksum field taken as zero.
func sctpChecksum(pkt []byte) uint32 {
	sum := crc32.Update(0, castagnoli, pkt[:8])
	sum = crc32.Update(sum, castagnoli, []byte{0, 0, 0, 0})
	return crc32.Update(sum, castagnoli, pkt[sctpCommonHeader:])
}
