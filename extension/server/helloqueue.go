package server

import (
	"container/heap"
	"container/list"
	"net/netip"
	"time"
)

// helloQueue is the admission queue: ClientHellos that found no slot, by
// source IP, each IP's oldest first, the IPs in a heap by their oldest
// entry. Every operation costs O(log IPs) or less per ClientHello: under a
// flood the demultiplexer runs it for every datagram, and the scans it
// replaced (expiry, the duplicate check, the admission pass, each over the
// whole queue) took 180 of the demultiplexer's 200 ms of CPU under a flood
// from 8 addresses (BenchmarkFloodFromFewAddresses).
type helloQueue struct {
	byIP  map[netip.Addr]*ipHellos
	order ipHeap
	known map[queueKey]*list.Element
	n     int
	bytes int
}

// queueKey tells a retransmission from a new ClientHello: one entry per
// address (listen mode) or per attach-mode session.
type queueKey struct {
	addr netip.AddrPort
	sess *session
}

func (e *queuedHello) key() queueKey { return queueKey{e.addr, e.sess} }

// ipHellos is one IP's queued ClientHellos, oldest first.
type ipHellos struct {
	ip      netip.Addr
	entries *list.List // of *queuedHello
	index   int        // in the heap; -1 when set aside
}

func newHelloQueue() helloQueue {
	return helloQueue{byIP: map[netip.Addr]*ipHellos{}, known: map[queueKey]*list.Element{}}
}

func (q *helloQueue) len() int { return q.n }

// perIP is how many ClientHellos of ip wait.
func (q *helloQueue) perIP(ip netip.Addr) int {
	if h := q.byIP[ip]; h != nil {
		return h.entries.Len()
	}
	return 0
}

// has reports whether a ClientHello with this key waits already.
func (q *helloQueue) has(k queueKey) bool { _, ok := q.known[k]; return ok }

// push queues e (the caller checked the caps and has).
func (q *helloQueue) push(e *queuedHello) {
	ip := e.addr.Addr()
	h := q.byIP[ip]
	fresh := h == nil
	if fresh {
		h = &ipHellos{ip: ip, entries: list.New()}
		q.byIP[ip] = h
	}
	q.known[e.key()] = h.entries.PushBack(e)
	if fresh {
		heap.Push(&q.order, h) // with its entry: the heap compares fronts
	}
	q.n++
	q.bytes += len(e.data)
}

// oldest returns the oldest waiting ClientHello, or nil.
func (q *helloQueue) oldest() *queuedHello {
	if len(q.order) == 0 {
		return nil
	}
	return q.order[0].entries.Front().Value.(*queuedHello)
}

// remove takes the ClientHello queued under k out of the queue, if any.
func (q *helloQueue) remove(k queueKey) {
	el, ok := q.known[k]
	if !ok {
		return
	}
	delete(q.known, k)
	e := el.Value.(*queuedHello)
	h := q.byIP[e.addr.Addr()]
	q.n--
	q.bytes -= len(e.data)
	if h.entries.Len() == 1 {
		// Out of the heap first: the heap compares fronts, and an empty
		// list has none.
		if h.index >= 0 {
			heap.Remove(&q.order, h.index)
		}
		h.entries.Remove(el)
		delete(q.byIP, h.ip)
		return
	}
	wasFront := h.entries.Front() == el
	h.entries.Remove(el)
	if wasFront && h.index >= 0 {
		heap.Fix(&q.order, h.index) // its oldest entry is younger now
	}
}

// setAside takes the IP of the oldest entry out of the heap (its entries
// stay queued) and returns it; restore puts such IPs back.
func (q *helloQueue) setAside() *ipHellos { return heap.Pop(&q.order).(*ipHellos) }

func (q *helloQueue) restore(aside []*ipHellos) {
	for _, h := range aside {
		if h.entries.Len() > 0 && q.byIP[h.ip] == h {
			heap.Push(&q.order, h)
		}
	}
}

// clear empties the queue.
func (q *helloQueue) clear() { *q = newHelloQueue() }

// ipHeap orders IPs by their oldest queued ClientHello.
type ipHeap []*ipHellos

func (h ipHeap) Len() int { return len(h) }
func (h ipHeap) Less(i, j int) bool {
	return h[i].entries.Front().Value.(*queuedHello).at.Before(h[j].entries.Front().Value.(*queuedHello).at)
}
func (h ipHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *ipHeap) Push(x any) {
	it := x.(*ipHellos)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *ipHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	it.index = -1
	*h = old[:len(old)-1]
	return it
}

// expired reports whether a listen-mode ClientHello is older than the
// client's first retransmission (attach-mode sessions never expire here:
// their handshake timeout ends them).
func (e *queuedHello) expired(now time.Time) bool {
	return e.sess == nil && now.Sub(e.at) > admissionWindow
}
