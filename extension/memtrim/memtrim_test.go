package memtrim

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTrimmer counts trims instead of collecting, and reads its allocation
// count from the test.
func fakeTrimmer(quiet time.Duration, minAllocated uint64, allocated *atomic.Uint64, during func()) *Trimmer {
	t := New(quiet, minAllocated)
	t.allocated = allocated.Load
	t.live = func() uint64 { return 0 }
	t.trim = func() {
		if during != nil {
			during()
		}
	}
	return t
}

// waitFor polls until cond holds or a generous bound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTrimsOnceAfterTheBurst: handshakes that keep ending hold the trim
// back; once they stop, one trim follows.
func TestTrimsOnceAfterTheBurst(t *testing.T) {
	var allocated atomic.Uint64
	tr := fakeTrimmer(100*time.Millisecond, 1000, &allocated, nil)
	defer tr.Stop()
	for i := 0; i < 40; i++ { // 400 ms of handshakes, one every 10 ms
		allocated.Add(100)
		tr.HandshakeEnded()
		time.Sleep(10 * time.Millisecond)
	}
	if n := tr.Trims(); n != 0 {
		t.Fatalf("%d trims while handshakes kept ending every 10 ms (quiet 100 ms)", n)
	}
	waitFor(t, "the trim after the burst", func() bool { return tr.Trims() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := tr.Trims(); n != 1 {
		t.Fatalf("%d trims after one burst", n)
	}
}

// TestNoTrimWithoutAllocation: a handshake that allocated less than
// MinAllocated since the last trim does not cost a collection.
func TestNoTrimWithoutAllocation(t *testing.T) {
	var allocated atomic.Uint64
	tr := fakeTrimmer(20*time.Millisecond, 1000, &allocated, nil)
	defer tr.Stop()
	allocated.Add(2000)
	tr.HandshakeEnded()
	waitFor(t, "the first trim", func() bool { return tr.Trims() == 1 })
	checkThreshold(t, tr, &allocated, 1000, "the 1,000-byte minimum since the last trim")
}

// checkThreshold allocates one byte short of need since the last trim and
// checks that no trim follows a handshake's end; then the last byte, and a
// trim must follow.
func checkThreshold(t *testing.T, tr *Trimmer, allocated *atomic.Uint64, need uint64, what string) {
	t.Helper()
	before := tr.Trims()
	allocated.Add(need - 1)
	tr.HandshakeEnded()
	time.Sleep(200 * time.Millisecond)
	if n := tr.Trims(); n != before {
		t.Fatalf("%s: %d trims after %d bytes allocated, one short of the threshold", what, n-before, need-1)
	}
	allocated.Add(1)
	tr.HandshakeEnded()
	waitFor(t, what+": the trim at the threshold", func() bool { return tr.Trims() == before+1 })
}

// TestStopWaitsForTheTrimAndCancelsThePending: nothing of the trimmer runs
// after Stop returns.
func TestStopWaitsForTheTrimAndCancelsThePending(t *testing.T) {
	var allocated atomic.Uint64
	allocated.Add(1 << 20)
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	tr := fakeTrimmer(10*time.Millisecond, 1, &allocated, func() {
		close(entered)
		<-release
		finished.Store(true)
	})
	tr.HandshakeEnded()
	<-entered
	stopped := make(chan struct{})
	go func() {
		tr.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a trim was under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-stopped
	if !finished.Load() {
		t.Fatal("Stop returned before the trim finished")
	}

	// A pending trim is cancelled, and a handshake after Stop schedules none.
	var calls atomic.Int32
	tr2 := fakeTrimmer(50*time.Millisecond, 1, &allocated, func() { calls.Add(1) })
	allocated.Add(10)
	tr2.HandshakeEnded()
	tr2.Stop()
	tr2.HandshakeEnded()
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d trims after Stop", n)
	}
}

// TestTheThresholdGrowsWithTheLiveHeap: a large live heap needs a quarter
// of itself allocated before a collection of it is worth one.
func TestTheThresholdGrowsWithTheLiveHeap(t *testing.T) {
	var allocated atomic.Uint64
	tr := fakeTrimmer(20*time.Millisecond, 1000, &allocated, nil)
	tr.live = func() uint64 { return 400_000 }
	defer tr.Stop()
	checkThreshold(t, tr, &allocated, 100_000, "a quarter of 400,000 live bytes")
}

// TestTheRealReadings: the metrics read are this Go's (a renamed one would
// read 0 and trim nothing).
func TestTheRealReadings(t *testing.T) {
	runtime.GC()
	before := readMetric(allocsMetric)
	sink = make([]byte, 1<<20)
	if after := readMetric(allocsMetric); after < before+1<<20 {
		t.Fatalf("heap allocations %d then %d after allocating 1 MiB", before, after)
	}
	if readMetric(liveMetric) == 0 {
		t.Fatal("no live heap read after a collection")
	}
}

var sink []byte

// TestReadUsage: every class is read (a renamed metric would read 0).
func TestReadUsage(t *testing.T) {
	runtime.GC()
	u := ReadUsage()
	if u.HeapLive == 0 || u.HeapInUse == 0 || u.Stacks == 0 || u.Held == 0 || u.Allocated == 0 {
		t.Fatalf("a memory class read 0: %+v", u)
	}
	if u.Held < u.HeapInUse+u.Stacks {
		t.Fatalf("held %d is less than heap %d and stacks %d", u.Held, u.HeapInUse, u.Stacks)
	}
}
