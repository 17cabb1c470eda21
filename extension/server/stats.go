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
	Spoofed              uint64 // records refused before the cookie, wrong cookies, datagrams holding a record the handshake would end on (refusedBeforePion), handshake messages competing with a connecting client's (handshakewatch.go)
	PostHandshakeDropped uint64 // records of connected peers that no genuine peer sends after the handshake (wire.KeepEstablished)
	Replayed             uint64 // records of connected peers dropped by the replay window (a copy of one already received, or older than the 64 before it)
	AuthFailed           uint64 // records that failed authentication (ChaCha20-Poly1305 suites; pion's CBC suites drop theirs uncounted)
	OverRate             uint64 // connected peers' authenticated records dropped over Config.PeerPacketRate or PeerByteRate
	Rejected             uint64 // ClientHellos refused by a limit or not admitted in time
	Evicted              uint64 // unverified handshakes pushed out by newer ones
	Refused              uint64 // new clients turned away while refusing (SetRefusing)
	Panics               uint64 // recovered internal errors
	ReadInFrame          uint64 // datagrams the caller's Pump read (the rest, the reader goroutine)
	EventsDropped        uint64
}

// Stats returns the counters, with the peers and handshakes counted now
// (under the server's lock).
func (s *Server) Stats() Stats {
	s.mu.Lock()
	c := s.countLocked()
	s.mu.Unlock()
	return s.statsWith(c)
}

// PublishedStats is Stats without taking the server's lock, for monitors:
// the peers and handshakes are as the janitor last counted them (every
// 100 ms while the server runs; zero once it stopped).
func (s *Server) PublishedStats() Stats {
	var c counts
	if p := s.published.Load(); p != nil {
		c = *p
	}
	return s.statsWith(c)
}

// counts are what Stats counts under the lock.
type counts struct {
	peers, pending, unverified, queued int
}

func (s *Server) countLocked() counts {
	var c counts
	for p := range s.peers {
		if p.Status() == link.StatusConnected {
			c.peers++
		}
	}
	if s.adm.pool != nil {
		c.unverified = s.adm.pool.Len()
	}
	c.pending, c.queued = c.unverified+s.adm.verified, s.adm.queue.len()
	return c
}

// publishCountsLocked counts for PublishedStats (the janitor's sweep; a
// sweep that runs after Stop publishes nothing).
func (s *Server) publishCountsLocked() {
	if !s.running {
		return
	}
	c := s.countLocked()
	s.published.Store(&c)
}

func (s *Server) statsWith(c counts) Stats {
	return Stats{
		HandshakesOK: s.handshakesOK.Load(), HandshakesFailed: s.handshakesFailed.Load(),
		Peers: c.peers, Pending: c.pending, Unverified: c.unverified, Queued: c.queued,
		Traffic: s.traffic.Read(),
		Dropped: s.dropped.Load(), Garbage: s.garbage.Load(), Oversize: s.oversize.Load(),
		Stray: s.stray.Load(), Spoofed: s.spoofed.Load(), PostHandshakeDropped: s.postHandshakeDropped.Load(), Replayed: s.replayed.Load(),
		AuthFailed: s.authFailed.Load(), OverRate: s.overRate.Load(), Rejected: s.rejected.Load(), Evicted: s.evicted.Load(), Refused: s.refused.Load(), Panics: s.panics.Load(),
		EventsDropped: s.events.Dropped(), ReadInFrame: s.readInFrame.Load(),
	}
}
