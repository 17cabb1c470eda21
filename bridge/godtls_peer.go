package main

/*
#include "gdx.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"godtls/extension/server"
)

// GoDTLSPeer: one client of a GoDTLSServer (connected, or in take_connection
// (udp_peer) mode still handshaking), a PacketPeer through its virtuals.
// Everything Godot sees of the class is declared in peerClass.

const peerName = "GoDTLSPeer"

func peerClass() *classDef {
	return &classDef{
		name:   peerName,
		parent: "PacketPeerExtension",
		create: func(obj unsafe.Pointer) instance { return newGDPeer(obj, nil, nil) },
		methods: []*methodDef{
			method("poll", (*gdPeer).poll),
			method("get_status", (*gdPeer).status).returnsEnum(peerName + ".Status").readOnly(),
			method("disconnect_from_peer", (*gdPeer).disconnect),
			method("get_packet_ip", (*gdPeer).packetIP).returns(tString).readOnly(),
			method("get_packet_port", (*gdPeer).packetPort).returns(tInt).readOnly(),
			method("get_last_packet_time", (*gdPeer).lastPacketTime).returns(tFloat).readOnly(),
			method("get_psk_identity", (*gdPeer).pskIdentity).returns(tString).readOnly(),
			method("get_last_error", (*gdPeer).lastError).returns(tString).readOnly(),
			method("get_stats", (*gdPeer).stats).returns(tDictionary),
			// PacketPeer keeps get_max_packet_size() for engine code; scripts
			// get the truth from here: the MTU minus the record overhead.
			method("get_max_packet_size", (*gdPeer).maxPacketSize).returns(tInt).readOnly(),
		},
		enums: []enumDef{
			{name: "Status", values: []string{"STATUS_DISCONNECTED", "STATUS_HANDSHAKING", "STATUS_CONNECTED", "STATUS_ERROR"}},
		},
		virtuals: packetPeerVirtuals[*gdPeer](),
	}
}

// gdPeer is the Go side of one GoDTLSPeer object.
type gdPeer struct {
	obj   unsafe.Pointer
	id    uint64       // the object's instance id, to tell whether obj is still alive
	p     *server.Peer // nil for a GoDTLSPeer.new() that never connected
	owner *gdServer

	pkt packetBuffer // what _get_packet hands Godot

	// udp is set in DTLSServer-compatible mode: the PacketPeerUDP we hold a
	// reference on, through which poll() moves the datagrams.
	udp udpPeer
}

func newGDPeer(obj unsafe.Pointer, p *server.Peer, owner *gdServer) *gdPeer {
	return &gdPeer{obj: obj, id: uint64(C.gdx_object_id(obj)), p: p, owner: owner}
}

// newPeerObject makes the Godot object for a peer of owner.
func newPeerObject(p *server.Peer, owner *gdServer) *gdPeer {
	_, inst := constructNamed(peerName, func(obj unsafe.Pointer) instance { return newGDPeer(obj, p, owner) })
	return inst.(*gdPeer)
}

// alive tells whether Godot still has this peer's object.
func (gp *gdPeer) alive() bool {
	return C.gdx_object_from_id(C.uint64_t(gp.id)) == gp.obj
}

// free releases Go and C state. A listen-mode connection belongs to the
// server: dropping the object does not disconnect (disconnect_from_peer
// does).
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
	gp.pkt.free()
}

// poll: listen-mode peers are fed by goroutines and have nothing to do;
// UDPServer-mode peers move their datagrams here (copying only, on the
// caller's thread; the crypto runs on the engine's goroutines).
func (gp *gdPeer) poll(args) result {
	if gp.udp.obj == nil || gp.p == nil {
		return nil
	}
	exchangeUDP(func(dst []*gdPeer) []*gdPeer { return append(dst, gp) })
	return nil
}

// flush sends what the engine queued for a UDPServer-mode peer.
func (gp *gdPeer) flush() {
	if gp.udp.obj == nil || gp.p == nil {
		return
	}
	for b, ok := gp.p.Outbound(); ok; b, ok = gp.p.Outbound() {
		gp.udp.send(b)
	}
}

func (gp *gdPeer) status(args) result {
	if gp.p == nil {
		return int64(server.StatusDisconnected)
	}
	return int64(gp.p.Status())
}

func (gp *gdPeer) disconnect(args) result {
	if gp.p != nil {
		gp.p.Close()
		gp.flush() // the close_notify
	}
	return nil
}

func (gp *gdPeer) packetIP(args) result {
	if gp.p == nil {
		return ""
	}
	return gp.p.Addr().Addr().String()
}

func (gp *gdPeer) packetPort(args) result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.Addr().Port())
}

func (gp *gdPeer) lastPacketTime(args) result {
	if gp.p == nil {
		return float64(0)
	}
	return float64(gp.p.LastReceive().UnixNano()) / 1e9
}

func (gp *gdPeer) pskIdentity(args) result {
	if gp.p == nil {
		return ""
	}
	return gp.p.Identity()
}

func (gp *gdPeer) lastError(args) result {
	if gp.p == nil {
		return "never connected"
	}
	return gp.p.LastError()
}

func (gp *gdPeer) stats(args) result {
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

func (gp *gdPeer) maxPacketSize(args) result { return gp.maxPacketSizeVirtual(nil) }

// Virtuals of PacketPeerExtension.

func (gp *gdPeer) maxPacketSizeVirtual([]unsafe.Pointer) result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.MaxPayload())
}

func (gp *gdPeer) available([]unsafe.Pointer) result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.Available())
}

func (gp *gdPeer) getPacket(a []unsafe.Pointer) result {
	if gp.p == nil {
		return errUnavailable
	}
	pkt, ok := gp.p.Receive()
	if !ok {
		return errUnavailable
	}
	return gp.pkt.handOver(peerName+".get_packet", a, pkt)
}

func (gp *gdPeer) putPacket(a []unsafe.Pointer) result {
	const m = peerName + ".put_packet"
	if gp.p == nil || gp.p.Status() != server.StatusConnected {
		pushError(m, "the peer is not connected")
		return errUnconfigured
	}
	b, ok := packetArg(m, a, gp.p.MaxPayload())
	if !ok {
		return errInvalidParameter
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
