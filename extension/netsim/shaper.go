package netsim

import (
	"container/heap"
	"net/netip"
	"sync"
	"time"
)

// Bounds of what one direction of one socket holds in flight.
const (
	maxQueued      = 8192
	maxQueuedBytes = 8 << 20
)

// datagram is one datagram on its way, or (err != nil) a read error the
// reader must see.
type datagram struct {
	b    []byte
	addr netip.AddrPort
	err  error
	due  time.Time
	seq  uint64
}

// shaper is one direction of one socket: datagrams wait in a heap until
// they are due (after the bottleneck and the latency), and one goroutine
// hands them on in that order.
type shaper struct {
	link    *Link
	deliver func(datagram)

	mu        sync.Mutex
	q         dueHeap
	bytes     int
	busyUntil time.Time // when the bandwidth bottleneck is free again
	seq       uint64

	wake chan struct{}
	stop <-chan struct{}
}

func newShaper(l *Link, deliver func(datagram), stop <-chan struct{}) *shaper {
	return &shaper{link: l, deliver: deliver, wake: make(chan struct{}, 1), stop: stop}
}

// push schedules b (owned from now on) under s.
func (sh *shaper) push(b []byte, addr netip.AddrPort, s *Settings) {
	lost, delays := sh.link.fate(s)
	if lost {
		sh.link.Lost.Add(1)
		return
	}
	now := time.Now()
	sh.mu.Lock()
	depart := now
	if s.BandwidthKbps > 0 {
		if sh.busyUntil.Before(now) {
			sh.busyUntil = now
		}
		if sh.busyUntil.Sub(now) > BottleneckQueue {
			sh.mu.Unlock()
			sh.link.Overflowed.Add(1)
			return
		}
		sh.busyUntil = sh.busyUntil.Add(time.Duration(len(b)) * 8 * time.Second / time.Duration(s.BandwidthKbps*1000))
		depart = sh.busyUntil
	}
	for i, d := range delays {
		if len(sh.q) >= maxQueued || sh.bytes+len(b) > maxQueuedBytes {
			sh.link.Overflowed.Add(1)
			continue
		}
		if i > 0 {
			sh.link.Duplicated.Add(1)
		}
		sh.seq++
		heap.Push(&sh.q, datagram{b: b, addr: addr, due: depart.Add(time.Duration(d)), seq: sh.seq})
		sh.bytes += len(b)
	}
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// run hands datagrams on as they fall due, until stop closes.
func (sh *shaper) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []datagram
	for {
		sh.mu.Lock()
		now := time.Now()
		due = due[:0]
		for len(sh.q) > 0 && !sh.q[0].due.After(now) {
			d := heap.Pop(&sh.q).(datagram)
			sh.bytes -= len(d.b)
			due = append(due, d)
		}
		wait := time.Hour
		if len(sh.q) > 0 {
			wait = sh.q[0].due.Sub(now)
		}
		sh.mu.Unlock()
		for _, d := range due {
			sh.deliver(d)
		}
		timer.Reset(wait)
		select {
		case <-sh.wake:
		case <-timer.C:
		case <-sh.stop:
			return
		}
	}
}

// dueHeap orders datagrams by due time, then by arrival.
type dueHeap []datagram

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(datagram)) }
func (h *dueHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = datagram{}
	*h = old[:len(old)-1]
	return d
}
