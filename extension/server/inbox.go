package server

import (
	"sync"
	"sync/atomic"
)

// inbox lists the peers with packets waiting, each once, in the order their
// first waiting packet arrived, so ReceiveAll visits only those: a 2,000
// peer server with 50 talking peers does 50 visits, not 2,000. Peers are
// listed only once the game has called ReceiveAll (a game that reads peer
// by peer, or the multiplayer engine, never pays for the list), and a
// peer that ended leaves the list when it has nothing left to read.
type inbox struct {
	on   atomic.Bool // ReceiveAll has been called
	mu   sync.Mutex
	list []*Peer
	// spare is the previous call's list, reused so that collecting does
	// not allocate once the lists have grown.
	spare []*Peer
}

// queued runs after a packet was queued for p: on the socket reader or in
// Feed (the record layer), or on the peer's read goroutine (pion's CBC
// fallback).
func (in *inbox) queued(p *Peer) {
	if !in.on.Load() || !p.listed.CompareAndSwap(false, true) {
		return
	}
	in.mu.Lock()
	in.list = append(in.list, p)
	in.mu.Unlock()
}

// take hands the caller the listed peers and starts an empty list.
func (in *inbox) take() []*Peer {
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.list
	in.list = in.spare[:0]
	in.spare = nil
	return l
}

// giveBack returns the peers a call left unread to the front of the list
// (they were first), and keeps l's storage for the next call.
func (in *inbox) giveBack(left []*Peer, l []*Peer) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(left) > 0 {
		in.list = append(append(make([]*Peer, 0, len(left)+len(in.list)), left...), in.list...)
	}
	clear(l)
	in.spare = l[:0]
}

// ReceiveAll hands visit every packet waiting on every peer, oldest peer
// first and each peer's packets in order, until visit has had limit packets
// (limit <= 0: no limit). A peer it did not finish stays first in line for
// the next call. Packets of peers that disconnected are still handed over:
// nothing received is lost. It never blocks on the network.
func (s *Server) ReceiveAll(limit int, visit func(p *Peer, packet []byte)) int {
	in := &s.inbox
	if !in.on.Swap(true) {
		// First call: list the peers that already have packets waiting.
		s.mu.Lock()
		for p := range s.peers {
			if p.recv.Len() > 0 {
				in.queued(p)
			}
		}
		s.unlock()
	}
	l := in.take()
	n := 0
	for i, p := range l {
		if limit > 0 && n >= limit {
			in.giveBack(l[i:], l)
			return n
		}
		// Unlisted before reading: a packet queued from here on lists the
		// peer again (at worst once too often, to find nothing).
		p.listed.Store(false)
		for limit <= 0 || n < limit {
			b, ok := p.recv.Pop()
			if !ok {
				break
			}
			visit(p, b)
			n++
		}
		if p.recv.Len() > 0 && p.listed.CompareAndSwap(false, true) {
			in.giveBack(append([]*Peer{p}, l[i+1:]...), l)
			return n
		}
	}
	in.giveBack(nil, l)
	return n
}
