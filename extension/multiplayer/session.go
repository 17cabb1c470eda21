package multiplayer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/sctp"

	"godtls/extension/link"
)

// Options are the limits of a multiplayer server or client. Zero values
// mean the defaults.
type Options struct {
	// Timeout disconnects a peer nothing was heard from for this long
	// (pings go out every second, so an idle peer is still heard).
	Timeout time.Duration
	// SetupTimeout bounds what follows the DTLS handshake: the RTT probe,
	// the SCTP association and, on a client, receiving its peer id.
	SetupTimeout time.Duration
	// SendBuffer bounds the bytes of reliable and large unreliable
	// messages waiting to be sent or acknowledged, per peer.
	SendBuffer int
	// InboxPackets and InboxBytes bound what waits for the game overall;
	// PeerInboxBytes what one peer may occupy of it.
	InboxPackets, InboxBytes, PeerInboxBytes int
}

// Defaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultSetupTimeout   = 10 * time.Second
	DefaultSendBuffer     = 4 << 20
	DefaultInboxPackets   = 1 << 16
	DefaultInboxBytes     = 64 << 20
	DefaultPeerInboxBytes = 2 * MaxMessage
	MaxTimeout            = time.Hour
)

// ErrBadOptions is returned for options out of range.
var ErrBadOptions = errors.New("invalid multiplayer options")

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case o.Timeout < 0 || o.Timeout > MaxTimeout:
		return fmt.Errorf("%w: timeout must be between 0 and %v, got %v", ErrBadOptions, MaxTimeout, o.Timeout)
	case o.SetupTimeout < 0 || o.SetupTimeout > MaxTimeout:
		return fmt.Errorf("%w: setup timeout must be between 0 and %v, got %v", ErrBadOptions, MaxTimeout, o.SetupTimeout)
	case o.SendBuffer < 0 || o.InboxPackets < 0 || o.InboxBytes < 0 || o.PeerInboxBytes < 0:
		return fmt.Errorf("%w: buffer sizes must not be negative", ErrBadOptions)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SetupTimeout == 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.InboxPackets == 0 {
		o.InboxPackets = DefaultInboxPackets
	}
	if o.InboxBytes == 0 {
		o.InboxBytes = DefaultInboxBytes
	}
	if o.PeerInboxBytes == 0 {
		o.PeerInboxBytes = DefaultPeerInboxBytes
	}
	return o
}

const (
	// sctpMTUSlack: pion/sctp packs DATA chunks up to a few bytes past its
	// MTU (chunk padding); our records must still fit the DTLS payload.
	sctpMTUSlack = 16
	pingInterval = time.Second
	janitorTick  = 250 * time.Millisecond
	// recvWindow is SCTP's receive buffer: it must hold a whole message
	// being reassembled, and bounds what one peer has in flight to us.
	recvWindow = 2 * MaxMessage
	// byeLinger is how long a graceful goodbye waits for its
	// acknowledgement before the connection closes anyway.
	byeLinger = time.Second
	// rtoSlack is the retransmission timeout above three round trips.
	rtoSlack = 60 * time.Millisecond
	// unprobedRTT stands in for a round trip the probe could not measure
	// (a retransmission timeout of about half a second).
	unprobedRTT = 150 * time.Millisecond
)

// testBeforeSCTP, set by tests only, runs before a session sets up SCTP.
var testBeforeSCTP func(isServer bool)

// rtoFor picks SCTP's retransmission timeout cap from the RTT measured
// before the association starts. pion/sctp never goes below one second on
// its own; a game cannot wait that long for a lost message. Every data
// packet is acknowledged at once (askImmediateAck), so the timeout only
// has to cover the round trip and the scheduling jitter of a busy
// process; 60 ms of slack keeps spurious retransmissions rare on a loaded
// 2-core machine.
func rtoFor(rtt time.Duration) float64 {
	rto := rtoSlack + 3*rtt
	return float64(min(rto, time.Second).Milliseconds())
}

// shared is what the sessions of one server or client share.
type shared struct {
	opts    Options
	in      *inbox
	events  *eventQueue
	wg      sync.WaitGroup
	loggers logging.LoggerFactory
}

func newShared(opts Options, events int) *shared {
	opts = opts.withDefaults()
	return &shared{
		opts: opts, in: newInbox(opts.InboxPackets, opts.InboxBytes, opts.PeerInboxBytes),
		events:  newEventQueue(events),
		loggers: link.Quiet,
	}
}

// session is one remote peer: its DTLS carrier, the SCTP association in
// it, and the state of the unreliable path.
type session struct {
	sh       *shared
	car      carrier
	conn     *sctpConn
	isServer bool // this end is the server: it sends on odd streams
	id       int32
	onEnd    func(*session, string)
	assoc    atomic.Pointer[sctp.Association]

	mu      sync.Mutex // out and sendSeq
	out     map[int]*sctp.Stream
	sendSeq map[int]uint32

	recvMu  sync.Mutex
	recvSeq map[int]uint32

	queued int // bytes in the inbox; guarded by the inbox's mutex

	accepted  atomic.Int32
	lastHeard atomic.Int64
	lastSent  atomic.Int64
	probe     probe

	hello chan int32 // a client's peer id, from the server's hello

	// announced and gone are decided under the owner's mutex.
	announced, gone bool
	// live: messages from the other side reach the game. A server's
	// session goes live when it is announced: nothing a client sends
	// before it has its id reaches the game from a peer it does not know.
	live atomic.Bool

	ended   chan struct{}
	endOnce sync.Once
	reason  atomic.Pointer[string]
}

func newSession(sh *shared, car carrier, isServer bool, onEnd func(*session, string)) *session {
	s := &session{sh: sh, car: car, isServer: isServer, onEnd: onEnd, out: map[int]*sctp.Stream{},
		sendSeq: map[int]uint32{}, recvSeq: map[int]uint32{}, hello: make(chan int32, 1), ended: make(chan struct{})}
	s.conn = newSCTPConn(s, car)
	now := time.Now().UnixNano()
	s.lastHeard.Store(now)
	s.lastSent.Store(now)
	return s
}

func (s *session) heard() { s.lastHeard.Store(time.Now().UnixNano()) }

func (s *session) sendRecord(b []byte) {
	if s.car.Send(b) == nil {
		s.lastSent.Store(time.Now().UnixNano())
	}
}

// start measures the round trip, then sets up the SCTP association (the
// client initiates) and starts accepting the other side's streams. It
// runs on a goroutine of the owner's.
func (s *session) start() error {
	deadline := time.Now().Add(s.sh.opts.SetupTimeout)
	probeEnd := time.Now().Add(2 * time.Second)
	if deadline.Before(probeEnd) {
		probeEnd = deadline
	}
	rtt, err := s.measureRTT(probeEnd)
	if err != nil {
		return err
	}
	cfg := sctp.Config{
		// Zero checksums accepted (RFC 9653: the DTLS record under each
		// packet is authenticated, the CRC adds nothing). Not a saving but
		// the cure of the stall "after 169-338 messages": pion/sctp
		// switches its own sending to zero checksums every third
		// retransmission timeout while none of its data is acknowledged
		// (for "old Pion versions"), and a peer that demanded checksums
		// then dropped every packet, SACKs included, for good.
		EnableZeroChecksum:   true,
		LoggerFactory:        s.sh.loggers,
		MaxReceiveBufferSize: recvWindow, MaxMessageSize: MaxMessage + unreliableHeader,
		MTU: uint32(s.car.MaxPayload() - 1 - sctpMTUSlack), RTOMax: rtoFor(rtt),
	}
	// Closing the conn is the only way to stop pion's setup: it ends the
	// read loop pion waits on.
	timer := time.AfterFunc(time.Until(deadline), func() { _ = s.conn.Close() })
	if testBeforeSCTP != nil {
		testBeforeSCTP(s.isServer)
	}
	var a *sctp.Association
	for {
		try := s.conn.attempt()
		cfg.NetConn = try
		if s.isServer {
			a, err = sctp.Server(cfg)
		} else {
			a, err = sctp.Client(cfg)
		}
		// pion gives up after 8 retransmissions of INIT, which at a game's
		// retransmission timeout is well under a second: a server whose
		// side of the session is still measuring the round trip under loss
		// may not have answered yet (1 client in ~250 at 5 % loss). The
		// failed association still reads its conn: closing that attempt
		// ends it, and a new attempt starts over until the setup deadline.
		// Only an unanswered INIT is retried: once the server has our
		// COOKIE ECHO its association may be established, and pion does
		// not restart an established association for a new INIT.
		if err == nil || !errors.Is(err, sctp.ErrHandshakeInitAck) || time.Now().After(deadline) {
			break
		}
		_ = try.Close()
	}
	timer.Stop()
	if err != nil {
		select {
		case <-s.ended:
			return errors.New(s.endReason())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SCTP association within %v", s.sh.opts.SetupTimeout)
		}
		return fmt.Errorf("SCTP association failed: %v", err)
	}
	s.assoc.Store(a)
	select {
	case <-s.ended: // ended while pion was setting up: teardown missed a
		_ = a.Close()
		return errors.New(s.endReason())
	default:
	}
	s.sh.wg.Add(1)
	go s.acceptLoop(a)
	return nil
}

// measureRTT pings until one answer arrives (every 200 ms, because the
// network may lose some). An SCTP packet that arrives meanwhile (the
// client's INIT, when its probe finished first) waits in the conn for
// pion.
func (s *session) measureRTT(deadline time.Time) (time.Duration, error) {
	for time.Now().Before(deadline) {
		s.ping()
		if rtt, ok := s.conn.waitProbe(s.probe.anyAnswer, time.Now().Add(200*time.Millisecond)); ok {
			// That answer may have waited in the peer's queue until its
			// session started (a server pings a client still finishing its
			// handshake; under a join storm, for most of a second), and the
			// RTT sets the retransmission timeout for the whole session.
			// One more ping, now that the peer answers: the smaller wins.
			seq := s.ping()
			again, ok := s.conn.waitProbe(func() (time.Duration, bool) { return s.probe.answerTo(seq) },
				time.Now().Add(min(rtt, time.Second)+20*time.Millisecond))
			if ok {
				rtt = min(rtt, again)
			}
			return rtt, nil
		}
		select {
		case <-s.ended:
			return 0, errors.New(s.endReason())
		case <-s.car.Done():
			return 0, errors.New("the connection closed during setup")
		default:
		}
	}
	// No answer in the probe's time (its pings lost, or a peer slow to
	// start): assume a long round trip rather than pion's one second.
	return unprobedRTT, nil
}

// acceptLoop reads the streams the other side opens, one goroutine each
// (at most 2 + MaxChannels: a peer that opens others is cut off). Its end
// is the association's end.
func (s *session) acceptLoop(a *sctp.Association) {
	defer s.sh.wg.Done()
	for {
		st, err := a.AcceptStream()
		if err != nil {
			s.end("the connection closed")
			return
		}
		index, ok := streamIndex(st.StreamIdentifier(), !s.isServer)
		if !ok || s.accepted.Add(1) > maxStreamIndex+1 {
			s.end(fmt.Sprintf("protocol violation: the peer opened stream %d", st.StreamIdentifier()))
			return
		}
		s.sh.wg.Add(1)
		go s.readStream(st, index)
	}
}

// readStream delivers the messages of one stream. Its buffer is small; a
// larger message is read into a buffer of its size, which is not kept.
func (s *session) readStream(st *sctp.Stream, index int) {
	defer s.sh.wg.Done()
	small := make([]byte, 2048)
	for {
		buf := small
		n, ppi, err := st.ReadSCTP(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			buf = make([]byte, n)
			n, ppi, err = st.ReadSCTP(buf)
		}
		if err != nil {
			return
		}
		msg := append([]byte(nil), buf[:n]...)
		if ppi == sctp.PayloadTypeWebRTCBinaryEmpty {
			msg = msg[:0]
		}
		switch index {
		case streamControl:
			s.onControl(msg)
		case streamUnreliable:
			if ch, mode, seq, payload, err := parseUnreliable(msg); err == nil {
				s.deliverUnreliable(ch, mode, seq, payload)
			}
		default:
			if !s.live.Load() {
				continue
			}
			p := Packet{From: s.id, Channel: index - streamReliable0, Mode: Reliable, Data: msg, owner: s}
			if !s.sh.in.push(p, true, s.ended) {
				return
			}
		}
	}
}

// onRecord handles a DTLS record that is not SCTP. It runs on pion's
// read loop (or the setup goroutine): it must not wait.
func (s *session) onRecord(rec []byte) {
	switch rec[0] {
	case kindData:
		if ch, mode, seq, payload, err := parseUnreliable(rec[1:]); err == nil {
			s.deliverUnreliable(ch, mode, seq, append([]byte(nil), payload...))
		}
	case kindPing:
		if len(rec) == pingSize {
			pong := append([]byte(nil), rec...)
			pong[0] = kindPong
			s.sendRecord(pong)
		}
	case kindPong:
		if len(rec) == pingSize {
			s.probe.answer(binary.BigEndian.Uint32(rec[1:]), int64(binary.BigEndian.Uint64(rec[5:])))
		}
	case kindBye:
		s.byeReceived(string(rec[1:min(len(rec), 1+maxReason)]))
	}
}

func (s *session) onControl(msg []byte) {
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case ctlHello:
		if !s.isServer && len(msg) == 5 {
			select {
			case s.hello <- int32(binary.BigEndian.Uint32(msg[1:])):
			default:
			}
		}
	case ctlBye:
		s.byeReceived(string(msg[1:min(len(msg), 1+maxReason)]))
	}
}

// violated ends a session whose peer broke the protocol, telling it why
// (in a record, not on SCTP: the guard runs on pion's read loop).
func (s *session) violated(reason string) {
	s.sendRecord(byeRecord(reason))
	s.end(reason)
}

func (s *session) byeReceived(reason string) {
	if reason == "" {
		reason = "the other side left"
	}
	s.end(reason)
}

// deliverUnreliable drops an ordered packet older than one already
// delivered on its channel, and any packet the inbox has no room for.
func (s *session) deliverUnreliable(ch int, mode Mode, seq uint32, payload []byte) {
	if !s.live.Load() {
		return
	}
	if mode == UnreliableOrdered {
		s.recvMu.Lock()
		last, seen := s.recvSeq[ch]
		if seen && !newer(seq, last) {
			s.recvMu.Unlock()
			return
		}
		s.recvSeq[ch] = seq
		s.recvMu.Unlock()
	}
	s.sh.in.push(Packet{From: s.id, Channel: ch, Mode: mode, Data: payload, owner: s}, false, nil)
}

// Errors of send.
var (
	ErrNotReady    = errors.New("the connection is not set up yet")
	ErrClosed      = errors.New("the connection is closed")
	ErrBadChannel  = fmt.Errorf("channel out of range (0 to %d)", MaxChannels-1)
	ErrTooLarge    = fmt.Errorf("message larger than %d bytes", MaxMessage)
	ErrSendBacklog = errors.New("too many bytes waiting to be sent to this peer")
)

// send queues one message; it never waits for the network (SCTP
// fragments and queues, pion's write loop sends).
func (s *session) send(channel int, mode Mode, data []byte) error {
	if channel < 0 || channel >= MaxChannels {
		return ErrBadChannel
	}
	if len(data) > MaxMessage {
		return ErrTooLarge
	}
	select {
	case <-s.ended:
		return ErrClosed
	default:
	}
	if mode != Reliable {
		s.mu.Lock()
		seq := s.sendSeq[channel] + 1
		s.sendSeq[channel] = seq
		s.mu.Unlock()
		if dataHeader+len(data) <= s.car.MaxPayload() {
			rec := make([]byte, dataHeader+len(data))
			rec[0] = kindData
			putUnreliable(rec[1:], channel, mode, seq)
			copy(rec[dataHeader:], data)
			s.sendRecord(rec)
			return nil
		}
		msg := make([]byte, unreliableHeader+len(data))
		putUnreliable(msg, channel, mode, seq)
		copy(msg[unreliableHeader:], data)
		return s.write(streamUnreliable, msg)
	}
	return s.write(streamReliable0+channel, data)
}

// write sends a message on one of our streams, opening it on first use.
func (s *session) write(index int, msg []byte) error {
	a := s.assoc.Load()
	if a == nil {
		return ErrNotReady
	}
	s.mu.Lock()
	st := s.out[index]
	if st == nil {
		var err error
		st, err = a.OpenStream(streamID(index, s.isServer), sctp.PayloadTypeWebRTCBinary)
		if err != nil {
			s.mu.Unlock()
			return ErrClosed
		}
		if index == streamUnreliable {
			// Reliable, unordered: partial reliability would need
			// FORWARD-TSN, which the guard refuses (sctpguard.go); the
			// receiver's sequence check still drops an ordered-mode
			// message older than one delivered.
			st.SetReliabilityParams(true, sctp.ReliabilityTypeReliable, 0)
		} else {
			st.SetReliabilityParams(false, sctp.ReliabilityTypeReliable, 0)
		}
		s.out[index] = st
	}
	var waiting uint64
	for _, o := range s.out {
		waiting += o.BufferedAmount()
	}
	s.mu.Unlock()
	if waiting > 0 && waiting+uint64(len(msg)) > uint64(s.sh.opts.SendBuffer) {
		return fmt.Errorf("%w (%d bytes)", ErrSendBacklog, waiting)
	}
	ppi := sctp.PayloadTypeWebRTCBinary
	if len(msg) == 0 {
		msg, ppi = []byte{0}, sctp.PayloadTypeWebRTCBinaryEmpty
	}
	if _, err := st.WriteSCTP(msg, ppi); err != nil {
		return ErrClosed
	}
	s.lastSent.Store(time.Now().UnixNano())
	return nil
}

// bufferedOut is what waits in our streams for sending or acknowledgement.
func (s *session) bufferedOut() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, o := range s.out {
		n += o.BufferedAmount()
	}
	return n
}

func (s *session) ping() uint32 {
	rec := make([]byte, pingSize)
	rec[0] = kindPing
	seq, at := s.probe.sent()
	binary.BigEndian.PutUint32(rec[1:], seq)
	binary.BigEndian.PutUint64(rec[5:], uint64(at))
	s.sendRecord(rec)
	return seq
}

// byeRecord is a goodbye record carrying reason.
func byeRecord(reason string) []byte { return append([]byte{kindBye}, reason...) }

// leave says goodbye with a reason the other side reports. Gracefully, the
// connection stays until the goodbye is acknowledged (at most byeLinger,
// on a goroutine); otherwise it closes now.
func (s *session) leave(reason string, graceful bool) {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	bye := byeRecord(reason)
	s.sendRecord(bye) // at once, and again below: it may be lost
	_ = s.write(streamControl, append([]byte{ctlBye}, reason...))
	s.sendRecord(bye)
	if !graceful {
		s.end(reason)
		return
	}
	s.sh.wg.Add(1)
	go func() {
		defer s.sh.wg.Done()
		t := time.NewTimer(byeLinger)
		defer t.Stop()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for s.bufferedOut() > 0 {
			select {
			case <-t.C:
				s.end(reason)
				return
			case <-s.ended:
				return
			case <-tick.C:
			}
		}
		s.end(reason)
	}()
}

// end ends the session once, for reason. The owner learns it at once; the
// association and the DTLS connection close on a goroutine (closing waits
// for pion's loops, and end may run on one of them).
func (s *session) end(reason string) {
	s.endOnce.Do(func() {
		s.reason.Store(&reason)
		close(s.ended)
		_ = s.conn.Close()
		s.onEnd(s, reason)
		s.sh.wg.Add(1)
		go func() {
			defer s.sh.wg.Done()
			if a := s.assoc.Load(); a != nil {
				_ = a.Close()
			}
			s.car.Close()
		}()
	})
}

func (s *session) endReason() string {
	if r := s.reason.Load(); r != nil {
		return *r
	}
	return ""
}

func (s *session) isEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

// janitor tends the sessions list returns every janitorTick until stop
// closes; each end runs one.
func (sh *shared) janitor(stop <-chan struct{}, list func() []*session) {
	defer sh.wg.Done()
	t := time.NewTicker(janitorTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for _, s := range list() {
				s.tend(now)
			}
		}
	}
}

// tend pings a quiet session and ends a silent one; the owner's janitor
// calls it every janitorTick.
func (s *session) tend(now time.Time) {
	if now.Sub(time.Unix(0, s.lastHeard.Load())) > s.sh.opts.Timeout {
		s.end(fmt.Sprintf("timed out: nothing heard for %v", s.sh.opts.Timeout))
		return
	}
	if s.probe.due(now) { // also the keepalive: pings go out every second
		s.ping()
	}
}

// PeerStats describe one peer's connection.
type PeerStats struct {
	link.Traffic                  // DTLS records and their bytes
	RTT             time.Duration // smoothed, from pings
	LastRTT         time.Duration
	Loss            float64 // share of the last pings that got no answer
	Retransmissions uint64  // SCTP DATA chunks sent again
	QueuedIn        int     // bytes waiting for the game
	BufferedOut     uint64  // bytes waiting to be sent or acknowledged
}

func (s *session) stats(traffic link.Traffic) PeerStats {
	rtt, last, loss := s.probe.read()
	return PeerStats{Traffic: traffic, RTT: rtt, LastRTT: last, Loss: loss, Retransmissions: s.conn.retransmissions(),
		QueuedIn: s.sh.in.queuedFor(s), BufferedOut: s.bufferedOut()}
}
