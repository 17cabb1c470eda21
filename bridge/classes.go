package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"embed"
	"unsafe"
)

func initNames() {
	emptyString = C.malloc(8)
	newString(emptyString, "")
	initVirtuals()
}

func registerClasses() {
	C.gdx_register_class(unsafe.Pointer(sn(srvName)), unsafe.Pointer(sn("RefCounted")), classServer, 0)
	C.gdx_register_class(unsafe.Pointer(sn(peerName)), unsafe.Pointer(sn("PacketPeerExtension")), classPeer, 1)
	for _, m := range serverMethods() {
		registerMethod(m)
	}
	for _, m := range peerMethods() {
		registerMethod(m)
	}
	for i, name := range []string{"STATUS_DISCONNECTED", "STATUS_HANDSHAKING", "STATUS_CONNECTED", "STATUS_ERROR"} {
		C.gdx_register_constant(unsafe.Pointer(sn(peerName)), unsafe.Pointer(sn("Status")), unsafe.Pointer(sn(name)), C.gdx_int(i))
	}
	for _, p := range []struct {
		name string
		typ  uint32
	}{{"max_peers", tInt}, {"max_peers_per_ip", tInt}, {"max_pending_handshakes", tInt}, {"handshake_timeout", tFloat}, {"idle_timeout", tFloat}, {"mtu", tInt}} {
		info := (*C.gdx_property_info)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gdx_property_info{}))))
		propertyInfo(info, p.typ, p.name, "", usageDefault)
		C.gdx_register_property(unsafe.Pointer(sn(srvName)), info, unsafe.Pointer(sn("set_"+p.name)), unsafe.Pointer(sn("get_"+p.name)))
		C.free(unsafe.Pointer(info))
	}
	signal := func(name string, args ...[3]any) {
		n := len(args)
		infos := (*[4]C.gdx_property_info)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.gdx_property_info{}))))
		for i, a := range args {
			propertyInfo(&infos[i], a[1].(uint32), a[0].(string), a[2].(string), usageDefault)
		}
		C.gdx_register_signal(unsafe.Pointer(sn(srvName)), unsafe.Pointer(sn(name)), &infos[0], C.gdx_int(n))
		C.free(unsafe.Pointer(infos))
	}
	signal("peer_connected", [3]any{"peer", uint32(tObject), peerName})
	signal("peer_disconnected", [3]any{"peer", uint32(tObject), peerName}, [3]any{"reason", uint32(tString), ""})
	signal("handshake_failed", [3]any{"address", uint32(tString), ""}, [3]any{"port", uint32(tInt), ""}, [3]any{"reason", uint32(tString), ""})
}

func unregisterClasses() {
	C.gdx_unregister_class(unsafe.Pointer(sn(peerName)))
	C.gdx_unregister_class(unsafe.Pointer(sn(srvName)))
	freeNames()
	if emptyString != nil {
		C.gdx_destroy(tString, emptyString)
		C.free(emptyString)
		emptyString = nil
	}
}

//go:embed doc_classes/*.xml
var docClasses embed.FS

// loadEditorHelp gives the editor the class reference (F1) at the EDITOR
// level, through the 4.3+ editor_help_load_xml_from_utf8_chars_and_len.
func loadEditorHelp() {
	entries, _ := docClasses.ReadDir("doc_classes")
	for _, e := range entries {
		xml, err := docClasses.ReadFile("doc_classes/" + e.Name())
		if err != nil || len(xml) == 0 {
			continue
		}
		cx := C.CBytes(xml)
		C.gdx_editor_help((*C.char)(cx), C.gdx_int(len(xml)))
		C.free(cx)
	}
}
