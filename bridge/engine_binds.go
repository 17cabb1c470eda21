package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"strconv"
	"unsafe"
)

// Calls from the bridge into engine classes: method binds resolved once at
// SCENE init, and the small wrappers the classes use. The hashes are the
// 4.3+ ones; Godot keeps old hashes working as compatibility binds. Only
// call these on Godot's threads with no Go lock held.

type methodBind struct {
	class, method string
	hash          int64
	// newer is the hash of the signature engines from 4.newerSince on
	// have (0: none). It is asked for first there, the old hash first on
	// earlier engines, so that neither ask is refused where the other
	// would be served: a refused hash prints an error, and an engine
	// built with deprecated=no serves only its own signature's.
	newer      int64
	newerSince uint32
	ptr        unsafe.Pointer
}

var (
	bindTLSIsServer       = &methodBind{class: "TLSOptions", method: "is_server", hash: 36873697}
	bindTLSPrivateKey     = &methodBind{class: "TLSOptions", method: "get_private_key", hash: 2119971811}
	bindTLSOwnCertificate = &methodBind{class: "TLSOptions", method: "get_own_certificate", hash: 1120709175}
	bindKeySaveToString   = &methodBind{class: "CryptoKey", method: "save_to_string", hash: 32795936}
	bindCertSaveToString  = &methodBind{class: "X509Certificate", method: "save_to_string", hash: 2841200299}
	bindTLSIsUnsafe       = &methodBind{class: "TLSOptions", method: "is_unsafe_client", hash: 36873697}
	bindTLSTrustedChain   = &methodBind{class: "TLSOptions", method: "get_trusted_ca_chain", hash: 1120709175}
	bindTLSNameOverride   = &methodBind{class: "TLSOptions", method: "get_common_name_override", hash: 201670096}
	bindCertLoadString    = &methodBind{class: "X509Certificate", method: "load_from_string", hash: 166001499}
	bindInitRef           = &methodBind{class: "RefCounted", method: "init_ref", hash: 2240911060}
	bindReference         = &methodBind{class: "RefCounted", method: "reference", hash: 2240911060}
	bindUnreference       = &methodBind{class: "RefCounted", method: "unreference", hash: 2240911060}
	bindEmitSignal        = &methodBind{class: "Object", method: "emit_signal", hash: 4047867050}
	bindNotification      = &methodBind{class: "Object", method: "notification", hash: 4023243586}
	// 4.3–4.5's signature; 4.6 added a type argument with a default (called
	// with three arguments either way) and serves this hash as well unless
	// built with deprecated=no
	bindAddCustomMonitor    = &methodBind{class: "Performance", method: "add_custom_monitor", hash: 4099036814, newer: 3655788610, newerSince: 6}
	bindRemoveCustomMonitor = &methodBind{class: "Performance", method: "remove_custom_monitor", hash: 3304788590}
	bindIsClass             = &methodBind{class: "Object", method: "is_class", hash: 3927539163}
	bindGetPacket           = &methodBind{class: "PacketPeer", method: "get_packet", hash: 2115431945}
	bindPutPacket           = &methodBind{class: "PacketPeer", method: "put_packet", hash: 680677267}
	bindAvailable           = &methodBind{class: "PacketPeer", method: "get_available_packet_count", hash: 3905245786}
	bindUDPPacketIP         = &methodBind{class: "PacketPeerUDP", method: "get_packet_ip", hash: 201670096}
	bindUDPPacketPort       = &methodBind{class: "PacketPeerUDP", method: "get_packet_port", hash: 3905245786}
	bindUDPIsConnected      = &methodBind{class: "PacketPeerUDP", method: "is_socket_connected", hash: 36873697}
	bindUDPLocalPort        = &methodBind{class: "PacketPeerUDP", method: "get_local_port", hash: 3905245786}
)

var engineBinds = []*methodBind{
	bindTLSIsServer, bindTLSPrivateKey, bindTLSOwnCertificate, bindKeySaveToString, bindCertSaveToString,
	bindTLSIsUnsafe, bindTLSTrustedChain, bindTLSNameOverride, bindCertLoadString,
	bindInitRef, bindReference, bindUnreference, bindEmitSignal, bindNotification, bindIsClass, bindAddCustomMonitor, bindRemoveCustomMonitor,
	bindGetPacket, bindPutPacket, bindAvailable, bindUDPPacketIP, bindUDPPacketPort, bindUDPIsConnected,
	bindUDPLocalPort,
}

// bindEngineMethods resolves every bind; a missing one is reported by name
// (its calls then do nothing: gdx_bind_ptrcall refuses a NULL bind).
func bindEngineMethods() {
	for _, b := range engineBinds {
		cls, m := C.CString(b.class), C.CString(b.method)
		first, second := b.hash, b.newer
		if b.newer != 0 && uint32(C.gdx_godot_minor()) >= b.newerSince {
			first, second = b.newer, b.hash
		}
		b.ptr = C.gdx_method_bind(cls, m, C.gdx_int(first))
		if b.ptr == nil && second != 0 {
			b.ptr = C.gdx_method_bind(cls, m, C.gdx_int(second))
		}
		C.free(unsafe.Pointer(cls))
		C.free(unsafe.Pointer(m))
		if b.ptr == nil {
			pushError("GoDTLS initialize", "this engine has no "+b.class+"."+b.method+" with the expected signature")
		}
	}
}

// slots is ptrcall argument storage: fixed cells in Go memory that hold
// only Godot values, never Go pointers.
type slots [maxArgs][C.GDX_SLOT_SIZE]byte

func (s *slots) ptr() unsafe.Pointer       { return unsafe.Pointer(&s[0][0]) }
func (s *slots) cell(i int) unsafe.Pointer { return unsafe.Pointer(&s[i][0]) }

// ptrcall calls b on obj with argc arguments from a (nil: none) into ret.
func (b *methodBind) ptrcall(obj unsafe.Pointer, a *slots, argc int, ret unsafe.Pointer) bool {
	var ap unsafe.Pointer
	if a != nil {
		ap = a.ptr()
	}
	return C.gdx_bind_ptrcall(b.ptr, obj, ap, C.int(argc), ret) != 0
}

// retain takes our own reference on a RefCounted argument we keep. It
// reports false, taking none, when the count is already 0 (the object is
// being freed).
func retain(obj unsafe.Pointer) bool { return callBool(bindReference, obj) }

// retainEach is retain on each of objs that is not null, in one call from
// Go; took[i] says whether objs[i]'s was taken.
func retainEach(objs []object, took []bool) {
	if len(objs) == 0 {
		return
	}
	C.gdx_retain_each(bindReference.ptr, objectPointers(objs), C.gdx_int(len(objs)), (*C.uint8_t)(unsafe.Pointer(&took[:len(objs)][0])))
}

// releaseEach is release on each of objs that is not null, in one call
// from Go.
func releaseEach(objs []object) {
	if len(objs) == 0 {
		return
	}
	C.gdx_release_each(bindUnreference.ptr, objectPointers(objs), C.gdx_int(len(objs)))
}

// objectPointers is objs as the C array of Godot pointers it is laid out as
// (an object is one pointer, to Godot's memory).
func objectPointers(objs []object) *unsafe.Pointer {
	return (*unsafe.Pointer)(unsafe.Pointer(&objs[0]))
}

// postinitialize sends NOTIFICATION_POSTINITIALIZE to an object gdx_construct
// made, as the engine does to the objects it makes itself, where the engine
// left it to us (classdb_construct_object2, 4.4+; construct_object sent it).
func postinitialize(obj unsafe.Pointer) {
	if C.gdx_construct_leaves_postinitialize() == 0 {
		return
	}
	const notificationPostinitialize = 0
	var a slots
	*(*int64)(a.cell(0)) = notificationPostinitialize
	*(*uint8)(a.cell(1)) = 0 // reversed: false
	bindNotification.ptrcall(obj, &a, 2, nil)
}

// adopt takes the first reference of a RefCounted we just constructed.
func adopt(obj unsafe.Pointer) { callBool(bindInitRef, obj) }

// release drops a reference a ptrcall handed us, freeing the object when it
// was the last one.
func release(obj unsafe.Pointer) {
	if obj == nil {
		return
	}
	if callBool(bindUnreference, obj) { // it was the last reference
		C.gdx_object_destroy(obj)
	}
}

// isClass asks Object.is_class(name).
func isClass(obj unsafe.Pointer, name string) bool {
	if obj == nil {
		return false
	}
	var a slots
	newString(a.cell(0), name)
	defer destroyBuiltin(tString, a.cell(0))
	var ret uint8
	return bindIsClass.ptrcall(obj, &a, 1, unsafe.Pointer(&ret)) && ret != 0
}

// callString calls a method returning a String (args as given).
func callString(b *methodBind, obj unsafe.Pointer, a *slots, argc int) string {
	s := makeString("")
	defer s.destroy()
	b.ptrcall(obj, a, argc, s.ptr())
	return s.String()
}

// callBool calls a method of obj that takes nothing and returns a bool.
func callBool(b *methodBind, obj unsafe.Pointer) bool {
	var ret uint8
	return b.ptrcall(obj, nil, 0, unsafe.Pointer(&ret)) && ret != 0
}

// refPEM calls getter on obj, which returns a Ref to a resource (or null),
// and returns the resource saved as PEM by save (saveArgc zero-valued
// arguments: CryptoKey.save_to_string takes public_only = false), or "".
// present says whether there was a resource: one that saves as "" (an
// X509Certificate that never loaded) is present.
func refPEM(obj unsafe.Pointer, getter, save *methodBind, saveArgc int) (pem string, present bool) {
	var slot unsafe.Pointer
	getter.ptrcall(obj, nil, 0, unsafe.Pointer(&slot))
	res := C.gdx_ref_get(unsafe.Pointer(&slot))
	if res == nil {
		return "", false
	}
	defer release(res)
	var a slots
	return callString(save, res, &a, saveArgc), true
}

// tlsOptionsPEM reads the server key and certificate of a TLSOptions as PEM
// through its 4.3+ getters.
func tlsOptionsPEM(o object) (keyPEM, certPEM string, isServer bool) {
	opts := o.p
	if !callBool(bindTLSIsServer, opts) {
		return "", "", false
	}
	keyPEM, _ = refPEM(opts, bindTLSPrivateKey, bindKeySaveToString, 1)
	certPEM, _ = refPEM(opts, bindTLSOwnCertificate, bindCertSaveToString, 0)
	return keyPEM, certPEM, true
}

// clientOptions is what a client TLSOptions says.
type clientOptions struct {
	isServer     bool
	unsafe       bool
	hasChain     bool   // a trusted chain was given (TLSOptions.client(chain))
	chainPEM     string // that chain as PEM; "" if it holds no certificate
	nameOverride string
}

// readClientOptions reads a TLSOptions through its 4.3+ getters.
func readClientOptions(o object) clientOptions {
	opts := o.p
	c := clientOptions{
		isServer:     callBool(bindTLSIsServer, opts),
		unsafe:       callBool(bindTLSIsUnsafe, opts),
		nameOverride: callString(bindTLSNameOverride, opts, nil, 0),
	}
	c.chainPEM, c.hasChain = refPEM(opts, bindTLSTrustedChain, bindCertSaveToString, 0)
	return c
}

// newX509Certificate makes an X509Certificate holding pemText; the object
// has no reference yet (the caller hands it to Godot as a fresh result).
func newX509Certificate(pemText string) object {
	obj := C.gdx_construct(sn("X509Certificate").ptr())
	if obj == nil {
		return null
	}
	postinitialize(obj)
	var a slots
	newString(a.cell(0), pemText)
	defer destroyBuiltin(tString, a.cell(0))
	var ret int64
	if !bindCertLoadString.ptrcall(obj, &a, 1, unsafe.Pointer(&ret)) || ret != int64(errOK) {
		C.gdx_object_destroy(obj)
		return null
	}
	return object{obj}
}

// emit sends a signal from obj and destroys args. Call only on Godot's
// thread, with no Go lock held: the handlers run inside this call and may
// call back into us.
func emit(obj unsafe.Pointer, signal string, args ...variant) {
	all := make([]variant, 0, len(args)+1)
	all = append(all, variantStringName(sn(signal)))
	all = append(all, args...)
	if err := callVariants(bindEmitSignal, obj, all...); err != "" {
		pushError("emit_signal", signal+": "+err)
	}
}

// call calls a method of obj through its bind with Variant arguments,
// which it destroys; a refused call is reported. Godot's thread, no Go
// lock held.
func call(b *methodBind, obj object, args ...variant) {
	if err := callVariants(b, obj.p, args...); err != "" {
		pushError(b.class+"."+b.method, err)
	}
}

// callVariants makes the call and destroys args; it returns why the call
// was refused, or "".
func callVariants(b *methodBind, obj unsafe.Pointer, args ...variant) string {
	defer func() {
		for i := range args {
			args[i].destroy()
		}
	}()
	var ret variant
	var err C.gdx_call_error
	var first unsafe.Pointer
	if len(args) > 0 {
		first = args[0].ptr()
	}
	C.gdx_bind_call(b.ptr, obj, first, C.int(len(args)), ret.ptr(), &err)
	ret.destroy()
	if err.error != callOK {
		return "the call was refused (error " + strconv.Itoa(int(err.error)) + ")"
	}
	return ""
}
