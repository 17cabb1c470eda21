package queue

import (
	"sync"
	"testing"
)

func TestPacketsOrderAndBound(t *testing.T) {
	q := NewPackets(3, 1<<20)
	for i := 0; i < 5; i++ {
		q.Push([]byte{byte(i)})
	}
	if q.Len() != 3 || q.Dropped() != 2 {
		t.Fatalf("len %d dropped %d, want 3 and 2", q.Len(), q.Dropped())
	}
	for want := 0; want < 3; want++ {
		p, ok := q.Pop()
		if !ok || p[0] != byte(want) {
			t.Fatalf("pop %d: got %v %v", want, p, ok)
		}
	}
	if _, ok := q.Pop(); ok {
		t.Fatal("pop from empty queue succeeded")
	}
	// wrap-around keeps FIFO order
	for i := 0; i < 10; i++ {
		q.Push([]byte{byte(i)})
		p, _ := q.Pop()
		if p[0] != byte(i) {
			t.Fatalf("wrap %d: got %d", i, p[0])
		}
	}
}

func TestPacketsConcurrentCountIsExact(t *testing.T) {
	q := NewPackets(1000, 1<<20)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				q.Push([]byte{1})
			}
		}()
	}
	wg.Wait()
	if q.Len()+int(q.Dropped()) != 2000 || q.Len() != 1000 {
		t.Fatalf("len %d + dropped %d != 2000", q.Len(), q.Dropped())
	}
}

func TestPacketsGrowKeepsOrder(t *testing.T) {
	q := NewPackets(100, 1<<20)
	// interleave so the ring wraps before it grows
	for i := 0; i < 5; i++ {
		q.Push([]byte{byte(i)})
	}
	for i := 0; i < 3; i++ {
		q.Pop()
	}
	for i := 5; i < 100; i++ {
		if !q.Push([]byte{byte(i)}) {
			t.Fatalf("push %d refused below the limit", i)
		}
	}
	if q.Len() != 97 || q.Cap() != 100 {
		t.Fatalf("len %d cap %d", q.Len(), q.Cap())
	}
	for want := 3; want < 100; want++ {
		p, _ := q.Pop()
		if p[0] != byte(want) {
			t.Fatalf("got %d want %d", p[0], want)
		}
	}
	for i := 0; i < 101; i++ {
		q.Push([]byte{1})
	}
	if q.Len() != 100 || q.Dropped() != 1 {
		t.Fatalf("limit: len %d dropped %d", q.Len(), q.Dropped())
	}
}

func TestByteBound(t *testing.T) {
	q := NewPackets(100, 10)
	if !q.Push(make([]byte, 6)) || q.Push(make([]byte, 5)) {
		t.Fatal("the second packet would pass 10 bytes and must be refused")
	}
	if !q.Push(make([]byte, 4)) || q.Bytes() != 10 || q.Dropped() != 1 {
		t.Fatalf("bytes %d dropped %d", q.Bytes(), q.Dropped())
	}
	q.Pop()
	if q.Bytes() != 4 || !q.Push(make([]byte, 6)) {
		t.Fatal("popping must give the bytes back")
	}
	if NewPackets(10, 8).Push(make([]byte, 9)) {
		t.Fatal("a packet larger than the byte bound is never accepted")
	}
}

// Front shows the oldest event and leaves it: the multiplayer engine may
// hold a peer's end back until the game's next poll.
func TestEventsFrontLeavesTheEvent(t *testing.T) {
	q := NewEvents[int](4)
	if _, ok := q.Front(); ok {
		t.Fatal("Front of an empty queue")
	}
	q.Push(1)
	q.Push(2)
	for i := 0; i < 2; i++ {
		if e, ok := q.Front(); !ok || e != 1 {
			t.Fatalf("Front gave %d, %v; want 1", e, ok)
		}
	}
	if e, _ := q.Pop(); e != 1 {
		t.Fatalf("Pop after Front gave %d, want 1", e)
	}
	if e, _ := q.Front(); e != 2 {
		t.Fatalf("Front gave %d, want 2", e)
	}
}
