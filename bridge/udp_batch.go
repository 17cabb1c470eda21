package main

// #include "gdx.h"
import "C"

import (
	"sync"
	"unsafe"
)

// udpBatch moves the datagrams of take_connection(udp_peer) peers between
// their PacketPeerUDPs and the engine: one C call brings in what every peer
// of the batch has queued, one sends what the engine queued for them. The
// per-peer, per-datagram calls it replaces crossed from Go to C four to six
// times a datagram and twice a peer a frame; a profile of 2,000 peers x 10
// packets/s put those crossings (and the liveness check per peer) at about
// a tenth of the game thread's time.
type udpBatch struct {
	peers  []*gdPeer
	objs   []uintptr // the peers' PacketPeerUDP objects, C memory
	buf    []byte
	dgrams []C.gdx_dgram
}

const (
	// udpBatchBytes holds a few maximum-size datagrams: gdx_udp_drain
	// stops while less than C.GDX_UDP_MAX is free, and the loops go on.
	udpBatchBytes  = 4 * C.GDX_UDP_MAX
	udpBatchDgrams = 1024
)

// udpBatches lend a batch per call: receive_all and every peer's poll()
// share them.
var udpBatches = sync.Pool{New: func() any {
	return &udpBatch{buf: make([]byte, udpBatchBytes), dgrams: make([]C.gdx_dgram, udpBatchDgrams)}
}}

// exchangeUDP feeds the engine every datagram the PacketPeerUDPs of the
// peers list appends hold, then sends what the engine queued for them, and
// last hands unlist (if any) the peers listed. It runs on the caller's
// thread, as every call into Godot here does (list runs before the moves,
// so it may take a lock the moves must not hold).
func exchangeUDP(list func([]*gdPeer) []*gdPeer, unlist func([]*gdPeer)) {
	b := udpBatches.Get().(*udpBatch)
	defer udpBatches.Put(b)
	listed := list(b.peers[:0])
	defer clear(listed) // a pooled batch holds no peer
	if unlist != nil {
		defer unlist(listed)
	}
	// The peers with a PacketPeerUDP move to the front by swaps, not
	// overwrites: listed still holds every peer once for unlist.
	kept := 0
	b.objs = b.objs[:0]
	for i, gp := range listed {
		if gp.udp.obj != nil && gp.p != nil {
			listed[kept], listed[i] = gp, listed[kept]
			kept++
			b.objs = append(b.objs, uintptr(gp.udp.obj))
		}
	}
	b.peers = listed[:kept]
	if len(b.peers) == 0 {
		return
	}
	b.receive()
	b.send()
}

func (b *udpBatch) receive() {
	n := C.gdx_int(len(b.objs))
	for next := C.gdx_int(0); next < n; {
		got := int(C.gdx_udp_drain(bindAvailable.ptr, bindGetPacket.ptr, (*C.uintptr_t)(unsafe.Pointer(&b.objs[0])), n, &next,
			(*C.uint8_t)(unsafe.Pointer(&b.buf[0])), C.gdx_int(len(b.buf)), &b.dgrams[0], C.gdx_int(len(b.dgrams))))
		off := 0
		for _, d := range b.dgrams[:got] {
			end := off + int(d.len)
			// Feed copies what it keeps (and may decrypt in place), so the
			// batch buffer is reused.
			b.peers[d.peer].p.Feed(b.buf[off:end])
			off = end
		}
	}
}

func (b *udpBatch) send() {
	off, k := 0, 0
	flush := func() {
		if k > 0 {
			C.gdx_udp_send(bindPutPacket.ptr, (*C.uintptr_t)(unsafe.Pointer(&b.objs[0])), (*C.uint8_t)(unsafe.Pointer(&b.buf[0])), &b.dgrams[0], C.gdx_int(k))
		}
		off, k = 0, 0
	}
	for i, gp := range b.peers {
		for pkt, ok := gp.p.Outbound(); ok; pkt, ok = gp.p.Outbound() {
			if len(pkt) > len(b.buf) {
				continue // the engine never makes one; nothing could send it
			}
			if len(pkt) > len(b.buf)-off || k == len(b.dgrams) {
				flush()
			}
			copy(b.buf[off:], pkt)
			b.dgrams[k] = C.gdx_dgram{peer: C.int32_t(i), len: C.int32_t(len(pkt))}
			off += len(pkt)
			k++
		}
	}
	flush()
}
