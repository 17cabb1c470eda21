package main

/*
#include <stdlib.h>
#include <string.h>
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// What every PacketPeerExtension class of ours needs for its _get_packet
// and _put_packet virtuals.

// packetBuffer holds the packets handed to Godot by _get_packet: Godot reads
// one after the virtual returns (PacketPeer copies it before its get_packet
// returns), so it lives in C memory the object owns, valid until the next
// _get_packet or until the object is freed. Each thread that reads gets its
// own slot: Godot's contract is per object, and two threads reading one
// object at once (which Godot's own peers do not survive) would otherwise
// write a packet into memory the other is still copying out of, or grow
// it under the other's copy. Past maxReadingThreads the least recently used
// slot is shared; its memory is kept, not reallocated, whenever the packet
// fits.
type packetBuffer struct {
	mu    sync.Mutex
	slots []handOverSlot
	clock uint64 // the hand-overs so far, for the least recently used slot
}

type handOverSlot struct {
	thread uint64
	buf    unsafe.Pointer
	cap    int
	used   uint64 // the clock at its last hand-over
}

// maxReadingThreads bounds an object's slots: a game that reads one object
// from a fresh thread each time costs at most this many buffers.
const maxReadingThreads = 16

// packetOut is _get_packet's out-arguments (const uint8_t **, int32_t *).
type packetOut struct{ a []unsafe.Pointer }

// packetIn is _put_packet's arguments (const uint8_t *, int): Godot's
// memory, valid during the call.
type packetIn struct {
	data unsafe.Pointer
	size int64
}

// handOver copies pkt into the calling thread's slot and points
// _get_packet's out-arguments at it.
func (p *packetBuffer) handOver(m string, out packetOut, pkt []byte) gdError {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := p.slotOf(uint64(C.gdx_thread_id()))
	if len(pkt) > slot.cap {
		c := max(len(pkt), 2048)
		nb := C.realloc(slot.buf, C.size_t(c))
		if nb == nil {
			pushError(m, "out of memory")
			return errOutOfMemory
		}
		slot.buf, slot.cap = nb, c
	}
	var data *C.uint8_t
	if len(pkt) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&pkt[0]))
	}
	// the copy and the out-arguments in one call from Go
	C.gdx_hand_packet((*unsafe.Pointer)(unsafe.Pointer(&out.a[0])), (*C.uint8_t)(slot.buf), data, C.int32_t(len(pkt)))
	return errOK
}

// slotOf is thread's slot: its own, a new one, or past maxReadingThreads
// the least recently used, taken over. Called with p.mu held.
func (p *packetBuffer) slotOf(thread uint64) *handOverSlot {
	p.clock++
	oldest := 0
	for i := range p.slots {
		if p.slots[i].thread == thread {
			p.slots[i].used = p.clock
			return &p.slots[i]
		}
		if p.slots[i].used < p.slots[oldest].used {
			oldest = i
		}
	}
	if len(p.slots) < maxReadingThreads {
		p.slots = append(p.slots, handOverSlot{thread: thread, used: p.clock})
		return &p.slots[len(p.slots)-1]
	}
	s := &p.slots[oldest]
	s.thread, s.used = thread, p.clock
	return s
}

func (p *packetBuffer) free() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		C.free(s.buf) // free(NULL) does nothing
	}
	p.slots = nil
}

// read copies the packet into Go memory, refusing one larger than
// maxPayload.
func (in packetIn) read(m string, maxPayload int) ([]byte, bool) {
	data, size := in.data, in.size
	if size < 0 || size > int64(maxPayload) {
		pushError(m, fmt.Sprintf("packet of %d bytes is larger than get_max_packet_size() (%d); the connection stays open", size, maxPayload))
		return nil, false
	}
	if size == 0 {
		return []byte{}, true
	}
	return C.GoBytes(data, C.int(size)), true
}

// packetPeer is what a PacketPeerExtension class of ours implements.
type packetPeer interface {
	instance
	getPacket(out packetOut) result
	putPacket(in packetIn) result
	available() result
	maxPacketSizeVirtual() result
}

// packetPeerVirtuals overrides PacketPeerExtension's virtuals for class T.
// A freed object answers ERR_UNCONFIGURED and counts of 0.
func packetPeerVirtuals[T packetPeer]() []*virtualDef {
	return []*virtualDef{
		{name: "_get_packet", argc: 2, ret: tInt, gone: errUnconfigured, impl: func(inst instance, a []unsafe.Pointer) result {
			return as[T](inst, "_get_packet").getPacket(packetOut{a})
		}},
		{name: "_put_packet", argc: 2, ret: tInt, gone: errUnconfigured, impl: func(inst instance, a []unsafe.Pointer) result {
			return as[T](inst, "_put_packet").putPacket(packetIn{data: *(*unsafe.Pointer)(a[0]), size: *(*int64)(a[1])})
		}},
		virtual("_get_available_packet_count", tInt, int64(0), T.available),
		virtual("_get_max_packet_size", tInt, int64(0), T.maxPacketSizeVirtual),
	}
}
