package multiplayer

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/sctp"
)

// Setting a session up: the round trip measured first, then the SCTP
// association over the DTLS carrier.

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
	var try *attempt
	for {
		try = s.conn.attempt()
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
		if s.hasEnded() {
			return errors.New(s.endReason())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SCTP association within %v", s.sh.opts.SetupTimeout)
		}
		return fmt.Errorf("SCTP association failed: %v", err)
	}
	s.acceptMu.Lock()
	s.assoc.Store(a)
	early := s.pendingStreams
	s.pendingStreams = 0
	s.acceptMu.Unlock()
	if s.hasEnded() { // ended while pion was setting up: teardown missed a
		_ = a.Close()
		return errors.New(s.endReason())
	}
	try.carries(s)
	s.startReaders(a, early)
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
		// The session's end first: a goodbye read with the carrier's last
		// records ended it with the other side's reason.
		if s.hasEnded() {
			return 0, errors.New(s.endReason())
		}
		select {
		case <-s.car.Done():
			return 0, errors.New("the connection closed during setup")
		default:
		}
	}
	// No answer in the probe's time (its pings lost, or a peer slow to
	// start): assume a long round trip rather than pion's one second.
	return unprobedRTT, nil
}
