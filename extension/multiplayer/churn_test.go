package multiplayer

// Churn leaks nothing in the MultiplayerPeer: clients join, exchange a
// reliable message each way and leave, two thousand times over; the heap and
// the goroutine count return to the baseline taken after a warm-up.

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"godtls/extension/client"
	"godtls/extension/internal/testtool"
)

func TestChurnLeaksNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: thousands of sessions")
	}
	const (
		warmup = 100
		cycles = 2000
		slack  = 1 << 20 // a leak of 1 KB a session would show
	)
	m := startServer(t, 16, Options{})
	defer gameLoop(time.Millisecond, func() { // the game: drains events and echoes every message
		for _, ok := m.NextEvent(); ok; _, ok = m.NextEvent() {
		}
		// the DTLS server's own events, as the bridge's poll drains them
		for _, ok := m.DTLS().NextEvent(); ok; _, ok = m.DTLS().NextEvent() {
		}
		for p, ok := m.Pop(); ok; p, ok = m.Pop() {
			_ = m.Send(p.From, p.Channel, p.Mode, p.Data)
		}
	})()

	cycle := func(i int) error {
		c, err := Dial("127.0.0.1", port(m), client.Config{Insecure: true}, Options{})
		if err != nil {
			return err
		}
		defer c.Close("done")
		deadline := time.Now().Add(20 * time.Second)
		for c.Status() != Connected {
			if c.Status() == Disconnected || time.Now().After(deadline) {
				return fmt.Errorf("cycle %d: not connected (%d)", i, c.Status())
			}
			time.Sleep(time.Millisecond)
		}
		msg := fmt.Sprintf("cycle %d", i)
		if err := c.Send(0, Reliable, []byte(msg)); err != nil {
			return err
		}
		for {
			if p, ok := c.Pop(); ok {
				if string(p.Data) != msg {
					return fmt.Errorf("cycle %d: echo %q", i, p.Data)
				}
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cycle %d: no echo", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	run := func(from, n int) {
		for _, err := range testtool.Workers(4, from, n, cycle) {
			t.Fatal(err)
		}
	}
	measure := func() (uint64, int) {
		deadline := time.Now().Add(30 * time.Second)
		for m.DTLS().Stats().Peers > 0 || len(m.Peers()) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("sessions left: %d, DTLS peers %d", len(m.Peers()), m.DTLS().Stats().Peers)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // the last sessions' goroutines end
		return testtool.HeapAfterGC(), runtime.NumGoroutine()
	}
	run(0, warmup)
	heap0, g0 := measure()
	run(warmup, cycles)
	heap1, g1 := measure()
	grew := int64(heap1) - int64(heap0)
	t.Logf("%d sessions: heap %d -> %d bytes (%+d), goroutines %d -> %d", cycles, heap0, heap1, grew, g0, g1)
	if grew > slack {
		t.Errorf("the heap grew by %d bytes over %d sessions (%d a session)", grew, cycles, grew/cycles)
	}
	if g1 > g0 {
		t.Errorf("%d goroutines after the churn, %d before", g1, g0)
	}
}
