package main

import (
	"unsafe"
)

// udpPeer is a PacketPeerUDP from UDPServer.take_connection(), which owns
// the socket and queues this address's datagrams (DTLSServer-compatible
// mode). Calls go through engine method binds, on Godot's thread.
type udpPeer struct{ obj unsafe.Pointer }

func (u udpPeer) connected() bool { return callBool(bindUDPIsConnected, u.obj) }

func (u udpPeer) available() int {
	var n int64
	bindAvailable.ptrcall(u.obj, nil, 0, unsafe.Pointer(&n))
	return int(n)
}

// next pops one datagram.
func (u udpPeer) next() []byte {
	pkt := makePackedBytes(nil)
	bindGetPacket.ptrcall(u.obj, nil, 0, pkt.ptr())
	b := pkt.bytes()
	pkt.destroy()
	return b
}

// source is the address the last datagram came from. Only attach needs it:
// every datagram of a connected PacketPeerUDP comes from the same address,
// and building the address String per datagram cost the poll loop.
func (u udpPeer) source() (string, int) {
	ip := callString(bindUDPPacketIP, u.obj, nil, 0)
	var port int64
	bindUDPPacketPort.ptrcall(u.obj, nil, 0, unsafe.Pointer(&port))
	return ip, int(port)
}

// localPort is the port of the UDPServer socket the peer shares.
func (u udpPeer) localPort() int {
	var port int64
	bindUDPLocalPort.ptrcall(u.obj, nil, 0, unsafe.Pointer(&port))
	return int(port)
}

// send queues one datagram; the result is the Error put_packet returned.
func (u udpPeer) send(b []byte) gdError {
	var a slots
	newPackedBytes(a.cell(0), b)
	defer destroyBuiltin(tBytes, a.cell(0))
	var ret int64
	bindPutPacket.ptrcall(u.obj, &a, 1, unsafe.Pointer(&ret))
	return gdError(ret)
}

// udpPeerOf is the PacketPeerUDP obj (DTLSServer-compatible mode).
func udpPeerOf(obj object) udpPeer { return udpPeer{obj.p} }

// isNull tells whether there is no PacketPeerUDP (listen mode).
func (u udpPeer) isNull() bool { return u.obj == nil }

// release drops our reference on the PacketPeerUDP and forgets it.
func (u *udpPeer) release() {
	release(u.obj)
	u.obj = nil
}
