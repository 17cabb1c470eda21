// Command bridge is the GDExtension library: built with -buildmode=c-shared,
// it registers GoDTLSServer, GoDTLSPeer, GoDTLSClient and
// GoDTLSMultiplayerPeer in Godot (classes.go) and translates their calls
// into the engine's packages (extension/server, client and multiplayer).
// docs/ARCHITECTURE.md maps the files: the C ABI (gdx.h, gdx.c), builtin
// marshaling (variant.go, names.go, gdconst.go, array_append.go), the class
// framework (class*.go, object.go, instances.go, packet_peer.go), engine
// calls (engine_*.go), what several classes share (tls_options.go,
// psk_args.go, server_setup.go, gd_errors.go, stats_dict.go, property_values.go),
// and the classes (godtls_*.go).
//
// Rules this package keeps: Godot calls come in on the caller's thread and
// every entry point below recovers from panics; goroutines of the engine
// never call into Godot; no Go pointer is handed to Godot (Godot holds
// integer handles); no Go mutex is held across a call into Godot.
package main

/*
#cgo CFLAGS: -O2 -fvisibility=hidden
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"godtls/extension/memtrim"
)

// GOMAXPROCS is Go's own default (the CPU count, container-aware) or the
// GOMAXPROCS environment variable. The engine keeps a processor free for
// calls from Godot's threads by bounding the handshakes computing at once
// (the server's and the client's crypto steps, not only signing) to
// GOMAXPROCS-1 (cryptoSlots in extension/server and extension/client).

func main() {}

// The exports below are the only Go functions C calls (from gdx.c).

//export goInitialize
func goInitialize(level C.uint32_t) {
	defer guard("GoDTLS initialize")
	switch level {
	case levelScene:
		if size := int(C.gdx_engine_variant_size()); size > C.GDX_VARIANT_SIZE {
			// Our Variant slots would be too small: refuse rather than let
			// the engine write past them.
			pushError("GoDTLS initialize", fmt.Sprintf("this engine's Variant is %d bytes; the addon supports engines whose Variant is at most %d bytes (single and double precision); the classes are not registered", size, C.GDX_VARIANT_SIZE))
			return
		}
		if C.gdx_cache_builtins() == 0 {
			pushError("GoDTLS initialize", "the PackedByteArray, Array or is_instance_valid builtins were not found; the classes are not registered")
			return
		}
		startProfiling()
		initNames()
		bindEngineMethods()
		registerClasses()
	case levelEditor:
		loadEditorHelp()
	}
}

//export goDeinitialize
func goDeinitialize(level C.uint32_t) {
	defer guard("GoDTLS deinitialize")
	if level == levelScene {
		runMainThreadWork()
		shutdownAll()
		memtrim.Stop() // after the engines: their last handshakes have ended
		unregisterClasses()
		freeNames()
		stopProfiling()
	}
}

//export goCreateInstance
func goCreateInstance(classID C.uintptr_t, notifyPostinitialize C.gdx_bool) C.uintptr_t {
	defer guard("GoDTLS create_instance")
	return C.uintptr_t(uintptr(createInstance(uintptr(classID), notifyPostinitialize != 0)))
}

//export goFreeInstance
func goFreeInstance(classID, handle C.uintptr_t) {
	defer guard("GoDTLS free_instance")
	freeInstance(uintptr(handle))
}

//export goVirtualData
func goVirtualData(classID C.uintptr_t, name unsafe.Pointer) C.uintptr_t {
	defer guard("GoDTLS virtual lookup")
	return C.uintptr_t(findVirtual(uintptr(classID), name))
}

//export goCallVirtual
func goCallVirtual(handle, data C.uintptr_t, args unsafe.Pointer, ret unsafe.Pointer) {
	defer guard("GoDTLS virtual call")
	callVirtual(uintptr(handle), uintptr(data), args, ret)
}

//export goMethodCall
func goMethodCall(methodID, handle C.uintptr_t, args unsafe.Pointer, argc C.gdx_int, ret unsafe.Pointer, err *C.gdx_call_error) {
	defer guard("GoDTLS method call")
	callMethod(uintptr(methodID), uintptr(handle), args, int(argc), ret, err)
}

//export goMethodPtrcall
func goMethodPtrcall(methodID, handle C.uintptr_t, args unsafe.Pointer, ret unsafe.Pointer) {
	defer guard("GoDTLS method ptrcall")
	callMethodPtr(uintptr(methodID), uintptr(handle), args, ret)
}
