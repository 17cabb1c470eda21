package main

import (
	"godtls/extension/link"
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
		create: func(obj object) instance { return newGDPeer(obj, nil, nil) },
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
	obj   object
	p     *server.Peer // nil for a GoDTLSPeer.new() that never connected
	owner *gdServer

	pins pins // of the threads that found this object in owner's map

	pkt packetBuffer // what _get_packet hands Godot

	// udp is set in DTLSServer-compatible mode: the PacketPeerUDP we hold a
	// reference on, through which poll() moves the datagrams.
	udp udpPeer

	// refused is why a draining server turned this client away
	// (take_connection(udp_peer) while refusing); the peer reports
	// STATUS_ERROR with it as its last error.
	refused string
}

func newGDPeer(obj object, p *server.Peer, owner *gdServer) *gdPeer {
	return &gdPeer{obj: obj, p: p, owner: owner}
}

// newPeerObject makes the Godot object for a peer of owner.
func newPeerObject(p *server.Peer, owner *gdServer) *gdPeer {
	_, inst := constructNamed(peerName, func(obj object) instance { return newGDPeer(obj, p, owner) })
	return inst.(*gdPeer)
}

// newRefusedPeer makes the object take_connection(udp_peer) returns for a
// client a draining server turned away.
func newRefusedPeer(reason string) *gdPeer {
	_, inst := constructNamed(peerName, func(obj object) instance {
		gp := newGDPeer(obj, nil, nil)
		gp.refused = reason
		return gp
	})
	return inst.(*gdPeer)
}

func (gp *gdPeer) shared() (*pins, object) { return &gp.pins, gp.obj }

// free releases Go and C state. A listen-mode connection belongs to the
// server: dropping the object does not disconnect (disconnect_from_peer
// does).
func (gp *gdPeer) free() {
	if gp.owner != nil {
		gp.owner.forgetPeer(gp)
	}
	gp.pins.wait()
	if !gp.udp.isNull() {
		// Like PacketPeerDTLS, dropping the peer ends its connection, so that
		// UDPServer stops routing the address to a dead peer. The
		// close_notify and the release call the PacketPeerUDP: on the main
		// thread only (mainthread.go).
		p, udp := gp.p, gp.udp
		p.Close()
		onMainThread(func() {
			flushTo(p, udp)
			udp.release()
		})
	}
	gp.pkt.free()
}

// poll: listen-mode peers are fed by goroutines and have nothing to do;
// UDPServer-mode peers move their datagrams here (copying only, on the
// caller's thread; the crypto runs on the engine's goroutines).
func (gp *gdPeer) poll() result {
	if gp.udp.isNull() || gp.p == nil {
		return nil
	}
	exchangeUDP(func(dst []*gdPeer) []*gdPeer { return append(dst, gp) }, nil)
	return nil
}

// flush sends what the engine queued for a UDPServer-mode peer.
func (gp *gdPeer) flush() {
	if gp.udp.isNull() || gp.p == nil {
		return
	}
	flushTo(gp.p, gp.udp)
}

func flushTo(p *server.Peer, udp udpPeer) {
	for b, ok := p.Outbound(); ok; b, ok = p.Outbound() {
		udp.send(b)
	}
}

func (gp *gdPeer) status() result {
	if gp.refused != "" {
		return int64(link.StatusError)
	}
	if gp.p == nil {
		return int64(link.StatusDisconnected)
	}
	return int64(gp.p.Status())
}

func (gp *gdPeer) disconnect() result {
	if gp.p != nil {
		gp.flush() // what the writers sealed already goes before the close_notify
		gp.p.Disconnect()
		gp.flush() // the close_notify (UDPServer mode)
	}
	return nil
}

func (gp *gdPeer) packetIP() result {
	if gp.p == nil {
		return ""
	}
	return gp.p.Addr().Addr().String()
}

func (gp *gdPeer) packetPort() result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.Addr().Port())
}

func (gp *gdPeer) lastPacketTime() result {
	if gp.p == nil {
		return float64(0)
	}
	return float64(gp.p.LastReceive().UnixNano()) / 1e9
}

func (gp *gdPeer) pskIdentity() result {
	if gp.p == nil {
		return ""
	}
	return gp.p.Identity()
}

func (gp *gdPeer) lastError() result {
	if gp.refused != "" {
		return gp.refused
	}
	if gp.p == nil {
		return "never connected"
	}
	return gp.p.LastError()
}

func (gp *gdPeer) stats() result {
	if gp.p == nil {
		return statsDict()
	}
	st := gp.p.Stats()
	return statsDict(append(trafficCounters(st.Traffic),
		counter{"dropped", st.Dropped}, counter{"queued", uint64(st.Queued)})...)
}

func (gp *gdPeer) maxPacketSize() result { return gp.maxPacketSizeVirtual() }

// Virtuals of PacketPeerExtension.

func (gp *gdPeer) maxPacketSizeVirtual() result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.MaxPayload())
}

func (gp *gdPeer) available() result {
	if gp.p == nil {
		return int64(0)
	}
	return int64(gp.p.Available())
}

func (gp *gdPeer) getPacket(out packetOut) result {
	if gp.p == nil {
		return errUnavailable
	}
	pkt, ok := gp.p.Receive()
	if !ok {
		return errUnavailable
	}
	return gp.pkt.handOver(peerName+".get_packet", out, pkt)
}

func (gp *gdPeer) putPacket(in packetIn) result {
	const m = peerName + ".put_packet"
	if gp.p == nil || gp.p.Status() != link.StatusConnected {
		pushError(m, "the peer is not connected")
		return errUnconfigured
	}
	b, ok := in.read(m, gp.p.MaxPayload())
	if !ok {
		return errInvalidParameter
	}
	if err := gp.p.Send(b); err != nil {
		return fail(m, err, errConnectionError)
	}
	gp.flush()
	return errOK
}
