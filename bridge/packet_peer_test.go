package main

import "testing"

// A thread keeps its slot; each new thread gets one of its own up to
// maxReadingThreads; past that, the least recently used slot is taken over
// and the others stay with their threads.
func TestHandOverSlotPerThread(t *testing.T) {
	var p packetBuffer
	first := p.slotOf(1)
	if again := p.slotOf(1); again != first {
		t.Fatal("a thread's second read got another slot")
	}
	for th := uint64(2); th <= maxReadingThreads; th++ {
		if s := p.slotOf(th); s.thread != th {
			t.Fatalf("thread %d got the slot of thread %d", th, s.thread)
		}
	}
	if len(p.slots) != maxReadingThreads {
		t.Fatalf("%d slots for %d threads", len(p.slots), maxReadingThreads)
	}
	// thread 1 read most recently of the first two, so thread 2's slot is
	// the least recently used once thread 1 reads again
	p.slotOf(1)
	taken := p.slotOf(100)
	if len(p.slots) != maxReadingThreads {
		t.Fatalf("a thread past the bound grew the slots to %d", len(p.slots))
	}
	if taken != &p.slots[1] || taken.thread != 100 {
		t.Fatalf("thread 100 took slot of thread %d, want thread 2's", taken.thread)
	}
	for i, s := range p.slots {
		if i != 1 && s.thread != uint64(i+1) {
			t.Fatalf("slot %d moved to thread %d", i, s.thread)
		}
	}
}
