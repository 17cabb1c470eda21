package link

import (
	"errors"
	"sync"
	"testing"
)

type nopTarget struct{}

func (nopTarget) Write([]byte) {}

func numbered(i int) job { return job{to: nopTarget{}, b: []byte{byte(i), byte(i >> 8)}} }

func number(j job) int { return int(j.b[0]) | int(j.b[1])<<8 }

// The queue keeps order and its bound in packets, hands over what it holds
// after it closes, and refuses more.
func TestWriterQueueOrderBoundAndClose(t *testing.T) {
	q := newWriterQueue(100)
	for i := range 100 {
		if err := q.push(numbered(i)); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := q.push(numbered(100)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("push past the bound: %v, want ErrQueueFull", err)
	}
	got, ok := q.take(nil, 64)
	if !ok || len(got) != 64 || number(got[0]) != 0 || number(got[63]) != 63 {
		t.Fatalf("first take: %d jobs, ok %v", len(got), ok)
	}
	if err := q.push(numbered(100)); err != nil { // room again
		t.Fatal(err)
	}
	q.close()
	if err := q.push(numbered(101)); !errors.Is(err, ErrStopped) {
		t.Fatalf("push after close: %v, want ErrStopped", err)
	}
	got, ok = q.take(got[:0], 64)
	if !ok || len(got) != 37 || number(got[0]) != 64 || number(got[36]) != 100 {
		t.Fatalf("take after close: %d jobs, ok %v", len(got), ok)
	}
	if _, ok = q.take(got[:0], 64); ok {
		t.Fatal("a closed, empty queue handed out more")
	}
}

// A drained queue lets a burst's storage go, and under steady load (a
// reader never quite catching up) the slice stays near what waits.
func TestWriterQueueStorage(t *testing.T) {
	q := newWriterQueue(8192)
	for i := range 8192 {
		_ = q.push(numbered(i))
	}
	for ok := true; ok && len(q.jobs)-q.head > 0; {
		_, ok = q.take(nil, 64)
	}
	if cap(q.jobs) > keptJobs {
		t.Fatalf("a drained queue keeps %d slots, want at most %d", cap(q.jobs), keptJobs)
	}
	// Two in, one out: the backlog grows to the bound, then holds there,
	// in order.
	pushed, taken := 0, 0
	for i := range 100000 {
		for range 2 {
			if q.push(numbered(pushed)) == nil {
				pushed++
			}
		}
		got, _ := q.take(nil, 1)
		for _, j := range got {
			if number(j) != taken%65536 {
				t.Fatalf("took job %d, want %d", number(j), taken%65536)
			}
			taken++
		}
		if len(q.jobs) > 2*q.max {
			t.Fatalf("after %d rounds the slice holds %d slots for %d waiting", i, len(q.jobs), len(q.jobs)-q.head)
		}
	}
	if pushed-taken != q.max-1 { // the bound, less the last round's take
		t.Fatalf("%d waiting, want %d", pushed-taken, q.max-1)
	}
}

// Concurrent pushers and one taker: every job arrives once, each pusher's
// in its order.
func TestWriterQueueConcurrent(t *testing.T) {
	q := newWriterQueue(1 << 20)
	const pushers, each = 4, 5000
	var wg sync.WaitGroup
	for p := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				for q.push(job{to: nopTarget{}, b: []byte{byte(p), byte(i), byte(i >> 8)}}) != nil {
				}
			}
		}()
	}
	go func() { wg.Wait(); q.close() }()
	next := make([]int, pushers)
	var jobs []job
	for ok := true; ok; {
		if jobs, ok = q.take(jobs[:0], 64); ok {
			for _, j := range jobs {
				p, i := int(j.b[0]), int(j.b[1])|int(j.b[2])<<8
				if i != next[p] {
					t.Fatalf("pusher %d: job %d, want %d", p, i, next[p])
				}
				next[p]++
			}
		}
	}
	for p, n := range next {
		if n != each {
			t.Fatalf("pusher %d: %d of %d jobs", p, n, each)
		}
	}
}
