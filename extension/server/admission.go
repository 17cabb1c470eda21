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
	// ipsWith[k] is how many IPs hold k sessions of the pool; heaviest is
	// the largest k with ipsWith[k] > 0. Kept in step with poolPerIP so
	// that eviction finds the heaviest IP in O(1).
	ipsWith    map[int]int
	heaviest   int
	verified   int // handshakes in progress whose client proved its address
	peersPerIP map[netip.Addr]int

	queue      []queuedHello
	queueBytes int
	queuePerIP map[netip.Addr]int

	// parked are unverified sessions whose client echoed its cookie while
	// the server was full, oldest first (a subset of pool).
	parked *list.List
}

func newAdmission() admission {
	return admission{
		pool:       list.New(),
		poolPerIP:  map[netip.Addr]int{},
		ipsWith:    map[int]int{},
		peersPerIP: map[netip.Addr]int{},
		queuePerIP: map[netip.Addr]int{},
		parked:     list.New(),
	}
}

// poolFullLocked reports whether an unverified session from ip would pass a cap.
func (s *Server) poolFullLocked(ip netip.Addr) (global, perIP bool) {
	return s.adm.pool.Len() >= s.cfg.MaxPendingHandshakes, s.adm.poolPerIP[ip] >= s.cfg.MaxPendingPerIP
}

// serverFullLocked reports whether no new peer could join from ip.
func (s *Server) serverFullLocked(ip netip.Addr) bool {
	return len(s.peers)+s.adm.verified >= s.cfg.MaxPeers || s.adm.peersPerIP[ip] >= s.cfg.perIPPeerCap()
}

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
// does the oldest go, whoever it is.
func (s *Server) evictForLocked(ip netip.Addr, now time.Time) bool {
	global, perIP := s.poolFullLocked(ip)
	if !global && !perIP {
		return true
	}
	var victim *session
	for e := s.adm.pool.Front(); e != nil; e = e.Next() {
		c := e.Value.(*session)
		if c.parked != nil {
			continue // its client proved its address: it waits for room, not for eviction
		}
		age := now.Sub(c.created)
		if perIP {
			// only a session of the same IP frees a per-IP slot
			if c.addr.Addr() == ip && age >= evictFloorPerIP {
				victim = c
				break
			}
			continue
		}
		if age < evictFloorGlobal {
			break // the rest are younger still
		}
		if s.adm.heaviest < 2 {
			victim = c // every IP holds one entry: the oldest goes
			break
		}
		if s.adm.poolPerIP[c.addr.Addr()] == s.adm.heaviest {
			victim = c
			break
		}
	}
	if victim == nil {
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
		if s.adm.ipsWith[old]--; s.adm.ipsWith[old] == 0 {
			delete(s.adm.ipsWith, old)
		}
	}
	if n > 0 {
		s.adm.poolPerIP[ip] = n
		s.adm.ipsWith[n]++
	} else {
		delete(s.adm.poolPerIP, ip)
	}
	switch {
	case n > s.adm.heaviest:
		s.adm.heaviest = n
	case old == s.adm.heaviest && s.adm.ipsWith[old] == 0:
		s.adm.heaviest = max(n, 0) // this IP was the only one that heavy
	}
}

// joinPoolLocked puts a new session into the unverified pool.
func (s *Server) joinPoolLocked(c *session) {
	c.pool = s.adm.pool.PushBack(c)
	s.countPoolIP(c.addr.Addr(), +1)
}

// leavePoolLocked takes a session out of the unverified pool, once.
func (s *Server) leavePoolLocked(c *session) {
	if c.parked != nil {
		s.adm.parked.Remove(c.parked)
		c.parked, c.parkedHello = nil, nil
	}
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
		}
		c.parkedHello = append(c.parkedHello[:0], hello...)
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
	s.wg.Add(1)
	go s.handshake(s.ctx, c)
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
	for _, e := range s.adm.queue {
		if e.addr == q.addr && e.sess == q.sess {
			return // a retransmission of a ClientHello already waiting
		}
	}
	if len(s.adm.queue) >= s.cfg.MaxPendingHandshakes || s.adm.queueBytes+len(q.data) > admissionQueueBytes ||
		s.adm.queuePerIP[ip] >= max(1, s.cfg.MaxPendingHandshakes/4) {
		s.rejected.Add(1)
		if q.sess != nil {
			s.later(func() { q.sess.end("the server is busy: every handshake slot is taken", false) })
		}
		return
	}
	s.adm.queue = append(s.adm.queue, q)
	s.adm.queueBytes += len(q.data)
	s.adm.queuePerIP[ip]++
}

// expireQueueLocked drops queued ClientHellos the client has retransmitted
// by now (listen mode) — the retransmission queues afresh. Attach-mode
// sessions stay until their handshake timeout.
func (s *Server) expireQueueLocked(now time.Time) {
	keep := s.adm.queue[:0]
	for _, e := range s.adm.queue {
		if e.sess == nil && now.Sub(e.at) > admissionWindow {
			s.removeQueuedLocked(e)
			s.rejected.Add(1)
			continue
		}
		keep = append(keep, e)
	}
	clear(s.adm.queue[len(keep):])
	s.adm.queue = keep
}

func (s *Server) removeQueuedLocked(e queuedHello) {
	s.adm.queueBytes -= len(e.data)
	decrement(s.adm.queuePerIP, e.addr.Addr())
}

// admitParkedLocked verifies parked sessions, oldest first, while the
// server has room for them, and hands pion the ClientHello each one's
// client echoed its cookie with.
func (s *Server) admitParkedLocked() {
	for e := s.adm.parked.Front(); e != nil; {
		next := e.Next()
		c := e.Value.(*session)
		if len(s.peers)+s.adm.verified >= s.cfg.MaxPeers {
			return // no room at all
		}
		if !s.serverFullLocked(c.addr.Addr()) {
			hello := c.parkedHello
			s.leavePoolLocked(c) // unparks it too
			s.verifyLocked(c, nil)
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
// are free.
func (s *Server) admitQueuedLocked(now time.Time) {
	s.slotFreed = false
	s.admitParkedLocked() // they proved their address, and are older
	if len(s.adm.queue) == 0 {
		return
	}
	s.expireQueueLocked(now)
	keep := s.adm.queue[:0]
	for i, e := range s.adm.queue {
		ip := e.addr.Addr()
		global, perIP := s.poolFullLocked(ip)
		if global {
			keep = append(keep, s.adm.queue[i:]...)
			break
		}
		if perIP {
			keep = append(keep, e)
			continue
		}
		s.removeQueuedLocked(e)
		if e.sess != nil {
			if e.sess.isClosed() {
				continue
			}
			s.startUnverifiedLocked(e.addr, e.sess.random, nil, e.sess, now)
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
	clear(s.adm.queue[len(keep):])
	s.adm.queue = keep
}

// unqueueLocked removes an attach-mode session from the queue (it closed).
func (s *Server) unqueueLocked(c *session) {
	for i, e := range s.adm.queue {
		if e.sess == c {
			s.removeQueuedLocked(e)
			s.adm.queue = append(s.adm.queue[:i], s.adm.queue[i+1:]...)
			return
		}
	}
}
