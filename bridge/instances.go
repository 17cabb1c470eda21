package main

/*
#include "gdx.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Class IDs passed to Godot as class_userdata.
const (
	classServer = 1
	classPeer   = 2
)

// Godot holds instances as integer handles; this table maps them back.
// free_instance may run on any thread, so it is guarded; the lock is never
// held across a call into Godot.
var (
	handlesMu  sync.Mutex
	handles    = map[uintptr]any{}
	byObject   = map[unsafe.Pointer]uintptr{}
	nextHandle uintptr
)

func newHandle(inst any, obj unsafe.Pointer) uintptr {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	nextHandle++
	handles[nextHandle] = inst
	byObject[obj] = nextHandle
	return nextHandle
}

func instance(h uintptr) any {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	return handles[h]
}

// instanceOf finds our instance behind an Object pointer, or nil if the
// object is not one of ours.
func instanceOf(obj unsafe.Pointer) any {
	if obj == nil {
		return nil
	}
	handlesMu.Lock()
	defer handlesMu.Unlock()
	if h, ok := byObject[obj]; ok {
		return handles[h]
	}
	return nil
}

func createInstance(classID C.uintptr_t) uintptr {
	switch classID {
	case classServer:
		obj := C.gdx_construct(unsafe.Pointer(sn("RefCounted")))
		s := newGDServer(obj)
		h := newHandle(s, obj)
		C.gdx_object_set_instance(obj, unsafe.Pointer(sn("GoDTLSServer")), C.uintptr_t(h))
		return uintptr(obj)
	case classPeer:
		return uintptr(newPeerObject(nil, nil).obj)
	}
	return 0
}

func freeInstance(h uintptr) {
	handlesMu.Lock()
	inst := handles[h]
	delete(handles, h)
	switch x := inst.(type) {
	case *gdServer:
		delete(byObject, x.obj)
	case *gdPeer:
		delete(byObject, x.obj)
	}
	handlesMu.Unlock()
	switch x := inst.(type) {
	case *gdServer:
		x.free()
	case *gdPeer:
		x.free()
	}
}

// stopAllServers runs at deinit: the engine is quitting, maybe with live
// connections. Every server sends close_notify and its goroutines end.
func stopAllServers() {
	handlesMu.Lock()
	var servers []*gdServer
	for _, inst := range handles {
		if s, ok := inst.(*gdServer); ok {
			servers = append(servers, s)
		}
	}
	handlesMu.Unlock()
	for _, s := range servers {
		s.srv.Stop()
	}
}
