package main

/*
#include <stdlib.h>
#include <string.h>
#include "gdx.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"godtls/extension/server"
)

// gdPeer is the Go side of one GoDTLSPeer object.
type gdPeer struct {
	obj   unsafe.Pointer
	id    uint64
	p     *server.Peer // nil for a GoDTLSPeer.new() that never connected
	owner *gdServer

	// buf holds the packet handed to Godot by _get_packet: C memory, valid
	// until the next _get_packet or until the object is freed.
	buf    unsafe.Pointer
	bufCap int

	// udp is set in DTLSServer-compatible mode: the PacketPeerUDP we hold a
	// reference on, through which poll() moves the datagrams.
	udp udpPeer
}

// pump moves datagrams between the PacketPeerUDP and the engine: copying
// only, on the caller's thread; the crypto runs on the engine's goroutines.
func (gp *gdPeer) pump() {
	if gp.udp.obj == nil || gp.p == nil {
		return
	}
	for n := gp.udp.available(); n > 0; n-- {
		b, _, _ := gp.udp.next()
		gp.p.Feed(b)
	}
	gp.flush()
}

func (gp *gdPeer) flush() {
	if gp.udp.obj == nil || gp.p == nil {
		return
	}
	for b, ok := gp.p.Outbound(); ok; b, ok = gp.p.Outbound() {
		gp.udp.send(b)
	}
}

const peerName = "GoDTLSPeer"

func newPeerObject(p *server.Peer, owner *gdServer) *gdPeer {
	obj := C.gdx_construct(unsafe.Pointer(sn("PacketPeerExtension")))
	gp := &gdPeer{obj: obj, p: p, owner: owner}
	h := newHandle(gp, obj)
	C.gdx_object_set_instance(obj, unsafe.Pointer(sn(peerName)), C.uintptr_t(h))
	gp.id = uint64(C.gdx_object_id(obj))
	return gp
}

// free releases Go and C state. The connection itself belongs to the
// server: dropping the object does not disconnect (disconnect_from_peer does).
func (gp *gdPeer) free() {
	if gp.owner != nil {
		gp.owner.forgetPeer(gp)
	}
	if gp.udp.obj != nil {
		// Like PacketPeerDTLS, dropping the peer ends its connection, so that
		// UDPServer stops routing the address to a dead peer.
		gp.p.Close()
		gp.flush()
		release(gp.udp.obj)
		gp.udp.obj = nil
	}
	if gp.buf != nil {
		C.free(gp.buf)
		gp.buf = nil
	}
}

func (gp *gdPeer) status() int64 {
	if gp.p == nil {
		return int64(server.StatusDisconnected)
	}
	return int64(gp.p.Status())
}

// Virtual IDs handed to Godot as virtual call data.
const (
	vGetPacket = iota + 1
	vPutPacket
	vAvailable
	vMaxPacketSize
)

var virtualNames = map[string]uintptr{
	"_get_packet":                 vGetPacket,
	"_put_packet":                 vPutPacket,
	"_get_available_packet_count": vAvailable,
	"_get_max_packet_size":        vMaxPacketSize,
}

var virtualKeys = map[uintptr]uintptr{}

func initVirtuals() {
	for name, id := range virtualNames {
		virtualKeys[snKey(unsafe.Pointer(sn(name)))] = id
	}
}

func peerVirtualID(name unsafe.Pointer) uintptr { return virtualKeys[snKey(name)] }

func callPeerVirtual(h, vid uintptr, args *[8]unsafe.Pointer, ret unsafe.Pointer) {
	gp, _ := instance(h).(*gdPeer)
	out := (*int64)(ret)
	if gp == nil {
		*out = errUnconfigured
		return
	}
	switch vid {
	case vGetPacket:
		*out = gp.getPacket(args)
	case vPutPacket:
		data := *(*unsafe.Pointer)(args[0])
		size := *(*int64)(args[1])
		*out = gp.putPacket(data, size)
	case vAvailable:
		if gp.p == nil {
			*out = 0
		} else {
			*out = int64(gp.p.Available())
		}
	case vMaxPacketSize:
		if gp.p == nil {
			*out = 0
		} else {
			*out = int64(gp.p.MaxPayload())
		}
	}
}

func (gp *gdPeer) getPacket(args *[8]unsafe.Pointer) int64 {
	if gp.p == nil {
		return errUnavailable
	}
	pkt, ok := gp.p.Receive()
	if !ok {
		return errUnavailable
	}
	if len(pkt) > gp.bufCap {
		c := max(len(pkt), 2048)
		nb := C.realloc(gp.buf, C.size_t(c))
		if nb == nil {
			pushError(peerName+".get_packet", "out of memory")
			return 6 // ERR_OUT_OF_MEMORY
		}
		gp.buf, gp.bufCap = nb, c
	}
	if len(pkt) > 0 {
		C.memcpy(gp.buf, unsafe.Pointer(&pkt[0]), C.size_t(len(pkt)))
	}
	C.gdx_set_packet((*unsafe.Pointer)(unsafe.Pointer(args)), (*C.uint8_t)(gp.buf), C.int32_t(len(pkt)))
	return errOK
}

func (gp *gdPeer) putPacket(data unsafe.Pointer, size int64) int64 {
	const m = peerName + ".put_packet"
	if gp.p == nil || gp.p.Status() != server.StatusConnected {
		pushError(m, "the peer is not connected")
		return errUnconfigured
	}
	if size > int64(gp.p.MaxPayload()) {
		pushError(m, fmt.Sprintf("packet of %d bytes is larger than get_max_packet_size() (%d); the connection stays open", size, gp.p.MaxPayload()))
		return errInvalidParameter
	}
	var b []byte
	if size > 0 {
		b = C.GoBytes(data, C.int(size))
	}
	if err := gp.p.Send(b); err != nil {
		pushError(m, err.Error())
		if errors.Is(err, server.ErrSendQueueFull) {
			return errBusy
		}
		return errConnectionError
	}
	gp.flush()
	return errOK
}

func (gp *gdPeer) stats() result {
	d := newDict()
	if gp.p != nil {
		st := gp.p.Stats()
		d.setInt("packets_in", int64(st.PacketsIn))
		d.setInt("packets_out", int64(st.PacketsOut))
		d.setInt("bytes_in", int64(st.BytesIn))
		d.setInt("bytes_out", int64(st.BytesOut))
		d.setInt("dropped", int64(st.Dropped))
		d.setInt("queued", int64(st.Queued))
	}
	return d
}

func peerMethods() []*methodDef {
	self := bind[*gdPeer]
	ms := []*methodDef{
		// Listen-mode peers are fed by goroutines and poll() has nothing to
		// do; UDPServer-mode peers move their datagrams here.
		{name: "poll", impl: self(func(gp *gdPeer, a []value) result { gp.pump(); return nil })},
		{name: "get_status", ret: tInt, retEnum: "GoDTLSPeer.Status", isConst: true,
			impl: self(func(gp *gdPeer, a []value) result { return gp.status() })},
		{name: "disconnect_from_peer", impl: self(func(gp *gdPeer, a []value) result {
			if gp.p != nil {
				gp.p.Close()
				gp.flush() // the close_notify
			}
			return nil
		})},
		{name: "get_packet_ip", ret: tString, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return ""
			}
			return gp.p.Addr().Addr().String()
		})},
		{name: "get_packet_port", ret: tInt, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return int64(0)
			}
			return int64(gp.p.Addr().Port())
		})},
		{name: "get_last_packet_time", ret: tFloat, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return float64(0)
			}
			return float64(gp.p.LastReceive().UnixNano()) / 1e9
		})},
		{name: "get_psk_identity", ret: tString, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return ""
			}
			return gp.p.Identity()
		})},
		{name: "get_last_error", ret: tString, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return "never connected"
			}
			return gp.p.LastError()
		})},
		{name: "get_stats", ret: tDictionary, impl: self(func(gp *gdPeer, a []value) result { return gp.stats() })},
		// PacketPeer keeps get_max_packet_size() for engine code; scripts
		// get the truth from here: the MTU minus the record overhead.
		{name: "get_max_packet_size", ret: tInt, isConst: true, impl: self(func(gp *gdPeer, a []value) result {
			if gp.p == nil {
				return int64(0)
			}
			return int64(gp.p.MaxPayload())
		})},
	}
	for _, m := range ms {
		m.class = peerName
	}
	return ms
}
