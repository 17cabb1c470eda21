package server

import (
	"net/netip"
	"time"
)

// Draining: a server that refuses new connections keeps its peers and the
// handshakes already under way, turns every new client away with a fatal
// access_denied alert (the client learns at once, instead of retrying into
// silence until its timeout), and reports EventDrained once the last peer
// and handshake are gone: the moment a dedicated server may shut down.

// refusalsPerSecond bounds the alerts sent to new clients while refusing. A
// refusal is one 20-byte datagram for a ClientHello of 100 or more, so a
// spoofed flood cannot use it to amplify; the cap keeps such a flood from
// costing the socket more than this many writes a second.
const refusalsPerSecond = 1000

// refusalAlert is a fatal access_denied alert record at epoch 0: what a new
// client receives while the server refuses. DTLS has no way to say more
// before a handshake; GoDTLSClient reports it as "the server is not
// accepting new connections".
var refusalAlert = []byte{
	21,         // content type: alert
	0xfe, 0xfd, // DTLS 1.2
	0, 0, // epoch 0
	0, 0, 0, 0, 0, 0, // sequence number
	0, 2, // length
	2,  // fatal
	49, // access_denied
}

// RefusalAlert is the datagram that turns a new client away (a copy), for
// a caller that moves the datagrams itself (take_connection(udp_peer)).
func RefusalAlert() []byte { return append([]byte(nil), refusalAlert...) }

// SetRefusing turns the refusal of new clients on or off. Turning it on
// with nothing connected reports EventDrained at once.
func (s *Server) SetRefusing(on bool) {
	s.mu.Lock()
	defer s.unlock()
	s.refusing = on
	s.drainedSent = false
	s.checkDrainedLocked()
}

// Refusing reports whether new clients are turned away.
func (s *Server) Refusing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusing
}

// refuseLocked turns a new client at addr away: the alert goes out after the
// lock is released, within refusalsPerSecond.
func (s *Server) refuseLocked(addr netip.AddrPort, now time.Time) {
	s.refused.Add(1)
	if sec := now.Unix(); sec != s.refusalSecond {
		s.refusalSecond, s.refusalsThisSecond = sec, 0
	}
	if s.refusalsThisSecond >= refusalsPerSecond || s.sock == nil {
		return
	}
	s.refusalsThisSecond++
	sock := s.sock
	s.later(func() { _, _ = sock.WriteToUDPAddrPort(refusalAlert, addr) })
}

// checkDrainedLocked reports EventDrained when the server refuses and
// nothing is left: no peer, no handshake, nothing queued.
func (s *Server) checkDrainedLocked() {
	if !s.refusing || s.drainedSent || len(s.sessions) > 0 || len(s.candidates) > 0 || len(s.pipes) > 0 || s.adm.queue.len() > 0 {
		return
	}
	s.drainedSent = true
	s.events.Push(Event{Kind: EventDrained})
}
