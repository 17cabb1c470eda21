package multiplayer

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/sctp"

	"godtls/extension/link"
)

// FuzzGuardedAssociation sends one or two crafted SCTP packets to an
// established association through the SCTP guard: from a client to the
// server, as a modified game client can, or from a server to a client, as a
// hostile server can (either inside an authenticated DTLS record). Whatever
// the guard admits reaches pion/sctp, which trusts what it reads: pion must
// neither panic (a panic on pion's read loop is a panic of the game's
// process) nor spend long on a packet (a FORWARD-TSN far ahead once held
// the association's lock for 7.6 s). So, for every input: the guard does
// not panic; pion's read loop, once handed an admitted packet, either asks
// for the next one or ends its association within processingLimit.
//
// The input is the direction, a verification-tag choice, whether to write
// the checksum, the chunks, and the chunks of a second packet sent the same
// way after the first (none if empty), so that the fuzzer reaches the states
// one packet leaves pion in. The TSNs of DATA, SACK, SHUTDOWN and
// FORWARD-TSN chunks are read relative to the association's (each
// association draws its own at random), so a seed means the same thing in
// every run. A violation ends a session, so after one nothing more is sent;
// neither after the association ended.
func FuzzGuardedAssociation(f *testing.F) {
	for _, seed := range guardFuzzSeeds() {
		f.Add(seed.toClient, seed.tag, seed.zeroChecksum, seed.chunks, seed.then)
	}
	f.Fuzz(func(t *testing.T, toClient bool, tag byte, zeroChecksum bool, chunks, then []byte) {
		h := newGuardHarness(t, !toClient)
		defer h.close()
		h.inject(t, h.craft(tag, zeroChecksum, chunks))
		if len(then) > 0 && !h.violated.Load() && !isClosed(h.guardedEnded) {
			h.inject(t, h.craft(tag, zeroChecksum, then))
		}
	})
}

// processingLimit is how long pion may take over one admitted packet. A
// packet takes it microseconds; the limit leaves room for a loaded machine
// and the race detector.
const processingLimit = 5 * time.Second

type guardSeed struct {
	toClient     bool
	tag          byte
	zeroChecksum bool
	chunks, then []byte
}

// Tag choices for craft.
const (
	tagAssociation = iota // the receiver's tag, as every genuine packet after INIT
	tagZero               // as on an INIT
	tagSenders            // the sender's own (the T bit's tag)
)

func guardFuzzSeeds() []guardSeed {
	rel := u32 // a TSN relative to the association's
	heartbeat := chunkOf(chunkHeartbeat, 0, cat(u16(1), u16(8), []byte{1, 2, 3, 4})...)
	both := []guardSeed{
		{tag: tagAssociation, chunks: heartbeat},
		{tag: tagAssociation, chunks: chunkOf(chunkHeartbeatAck, 0, cat(u16(1), u16(8), []byte{1, 2, 3, 4})...)},
		{tag: tagAssociation, chunks: chunkOf(chunkHeartbeat, 0)},
		{tag: tagAssociation, chunks: chunkOf(chunkSACK, 0, cat(rel(0), u32(1<<20), u16(0), u16(0))...)},
		// A gap block acknowledging the TSN before the last sent, beside
		// a duplicate.
		{tag: tagAssociation, chunks: chunkOf(chunkSACK, 0, cat(rel(^uint32(1)), u32(1<<20), u16(1), u16(1), u16(1), u16(1), u32(1))...)},
		{tag: tagAssociation, chunks: chunkOf(chunkError, 0, cat(u16(1), u16(8), u16(2), u16(0))...)},
		{tag: tagAssociation, chunks: chunkOf(chunkError, 0, cat(u16(13), u16(4))...)},
		{tag: tagAssociation, chunks: chunkOf(chunkAbort, 0, cat(u16(12), u16(6), []byte("no"))...)},
		{tag: tagSenders, chunks: chunkOf(chunkAbort, chunkFlagT)},
		{tag: tagAssociation, chunks: chunkOf(chunkShutdown, 0, rel(0)...)},
		{tag: tagAssociation, chunks: chunkOf(chunkShutdownAck, 0)},
		{tag: tagSenders, chunks: chunkOf(chunkShutdownComplete, chunkFlagT)},
		{tag: tagAssociation, chunks: chunkOf(chunkForwardTSN, 0, rel(1<<31-1)...)},
	}
	// DATA on a stream of the sender's parity: even from a client, odd
	// from the server.
	data := func(stream uint16, flags byte, tsn uint32, ssn uint16, payload string) []byte {
		return chunkOf(chunkData, flags, cat(rel(tsn), u16(stream), u16(ssn), u32(53), []byte(payload))...)
	}
	var seeds []guardSeed
	for _, toClient := range []bool{false, true} {
		stream := uint16(2)
		if toClient {
			stream = 3
		}
		for _, s := range both {
			s.toClient = toClient
			seeds = append(seeds, s)
		}
		seeds = append(seeds,
			guardSeed{toClient, tagAssociation, false, data(stream, 0x03, 1, 1, "late"), nil},
			guardSeed{toClient, tagAssociation, true, data(stream+2, 0x01, 5, 9, "gap"), nil},
			guardSeed{toClient, tagAssociation, false, data(stream, 0x03, 0, 0, "dup"), nil},
			guardSeed{toClient, tagAssociation, false, cat(heartbeat, data(stream, 0x03, 1, 1, "x")), nil},
			// Two packets: what pion does in the state the first left it in.
			guardSeed{toClient, tagAssociation, false, chunkOf(chunkShutdown, 0, rel(0)...), data(stream, 0x03, 1, 1, "after")},
			guardSeed{toClient, tagAssociation, false, data(stream, 0x02, 2, 1, "first half"), data(stream, 0x01, 3, 1, "second")},
			guardSeed{toClient, tagAssociation, false, chunkOf(chunkSACK, 0, cat(rel(0), u32(0), u16(0), u16(0))...), chunkOf(chunkShutdown, 0, rel(0)...)},
			guardSeed{toClient, tagAssociation, false, chunkOf(chunkShutdownAck, 0), heartbeat},
		)
	}
	return append(seeds,
		guardSeed{false, tagAssociation, false, chunkOf(chunkCookieEcho, 0, []byte("not the server's cookie")...), nil},
		guardSeed{false, tagZero, false, chunkOf(chunkInit, 0, cat(u32(0x0badf00d), u32(1<<20), u16(16), u16(16), u32(99))...), nil},
		guardSeed{false, tagZero, false, chunkOf(chunkInit, 0, cat(u32(7), u32(1<<20), u16(16), u16(16), u32(99), u16(0x8008), u16(6), []byte{0x82, 0xc0})...), nil},
		guardSeed{true, tagAssociation, false, chunkOf(chunkInitAck, 0, cat(u32(7), u32(1<<20), u16(16), u16(16), u32(99), u16(7), u16(8), []byte("cook"))...), nil},
		guardSeed{true, tagAssociation, false, chunkOf(chunkCookieAck, 0), nil},
	)
}

// guardHarness is an established association pair over an in-memory
// network. One side, the guarded, reads through an sctpGuard as a
// session's conn does (sctpConn.forPion); the other's packets and the
// crafted ones reach it in order.
type guardHarness struct {
	guarded, sender       *sctp.Association
	guardedEnd, senderEnd *packetEnd
	guard                 *sctpGuard
	inits                 *initGate   // the server's only
	violated              atomic.Bool // the guard found a violation: a session would end
	senderSent            *tsnTracker // guarded by senderEnd.mu
	// guardedEnded is closed once the guarded association's read loop has
	// ended (its AcceptStream fails).
	guardedEnded chan struct{}
}

func newGuardHarness(t *testing.T, guardServer bool) *guardHarness {
	t.Helper()
	h := &guardHarness{guard: &sctpGuard{isServer: guardServer}, senderSent: &tsnTracker{}}
	toServer, toClient := make(chan []byte, 256), make(chan []byte, 256)
	serverEnd, clientEnd := newPacketEnd(toServer, toClient), newPacketEnd(toClient, toServer)
	h.guardedEnd, h.senderEnd = clientEnd, serverEnd
	if guardServer {
		h.guardedEnd, h.senderEnd = serverEnd, clientEnd
		h.inits = &initGate{}
		h.guard.inits = h.inits
	}
	h.guardedEnd.admit = func(pkt []byte) bool {
		if v, _ := h.guard.check(pkt); v != admit {
			if v == violation {
				h.violated.Store(true)
			}
			return false
		}
		h.guard.takeFreshStreams()
		return h.inits == nil || h.inits.admit(pkt)
	}
	h.guardedEnd.wrote = h.guard.outgoing
	h.senderEnd.wrote = h.senderSent.observe

	config := func(c net.Conn) sctp.Config {
		return sctp.Config{NetConn: c, LoggerFactory: link.Quiet, EnableZeroChecksum: true,
			MaxReceiveBufferSize: recvWindow, MaxMessageSize: MaxMessage + unreliableHeader, MTU: 1200}
	}
	type result struct {
		a   *sctp.Association
		err error
	}
	served := make(chan result, 1)
	go func() {
		a, err := sctp.Server(config(serverEnd))
		served <- result{a, err}
	}()
	client, err := sctp.Client(config(clientEnd))
	if err != nil {
		t.Fatalf("client association: %v", err)
	}
	r := <-served
	if r.err != nil {
		_ = client.Close()
		t.Fatalf("server association: %v", r.err)
	}
	server := r.a
	// One message each way, so that both sides have sent DATA and the
	// guard knows its side's TSNs.
	exchange := func(from, to *sctp.Association, stream uint16) {
		out, err := from.OpenStream(stream, sctp.PayloadTypeWebRTCBinary)
		if err == nil {
			_, err = out.Write([]byte("hello"))
		}
		var in *sctp.Stream
		if err == nil {
			in, err = to.AcceptStream()
		}
		if err == nil {
			_, err = in.Read(make([]byte, 64))
		}
		if err != nil {
			_, _ = client.Close(), server.Close()
			t.Fatalf("a message on stream %d: %v", stream, err)
		}
	}
	exchange(client, server, 2)
	exchange(server, client, 1)
	h.guarded, h.sender = client, server
	if guardServer {
		h.guarded, h.sender = server, client
	}
	h.guardedEnded = make(chan struct{})
	go func() {
		defer close(h.guardedEnded)
		for {
			if _, err := h.guarded.AcceptStream(); err != nil {
				return
			}
		}
	}()
	return h
}

// craft builds the SCTP packet of a fuzz input: the tag it chose, its
// chunks with their TSNs moved to the association's, and a checksum or 0.
func (h *guardHarness) craft(tag byte, zeroChecksum bool, chunks []byte) []byte {
	h.guard.mu.Lock()
	receiverTag, senderTag := h.guard.localTag, h.guard.peerTag
	receiverTSN := h.guard.sent.highest
	h.guard.mu.Unlock()
	h.senderEnd.mu.Lock()
	senderTSN := h.senderSent.highest
	h.senderEnd.mu.Unlock()

	pkt := make([]byte, sctpCommonHeader, sctpCommonHeader+len(chunks))
	binary.BigEndian.PutUint16(pkt[0:], 5000)
	binary.BigEndian.PutUint16(pkt[2:], 5000)
	vtag := receiverTag
	switch tag {
	case tagAssociation:
	case tagZero:
		vtag = 0
	case tagSenders:
		vtag = senderTag
	default:
		vtag = receiverTag ^ uint32(tag)<<24
	}
	binary.BigEndian.PutUint32(pkt[4:], vtag)
	pkt = append(pkt, chunks...)
	relocate := func(off int, base uint32) {
		binary.BigEndian.PutUint32(pkt[off:], base+binary.BigEndian.Uint32(pkt[off:]))
	}
	forEachChunk(pkt, func(off int) {
		body := off + sctpChunkHeader
		if body+4 > len(pkt) {
			return
		}
		switch pkt[off] {
		case chunkData, chunkForwardTSN:
			relocate(body, senderTSN)
		case chunkSACK, chunkShutdown:
			relocate(body, receiverTSN)
		}
	})
	if !zeroChecksum {
		binary.LittleEndian.PutUint32(pkt[8:], sctpChecksum(pkt))
	}
	return pkt
}

// inject hands pkt to the guarded side as if the other had sent it, and
// fails if pion, having read it, neither asks for another packet nor ends
// its association within processingLimit.
func (h *guardHarness) inject(t *testing.T, pkt []byte) {
	t.Helper()
	watch := h.guardedEnd.watch(pkt)
	h.guardedEnd.in <- pkt
	select {
	case <-watch.refused:
		return // the guard did not admit it
	case <-watch.delivered:
	case <-time.After(processingLimit):
		t.Fatalf("the guarded side's read loop did not read the packet within %v", processingLimit)
	}
	select {
	case <-watch.readAgain:
	case <-h.guardedEnded:
	case <-time.After(processingLimit):
		t.Fatalf("pion's read loop was still on an admitted packet after %v: % x", processingLimit, pkt)
	}
}

func (h *guardHarness) close() {
	_ = h.sender.Close()
	_ = h.guarded.Close()
	_ = h.senderEnd.Close()
	_ = h.guardedEnd.Close()
	<-h.guardedEnded
}

// packetEnd is one side of the in-memory network: a net.Conn of whole
// packets. admit, if set, decides what Read hands on; wrote sees what
// Write sends.
type packetEnd struct {
	in, out chan []byte
	closed  chan struct{}
	once    sync.Once
	admit   func([]byte) bool
	wrote   func([]byte)

	mu      sync.Mutex
	watched *packetWatch
}

// packetWatch follows one packet through Read.
type packetWatch struct {
	pkt                           []byte
	refused, delivered, readAgain chan struct{}
}

func newPacketEnd(in, out chan []byte) *packetEnd {
	return &packetEnd{in: in, out: out, closed: make(chan struct{})}
}

func (e *packetEnd) watch(pkt []byte) *packetWatch {
	w := &packetWatch{pkt: pkt, refused: make(chan struct{}), delivered: make(chan struct{}), readAgain: make(chan struct{})}
	e.mu.Lock()
	e.watched = w
	e.mu.Unlock()
	return w
}

func (e *packetEnd) Read(b []byte) (int, error) {
	e.mu.Lock()
	if w := e.watched; w != nil && isClosed(w.delivered) {
		close(w.readAgain)
		e.watched = nil
	}
	e.mu.Unlock()
	for {
		var pkt []byte
		select {
		case pkt = <-e.in:
		case <-e.closed:
			return 0, net.ErrClosed
		}
		e.mu.Lock()
		w := e.watched
		if w != nil && &w.pkt[0] != &pkt[0] {
			w = nil
		}
		e.mu.Unlock()
		if e.admit != nil && !e.admit(pkt) {
			if w != nil {
				close(w.refused)
			}
			continue
		}
		if w != nil {
			close(w.delivered)
		}
		return copy(b, pkt), nil
	}
}

func (e *packetEnd) Write(b []byte) (int, error) {
	if e.wrote != nil {
		e.mu.Lock()
		e.wrote(b)
		e.mu.Unlock()
	}
	pkt := append([]byte(nil), b...)
	select {
	case e.out <- pkt:
	case <-e.closed:
		return 0, net.ErrClosed
	default: // a full queue loses the packet, as a network would
	}
	return len(b), nil
}

func (e *packetEnd) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (e *packetEnd) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (e *packetEnd) RemoteAddr() net.Addr             { return &net.UDPAddr{} }
func (e *packetEnd) SetDeadline(time.Time) error      { return nil }
func (e *packetEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *packetEnd) SetWriteDeadline(time.Time) error { return nil }
