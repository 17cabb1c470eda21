package server

import "godtls/extension/link"

// Stats are the server's counters.
type Stats struct {
	HandshakesOK, HandshakesFailed uint64
	// Peers are connected; Pending are handshakes in progress, of which
	// Unverified have not echoed their cookie yet; Queued are ClientHellos
	// waiting in the admission queue.
	Peers, Pending, Unverified, Queued int
	link.Traffic
	Dropped              uint64 // datagrams or packets dropped because a queue or budget was full
	Garbage              uint64 // datagrams that were not DTLS
	Oversize             uint64 // datagrams larger than pion can read (8,192 bytes)
	Stray                uint64 // DTLS records from addresses with no session
	Spoofed              uint64 // records refused before the cookie, wrong cookies, epoch-0 alerts and data
	PostHandshakeDropped uint64 // records of connected peers that no genuine peer sends after the handshake (wire.KeepEstablished)
	AuthFailed           uint64 // records that failed authentication (ChaCha20-Poly1305 suites; pion's CBC suites drop theirs uncounted)
	OverRate             uint64 // datagrams of connected peers dropped over Config.PeerByteRate
	Rejected             uint64 // ClientHellos refused by a limit or not admitted in time
	Evicted              uint64 // unverified handshakes pushed out by newer ones
	Refused              uint64 // new clients turned away while refusing (SetRefusing)
	Panics               uint64 // recovered internal errors
	EventsDropped        uint64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	peers := 0
	for p := range s.peers {
		if p.Status() == link.StatusConnected {
			peers++
		}
	}
	unverified := 0
	if s.adm.pool != nil {
		unverified = s.adm.pool.Len()
	}
	pending, queued := unverified+s.adm.verified, s.adm.queue.len()
	s.mu.Unlock()
	return Stats{
		HandshakesOK: s.handshakesOK.Load(), HandshakesFailed: s.handshakesFailed.Load(),
		Peers: peers, Pending: pending, Unverified: unverified, Queued: queued,
		Traffic: s.traffic.Read(),
		Dropped: s.dropped.Load(), Garbage: s.garbage.Load(), Oversize: s.oversize.Load(),
		Stray: s.stray.Load(), Spoofed: s.spoofed.Load(), PostHandshakeDropped: s.postHandshakeDropped.Load(),
		AuthFailed: s.authFailed.Load(), OverRate: s.overRate.Load(), Rejected: s.rejected.Load(), Evicted: s.evicted.Load(), Refused: s.refused.Load(), Panics: s.panics.Load(),
		EventsDropped: s.events.Dropped(),
	}
}

// Gauges are what a monitor reads of the server without taking its lock:
// the counters as they are, and the peers and pending handshakes as the
// janitor last counted them (every 100 ms while the server runs).
type Gauges struct {
	link.Traffic
	Peers, Pending                 int
	HandshakesOK, HandshakesFailed uint64
	Dropped, OverRate, Spoofed     uint64
	Garbage, PostHandshakeDropped  uint64
	AuthFailed, Rejected, Refused  uint64
}

// Gauges reads the Gauges.
func (s *Server) Gauges() Gauges {
	return Gauges{
		Traffic: s.traffic.Read(),
		Peers:   int(s.gaugePeers.Load()), Pending: int(s.gaugePending.Load()),
		HandshakesOK: s.handshakesOK.Load(), HandshakesFailed: s.handshakesFailed.Load(),
		Dropped: s.dropped.Load(), OverRate: s.overRate.Load(), Spoofed: s.spoofed.Load(),
		Garbage: s.garbage.Load(), PostHandshakeDropped: s.postHandshakeDropped.Load(),
		AuthFailed: s.authFailed.Load(), Rejected: s.rejected.Load(), Refused: s.refused.Load(),
	}
}

// publishGaugesLocked counts the connected peers and pending handshakes for
// Gauges. Called with s.mu held (the janitor's sweep, and Stop).
func (s *Server) publishGaugesLocked() {
	peers := 0
	for p := range s.peers {
		if p.Status() == link.StatusConnected {
			peers++
		}
	}
	pending := s.adm.verified
	if s.adm.pool != nil {
		pending += s.adm.pool.Len()
	}
	s.gaugePeers.Store(int64(peers))
	s.gaugePending.Store(int64(pending))
}
