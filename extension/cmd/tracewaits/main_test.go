package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"sync"
	"testing"
	"time"
)

// waitingCaller plays Godot's thread: each wakeup is a call into the
// library.
func waitingCaller(calls <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for range calls {
	}
}

// spin holds the processor for d without blocking.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// busyWaker makes the caller runnable, then keeps the only processor for a
// while before it lets go: the caller waits that long.
func busyWaker(calls chan<- struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < 3; i++ {
		calls <- struct{}{}
		spin(4 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	close(calls)
}

// With one processor, held by the goroutine that woke the caller, the
// caller waits, and the analysis says for how long and who ran meanwhile.
func TestFindsTheCallersWaits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("a trace is already running:", err)
	}
	calls := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go waitingCaller(calls, &wg)
	go busyWaker(calls, &wg)
	wg.Wait()
	trace.Stop()

	a, err := analyze(&buf, "tracewaits.waitingCaller", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.waits) == 0 {
		t.Fatalf("no wait of 1 ms or more found (the caller was runnable %d times)", a.runnable)
	}
	w := a.waits[0]
	if w.dur() < time.Millisecond || w.perKind["godtls/extension/cmd/tracewaits.busyWaker"] < 0.5 {
		t.Fatalf("the longest wait (%v) does not show the spinner running (%v)", w.dur(), w.perKind)
	}
	var out bytes.Buffer
	a.print(&out, 1)
	t.Logf("%s", out.String())
	if _, err := analyze(bytes.NewReader(buf.Bytes()), "no such frame", time.Millisecond); err == nil {
		t.Fatal("a trace without the caller's frame was analysed")
	}
}
