package server

import (
	"container/list"
	"net/netip"
	"time"

	"godtls/extension/wire"
)

// Admission: how a ClientHello from an address that has proven nothing
// becomes a pion handshake.
//
// pion v2 draws its HelloVerifyRequest cookie at random inside its own
// handshake and hashes message_seq into the transcript, so a stateless cookie
// cannot be put in front of it: every cookieless ClientHello needs a running
// pion session to answer it. What the engine controls is what that costs:
//   - unverified sessions live in their own pool (MaxPendingHandshakes, and
//     MaxPendingPerIP per source IP), see only ClientHello records, within a
//     small byte budget, and are the only sessions a newcomer may evict;
//   - a session leaves the pool when its client echoes exactly the cookie pion
//     sent it (read from pion's outbound HelloVerifyRequest); from then on it
//     is never evicted, and counts against MaxPeers and MaxPeersPerIP;
//   - a ClientHello that finds no slot waits in a bounded FIFO (bytes and
//     address, no goroutine) and is admitted the moment a slot frees, while
//     it is younger than the client's first retransmission.

// admissionWindow is how long a queued ClientHello stays worth admitting:
// clients retransmit their first ClientHello after 1 s (pion, mbedTLS,
// OpenSSL, GnuTLS), and the retransmission queues afresh.
const admissionWindow = 900 * time.Millisecond

// Eviction floors: an unverified session younger than this is never pushed
// out. Under a flood from many addresses the whole pool turns over and a
// handshake lives MaxPendingHandshakes / rate (1024 at 10,000 hellos/s:
// ~100 ms); the global floor only keeps an absurd rate from churning pion
// sessions faster than any client could answer. Within one IP the pressure
// is usually genuine (players behind one NAT) and the queue absorbs it, so a
// same-IP newcomer evicts only a session that had a full second to answer.
const (
	evictFloorGlobal = 10 * time.Millisecond
	evictFloorPerIP  = time.Second
)

// Admission queue bounds: entries follow MaxPendingHandshakes, bytes are
// fixed, and one IP may hold at most a quarter of the entries.
const admissionQueueBytes = 1 << 20

type queuedHello struct {
	addr netip.AddrPort
	data []byte   // the ClientHello datagram (listen mode)
	sess *session // attach mode: the peer's session, not started yet
	at   time.Time
}

// admission is the state behind admission, guarded by Server.mu.
type admission struct {
	pool      *list.List // unverified sessions, oldest first
	poolPerIP map[netip.Addr]int
	// ipsWith[k] is the set of IPs that hold k sessions of the pool;
	// heaviest is the largest k with a non-empty set. Kept in step with
	// poolPerIP so that eviction finds the heaviest IPs in O(1).
	ipsWith  map[int]map[netip.Addr]struct{}
	heaviest int
	// evictable is the pool less its parked sessions, oldest first, in
	// all (evictOrder) and per IP (evictByIP): eviction looks at fronts
	// only.
	evictOrder *list.List
	evictByIP  map[netip.Addr]*list.List
	verified   int // handshakes in progress whose client proved its address
	peersPerIP map[netip.Addr]int

	queue helloQueue

	// parked are unverified sessions whose client echoed its cookie while
	// the server was full, oldest first (a subset of pool).
	parked *list.List
}

func newAdmission() admission {
	return admission{
		pool:       list.New(),
		poolPerIP:  map[netip.Addr]int{},
		ipsWith:    map[int]map[netip.Addr]struct{}{},
		evictOrder: list.New(),
		evictByIP:  map[netip.Addr]*list.List{},
		peersPerIP: map[netip.Addr]int{},
		queue:      newHelloQueue(),
		parked:     list.New(),
	}
}

// poolFullLocked reports whether an unverified session from ip would pass a cap.
func (s *Server) poolFullLocked(ip netip.Addr) (global, perIP bool) {
	return s.adm.pool.Len() >= s.cfg.MaxPendingHandshakes, s.adm.poolPerIP[ip] >= s.cfg.MaxPendingPerIP
}

// serverFullLocked reports whether no new peer could join from ip.
func (s *Server) serverFullLocked(ip netip.Addr) bool {
	return s.peersFullLocked() || s.adm.peersPerIP[ip] >= s.cfg.perIPPeerCap()
}

// peersFullLocked reports whether no new peer could join from anywhere.
func (s *Server) peersFullLocked() bool { return len(s.peers)+s.adm.verified >= s.cfg.MaxPeers }

// evictForLocked frees a pool slot for a newcomer from ip by ending the
// oldest unverified session that may be evicted, and reports whether it did.
//
// The victim is chosen fairly between source IPs: the oldest session of the
// IP that holds the most of the pool (at least two entries), whatever the
// newcomer's own share. A flood from a set of addresses therefore evicts
// itself, and a genuine client on an address that holds less of the pool
// than the flood's keeps its session however long it takes to echo its
// cookie (a busy machine can delay that by hundreds of milliseconds): once
// evicted after its HelloVerifyRequest, a client keeps retransmitting a
// cookie no session knows and cannot recover until it gives up. Only when
// every IP holds one entry (sources spread over the whole address space)
// does the oldest go, whoever it is. Parked sessions (their client proved
// its address and waits for room) are never evicted. It looks only at the
// fronts of the evictable lists: O(1), or O(heaviest IPs) when several IPs
// share the largest count.
func (s *Server) evictForLocked(ip netip.Addr, now time.Time) bool {
	global, perIP := s.poolFullLocked(ip)
	if !global && !perIP {
		return true
	}
	var victim *session
	switch {
	case perIP:
		// only a session of the same IP frees a per-IP slot
		if l := s.adm.evictByIP[ip]; l != nil && l.Len() > 0 {
			if c := l.Front().Value.(*session); now.Sub(c.created) >= evictFloorPerIP {
				victim = c
			}
		}
	case s.adm.heaviest < 2:
		// every IP holds one entry: the oldest goes
		if e := s.adm.evictOrder.Front(); e != nil {
			victim = e.Value.(*session)
		}
	default:
		for heavy := range s.adm.ipsWith[s.adm.heaviest] {
			if l := s.adm.evictByIP[heavy]; l != nil && l.Len() > 0 {
				if c := l.Front().Value.(*session); victim == nil || c.created.Before(victim.created) {
					victim = c
				}
			}
		}
	}
	if victim == nil || (!perIP && now.Sub(victim.created) < evictFloorGlobal) {
		return false
	}
	s.evicted.Add(1)
	s.dropSessionLocked(victim, "evicted: it never echoed its cookie")
	return true
}

// countPoolIP moves ip's pool count by delta (±1), keeping ipsWith and
// heaviest in step.
func (s *Server) countPoolIP(ip netip.Addr, delta int) {
	old := s.adm.poolPerIP[ip]
	n := old + delta
	if old > 0 {
		delete(s.adm.ipsWith[old], ip)
		if len(s.adm.ipsWith[old]) == 0 {
			delete(s.adm.ipsWith, old)
		}
	}
	if n > 0 {
		s.adm.poolPerIP[ip] = n
		if s.adm.ipsWith[n] == nil {
			s.adm.ipsWith[n] = map[netip.Addr]struct{}{}
		}
		s.adm.ipsWith[n][ip] = struct{}{}
	} else {
		delete(s.adm.poolPerIP, ip)
	}
	switch {
	case n > s.adm.heaviest:
		s.adm.heaviest = n
	case old == s.adm.heaviest && len(s.adm.ipsWith[old]) == 0:
		s.adm.heaviest = max(n, 0) // this IP was the only one that heavy
	}
}

// makeEvictable puts a pool session on the eviction lists; unevictable
// takes it off (parked, or leaving the pool).
func (s *Server) makeEvictable(c *session) {
	ip := c.addr.Addr()
	l := s.adm.evictByIP[ip]
	if l == nil {
		l = list.New()
		s.adm.evictByIP[ip] = l
	}
	c.evictAt = s.adm.evictOrder.PushBack(c)
	c.evictIPAt = l.PushBack(c)
}

func (s *Server) unevictable(c *session) {
	if c.evictAt == nil {
		return
	}
	s.adm.evictOrder.Remove(c.evictAt)
	ip := c.addr.Addr()
	l := s.adm.evictByIP[ip]
	l.Remove(c.evictIPAt)
	if l.Len() == 0 {
		delete(s.adm.evictByIP, ip)
	}
	c.evictAt, c.evictIPAt = nil, nil
}

// joinPoolLocked puts a new session into the unverified pool.
func (s *Server) joinPoolLocked(c *session) {
	c.pool = s.adm.pool.PushBack(c)
	s.countPoolIP(c.addr.Addr(), +1)
	s.makeEvictable(c)
}

// leavePoolLocked takes a session out of the unverified pool, once.
func (s *Server) leavePoolLocked(c *session) {
	s.unqueueStartLocked(c)
	if c.parked != nil {
		s.adm.parked.Remove(c.parked)
		c.parked, c.parkedHello = nil, nil
	}
	s.unevictable(c)
	if c.pool == nil {
		return
	}
	s.adm.pool.Remove(c.pool)
	c.pool = nil
	s.countPoolIP(c.addr.Addr(), -1)
	s.slotFreed = true
}

func decrement(m map[netip.Addr]int, ip netip.Addr) {
	if m[ip]--; m[ip] <= 0 {
		delete(m, ip)
	}
}

// verifyLocked moves a session whose client echoed its cookie out of the
// pool. When the server has no room for another peer from that address it
// reports false and parks the session with hello, the ClientHello that
// echoed the cookie: a parked session is never evicted, and the moment
// room frees (admitParkedLocked) pion gets the hello and answers it. The
// client cannot start over by itself: its retransmissions carry this
// cookie, and pion v2 hashes message_seq into the handshake, so no other
// session could take them up.
func (s *Server) verifyLocked(c *session, hello []byte) bool {
	if c.phaseNow() != phaseUnverified {
		return true
	}
	ip := c.addr.Addr()
	if s.serverFullLocked(ip) {
		s.rejected.Add(1)
		if c.parked == nil {
			c.parked = s.adm.parked.PushBack(c)
			s.unevictable(c)
		}
		c.parkedHello = append(c.parkedHello[:0], hello...)
		// The client is still there and waiting: it keeps its session.
		c.extendHandshake(time.Now().Add(s.cfg.HandshakeTimeout))
		return false
	}
	s.leavePoolLocked(c)
	c.phase.Store(int32(phaseVerified))
	s.adm.verified++
	s.adm.peersPerIP[ip]++
	c.counted = true
	return true
}

// settleLocked records that a verified handshake ended (as a peer or not).
func (s *Server) settleLocked(c *session) {
	if c.phaseNow() == phaseVerified && !c.settled {
		c.settled = true
		s.adm.verified--
		s.slotFreed = true
	}
}

// admitLocked starts an unverified handshake for a cookieless ClientHello,
// or queues it. data is the datagram (the caller's buffer: copied here).
func (s *Server) admitLocked(addr netip.AddrPort, data []byte, random [wire.RandomLen]byte, now time.Time) {
	ip := addr.Addr()
	if s.serverFullLocked(ip) {
		s.rejected.Add(1)
		return
	}
	s.admitQueuedLocked(now) // the queue goes first: it is older
	global, perIP := s.poolFullLocked(ip)
	if (global || perIP) && !s.evictForLocked(ip, now) {
		s.enqueueLocked(queuedHello{addr: addr, data: append([]byte(nil), data...), at: now})
		return
	}
	s.startUnverifiedLocked(addr, random, append([]byte(nil), data...), nil, now)
}

// startUnverifiedLocked starts pion on a new session for addr: as the
// address's session, or as a candidate beside a live one (see route).
// sess is an attach-mode session that waited in the queue.
func (s *Server) startUnverifiedLocked(addr netip.AddrPort, random [wire.RandomLen]byte, data []byte, sess *session, now time.Time) {
	c := sess
	if c == nil {
		c = newSession(s, addr, random, now)
		if cur := s.sessions[addr]; cur != nil && cur.phaseNow() >= phaseVerified {
			// A live session keeps the address until the newcomer proves
			// itself; see route.
			if old := s.candidates[addr]; old != nil {
				s.dropSessionLocked(old, "replaced by a newer ClientHello")
			}
			s.candidates[addr] = c
			if cur.phaseNow() == phaseVerified {
				// its retransmitted flights would confuse a restarted client
				cur.muted.Store(true)
			}
		} else {
			if cur != nil {
				s.dropSessionLocked(cur, "replaced: the client restarted its handshake")
			}
			s.sessions[addr] = c
		}
	} else {
		c.created = now
		c.phase.Store(int32(phaseUnverified))
	}
	s.joinPoolLocked(c)
	if data != nil && c.withinBudget(len(data)) {
		c.deliver(data)
	}
	s.startHandshakeLocked(c)
}

// dropSessionLocked ends a pending session the engine evicts or replaces.
// Closing ends pion's handshake; Close takes s.mu, so it runs after unlock.
func (s *Server) dropSessionLocked(c *session, reason string) {
	s.leavePoolLocked(c)
	if s.sessions[c.addr] == c {
		delete(s.sessions, c.addr)
	}
	if s.candidates[c.addr] == c {
		delete(s.candidates, c.addr)
	}
	c.muted.Store(true)
	s.later(func() { c.end(reason, true) })
}

// enqueueLocked puts a ClientHello in the admission queue if it has room.
func (s *Server) enqueueLocked(q queuedHello) {
	ip := q.addr.Addr()
	s.expireQueueLocked(q.at)
	if s.adm.queue.has(q.key()) {
		return // a retransmission of a ClientHello already waiting
	}
	if s.adm.queue.len() >= s.cfg.MaxPendingHandshakes || s.adm.queue.bytes+len(q.data) > admissionQueueBytes ||
		s.adm.queue.perIP(ip) >= max(1, s.cfg.MaxPendingHandshakes/4) {
		s.rejected.Add(1)
		if q.sess != nil {
			// The game holds this peer: it must end, with the reason, so that
			// the game drops it and UDPServer forgets the address; the
			// client's next retransmission then tries again. Ending the peer
			// shuts its session down.
			s.later(func() {
				q.sess.mu.Lock()
				p := q.sess.peer
				q.sess.mu.Unlock()
				p.fail("the server is busy: every handshake slot is taken")
			})
		}
		return
	}
	s.adm.queue.push(&q)
}

// expireQueueLocked drops queued ClientHellos the client has retransmitted
// by now (listen mode) — the retransmission queues afresh. They are the
// oldest, so only the front of the queue is looked at.
func (s *Server) expireQueueLocked(now time.Time) {
	for e := s.adm.queue.oldest(); e != nil && e.expired(now); e = s.adm.queue.oldest() {
		s.adm.queue.remove(e.key())
		s.rejected.Add(1)
	}
}

// admitParkedLocked verifies parked sessions, oldest first, while the
// server has room for them, and hands pion the ClientHello each one's
// client echoed its cookie with.
func (s *Server) admitParkedLocked() {
	for e := s.adm.parked.Front(); e != nil; {
		next := e.Next()
		c := e.Value.(*session)
		if s.peersFullLocked() {
			return // no room at all
		}
		if !s.serverFullLocked(c.addr.Addr()) {
			hello := c.parkedHello // verifyLocked unparks c and clears this
			s.verifyLocked(c, nil)
			// the handshake starts now: it gets its full time
			c.extendHandshake(time.Now().Add(s.cfg.HandshakeTimeout))
			if s.candidates[c.addr] == c {
				s.promoteLocked(c, s.sessions[c.addr])
			}
			if c.withinBudget(len(hello)) && !c.deliver(hello) {
				s.dropped.Add(1)
			}
		}
		e = next
	}
}

// admitQueuedLocked starts queued ClientHellos, oldest first, while slots
// are free. An IP whose per-IP pool cap is reached is set aside for this
// pass (at most MaxPendingHandshakes/MaxPendingPerIP of them can be).
func (s *Server) admitQueuedLocked(now time.Time) {
	s.slotFreed = false
	s.admitParkedLocked() // they proved their address, and are older
	if s.adm.queue.len() == 0 {
		return
	}
	s.expireQueueLocked(now)
	var aside []*ipHellos
	defer func() { s.adm.queue.restore(aside) }()
	for e := s.adm.queue.oldest(); e != nil; e = s.adm.queue.oldest() {
		ip := e.addr.Addr()
		global, perIP := s.poolFullLocked(ip)
		if global {
			return
		}
		if perIP {
			aside = append(aside, s.adm.queue.setAside())
			continue
		}
		s.adm.queue.remove(e.key())
		if e.sess != nil {
			if !e.sess.isClosed() {
				s.startUnverifiedLocked(e.addr, e.sess.random, nil, e.sess, now)
			}
			continue
		}
		if s.serverFullLocked(ip) {
			s.rejected.Add(1)
			continue
		}
		info := wire.Classify(e.data)
		if cur := s.sessions[e.addr]; cur != nil && cur.random == info.Random {
			continue // the client got in by a retransmission meanwhile
		}
		s.startUnverifiedLocked(e.addr, info.Random, e.data, nil, now)
	}
}

// unqueueLocked removes an attach-mode session from the queue (it closed).
func (s *Server) unqueueLocked(c *session) {
	s.adm.queue.remove(queueKey{c.addr, c})
}
