package multiplayer

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"godtls/extension/ratelimit"
)

// sctpGuard checks every SCTP packet the other side sends before pion/sctp
// reads it. The packet arrived in an authenticated DTLS record, so it comes
// from the peer itself: a game client anyone can modify. pion/sctp trusts
// what it reads (it walks a FORWARD-TSN's cumulative TSN forward one step
// at a time under the association's lock: one 20-byte chunk 2^29 ahead
// burned 7.6 CPU-seconds and stalled the session; it checks no
// verification tag), so the guard admits only what this engine's use of
// SCTP produces:
//
//   - the chunk types of one association's life (chunkRules): setup, DATA
//     and SACK, heartbeats, errors and teardown. No FORWARD-TSN: no stream
//     uses partial reliability (the large unreliable messages travel
//     reliably, unordered), so it has no legitimate sender; no RE-CONFIG:
//     streams are never reset;
//   - well-formed chunks: lengths inside the packet, the fixed fields each
//     type has, INIT and INIT ACK alone in their packet, a valid checksum;
//   - the verification tag of the association (RFC 4960 §8.5): the tag of
//     our latest INIT or INIT ACK, or 0 on an INIT;
//   - DATA on a stream the peer may send on (its parity, at most
//     maxStreamIndex);
//   - SACK and SHUTDOWN acknowledging only TSNs we sent.
//
// What breaks a rule that a genuine peer never breaks is a violation: the
// session ends with the reason, which the game reads. A packet a genuine
// peer can still send late (the INIT ACK of an INIT this client has since
// replaced, an INIT retransmission that arrives after the association is
// up) is dropped.
type sctpGuard struct {
	isServer bool
	inits    *initGate // the server's: the INIT tags of the client's setup attempts
	// arrivals learns the order DATA arrives in (arrivalorder.go).
	arrivals *arrivalOrder
	// messageRate is the peer's budget in messages per second
	// (Options.PeerMessageRate; 0: none), taken by each DATA chunk and each
	// unreliable record (takeMessages). Set when the guard is made.
	messageRate int

	mu          sync.Mutex
	localTag    uint32 // the initiate tag of our latest INIT or INIT ACK (0: none sent)
	peerTag     uint32 // the initiate tag of the peer's INIT or INIT ACK we admitted
	established bool   // a COOKIE ECHO (server) or COOKIE ACK (client) was admitted
	initialTSN  uint32 // ours, from our INIT or INIT ACK
	sent        tsnTracker
	// streamsSeen marks the stream indices the peer has sent DATA on;
	// freshStreams counts those first seen in admitted packets, for the
	// session to accept (takeFreshStreams).
	streamsSeen  [(maxStreamIndex + 64) / 64]uint64
	freshStreams int
	// messages is the budget's bucket; overBudget counts the SCTP packets
	// and unreliable records dropped over it.
	messages   ratelimit.Bucket
	overBudget uint64
	// started is, per reliable stream index, the SSN of the newest
	// message whose first chunk we sent (follow.go).
	started map[int]uint16
}

// chunkRule is what the guard knows of one chunk type: the smallest legal
// length, and which side may receive it.
type chunkRule struct {
	name     string
	minLen   int
	toServer bool
	toClient bool
}

// chunkRules lists every chunk type the engine's associations use, and so
// every type the guard admits (docs/ARCHITECTURE.md has the same table with
// the purpose of each).
var chunkRules = map[byte]chunkRule{
	chunkData:             {"DATA", 17, true, true},
	chunkInit:             {"INIT", 20, true, false},
	chunkInitAck:          {"INIT ACK", 20, false, true},
	chunkSACK:             {"SACK", 16, true, true},
	chunkHeartbeat:        {"HEARTBEAT", 4, true, true},
	chunkHeartbeatAck:     {"HEARTBEAT ACK", 4, true, true},
	chunkAbort:            {"ABORT", 4, true, true},
	chunkShutdown:         {"SHUTDOWN", 8, true, true},
	chunkShutdownAck:      {"SHUTDOWN ACK", 4, true, true},
	chunkError:            {"ERROR", 4, true, true},
	chunkCookieEcho:       {"COOKIE ECHO", 4, true, false},
	chunkCookieAck:        {"COOKIE ACK", 4, false, true},
	chunkShutdownComplete: {"SHUTDOWN COMPLETE", 4, true, true},
}

// verdict is what the guard decides about one packet.
type verdict int

const (
	admit          verdict = iota
	dropStale              // a genuine peer may send it late: dropped
	dropOverBudget         // its DATA is over the peer's message budget: dropped, SCTP sends it again
	violation              // no genuine peer sends it: the session ends
)

// outgoing learns from a packet we send: our tags, our TSNs.
func (g *sctpGuard) outgoing(pkt []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(pkt) >= sctpCommonHeader+20 {
		if t := pkt[sctpCommonHeader]; t == chunkInit || t == chunkInitAck {
			fixed := pkt[sctpCommonHeader+sctpChunkHeader:]
			g.localTag = binary.BigEndian.Uint32(fixed)
			g.initialTSN = binary.BigEndian.Uint32(fixed[12:])
			g.sent = tsnTracker{}
		}
	}
	g.sent.observe(pkt)
}

// sentOut learns from a packet we sent, once it is queued for the network:
// which reliable messages have started out. After the send, so that a
// record sent because it saw one start goes behind its packet.
func (g *sctpGuard) sentOut(pkt []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	forEachChunk(pkt, func(off int) {
		if pkt[off] != chunkData || off+sctpChunkHeader+8 > len(pkt) {
			return
		}
		flags := pkt[off+1]
		_, stream, ssn := dataHead(pkt[off+sctpChunkHeader:])
		index, ours := streamIndex(stream, g.isServer)
		if !ours || flags&dataFlagBegin == 0 || flags&dataFlagUnordered != 0 || !tracks(index) {
			return // not the first chunk of one of our reliable messages
		}
		if g.started == nil {
			g.started = make(map[int]uint16)
		}
		if last, ok := g.started[index]; !ok || int16(ssn-last) > 0 {
			g.started[index] = ssn
		}
	})
}

// startedMessage reports whether the first chunk of the reliable message
// numbered number on stream index has gone out (numbers count from 1, SSNs
// from 0).
func (g *sctpGuard) startedMessage(index int, number uint32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	last, ok := g.started[index]
	return ok && int16(last-uint16(number-1)) >= 0
}

// retransmissions is how many DATA chunks we sent again.
func (g *sctpGuard) retransmissions() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent.count
}

// check decides whether pion may read pkt; reason says why not.
func (g *sctpGuard) check(pkt []byte) (verdict, string) {
	if len(pkt) < sctpCommonHeader {
		return violation, fmt.Sprintf("an SCTP packet of %d bytes", len(pkt))
	}
	if len(pkt) == sctpCommonHeader {
		// A header without chunks: pion/sctp sends these (seen in every
		// session); nothing in it for pion to act on.
		return dropStale, ""
	}
	if stored := binary.LittleEndian.Uint32(pkt[8:]); stored != 0 && stored != sctpChecksum(pkt) {
		return violation, "an SCTP packet with a wrong checksum"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// The budget first: what is over it never reaches the checks below,
	// the arrival order or pion/sctp, and the peer sends it again later,
	// as it would a lost packet.
	if g.messageRate > 0 {
		if n := dataChunks(pkt); n > 0 && !g.takeMessagesLocked(n) {
			return dropOverBudget, ""
		}
	}
	vtag := binary.BigEndian.Uint32(pkt[4:])
	for off := sctpCommonHeader; off < len(pkt); {
		if off+sctpChunkHeader > len(pkt) {
			return violation, "an SCTP packet with a cut-short chunk"
		}
		typ, flags := pkt[off], pkt[off+1]
		length := int(binary.BigEndian.Uint16(pkt[off+2:]))
		rule, known := chunkRules[typ]
		switch {
		case typ == chunkForwardTSN:
			return violation, "an SCTP FORWARD-TSN chunk (no stream uses partial reliability)"
		case !known:
			return violation, fmt.Sprintf("an SCTP chunk of type %d, which this transport never uses", typ)
		case g.isServer && !rule.toServer, !g.isServer && !rule.toClient:
			return violation, fmt.Sprintf("an SCTP %s chunk, which only the other side sends", rule.name)
		case length < rule.minLen || off+length > len(pkt):
			return violation, fmt.Sprintf("an SCTP %s chunk of %d bytes", rule.name, length)
		}
		body := pkt[off+sctpChunkHeader : off+length]
		next := off + (length+3)&^3
		if v, why := g.chunk(typ, flags, vtag, body, off == sctpCommonHeader, next >= len(pkt)); v != admit {
			return v, why
		}
		if typ == chunkData {
			// Marked before the rest of the packet is checked: a violation
			// further on ends the session, and with it the association a
			// reader for this stream would wait on.
			tsn, stream, ssn := dataHead(body)
			index, _ := streamIndex(stream, !g.isServer) // chunk checked it
			g.markStream(index)
			if g.arrivals != nil {
				g.arrivals.chunk(index, ssn, tsn, flags)
			}
		}
		off = next
	}
	return admit, ""
}

// dataChunks counts the DATA chunks of pkt, as far as its chunk lengths
// can be followed (check refuses the packet if they cannot).
func dataChunks(pkt []byte) int {
	n := 0
	for off := sctpCommonHeader; off+sctpChunkHeader <= len(pkt); {
		length := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if length < sctpChunkHeader {
			break
		}
		if pkt[off] == chunkData {
			n++
		}
		off += (length + 3) &^ 3
	}
	return n
}

// takeMessages takes n messages from the peer's budget, reporting whether
// they fit; what does not fit is counted.
func (g *sctpGuard) takeMessages(n int) bool {
	if g.messageRate <= 0 { // set when the guard is made, never changed
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.takeMessagesLocked(n)
}

// takeMessagesLocked is takeMessages for a caller that holds g.mu and has
// seen a budget set.
func (g *sctpGuard) takeMessagesLocked(n int) bool {
	if g.messages.Take(n, g.messageRate, time.Now()) {
		return true
	}
	g.overBudget++
	return false
}

// overBudgetCount is how many SCTP packets and unreliable records were
// dropped over the peer's message budget.
func (g *sctpGuard) overBudgetCount() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.overBudget
}

// markStream notes DATA on stream index; the caller holds g.mu.
func (g *sctpGuard) markStream(index int) {
	word, bit := index/64, uint64(1)<<(index%64)
	if g.streamsSeen[word]&bit == 0 {
		g.streamsSeen[word] |= bit
		g.freshStreams++
	}
}

// takeFreshStreams returns how many streams the peer started sending on
// since the last call: each needs a reader (session.acceptStreams).
func (g *sctpGuard) takeFreshStreams() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.freshStreams
	g.freshStreams = 0
	return n
}

// chunk checks one chunk; the caller holds g.mu and has checked its type
// and length. first and last say where it stands in its packet.
func (g *sctpGuard) chunk(typ, flags byte, vtag uint32, body []byte, first, last bool) (verdict, string) {
	switch typ {
	case chunkInit, chunkInitAck:
		name := chunkRules[typ].name
		if !first || !last {
			return violation, "an SCTP " + name + " bundled with other chunks"
		}
		tag := binary.BigEndian.Uint32(body)
		outbound, inbound := binary.BigEndian.Uint16(body[8:]), binary.BigEndian.Uint16(body[10:])
		if tag == 0 || outbound == 0 || inbound == 0 {
			return violation, "an SCTP " + name + " with a zero tag or no streams"
		}
		if typ == chunkInit {
			if vtag != 0 {
				return violation, "an SCTP INIT with a verification tag"
			}
			if g.established {
				if g.inits != nil && g.inits.known(tag) {
					return dropStale, "" // a retransmission that arrived late
				}
				return violation, "an SCTP INIT with a new tag on an established association"
			}
		} else if vtag != g.localTag || g.localTag == 0 {
			return dropStale, "" // the answer to an INIT this client has replaced
		}
		g.peerTag = tag
		return admit, ""
	}
	// Every other packet carries the receiver's tag, or with the T bit of
	// ABORT and SHUTDOWN COMPLETE the sender's own.
	own := vtag == g.localTag && g.localTag != 0
	reflected := (typ == chunkAbort || typ == chunkShutdownComplete) && flags&chunkFlagT != 0 && vtag == g.peerTag && g.peerTag != 0
	switch {
	case own || reflected:
	case g.isServer:
		// The server has one association, and a client's abandoned
		// setup attempts sent nothing but INITs: no genuine client sends
		// another tag.
		return violation, fmt.Sprintf("an SCTP %s with verification tag %#x, not the association's", chunkRules[typ].name, vtag)
	default:
		// The server may still answer an INIT this client replaced.
		return dropStale, ""
	}
	switch typ {
	case chunkData:
		id := binary.BigEndian.Uint16(body[4:])
		if _, ok := streamIndex(id, !g.isServer); !ok {
			return violation, fmt.Sprintf("SCTP DATA on stream %d, which the peer may not send on", id)
		}
	case chunkSACK:
		cum := binary.BigEndian.Uint32(body)
		gaps, dups := int(binary.BigEndian.Uint16(body[8:])), int(binary.BigEndian.Uint16(body[10:]))
		if len(body) != 12+4*(gaps+dups) {
			return violation, fmt.Sprintf("an SCTP SACK of %d bytes for %d gap blocks and %d duplicates", len(body)+sctpChunkHeader, gaps, dups)
		}
		if why := g.acknowledges(cum, "SACK"); why != "" {
			return violation, why
		}
		for i := 0; i < gaps; i++ {
			start, end := binary.BigEndian.Uint16(body[12+4*i:]), binary.BigEndian.Uint16(body[14+4*i:])
			if start == 0 || end < start {
				return violation, fmt.Sprintf("an SCTP SACK gap block %d-%d", start, end)
			}
			if why := g.acknowledges(cum+uint32(end), "SACK gap block"); why != "" {
				return violation, why
			}
		}
	case chunkShutdown:
		if why := g.acknowledges(binary.BigEndian.Uint32(body), "SHUTDOWN"); why != "" {
			return violation, why
		}
	case chunkCookieEcho, chunkCookieAck:
		g.established = true
	}
	return admit, ""
}

// acknowledges checks that tsn, acknowledged by the peer, is one we sent
// (or the one before our first); the caller holds g.mu.
func (g *sctpGuard) acknowledges(tsn uint32, what string) string {
	highest := g.initialTSN - 1
	if g.sent.seen {
		highest = g.sent.highest
	}
	if newer(tsn, highest) {
		return fmt.Sprintf("an SCTP %s acknowledging TSN %d, %d past the last we sent", what, tsn, tsn-highest)
	}
	return ""
}
