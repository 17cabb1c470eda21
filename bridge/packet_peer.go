package main

/*
#include <stdlib.h>
#include <string.h>
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// What every PacketPeerExtension class of ours needs for its _get_packet
// and _put_packet virtuals.

// packetBuffer holds the packet handed to Godot by _get_packet: Godot reads
// it after the virtual returns, so it lives in C memory the object owns,
// valid until the next _get_packet or until the object is freed.
type packetBuffer struct {
	buf unsafe.Pointer
	cap int
}

// packetOut is _get_packet's out-arguments (const uint8_t **, int32_t *).
type packetOut struct{ a []unsafe.Pointer }

// packetIn is _put_packet's arguments (const uint8_t *, int): Godot's
// memory, valid during the call.
type packetIn struct {
	data unsafe.Pointer
	size int64
}

// handOver copies pkt into the buffer and points _get_packet's
// out-arguments at it.
func (p *packetBuffer) handOver(m string, out packetOut, pkt []byte) gdError {
	if len(pkt) > p.cap {
		c := max(len(pkt), 2048)
		nb := C.realloc(p.buf, C.size_t(c))
		if nb == nil {
			pushError(m, "out of memory")
			return errOutOfMemory
		}
		p.buf, p.cap = nb, c
	}
	if len(pkt) > 0 {
		C.memcpy(p.buf, unsafe.Pointer(&pkt[0]), C.size_t(len(pkt)))
	}
	C.gdx_set_packet((*unsafe.Pointer)(unsafe.Pointer(&out.a[0])), (*C.uint8_t)(p.buf), C.int32_t(len(pkt)))
	return errOK
}

func (p *packetBuffer) free() {
	if p.buf != nil {
		C.free(p.buf)
		p.buf, p.cap = nil, 0
	}
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
