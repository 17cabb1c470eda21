package multiplayer

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/sctp"

	"godtls/extension/link"
	"godtls/extension/queue"
)

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
	// rtoSlack is the retransmission timeout above three round trips
	// (rtoFor).
	rtoSlack = 30 * time.Millisecond
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
// process (the longest waits for a Go processor measured on the 2-core
// benchmark machine are about 10 ms). With 30 ms of slack, 50 clients × 32
// reliable messages in flight beside 3 CPU-bound processes on 2 cores
// retransmitted nothing at 0 % loss, in either direction (bench_mp.gd's
// retransmission counts); at 5 % loss the slack is most of a lost
// message's delay (60 ms of slack: p99 63 ms in
// BenchmarkReliableLatencyUnderLoss; 30 ms: 33–63 ms).
func rtoFor(rtt time.Duration) float64 {
	rto := rtoSlack + 3*rtt
	return float64(min(rto, time.Second).Milliseconds())
}

// shared is what the sessions of one server or client share.
type shared struct {
	opts    Options
	in      *inbox
	events  *queue.Events[Event]
	wg      sync.WaitGroup
	push    pushers // of the sessions' outboxes, counted in wg
	loggers logging.LoggerFactory
	health  health // published by the janitor for monitors
}

// waitForGoroutines ends the pushers and waits for every goroutine the
// sessions started; Close calls it after ending every session.
func (sh *shared) waitForGoroutines() {
	sh.push.close()
	sh.wg.Wait()
}

func newShared(opts Options, events int) *shared {
	opts = opts.withDefaults()
	sh := &shared{
		opts: opts, in: newInbox(opts.InboxPackets, opts.InboxBytes, opts.PeerInboxBytes),
		events:  queue.NewEvents[Event](events),
		loggers: link.Quiet,
	}
	// One processor fewer than Go has, as the handshakes' crypto slots:
	// pushing is never worth taking the last one from Godot's calls.
	sh.push = pushers{max: max(1, runtime.GOMAXPROCS(0)-1), wg: &sh.wg}
	return sh
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

	mu      sync.Mutex // out (with each stream's log) and sendSeq
	out     map[int]*outStream
	sendSeq map[int]uint32
	outbox  outbox // the game's messages on their way into out

	recvMu  sync.Mutex
	recvSeq map[int]uint32

	// Guarded by the inbox's mutex: the bytes this session has in the
	// inbox; whether the game has taken its PeerConnected (delivered), and
	// until then the messages it sent (early), which the game must not see
	// first: SceneMultiplayer drops a packet from a peer it was not told of,
	// and that packet may be the peer's authentication. With AuthOrder, the
	// messages that overtook the peer's authentication completion
	// (authHeld, sceneauth.go). On a client, the messages the server marked
	// to wait for others (orderHeld), and how many reliable messages of
	// each channel have passed that hold (passed; orderhold.go).
	queued    int
	delivered bool
	early     []Packet
	authHeld  []Packet
	orderHeld []markedPacket
	passed    []uint32
	readable  int // messages in the inbox's ring, which the game can read now
	// auth: where SceneMultiplayer's authentication of the peer stands
	// (sceneauth.go); it changes to authOver under the inbox's mutex.
	auth authOrder
	// scene: on a server, what marks the messages it sends (sceneorder.go).
	scene sceneOrder

	// acceptMu: the association once set up (assoc is stored under it too)
	// and the streams the peer opened before that, whose readers start
	// with it.
	acceptMu       sync.Mutex
	pendingStreams int

	lastHeard atomic.Int64
	lastSent  atomic.Int64
	probe     probe

	hello chan int32 // a client's peer id, from the server's hello

	// announced and gone are decided under the owner's mutex.
	announced, gone bool
	// live: messages from the other side reach the game. A server's
	// session goes live when it is announced: nothing a client sends
	// before it has its id reaches the game from a peer it does not know.
	// It stops being live when this side leaves (leave).
	live atomic.Bool
	// endHeldBack: its PeerDisconnected was held back once, behind the
	// messages it sent before it left (nextEvent). readers: its stream
	// readers running; endedAt: when it ended (unix ns).
	endHeldBack atomic.Bool
	readers     atomic.Int32
	endedAt     atomic.Int64

	// following holds unreliable records until the reliable message each
	// follows has started out (follow.go).
	following followQueue
	// arrivals keeps the reliable messages in their order of arrival
	// across channels (arrivalorder.go).
	arrivals arrivalOrder

	ended   chan struct{}
	endOnce sync.Once
	reason  atomic.Pointer[string]
	// byeReason is the other side's goodbye, kept the moment it is read:
	// the association can end on another goroutine while the goodbye is
	// being handled, and the game must hear the reason the other side gave,
	// not that the connection closed.
	byeReason atomic.Pointer[string]
}

func newSession(sh *shared, car carrier, isServer bool, onEnd func(*session, string)) *session {
	s := &session{sh: sh, car: car, isServer: isServer, onEnd: onEnd, out: map[int]*outStream{},
		sendSeq: map[int]uint32{}, recvSeq: map[int]uint32{}, hello: make(chan int32, 1), ended: make(chan struct{})}
	s.conn = newSCTPConn(s, car)
	s.delivered = !sh.opts.HoldUntilAnnounced // no push can see it before this returns
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

// byeRecord is a goodbye record carrying reason.
func byeRecord(reason string) []byte { return append([]byte{kindBye}, reason...) }

// leave says goodbye with a reason the other side reports.
//
// At once (not graceful): the goodbye goes out in a record, twice (one may
// be lost), and on SCTP behind what the game sent; the session ends now.
// What the game sent just before may be lost: the record overtakes it.
//
// Gracefully: the session first waits until the other side has
// acknowledged everything the game sent (the outbox and SCTP's send
// buffers empty), then says goodbye the same way and waits for that to be
// acknowledged too, then ends; byeLinger bounds the whole. The goodbye
// once went out at once in this mode too: the other side ended on the
// record before the messages sent just before it had arrived, and a kick's
// last message was lost 10 times in 40 on loopback
// (TestAGracefulGoodbyeComesAfterTheLastMessages).
func (s *session) leave(reason string, graceful bool) {
	// What the peer sends from now on does not reach the game, which has
	// let it go: SceneMultiplayer, for one, has forgotten the peer and
	// would log an error for each message while the goodbye lingers. What
	// it sent before stays readable.
	s.live.Store(false)
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	if !graceful {
		s.sayGoodbye(reason)
		s.end(reason)
		return
	}
	s.sh.wg.Add(1)
	go func() {
		defer s.sh.wg.Done()
		linger := time.NewTimer(goodbyeLinger())
		defer linger.Stop()
		acknowledged := s.waitAcknowledged(linger.C)
		if s.hasEnded() {
			return
		}
		s.sayGoodbye(reason)
		if acknowledged { // else the linger ran out: the records carry it, as at once
			s.waitAcknowledged(linger.C)
		}
		s.end(reason)
	}()
}

// testByeLinger, set by tests only (while sessions run, hence atomic),
// replaces byeLinger: a lossy test on a loaded machine must not see the
// bound run out, which is not what it tests.
var testByeLinger atomic.Int64

func goodbyeLinger() time.Duration {
	if d := testByeLinger.Load(); d > 0 {
		return time.Duration(d)
	}
	return byeLinger
}

// sayGoodbye sends the goodbye in a record, twice, and on SCTP behind what
// the game sent, through the outbox (refused when the outbox is full; the
// records carry the reason anyway).
func (s *session) sayGoodbye(reason string) {
	bye := byeRecord(reason)
	s.sendRecord(bye)
	_, _ = s.enqueue(streamControl, &outgoing{data: append([]byte{ctlBye}, reason...), kept: true}, false)
	s.sendRecord(bye)
}

// waitAcknowledged waits until nothing the session sent waits to be sent
// or acknowledged, and reports true; false if the linger ran out or the
// session ended first (the caller asks hasEnded which).
func (s *session) waitAcknowledged(linger <-chan time.Time) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.bufferedOut() > 0 {
		select {
		case <-linger:
			return false
		case <-s.ended:
			return false
		case <-tick.C:
		}
	}
	return true
}

// end ends the session once, for reason. The owner learns it at once; the
// association and the DTLS connection close on a goroutine (closing waits
// for pion's loops, and end may run on one of them).
func (s *session) end(reason string) {
	s.endOnce.Do(func() {
		s.endedAt.Store(time.Now().UnixNano())
		if bye := s.byeReason.Load(); bye != nil && reason == connectionClosed {
			reason = *bye
		}
		s.reason.Store(&reason)
		close(s.ended)
		s.stopFollowing()
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

// hasEnded reports whether the session has ended.
func (s *session) hasEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

func (s *session) endReason() string {
	if r := s.reason.Load(); r != nil {
		return *r
	}
	return ""
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
			sessions := list()
			for _, s := range sessions {
				s.tend(now)
			}
			sh.health.publish(sessions)
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
