package hostfirst

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watched installs a fresh count for one test and removes it after. A
// park lasts until the release (maxStand is raised out of the way) unless
// the test sets maxStand itself.
func watched(t *testing.T) *int32 {
	t.Helper()
	var count int32
	standing.Store(0) // what an earlier test left parked has left or been released
	Watch(&count)
	saved := SetMaxStand(time.Hour)
	t.Cleanup(func() { entering.Store(nil); SetMaxStand(saved) })
	return &count
}

func TestStandAsideReturnsWhenNoCallWaits(t *testing.T) {
	StandAside() // not watched: a no-op
	watched(t)
	done := make(chan struct{})
	go func() { StandAside(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("StandAside parked with no host call counted")
	}
}

// A counted call parks the goroutines that stand aside until it enters.
func TestStandAsideWaitsForTheCallToEnter(t *testing.T) {
	count := watched(t)
	atomic.AddInt32(count, 1) // the host, on its way in
	var returned atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); StandAside(); returned.Add(1) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for standing.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if standing.Load() != 4 || returned.Load() != 0 {
		t.Fatalf("%d goroutines standing aside and %d returned while the call was counted, want 4 and 0", standing.Load(), returned.Load())
	}
	if Waiting() != 1 {
		t.Fatalf("Waiting() = %d, want 1", Waiting())
	}
	Entered()
	wg.Wait()
	if Waiting() != 0 || standing.Load() != 0 {
		t.Fatalf("after Entered: Waiting() = %d, standing %d, want 0 and 0", Waiting(), standing.Load())
	}
}

// Calls entering while goroutines stand aside from every side: none is
// left parked after the last call entered (a lost release would hang
// wg.Wait until the test's timeout).
func TestNoGoroutineIsLeftStanding(t *testing.T) {
	count := watched(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					StandAside()
				}
			}
		}()
	}
	var calls sync.WaitGroup
	for h := 0; h < 2; h++ { // two host threads
		calls.Add(1)
		go func() {
			defer calls.Done()
			for i := 0; i < 20000; i++ {
				atomic.AddInt32(count, 1)
				Entered()
			}
		}()
	}
	calls.Wait()
	close(stop)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatalf("goroutines still standing aside with no call counted (count %d, standing %d)", atomic.LoadInt32(count), standing.Load())
	}
}

// A count that never comes down (a call counted that never entered: a bug)
// slows the goroutines that stand aside, and never holds them for good.
func TestAStuckCountOnlySlowsThemDown(t *testing.T) {
	count := watched(t)
	SetMaxStand(20 * time.Millisecond)
	atomic.AddInt32(count, 1) // and no Entered
	start := time.Now()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3; i++ {
			StandAside()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("StandAside held its goroutine with the count stuck")
	}
	if took, want := time.Since(start), 3*20*time.Millisecond; took < want {
		t.Fatalf("three parks took %v, want at least %v: they did not wait", took, want)
	}
}
