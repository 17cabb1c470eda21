// Command bridge is the GDExtension library: built with -buildmode=c-shared,
// it registers GoDTLSServer and GoDTLSPeer in Godot and translates their
// calls into the engine in extension/server.
//
// Rules this package keeps (see ../shared notes): Godot calls come in on the
// caller's thread and every entry point recovers from panics; goroutines of
// the engine never call into Godot; no Go pointer is handed to Godot (Godot
// holds integer handles); no Go mutex is held across a call into Godot.
package main

/*
#cgo CFLAGS: -O2 -fvisibility=hidden
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"
)

func main() {}

// One Go processor more than the machine has cores: handshake signing may
// then use every core while a processor stays free for calls coming in from
// Godot's threads (the engine bounds signing to GOMAXPROCS-1 at a time).
func init() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 1)
}

// Initialization levels.
const (
	levelScene  = 2
	levelEditor = 3
)

// guard turns a panic in a callback into a Godot error: a panic unwinding
// through C frames would abort the whole engine.
func guard(where string) {
	if r := recover(); r != nil {
		pushError(where, fmt.Sprintf("internal error: %v\n%s", r, debug.Stack()))
	}
}

//export goInitialize
func goInitialize(level C.uint32_t) {
	defer guard("GoDTLS initialize")
	switch level {
	case levelScene:
		if C.gdx_cache_builtins() == 0 {
			pushError("GoDTLS initialize", "PackedByteArray builtins not found")
			return
		}
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
		stopAllServers()
		unregisterClasses()
	}
}

//export goCreateInstance
func goCreateInstance(classID C.uintptr_t) C.uintptr_t {
	defer guard("GoDTLS create_instance")
	return C.uintptr_t(createInstance(classID))
}

//export goFreeInstance
func goFreeInstance(classID, handle C.uintptr_t) {
	defer guard("GoDTLS free_instance")
	freeInstance(uintptr(handle))
}

//export goVirtualData
func goVirtualData(classID C.uintptr_t, name unsafe.Pointer) C.uintptr_t {
	defer guard("GoDTLS virtual lookup")
	return C.uintptr_t(peerVirtualID(name))
}

//export goCallVirtual
func goCallVirtual(handle, vdata C.uintptr_t, args unsafe.Pointer, ret unsafe.Pointer) {
	defer guard("GoDTLSPeer virtual")
	callPeerVirtual(uintptr(handle), uintptr(vdata), (*[8]unsafe.Pointer)(args), ret)
}

//export goMethodCall
func goMethodCall(methodID, handle C.uintptr_t, args unsafe.Pointer, argc C.gdx_int, ret unsafe.Pointer, err *C.gdx_call_error) {
	defer guard("GoDTLS method call")
	methodCall(int(methodID), uintptr(handle), args, int(argc), ret, err)
}

//export goMethodPtrcall
func goMethodPtrcall(methodID, handle C.uintptr_t, args unsafe.Pointer, ret unsafe.Pointer) {
	defer guard("GoDTLS method ptrcall")
	methodPtrcall(int(methodID), uintptr(handle), args, ret)
}
