package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"unsafe"
)

// Method binds of engine classes, resolved once at SCENE init. The hashes
// are the 4.3+ ones; Godot keeps old hashes working as compatibility binds.
var binds struct {
	tlsIsServer, tlsPrivateKey, tlsOwnCertificate unsafe.Pointer
	keySaveToString, certSaveToString             unsafe.Pointer
	unreference                                   unsafe.Pointer
	emitSignal                                    unsafe.Pointer
	isClass                                       unsafe.Pointer
	reference                                     unsafe.Pointer
	ppGetPacket, ppPutPacket, ppAvailable         unsafe.Pointer
	udpPacketIP, udpPacketPort, udpIsConnected    unsafe.Pointer
}

func bindEngineMethods() {
	b := func(cls, method string, hash int64) unsafe.Pointer {
		ccls, cm := C.CString(cls), C.CString(method)
		defer C.free(unsafe.Pointer(ccls))
		defer C.free(unsafe.Pointer(cm))
		return C.gdx_method_bind(ccls, cm, C.gdx_int(hash))
	}
	binds.tlsIsServer = b("TLSOptions", "is_server", 36873697)
	binds.tlsPrivateKey = b("TLSOptions", "get_private_key", 2119971811)
	binds.tlsOwnCertificate = b("TLSOptions", "get_own_certificate", 1120709175)
	binds.keySaveToString = b("CryptoKey", "save_to_string", 32795936)
	binds.certSaveToString = b("X509Certificate", "save_to_string", 2841200299)
	binds.unreference = b("RefCounted", "unreference", 2240911060)
	binds.emitSignal = b("Object", "emit_signal", 4047867050)
	binds.isClass = b("Object", "is_class", 3927539163)
	binds.reference = b("RefCounted", "reference", 2240911060)
	binds.ppGetPacket = b("PacketPeer", "get_packet", 2115431945)
	binds.ppPutPacket = b("PacketPeer", "put_packet", 680677267)
	binds.ppAvailable = b("PacketPeer", "get_available_packet_count", 3905245786)
	binds.udpPacketIP = b("PacketPeerUDP", "get_packet_ip", 201670096)
	binds.udpPacketPort = b("PacketPeerUDP", "get_packet_port", 3905245786)
	binds.udpIsConnected = b("PacketPeerUDP", "is_socket_connected", 36873697)
}

// retain takes our own reference on a RefCounted argument we keep.
func retain(obj unsafe.Pointer) {
	var ok uint8
	C.gdx_bind_ptrcall(binds.reference, obj, nil, 0, unsafe.Pointer(&ok))
}

// udpPeer is a PacketPeerUDP from UDPServer.take_connection(), which owns
// the socket and queues this address's datagrams.
type udpPeer struct{ obj unsafe.Pointer }

func (u udpPeer) connected() bool {
	var ok uint8
	C.gdx_bind_ptrcall(binds.udpIsConnected, u.obj, nil, 0, unsafe.Pointer(&ok))
	return ok != 0
}

func (u udpPeer) available() int {
	var n int64
	C.gdx_bind_ptrcall(binds.ppAvailable, u.obj, nil, 0, unsafe.Pointer(&n))
	return int(n)
}

// next pops one datagram with its source address.
func (u udpPeer) next() ([]byte, string, int) {
	var pba [16]byte
	C.gdx_pba_new(unsafe.Pointer(&pba[0]), nil, 0)
	C.gdx_bind_ptrcall(binds.ppGetPacket, u.obj, nil, 0, unsafe.Pointer(&pba[0]))
	b := goBytes(unsafe.Pointer(&pba[0]))
	C.gdx_destroy(tBytes, unsafe.Pointer(&pba[0]))
	var s [8]byte
	newString(unsafe.Pointer(&s[0]), "")
	C.gdx_bind_ptrcall(binds.udpPacketIP, u.obj, nil, 0, unsafe.Pointer(&s[0]))
	ip := goString(unsafe.Pointer(&s[0]))
	C.gdx_destroy(tString, unsafe.Pointer(&s[0]))
	var port int64
	C.gdx_bind_ptrcall(binds.udpPacketPort, u.obj, nil, 0, unsafe.Pointer(&port))
	return b, ip, int(port)
}

func (u udpPeer) send(b []byte) int64 {
	var args slots
	var data *C.uint8_t
	if len(b) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	C.gdx_pba_new(args.cell(0), data, C.gdx_int(len(b)))
	var ret int64
	C.gdx_bind_ptrcall(binds.ppPutPacket, u.obj, args.ptr(), 1, unsafe.Pointer(&ret))
	C.gdx_destroy(tBytes, args.cell(0))
	return ret
}

// slots is ptrcall argument storage: fixed 16-byte cells in Go memory that
// hold only Godot values, never Go pointers.
type slots [8][16]byte

func (s *slots) ptr() unsafe.Pointer       { return unsafe.Pointer(&s[0][0]) }
func (s *slots) cell(i int) unsafe.Pointer { return unsafe.Pointer(&s[i][0]) }

// isClass asks Object.is_class(name).
func isClass(obj unsafe.Pointer, name string) bool {
	if obj == nil || binds.isClass == nil {
		return false
	}
	var args slots
	newString(args.cell(0), name)
	var ret uint8
	C.gdx_bind_ptrcall(binds.isClass, obj, args.ptr(), 1, unsafe.Pointer(&ret))
	C.gdx_destroy(tString, args.cell(0))
	return ret != 0
}

// release drops a reference a ptrcall handed us, freeing the object when it
// was the last one.
func release(obj unsafe.Pointer) {
	if obj == nil {
		return
	}
	var last uint8
	C.gdx_bind_ptrcall(binds.unreference, obj, nil, 0, unsafe.Pointer(&last))
	if last != 0 {
		C.gdx_object_destroy(obj)
	}
}

// tlsOptionsPEM reads the server key and certificate of a TLSOptions as PEM
// through its 4.3+ getters.
func tlsOptionsPEM(opts unsafe.Pointer) (keyPEM, certPEM string, isServer bool) {
	var srv uint8
	C.gdx_bind_ptrcall(binds.tlsIsServer, opts, nil, 0, unsafe.Pointer(&srv))
	if srv == 0 {
		return "", "", false
	}
	var keySlot, certSlot unsafe.Pointer
	C.gdx_bind_ptrcall(binds.tlsPrivateKey, opts, nil, 0, unsafe.Pointer(&keySlot))
	C.gdx_bind_ptrcall(binds.tlsOwnCertificate, opts, nil, 0, unsafe.Pointer(&certSlot))
	key := C.gdx_ref_get(unsafe.Pointer(&keySlot))
	cert := C.gdx_ref_get(unsafe.Pointer(&certSlot))
	if key != nil {
		var args slots // public_only = false
		var s [8]byte
		newString(unsafe.Pointer(&s[0]), "")
		C.gdx_bind_ptrcall(binds.keySaveToString, key, args.ptr(), 1, unsafe.Pointer(&s[0]))
		keyPEM = goString(unsafe.Pointer(&s[0]))
		C.gdx_destroy(tString, unsafe.Pointer(&s[0]))
		release(key)
	}
	if cert != nil {
		var s [8]byte
		newString(unsafe.Pointer(&s[0]), "")
		C.gdx_bind_ptrcall(binds.certSaveToString, cert, nil, 0, unsafe.Pointer(&s[0]))
		certPEM = goString(unsafe.Pointer(&s[0]))
		C.gdx_destroy(tString, unsafe.Pointer(&s[0]))
		release(cert)
	}
	return keyPEM, certPEM, true
}

// emit sends a signal from obj. Call only on Godot's thread, with no Go lock
// held: the handlers run inside this call and may call back into us.
func emit(obj unsafe.Pointer, signal string, args ...variant) {
	all := make([]variant, 0, len(args)+1)
	all = append(all, variantStringName(sn(signal)))
	all = append(all, args...)
	var ret variant
	var err C.gdx_call_error
	C.gdx_bind_call(binds.emitSignal, obj, unsafe.Pointer(&all[0]), C.int(len(all)), ret.ptr(), &err)
	ret.destroy()
	for i := range all {
		all[i].destroy()
	}
}
