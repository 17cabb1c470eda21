package main

import (
	"net/netip"

	"godtls/extension/server"
)

// endPacer spreads a burst of peer ends over frames. Each
// peer_disconnected costs Godot's thread a peer object (made if the game
// let it go) and a signal with every handler connected to it; when a
// thousand peers end at once (a network cut, the other side's mass
// close) one poll() would pay for all of them in one frame. poll() emits
// at most limit ends; the rest wait, in order, for the next polls.
//
// What the game sees stays ordered where it matters:
//   - each peer's peer_connected comes before its peer_disconnected (a
//     connect is never held, an end only after its connect);
//   - an address's held end is emitted before a new peer from that
//     address is announced, so a game that keys players by address does
//     not remove the new one;
//   - drained waits until every held end is out.
//
// Only ends are held: a held peer_connected would let receive_all() hand
// out packets of a peer the game was not told of.
//
// The caller serialises the calls (gdServer.endsMu) and emits what it is
// given after it lets go of its lock.
//
// What it holds is bounded, in items and in bytes: peers that end faster
// than the limit lets out for long (a game polling at a low rate while
// clients come and go by the thousand) would otherwise grow it for ever.
// Past maxHeldEnds or maxHeldBytes the oldest held end goes out at once,
// over the limit: the frame pays, nothing is lost.
type endPacer struct {
	held         []server.Event // Disconnected events not emitted yet, oldest first
	heldBytes    int
	heldAddrs    map[netip.AddrPort]int
	drainedAfter int // Drained events waiting behind the held ends
}

// The bounds of what an endPacer holds. An end costs about a hundred
// bytes here (the event, its reason, its address's count).
const (
	maxHeldEnds  = 4096
	maxHeldBytes = 1 << 20
)

// heldSize is what one held end counts against maxHeldBytes.
func heldSize(ev server.Event) int { return 96 + len(ev.Reason) }

// pace is one poll(): the held ends first (flush), then every event next
// gives, each emitted or held (take).
func (p *endPacer) pace(limit int, next func() (server.Event, bool), emit func(server.Event)) {
	emitted := p.flush(limit, emit)
	for ev, ok := next(); ok; ev, ok = next() {
		emitted += p.take(ev, limit, emitted, emit)
	}
}

// take emits ev now or holds it: an end is held once limit ends (0: no
// limit) were emitted in this poll (emitted counts them) or while others
// are held. It returns how many ends it emitted.
func (p *endPacer) take(ev server.Event, limit, emitted int, emit func(server.Event)) (endsEmitted int) {
	switch ev.Kind {
	case server.EventDisconnected:
		if len(p.held) == 0 && (limit <= 0 || emitted < limit) {
			emit(ev)
			return 1
		}
		n := 0
		for len(p.held) > 0 && (len(p.held) >= maxHeldEnds || p.heldBytes+heldSize(ev) > maxHeldBytes) {
			n += p.release(1, emit)
		}
		p.hold(ev)
		return n
	case server.EventDrained:
		if len(p.held) > 0 {
			p.drainedAfter++
			return 0
		}
		emit(ev)
		return 0
	case server.EventConnected:
		n := 0
		if p.heldAddrs[ev.Addr] > 0 {
			// the address's earlier peer ended first: say so first,
			// whatever the limit
			n = p.releaseThrough(ev.Addr, emit)
		}
		emit(ev)
		return n
	default:
		emit(ev)
		return 0
	}
}

func (p *endPacer) hold(ev server.Event) {
	if p.heldAddrs == nil {
		p.heldAddrs = map[netip.AddrPort]int{}
	}
	p.held = append(p.held, ev)
	p.heldBytes += heldSize(ev)
	p.heldAddrs[ev.Addr]++
}

// releaseThrough emits the held ends up to and including the last one of
// addr, oldest first, so that the ends keep their order.
func (p *endPacer) releaseThrough(addr netip.AddrPort, emit func(server.Event)) int {
	last := -1
	for i, ev := range p.held {
		if ev.Addr == addr {
			last = i
		}
	}
	return p.release(last+1, emit)
}

// flush emits the held ends, at most limit of them (0: no limit), oldest
// first, and the drained events behind them once none is held.
func (p *endPacer) flush(limit int, emit func(server.Event)) int {
	n := len(p.held)
	if limit > 0 {
		n = min(n, limit)
	}
	n = p.release(n, emit)
	for ; len(p.held) == 0 && p.drainedAfter > 0; p.drainedAfter-- {
		emit(server.Event{Kind: server.EventDrained})
	}
	return n
}

func (p *endPacer) release(n int, emit func(server.Event)) int {
	out := p.held[:n]
	p.held = p.held[n:]
	if len(p.held) == 0 {
		p.held = nil // give back the burst's backing array
	}
	for _, ev := range out {
		p.heldBytes -= heldSize(ev)
		if p.heldAddrs[ev.Addr]--; p.heldAddrs[ev.Addr] <= 0 {
			delete(p.heldAddrs, ev.Addr)
		}
	}
	for _, ev := range out {
		emit(ev)
	}
	return n
}

// requeue takes back the events of a poll that were not emitted because
// the poll's disconnect_budget_ms had passed: each of their ends is held
// again, before those held already (which came after them), and each of
// the others goes to emit as take would give it (a connect first releases
// its address's held ends, a drained waits behind the held ends). The
// caller calls it once per poll: the ends a connect released must then go
// out.
func (p *endPacer) requeue(rest []server.Event, emit func(server.Event)) {
	newer := p.held
	p.held, p.heldBytes, p.heldAddrs = nil, 0, nil
	for _, ev := range rest {
		p.takeSpent(ev, emit)
	}
	for _, ev := range newer {
		p.takeSpent(ev, emit)
	}
}

// takeSpent is take once the poll may emit no more ends (its limit of 1
// already reached): every end is held, the other events go as take gives
// them.
func (p *endPacer) takeSpent(ev server.Event, emit func(server.Event)) {
	p.take(ev, 1, 1, emit)
}

// pending is how many ends are held.
func (p *endPacer) pending() int { return len(p.held) }

// clear drops what is held (the server object is being freed).
func (p *endPacer) clear() { *p = endPacer{} }
