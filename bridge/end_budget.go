package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

// max_disconnects_per_poll and disconnect_budget_ms, on GoDTLSServer and
// GoDTLSMultiplayerPeer. disconnect_budget_ms is how long after emitting
// its first peer_disconnected (the signal runs every handler connected to
// it) one poll() may go on emitting them; the ends after that wait for the
// next poll. The time counts whatever the poll emits meanwhile. A count
// of ends (max_disconnects_per_poll) cannot bound that time: what an end
// costs is the game's, and with SceneMultiplayer, a spawner and server
// relay it grows with the peer count (one end took 0.07 ms at 50 peers
// and up to 17 ms at 200, docs/profiles.md, "A burst of multiplayer
// ends"). The default keeps half of a 60 fps frame for the rest of the
// game.
const (
	defaultEndBudget = 8 * time.Millisecond
	maxEndBudget     = time.Second
)

// setEndLimit stores a max_disconnects_per_poll value from GDScript (0:
// no limit), or says why it is refused and leaves the old one.
func setEndLimit(class string, v int64, to *atomic.Int64) {
	if !refuseNegative(class, "max_disconnects_per_poll", 1, v) {
		to.Store(v)
	}
}

// setEndBudget stores a disconnect_budget_ms value from GDScript, or says
// why it is refused and leaves the old one.
func setEndBudget(class string, v float64, to *atomic.Int64) {
	if !(v >= 0 && v <= maxEndBudget.Seconds()*1000) { // also NaN
		pushError(class+".set_disconnect_budget_ms", fmt.Sprintf("disconnect_budget_ms must be between 0 (no budget) and %v, got %v; the value is unchanged", maxEndBudget.Seconds()*1000, v))
		return
	}
	to.Store(int64(v * float64(time.Millisecond)))
}

func endBudgetMs(from *atomic.Int64) float64 {
	return float64(from.Load()) / float64(time.Millisecond)
}

// pollEnds follows one poll's emitted ends against the budget.
type pollEnds struct {
	budget time.Duration // 0: none
	first  time.Time     // when the poll's first end was emitted
	n      int           // ends emitted
}

// emitting counts an end about to be emitted.
func (e *pollEnds) emitting() {
	if e.n == 0 {
		e.first = time.Now()
	}
	e.n++
}

// spent reports whether the budget has passed since the poll's first end
// was emitted: at least one end goes out per poll.
func (e *pollEnds) spent() bool {
	return e.budget > 0 && e.n > 0 && time.Since(e.first) >= e.budget
}
