package testtool

import (
	"testing"
	"time"
)

// TestProcessCPUCounts burns CPU on this goroutine and checks the process's
// CPU time took it in: a ProcessCPU that reads nothing (0, or a clock that
// does not move) would make every CPU benchmark report zero cost.
func TestProcessCPUCounts(t *testing.T) {
	before := ProcessCPU()
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < 200*time.Millisecond {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	burnt := ProcessCPU() - before
	// The loop ran 200 ms of wall time on one thread; a loaded machine may
	// have given it less than all of it, but not under a quarter.
	if burnt < 50*time.Millisecond {
		t.Fatalf("ProcessCPU moved %v over 200 ms of a busy loop (x=%d)", burnt, x)
	}
}
