package main

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"godtls/extension/server"
)

// pacerPoll is one poll() of the pacer alone, with events as the server's
// new ones. It returns what was emitted.
func pacerPoll(p *endPacer, limit int, events ...server.Event) []string {
	var out []string
	p.pace(limit, sliceEvents(events), func(ev server.Event) { out = append(out, describe(ev)) })
	return out
}

// sliceEvents gives events one at a time, as Server.NextEvent does.
func sliceEvents(events []server.Event) func() (server.Event, bool) {
	return func() (server.Event, bool) {
		if len(events) == 0 {
			return server.Event{}, false
		}
		ev := events[0]
		events = events[1:]
		return ev, true
	}
}

func describe(ev server.Event) string {
	switch ev.Kind {
	case server.EventConnected:
		return "+" + ev.Addr.String()
	case server.EventDisconnected:
		return "-" + ev.Addr.String()
	case server.EventDrained:
		return "drained"
	}
	return fmt.Sprintf("kind %d %s", ev.Kind, ev.Addr)
}

func addrN(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(1000+i))
}

func ends(from, to int) []server.Event {
	var evs []server.Event
	for i := from; i < to; i++ {
		evs = append(evs, server.Event{Kind: server.EventDisconnected, Addr: addrN(i)})
	}
	return evs
}

func described(prefix string, from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, prefix+addrN(i).String())
	}
	return s
}

// A burst of 250 ends with a limit of 100 goes out over three polls, in
// order; drained, which followed them, comes after the last; a connect in
// the burst is not held.
func TestEndPacerSpreadsABurst(t *testing.T) {
	var p endPacer
	burst := ends(0, 250)
	connect := server.Event{Kind: server.EventConnected, Addr: addrN(999)}
	events := append(append(slices.Clone(burst[:150]), connect), burst[150:]...)
	events = append(events, server.Event{Kind: server.EventDrained})

	first := pacerPoll(&p, 100, events...)
	want := append(described("-", 0, 100), "+"+addrN(999).String())
	if !slices.Equal(first, want) {
		t.Fatalf("first poll emitted %v,\nwant %v", first, want)
	}
	if p.pending() != 150 {
		t.Fatalf("%d ends held after the first poll, want 150", p.pending())
	}
	if got := pacerPoll(&p, 100); !slices.Equal(got, described("-", 100, 200)) {
		t.Fatalf("second poll emitted %v", got)
	}
	if got := pacerPoll(&p, 100); !slices.Equal(got, append(described("-", 200, 250), "drained")) {
		t.Fatalf("third poll emitted %v", got)
	}
	if got := pacerPoll(&p, 100); len(got) != 0 || p.pending() != 0 || p.heldAddrs != nil && len(p.heldAddrs) != 0 {
		t.Fatalf("a fourth poll emitted %v; %d held, %d addresses", got, p.pending(), len(p.heldAddrs))
	}
}

// With no limit, every end goes out in the poll that took it, in the
// order the server queued the events.
func TestEndPacerNoLimit(t *testing.T) {
	var p endPacer
	events := append(ends(0, 500), server.Event{Kind: server.EventConnected, Addr: addrN(999)}, server.Event{Kind: server.EventDrained})
	got := pacerPoll(&p, 0, events...)
	want := append(described("-", 0, 500), "+"+addrN(999).String(), "drained")
	if !slices.Equal(got, want) || p.pending() != 0 {
		t.Fatalf("emitted %d events, %d held; want all 502 in order", len(got), p.pending())
	}
}

// A new peer from an address whose earlier peer's end is held is
// announced after that end (and the ends before it, which keep their
// order), whatever the limit: a game that keys players by address must
// not remove the new player when the old one's end comes.
func TestEndPacerAddressOrder(t *testing.T) {
	var p endPacer
	reconnect := server.Event{Kind: server.EventConnected, Addr: addrN(7)}
	got := pacerPoll(&p, 5, append(ends(0, 20), reconnect)...)
	want := append(described("-", 0, 8), "+"+addrN(7).String())
	if !slices.Equal(got, want) {
		t.Fatalf("emitted %v,\nwant %v", got, want)
	}
	if p.pending() != 12 || p.heldAddrs[addrN(7)] != 0 || p.heldAddrs[addrN(8)] != 1 {
		t.Fatalf("%d held; address counts %v", p.pending(), p.heldAddrs)
	}
	if got := pacerPoll(&p, 5); !slices.Equal(got, described("-", 8, 13)) {
		t.Fatalf("the next poll emitted %v", got)
	}
}

// An end that arrives while others are held waits behind them, even in a
// poll that has emitted fewer than the limit.
func TestEndPacerKeepsOrderAcrossPolls(t *testing.T) {
	var p endPacer
	pacerPoll(&p, 2, ends(0, 5)...) // 0 and 1 out, 2..4 held
	got := pacerPoll(&p, 2, ends(5, 6)...)
	if !slices.Equal(got, described("-", 2, 4)) {
		t.Fatalf("emitted %v, want the two oldest held ends", got)
	}
	if got := pacerPoll(&p, 10); !slices.Equal(got, described("-", 4, 6)) {
		t.Fatalf("then %v", got)
	}
}

// What is held stays bounded, in items and in bytes, when ends come
// faster than the limit lets them out: past the bound the oldest held end
// goes out at once, in order, and none is lost.
func TestEndPacerBounds(t *testing.T) {
	var p endPacer
	got := pacerPoll(&p, 1, ends(0, maxHeldEnds+11)...)
	if want := described("-", 0, 11); !slices.Equal(got, want) {
		t.Fatalf("emitted %d ends (%v...), want the 11 oldest: 1 by the limit, 10 over the item bound", len(got), got[:min(len(got), 3)])
	}
	if p.pending() != maxHeldEnds {
		t.Fatalf("%d ends held, want at most %d", p.pending(), maxHeldEnds)
	}

	var q endPacer
	long := make([]server.Event, 2000)
	for i := range long {
		long[i] = server.Event{Kind: server.EventDisconnected, Addr: addrN(i), Reason: string(make([]byte, 1024))}
	}
	out := len(pacerPoll(&q, 1, long...))
	if q.heldBytes > maxHeldBytes || q.heldBytes != q.pending()*heldSize(long[0]) {
		t.Fatalf("%d bytes held for %d ends, bound %d", q.heldBytes, q.pending(), maxHeldBytes)
	}
	if out+q.pending() != len(long) || q.pending() < maxHeldBytes/heldSize(long[0]) {
		t.Fatalf("%d emitted and %d held of %d: the bound let out more than it had to, or lost some", out, q.pending(), len(long))
	}
	if pacerPoll(&q, 0); q.pending() != 0 || q.heldBytes != 0 {
		t.Fatalf("after a flush with no limit: %d ends held, %d bytes still counted", q.pending(), q.heldBytes)
	}
}

// Two drains while ends are held (the game refused new connections, let
// them in again and refused them again before the ends were out) give two
// drained signals after the last end, not one.
func TestEndPacerKeepsEveryDrained(t *testing.T) {
	var p endPacer
	drained := server.Event{Kind: server.EventDrained}
	pacerPoll(&p, 1, append(ends(0, 3), drained, drained)...)
	if got := pacerPoll(&p, 5); !slices.Equal(got, append(described("-", 1, 3), "drained", "drained")) {
		t.Fatalf("emitted %v", got)
	}
}

// The ends of a poll that took its time budget (disconnect_budget_ms) go
// back to the pacer in order, before those it held already; a connect
// among them still comes after its address's end, and drained after the
// last end.
func TestEndPacerRequeue(t *testing.T) {
	var p endPacer
	var ready []server.Event
	p.pace(4, sliceEvents(ends(0, 6)), func(ev server.Event) { ready = append(ready, ev) })
	// the first end is emitted, then the budget is spent
	var again []string
	p.requeue(ready[1:], func(ev server.Event) { again = append(again, describe(ev)) })
	if len(again) != 0 || p.pending() != 5 || p.heldBytes != 5*heldSize(ready[0]) || p.heldAddrs[addrN(1)] != 1 {
		t.Fatalf("requeue emitted %v and holds %d ends (%d bytes, addresses %v); want none emitted, 5 held", again, p.pending(), p.heldBytes, p.heldAddrs)
	}
	if got := pacerPoll(&p, 0); !slices.Equal(got, described("-", 1, 6)) {
		t.Fatalf("the next poll emitted %v, want ends 1 to 5 in order", got)
	}

	var q endPacer
	ready = nil
	reconnect := server.Event{Kind: server.EventConnected, Addr: addrN(1)}
	drained := server.Event{Kind: server.EventDrained}
	q.pace(0, sliceEvents(append(ends(0, 2), reconnect, ends(2, 3)[0], drained)), func(ev server.Event) { ready = append(ready, ev) })
	again = nil
	q.requeue(ready[1:], func(ev server.Event) { again = append(again, describe(ev)) })
	if want := []string{"-" + addrN(1).String(), "+" + addrN(1).String()}; !slices.Equal(again, want) {
		t.Fatalf("requeue emitted %v, want %v: the reconnect after its address's end", again, want)
	}
	if got := pacerPoll(&q, 0); !slices.Equal(got, []string{"-" + addrN(2).String(), "drained"}) {
		t.Fatalf("the next poll emitted %v, want the held end, then drained", got)
	}
}
